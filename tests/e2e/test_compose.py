"""The compose stack (docker-compose.yml) beside the `make up` platform: built and brought up
on ports of its own, on the same home (so the same admin token), it takes pushes of the sample
Dockerfile app and a buildpack app, serves both through its own router, and after `down` and
`up -d` still has the apps, their releases and an add-on's data. Then the stack and its volumes go."""

import secrets
import string

import docker
import httpx
import pytest

from paas.settings import Settings
from tests.compose_stack import INSTANCE, PORTS, PROJECT, compose, remove, up
from tests.compose_stack import settings as stack_settings
from tests.e2e.conftest import APPS, SAMPLE_APP, Checkout, Router, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(settings):
    home = settings.home.resolve()
    up(home, "--build")
    ours = stack_settings(home)
    try:
        yield ours
    finally:
        token = settings.admin_token_file.read_text().strip()
        with client(ours, token) as api:
            for app in api.get("/apps").json() if api.get("/account").status_code == 200 else []:
                api.delete(f"/apps/{app['name']}")  # its processes and add-on servers go with it
        engine = docker.from_env()
        mine = lambda label: engine.containers.list(all=True, filters={"label": [f"paas.instance={INSTANCE}", label]},  # noqa: E731
                                                   ignore_removed=True)
        eventually(lambda: not mine("paas.app") and not mine("paas.addon"), 120, "the stack's app and add-on containers gone")
        remove(home)


def client(stack: Settings, token: str) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def psql(addon_server, database_url: str, sql: str) -> str:
    """SQL in the add-on's own server, as the app's credentials (over TLS, as apps connect)."""
    url = database_url.replace("@" + database_url.split("@")[1].split("/")[0], "@127.0.0.1:5432") + "?sslmode=require"
    code, output = addon_server.exec_run(["psql", url, "-tAc", sql])
    assert code == 0, output
    return output.decode().strip()


def test_the_stack_serves_pushed_apps_and_keeps_them_across_a_restart(stack, settings, token, api, tmp_path):
    engine = docker.from_env()
    router = Router(stack)
    with client(stack, token) as ours:
        assert ours.get("/account").json()["email"] == "admin@paas.localhost"  # make up's token serves it too
        apps = {}
        for kind, source in (("dockerfile", SAMPLE_APP), ("buildpack", APPS / "static")):
            name = "c-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
            assert ours.post("/apps", json={"name": name}).status_code == 201
            checkout = Checkout(tmp_path / name, f"http://paas:{token}@127.0.0.1:{PORTS['API']}/{name}.git", source=source)
            pushed = checkout.push()
            assert pushed.returncode == 0 and "-----> " in pushed.stderr, pushed.stderr
            apps[kind] = name
        assert "sample-app version=1" in router.get(apps["dockerfile"]).text
        assert "static-site says hello" in router.get(apps["buildpack"]).text
        assert not {a["name"] for a in api.get("/apps").json()} & set(apps.values())  # not make up's apps

        made = ours.post(f"/apps/{apps['dockerfile']}/addons", json={"plan": "heroku-postgresql"})
        assert made.status_code == 201, made.text
        addon = made.json()
        database_url = ours.get(f"/apps/{apps['dockerfile']}/config-vars").json()["DATABASE_URL"]
        server = engine.containers.get(f"{INSTANCE}-addon-{addon['name']}")
        psql(server, database_url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('alpha')")
        releases = {name: [r["version"] for r in ours.get(f"/apps/{name}/releases").json()] for name in apps.values()}

    assert compose(stack.home, "down").returncode == 0
    assert not [c for c in engine.containers.list() if c.labels.get("com.docker.compose.project") == PROJECT]
    with pytest.raises(httpx.TransportError):  # its router went with it
        router.get(apps["dockerfile"])
    up(stack.home)

    with client(stack, token) as ours:
        assert set(apps.values()) <= {a["name"] for a in ours.get("/apps").json()}
        assert {name: [r["version"] for r in ours.get(f"/apps/{name}/releases").json()] for name in apps.values()} == releases
        [kept] = ours.get(f"/apps/{apps['dockerfile']}/addons").json()
        assert (kept["name"], kept["state"]) == (addon["name"], "provisioned")
        assert psql(engine.containers.get(server.id), database_url, "SELECT v FROM kept") == "alpha"
    eventually(lambda: "sample-app version=1" in router.get(apps["dockerfile"]).text, 60, "the Dockerfile app answering")
    eventually(lambda: "static-site says hello" in router.get(apps["buildpack"]).text, 60, "the buildpack app answering")
