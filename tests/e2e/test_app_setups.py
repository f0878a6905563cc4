"""App setups end to end (`paas apps:create --manifest`, POST /app-setups): an app from a source
and its app.json, with a generated secret, a Postgres add-on, a formation, a scheduled job and a
postdeploy that writes a row (read back through the app); a malformed manifest is refused with
every problem and leaves nothing; a failing postdeploy undoes everything, the add-on's server too."""

import json
import secrets
import shutil
import string

import pytest

from tests.cli.conftest import paas
from tests.e2e.conftest import APPS, eventually

pytestmark = pytest.mark.e2e
SEED = """import os
import psycopg2

with psycopg2.connect(os.environ["DATABASE_URL"], sslmode="require", connect_timeout=5) as conn, conn.cursor() as cur:
    cur.execute("CREATE TABLE IF NOT EXISTS notes (v text)")
    cur.execute("INSERT INTO notes VALUES ('seeded')")
print("seeded 1 row")
"""
MANIFEST = {
    "name": "backing", "env": {"SECRET_KEY": {"description": "signs things", "generator": "secret"}, "GREETING": "from-app-json"},
    "addons": ["heroku-postgresql"], "formation": {"web": {"quantity": 1, "size": "standard-1x"}},
    "scripts": {"postdeploy": "python3 /app/seed.py"}, "cron": [{"command": "echo nightly", "schedule": "@daily"}],
}


@pytest.fixture
def names(api):
    made = ["st-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(3)]
    yield made
    for name in made:
        api.delete(f"/apps/{name}")


def source(tmp_path, manifest: dict, name: str = "app"):
    directory = tmp_path / name
    shutil.copytree(APPS / "backing", directory)
    (directory / "seed.py").write_text(SEED)
    (directory / "app.json").write_text(json.dumps(manifest))
    return directory


def upload(api, directory) -> str:
    import httpx

    from paas.cli.builds import pack
    blob = api.post("/sources", json={}).json()["source_blob"]
    httpx.put(blob["put_url"], content=pack(directory), timeout=60).raise_for_status()
    return blob["get_url"]


def settled(api, setup_id: str) -> dict:
    return eventually(lambda: (s := api.get(f"/app-setups/{setup_id}").json())["status"] != "pending" and s, timeout=240,
                      what="the setup settled")


def test_an_app_is_set_up_from_app_json_with_its_database_seeded_by_postdeploy(api, names, settings, token, tmp_path, router):
    name = names[0]
    runner_log = settings.home / "logs" / "runner.log"
    logged_before = runner_log.stat().st_size
    env = {"PAAS_TOKEN": token, "PAAS_API_URL": settings.api_url}
    done = paas("apps:create", name, "--manifest", "--dir", str(source(tmp_path, MANIFEST)), **env)
    assert done.exit_code == 0, done.output
    assert "postdeploy exited with status 0" in done.output and "seeded 1 row" in done.output and f"Creating ⬢ {name}... done" in done.output
    config = api.get(f"/apps/{name}/config-vars").json()
    assert config["GREETING"] == "from-app-json" and len(config["SECRET_KEY"]) == 64 and config["DATABASE_URL"].startswith("postgres://")
    assert eventually(lambda: router.get(name, "/db/read").status_code == 200 and router.get(name, "/db/read").json(),
                      what="the app reading its database") == {"rows": ["seeded"], "ssl": True}  # the row postdeploy wrote
    web = api.get(f"/apps/{name}/formation/web").json()
    assert (web["quantity"], web["size"]) == (1, "standard-1x")
    [job] = api.get(f"/apps/{name}/scheduled-jobs").json()
    assert (job["command"], job["schedule"], job["declared_in"]) == ("echo nightly", "@daily", "app.json")
    assert [r["description"] for r in api.get(f"/apps/{name}/releases").json()][-1] == "Deploy tarball"
    with runner_log.open() as log:  # every consumer of the events took them, the setups' wake-up included
        log.seek(logged_before)
        assert "publishing events failed" not in log.read()


def test_a_malformed_manifest_lists_every_problem_and_a_failing_postdeploy_undoes_everything(api, names, settings, tmp_path, engine):
    bad = {**MANIFEST, "addons": ["mysql"], "formation": {"web": {"quantity": -1}}, "env": {"PORT": "1"}, "cron": [{"command": "x"}]}
    setup = api.post("/app-setups", json={"source_blob": {"url": upload(api, source(tmp_path, bad, "bad"))}, "app": {"name": names[1]}})
    assert setup.status_code == 202, setup.text
    assert setup.json()["app"]["name"] == names[1] and setup.json()["status"] == "pending"
    failed = settled(api, setup.json()["id"])
    assert failed["status"] == "failed" and failed["failure_message"] == "app.json has problems"
    errors = failed["manifest_errors"]
    assert len(errors) == 4 and any(e.startswith("addons[0].plan:") for e in errors) and "env.PORT: not a config var name" in errors, errors
    assert api.get(f"/apps/{names[1]}").status_code == 404  # nothing made stays

    failing = {**MANIFEST, "scripts": {"postdeploy": "echo about to fail; exit 3"}}
    before = addon_servers(engine, settings)
    setup = api.post("/app-setups", json={"source_blob": {"url": upload(api, source(tmp_path, failing, "failing"))},
                                          "app": {"name": names[2]}}).json()
    made = eventually(lambda: addon_servers(engine, settings) - before, timeout=120, what="the setup's add-on server")
    failed = settled(api, setup["id"])
    assert failed["status"] == "failed" and failed["failure_message"] == "postdeploy exited with status 3", failed
    assert failed["postdeploy"] == {"exit_code": 3, "output": "about to fail"}  # (its build went with the app)
    assert api.get(f"/apps/{names[2]}").status_code == 404
    eventually(lambda: not made & addon_servers(engine, settings), timeout=60, what="the add-on's server removed")
    eventually(lambda: not engine.containers.list(all=True, filters={"label": f"paas.app={names[2]}"}), timeout=60,
               what="its processes stopped")


def addon_servers(engine, settings) -> set[str]:
    return {c.name for c in engine.containers.list(all=True, filters={"label": [f"paas.instance={settings.instance}", "paas.addon"]})}


def test_a_pushs_app_json_declares_its_jobs_and_a_malformed_one_is_refused_with_every_problem(api, checkout, app_name):
    checkout.write("app.json", json.dumps({"cron": [{"command": "echo from-app-json", "schedule": "@hourly"}]}))
    checkout.commit("jobs in app.json")
    assert checkout.push().returncode == 0
    api.post(f"/apps/{app_name}/scheduled-jobs", json={"command": "echo from-the-api", "schedule": "@daily"}).raise_for_status()
    jobs = lambda: sorted((j["command"], j["declared_in"]) for j in api.get(f"/apps/{app_name}/scheduled-jobs").json())  # noqa: E731
    assert jobs() == [("echo from-app-json", "app.json"), ("echo from-the-api", "api")]
    releases = len(api.get(f"/apps/{app_name}/releases").json())

    checkout.write("app.json", '{"cron": [{"command": "x", "schedule": "soon"}], "formation": 3}')
    checkout.commit("a broken app.json")
    refused = checkout.push()
    assert refused.returncode != 0
    assert "app.json has 2 problems:" in refused.stderr and "cron[0]: schedule must be five cron fields" in refused.stderr, refused.stderr
    assert "formation: must be an object" in refused.stderr
    assert len(api.get(f"/apps/{app_name}/releases").json()) == releases and len(jobs()) == 2  # nothing deployed or changed

    (checkout.path / "app.json").unlink()
    checkout.commit("no app.json")
    assert checkout.push().returncode == 0
    assert jobs() == [("echo from-the-api", "api")]  # app.json's went with it; the API's stays
