"""The official Heroku CLI (npm `heroku`, v11) against the running platform: what it prints, and
what the platform holds afterwards. It is installed once into the cache directory (kept across
clones); telemetry and update checks are off, and any request it would make elsewhere goes to a
closed port of this host instead (a proxy that is not there)."""

import os
import secrets
import select
import string
import subprocess
import time

import httpx
import pytest

from tests.e2e.conftest import Checkout

pytestmark = pytest.mark.e2e
VERSION = "11"


@pytest.fixture(scope="session")
def heroku(settings, token, tmp_path_factory):
    root = settings.cache_dir / "heroku-cli"
    binary = root / "node_modules" / ".bin" / "heroku"
    if not binary.exists():
        root.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"heroku@{VERSION}"],
                                   cwd=root, capture_output=True, text=True, timeout=600)
        assert installed.returncode == 0, installed.stderr
    home = tmp_path_factory.mktemp("heroku-home")
    api = settings.api_url
    env = {
        "PATH": os.environ["PATH"], "HOME": str(home), "HEROKU_HOST": api, "HEROKU_API_KEY": token,
        "DISABLE_TELEMETRY": "true", "IS_HEROKU_TEST_ENV": "true", "HEROKU_SKIP_ANALYTICS": "1",
        "HEROKU_SKIP_NEW_VERSION_CHECK": "true", "HEROKU_DISABLE_AUTOUPDATE": "1", "HEROKU_PARTICLEBOARD_URL": api,
        "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
        # `heroku run` checks the rendezvous's certificate; buildpack names resolve here, not at Heroku.
        "NODE_EXTRA_CA_CERTS": str(settings.rendezvous_ca_file.resolve()), "HEROKU_BUILDPACK_REGISTRY_URL": f"{api}/buildpack-registry",
    }

    def run(*args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(binary), *args], env=env, cwd=home, capture_output=True, text=True, input=input,
                              timeout=timeout)

    run.command, run.env = [str(binary)], env
    return run


@pytest.fixture
def name(api):
    made = "hk-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    yield made
    api.delete(f"/apps/{made}")


def ok(done: subprocess.CompletedProcess) -> str:
    """What the command printed (its progress lines go to stderr, its results to stdout)."""
    assert done.returncode == 0, (done.args, done.stdout, done.stderr)
    return done.stderr + done.stdout


def test_the_heroku_cli_manages_apps_and_config(heroku, api, name):
    assert heroku("auth:whoami").stdout.strip() == api.get("/account").json()["email"]
    assert f"Creating {name}... done" in ok(heroku("apps:create", name))
    assert api.get(f"/apps/{name}").status_code == 200
    assert name in ok(heroku("apps"))
    assert f"=== {name}" in ok(heroku("apps:info", "-a", name))

    assert "Setting A, B and restarting" in ok(heroku("config:set", "A=1", "B=two words", "-a", name))
    assert api.get(f"/apps/{name}/config-vars").json() == {"A": "1", "B": "two words"}
    assert heroku("config:get", "B", "-a", name).stdout.strip() == "two words"
    assert "A: 1" in ok(heroku("config", "-a", name))
    ok(heroku("config:unset", "A", "-a", name))
    assert api.get(f"/apps/{name}/config-vars").json() == {"B": "two words"}
    releases = ok(heroku("releases", "-a", name))
    assert "Set A, B config vars" in releases and "Remove A config vars" in releases and "Initial release" in releases


def test_the_heroku_cli_reads_dynos_domains_stacks_buildpacks_and_addons(heroku, api, name, settings, token, tmp_path):
    ok(heroku("apps:create", name))
    host = settings.api_url.removeprefix("http://")
    pushed = Checkout(tmp_path / "app", f"http://paas:{token}@{host}/{name}.git").push()
    assert pushed.returncode == 0, pushed.stderr
    assert "web.1: up" in ok(heroku("ps", "-a", name))
    assert settings.app_host(name) in ok(heroku("domains", "-a", name))
    stacks = ok(heroku("stack", "-a", name))
    assert "bookworm (active on next deploy)" in stacks and "trixie" in stacks
    assert "has no Buildpacks" in ok(heroku("buildpacks", "-a", name))
    assert "No add-ons" in ok(heroku("addons", "-a", name))


def test_the_heroku_cli_deploys_scales_runs_and_reads_logs(heroku, api, name, settings, token, tmp_path):
    ok(heroku("apps:create", name))
    host = settings.api_url.removeprefix("http://")
    assert Checkout(tmp_path / "app", f"http://paas:{token}@{host}/{name}.git").push().returncode == 0
    ok(heroku("config:set", "GREETING=hello", "-a", name))
    info = ok(heroku("releases:info", "v3", "-a", name))
    assert "Set GREETING config vars" in info and "GREETING: hello" in info
    assert "is live at" in eventually(lambda: ok(heroku("releases:output", "v3", "-a", name)), "is live at")

    rolled = ok(heroku("rollback", "v2", "-a", name))  # and the new release's deploy, as it happens
    assert "Rolling back" in rolled and "-----> v4 is live at" in rolled, rolled
    assert api.get(f"/apps/{name}/config-vars").json() == {}
    assert api.get(f"/apps/{name}/releases/4").json()["description"] == "Rollback to v2"

    assert "now running web at 2:basic" in ok(heroku("ps:scale", "web=2", "-a", name))
    assert [f["quantity"] for f in api.get(f"/apps/{name}/formation").json() if f["type"] == "web"] == [2]
    ok(heroku("ps:type", "web=standard-2x", "-a", name))
    assert [f["size"] for f in api.get(f"/apps/{name}/formation").json()] == ["standard-2x"]
    web = eventually(lambda: sorted(d["name"] for d in api.get(f"/apps/{name}/dynos").json()
                                    if d["state"] == "up" and d["size"] == "standard-2x"), ["web.1", "web.2"])
    assert web == ["web.1", "web.2"]
    assert "web.1: up" in ok(heroku("ps", "-a", name)) and "python3 -u /app/server.py" in ok(heroku("ps", "-a", name))
    before = {d["name"]: d["id"] for d in api.get(f"/apps/{name}/dynos").json()}
    ok(heroku("ps:restart", "web.1", "-a", name))
    restarted = eventually(lambda: {d["name"]: d["id"] for d in api.get(f"/apps/{name}/dynos").json() if d["state"] == "up"},
                           lambda now: now.get("web.1") not in (None, before["web.1"]) and now.get("web.2") == before["web.2"])
    assert restarted["web.2"] == before["web.2"]

    # `heroku run` through the rendezvous: output, stdin, and the process's exit code.
    ran = heroku("run", "--no-tty", "-a", name, "--", 'echo "[$DYNO]"; cat; exit 3', input="from stdin\n")
    assert ran.returncode == 3 and "[run.1]" in ran.stdout and "from stdin" in ran.stdout, (ran.stdout, ran.stderr)
    assert heroku("run", "--no-tty", "-a", name, "--", "true", input="").returncode == 0

    logs = ok(heroku("logs", "-n", "200", "-a", name))
    assert "app[api]: Scaled to web@2:basic" in logs and "heroku[run.1]: Process exited with status 3" in logs, logs
    tail = subprocess.Popen([*heroku.command, "logs", "--tail", "-a", name], env=heroku.env, cwd=heroku.env["HOME"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        marker = f"tailed-{secrets.token_hex(4)}"
        deadline, seen, next_request = time.monotonic() + 30, "", 0.0
        while f'path="/{marker}"' not in seen:  # the router's line
            assert time.monotonic() < deadline, seen
            # Again every 2 s until the tail shows one: its stream may not have been open yet.
            if time.monotonic() >= next_request:
                httpx.get(f"http://127.0.0.1:{settings.router_port}/{marker}", headers={"Host": settings.app_host(name)},
                          timeout=10)
                next_request = time.monotonic() + 2
            ready, _, _ = select.select([tail.stdout], [], [], 0.5)
            if ready:
                seen += tail.stdout.readline()
    finally:
        tail.kill()
        tail.wait()


def test_the_heroku_cli_renames_sets_buildpacks_domains_and_addons_and_destroys(heroku, api, name):
    ok(heroku("apps:create", name))
    assert "Buildpack set" in ok(heroku("buildpacks:set", "heroku/python", "-a", name))
    ok(heroku("buildpacks:add", "https://buildpacks.example/custom.tgz", "-a", name))
    assert [b["buildpack"]["url"] for b in api.get(f"/apps/{name}/buildpack-installations").json()] == [
        "python", "https://buildpacks.example/custom.tgz"]
    assert "'heroku/nosuch' is neither a built-in one" in heroku("buildpacks:set", "heroku/nosuch", "-a", name).stderr

    ok(heroku("domains:add", "www.hk-test.example", "-a", name))
    assert "www.hk-test.example" in [d["hostname"] for d in api.get(f"/apps/{name}/domains").json()]
    ok(heroku("domains:remove", "www.hk-test.example", "-a", name))
    assert "www.hk-test.example" not in [d["hostname"] for d in api.get(f"/apps/{name}/domains").json()]

    created = ok(heroku("addons:create", "heroku-redis", "-a", name))
    [addon] = api.get(f"/apps/{name}/addons").json()
    assert f"Created {addon['name']} as REDIS_URL" in created
    eventually(lambda: api.get(f"/apps/{name}/addons/{addon['name']}").json()["state"], "provisioned")
    assert "free" in ok(heroku("addons", "-a", name))
    ok(heroku("addons:destroy", addon["name"], "-a", name, "--confirm", name))
    assert api.get(f"/apps/{name}/addons").json() == []

    renamed = f"{name}-new"
    try:
        ok(heroku("apps:rename", renamed, "-a", name))
        assert api.get(f"/apps/{renamed}").json()["git_url"].endswith(f"/{renamed}.git")
        assert api.get(f"/apps/{name}").status_code == 404
        assert f"Destroying {renamed}" in ok(heroku("apps:destroy", "-a", renamed, "--confirm", renamed))
        assert api.get(f"/apps/{renamed}").status_code == 404
    finally:
        api.delete(f"/apps/{renamed}")


def eventually(read, wanted, timeout: float = 60):
    """What `read` answers once it holds `wanted` (a value, a substring, or a test); the test fails
    if it does not by the deadline."""
    def good(value) -> bool:
        if callable(wanted):
            return wanted(value)
        return wanted in value if isinstance(value, str) and isinstance(wanted, str) else value == wanted

    deadline = time.monotonic() + timeout
    while not good(value := read()):
        assert time.monotonic() < deadline, f"after {timeout} s still {value!r}, not {wanted!r}"
        time.sleep(0.5)
    return value
