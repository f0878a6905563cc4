"""The official Heroku CLI (npm `heroku`, v11) against the running platform: what it prints, and
what the platform holds afterwards. It is installed once into the cache directory (kept across
clones); telemetry and update checks are off, and any request it would make elsewhere goes to a
closed port of this host instead (a proxy that is not there)."""

import os
import secrets
import string
import subprocess

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
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(binary), *args], env=env, cwd=home, capture_output=True, text=True, timeout=120)

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
