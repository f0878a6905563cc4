"""Pipelines end to end with the official Heroku CLI and `paas`: staging's release is promoted to
production with no build (the same image runs), production keeping its own config."""

import secrets
import string

import pytest

from tests.cli.conftest import paas
from tests.e2e.conftest import Checkout, app_containers, eventually
from tests.e2e.test_heroku_cli import heroku, ok  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture
def names(api):
    made = ["pl-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(3)]
    yield made
    for name in made:
        api.delete(f"/apps/{name}")
    for pipeline in api.get("/pipelines").json():
        if pipeline["name"].startswith(made[0]):
            api.delete(f"/pipelines/{pipeline['id']}")


def test_the_heroku_cli_promotes_staging_to_production_with_its_image_and_productions_config(
        heroku, api, names, settings, token, tmp_path, router, engine):
    staging, production, pipeline = names[0], names[1], names[0] + "-pipe"
    ok(heroku("apps:create", staging))
    ok(heroku("apps:create", production))
    host = settings.api_url.removeprefix("http://")
    pushed = Checkout(tmp_path / "app", f"http://paas:{token}@{host}/{staging}.git").push()
    assert pushed.returncode == 0, pushed.stderr
    ok(heroku("config:set", "GREETING=from-production", "-a", production))
    assert router.wait_for(staging, lambda r: r.status_code == 200).text == "sample-app version=1 greeting=\n"

    created = ok(heroku("pipelines:create", pipeline, "-a", staging, "-s", "staging"))
    assert f"Creating {pipeline} pipeline... done" in created and f"Adding {staging} to {pipeline} pipeline as staging... done" in created
    ok(heroku("pipelines:add", pipeline, "-a", production, "-s", "production"))
    assert pipeline in ok(heroku("pipelines")).splitlines()
    info = ok(heroku("pipelines:info", pipeline))
    assert staging in info and production in info and "staging" in info and "production" in info, info

    promoted = ok(heroku("pipelines:promote", "-a", staging))
    assert "Promotion successful" in promoted and production in promoted, promoted
    assert router.wait_for(production, lambda r: r.status_code == 200).text == "sample-app version=1 greeting=from-production\n"
    [newest] = api.get(f"/apps/{production}/releases", headers={"Range": "version ..; max=1, order=desc"}).json()
    assert newest["description"].startswith(f"Promote {staging} v") and newest["status"] == "succeeded"
    assert api.get(f"/apps/{production}/builds").json() == []  # nothing was built for production
    [from_staging] = eventually(lambda: len(found := app_containers(engine, settings, staging, "web")) == 1 and found, what="one staging dyno")
    [in_production] = eventually(lambda: len(found := app_containers(engine, settings, production, "web")) == 1 and found,
                                 what="one production dyno")
    assert in_production.image.id == from_staging.image.id  # the very image staging runs
    assert api.get(f"/apps/{production}/config-vars").json() == {"GREETING": "from-production"}

    # The same from `paas`: info, a promotion to the apps given, and removal.
    env = {"PAAS_TOKEN": token, "PAAS_API_URL": settings.api_url}
    shown = paas("pipelines:info", pipeline, **env)
    assert shown.exit_code == 0 and staging in shown.output and "production" in shown.output, shown.output
    ok(heroku("apps:create", names[2]))
    assert paas("pipelines:add", pipeline, "-a", names[2], "-s", "production", **env).exit_code == 0
    again = paas("pipelines:promote", "-a", staging, "--to", names[2], **env)
    assert again.exit_code == 0 and "succeeded" in again.output and "v" in again.output, again.output
    assert router.wait_for(names[2], lambda r: r.status_code == 200).text == "sample-app version=1 greeting=\n"
    refused = paas("pipelines:promote", "-a", production, **env)
    assert refused.exit_code == 1 and "Cannot promote" in refused.output
    ok(heroku("pipelines:remove", "-a", production))
    assert api.get(f"/apps/{production}/pipeline-couplings").status_code == 404
    assert paas("pipelines:destroy", pipeline, **env).exit_code == 0
    assert api.get(f"/pipelines/{pipeline}").status_code == 404
