"""Review apps from a plain git push, with the official Heroku CLI turning them on: a branch pushed
to a pipeline's app becomes an app of its own (app.json's review environment, its own new
database seeded by postdeploy, never production's credentials), a second push deploys to it, and
deleting the branch runs pr-predestroy and removes the app and its add-on's server."""

import json
import secrets
import shutil
import string

import pytest

from tests.e2e.conftest import APPS, Checkout, eventually
from tests.e2e.test_app_setups import SEED, addon_servers
from tests.e2e.test_heroku_cli import heroku, ok  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e
MANIFEST = {
    "env": {"GREETING": "production"}, "addons": ["heroku-postgresql"],
    "scripts": {"postdeploy": "python3 /app/seed.py", "pr-predestroy": "echo predestroy-ran"},
    "environments": {"review": {"env": {"GREETING": "review"}}},
}


@pytest.fixture
def prod(api):
    name = "ra-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    yield name
    for review in api.get(f"/pipelines/{name}/review-apps").json() if api.get(f"/pipelines/{name}").status_code == 200 else []:
        if review["app"]:
            api.delete(f"/apps/{review['app']['id']}")
    api.delete(f"/pipelines/{name}")
    api.delete(f"/apps/{name}")


def test_a_branch_becomes_a_review_app_with_its_own_database_and_goes_with_the_branch(heroku, api, prod, settings, token, tmp_path,
                                                                                        router, engine):
    source = tmp_path / "source"
    shutil.copytree(APPS / "backing", source)
    (source / "seed.py").write_text(SEED)
    (source / "app.json").write_text(json.dumps(MANIFEST))
    ok(heroku("apps:create", prod))
    checkout = Checkout(tmp_path / "app", f"http://paas:{token}@{settings.api_url.removeprefix('http://')}/{prod}.git", source=source)
    assert checkout.push().returncode == 0
    assert api.post(f"/apps/{prod}/addons", json={"plan": "heroku-postgresql"}).status_code in (201, 202)
    production_db = eventually(lambda: api.get(f"/apps/{prod}/config-vars").json().get("DATABASE_URL"), what="production's database")
    ok(heroku("pipelines:create", prod, "-a", prod, "-s", "production"))
    ok(heroku("reviewapps:enable", "-p", prod))
    assert api.get(f"/pipelines/{prod}/review-app-config").json()["automatic_review_apps"] is True

    checkout.git("checkout", "-q", "-b", "feature/login")
    checkout.write("NOTES", "a change on the branch\n")
    checkout.commit("on a branch")
    pushed = checkout.push(ref="feature/login")
    assert pushed.returncode == 0, pushed.stderr
    [review] = api.get(f"/pipelines/{prod}/review-apps").json()
    name = api.get(f"/apps/{review['app']['id']}").json()["name"]
    assert (review["branch"], review["status"]) == ("feature/login", "created") and name.startswith(f"{prod}-feature-login")
    assert f"Creating review app {name} for feature/login" in pushed.stderr and f"Review app {name} is live at" in pushed.stderr
    config = api.get(f"/apps/{name}/config-vars").json()
    assert (config["GREETING"], config["HEROKU_BRANCH"], config["HEROKU_APP_NAME"]) == ("review", "feature/login", name)
    assert config["DATABASE_URL"] != production_db and production_db not in json.dumps(config)  # its own, never production's
    assert eventually(lambda: router.get(name, "/db/read").status_code == 200 and router.get(name, "/db/read").json(),
                      what="the review app reading its database") == {"rows": ["seeded"], "ssl": True}
    assert router.get(prod, "/db/read").json()["rows"] == []  # production's database is not the one seeded
    assert api.get(f"/apps/{name}/pipeline-couplings").json()["stage"] == "review"

    checkout.write("NOTES", "a second change\n")
    checkout.commit("again")
    again = checkout.push(ref="feature/login")
    assert again.returncode == 0 and f"Deploying feature/login to its review app {name}" in again.stderr, again.stderr
    assert api.get(f"/apps/{name}/releases", headers={"Range": "version ..; max=1, order=desc"}).json()[0]["status"] == "succeeded"

    servers = addon_servers(engine, settings)
    deleted = checkout.git("push", checkout.remote, ":feature/login", check=False)
    assert deleted.returncode == 0 and f"Deleting review app {name}" in deleted.stderr, deleted.stderr
    gone = eventually(lambda: (r := api.get(f"/review-apps/{review['id']}").json())["status"] == "deleted" and r, timeout=90,
                      what="the review app deleted")
    assert gone["message"] == "pr-predestroy exited with status 0" and api.get(f"/apps/{name}").status_code == 404
    eventually(lambda: len(addon_servers(engine, settings)) == len(servers) - 1, timeout=60, what="its database server removed")
    assert api.get(f"/apps/{prod}/config-vars").json()["DATABASE_URL"] == production_db  # production untouched
    ok(heroku("reviewapps:disable", "-p", prod))
    assert api.get(f"/pipelines/{prod}/review-app-config").status_code == 404


def test_a_review_app_made_through_the_api_from_a_tarball_serves_with_its_pr_number(api, prod, settings, router):
    from tests.e2e.conftest import SAMPLE_APP
    from tests.e2e.test_app_setups import upload

    assert api.post("/apps", json={"name": prod}).status_code == 201
    api.post("/pipelines", json={"name": prod}).raise_for_status()
    api.post("/pipeline-couplings", json={"app": prod, "pipeline": prod, "stage": "production"}).raise_for_status()
    api.post(f"/pipelines/{prod}/review-app-config", json={"base_name": "pr"}).raise_for_status()
    made = api.post("/review-apps", json={"pipeline": prod, "branch": "fix-typo", "pr_number": 42,
                                          "source_blob": {"url": upload(api, SAMPLE_APP), "version": "abc1234"}})
    assert made.status_code == 201, made.text
    review = eventually(lambda: (r := api.get(f"/review-apps/{made.json()['id']}").json())["status"] != "creating" and r, timeout=120,
                        what="the review app made")
    assert review["status"] == "created" and review["pr_number"] == 42, review
    name = api.get(f"/apps/{review['app']['id']}").json()["name"]
    assert name == "pr-fix-typo" and api.get(f"/apps/{name}/config-vars").json()["HEROKU_PR_NUMBER"] == "42"
    assert router.wait_for(name, lambda r: r.status_code == 200).text == "sample-app version=1 greeting=\n"
    assert api.delete(f"/review-apps/{review['id']}").json()["status"] == "deleting"
    eventually(lambda: api.get(f"/apps/{name}").status_code == 404, what="the review app destroyed")
