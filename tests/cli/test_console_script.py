"""The installed `paas` console script, run as a user would without a terminal, from login to
destroy: the app always taken from the repo's git remote, the platform's state checked after."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import API_URL

pytestmark = pytest.mark.e2e

PAAS = str(Path(sys.executable).with_name("paas"))
SAMPLE_APP = Path(__file__).resolve().parents[1] / "e2e" / "sample_app"


@pytest.fixture
def user_env(tmp_path):
    """A user's shell: an API URL and a home of its own; no token anywhere until `paas login`."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "PAAS_API_URL": API_URL,
           "PAAS_HOME": str(tmp_path / "no-platform-here"), "GIT_CEILING_DIRECTORIES": str(tmp_path),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@paas.localhost", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@paas.localhost"}
    (tmp_path / "home").mkdir()
    return env


def test_the_console_script_from_login_to_destroy(user_env, token, tmp_path):
    repo = tmp_path / "app"
    shutil.copytree(SAMPLE_APP, repo)

    def run(*args: str, cwd: Path = repo, input: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([PAAS, *args], cwd=cwd, env=user_env, capture_output=True, text=True, input=input, timeout=180)
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return done

    def git(*args: str, cwd: Path = repo) -> subprocess.CompletedProcess:
        done = subprocess.run(["git", *args], cwd=cwd, env=user_env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, (args, done.stderr)
        return done

    api = httpx.Client(base_url=API_URL, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "first")):
        git(*args)
    assert "No API token" in run("apps", ok=False).stderr
    assert "Logged in as" in run("login", "--token", token).stdout

    created = run("apps:create")  # a generated name, and the `paas` remote
    name = git("remote", "get-url", "paas").stdout.strip().rsplit("/", 1)[-1].removesuffix(".git")
    try:
        assert f"Creating ⬢ {name}... done" in created.stdout
        pushed = git("push", "paas", "main")  # the token of `paas login`, through the credential helper
        assert "is live at" in pushed.stderr

        assert f"Setting GREETING and restarting ⬢ {name}... done, v3" in run("config:set", "GREETING=hi there").stdout
        assert api.get(f"/apps/{name}/config-vars").json() == {"GREETING": "hi there"}
        assert json.loads(run("config", "--json").stdout) == {"GREETING": "hi there"}
        releases = json.loads(run("releases", "--json").stdout)
        assert [r["version"] for r in releases] == [3, 2, 1] and releases[0]["description"] == "Set GREETING config vars"
        assert "is live at" in wait_for(lambda: run("releases:output", "v3").stdout, "is live at")

        rolled = run("rollback").stdout  # to v2: the code, without GREETING; and its deploy as it happens
        assert "Rolling back" in rolled and "-----> v4 is live at" in rolled, rolled
        assert api.get(f"/apps/{name}/config-vars").json() == {}
        assert api.get(f"/apps/{name}/releases/4").json()["description"] == "Rollback to v2"

        assert "Now running web at 2:basic" in run("ps:scale", "web=2", "--wait").stdout
        dynos = json.loads(run("ps", "--json").stdout)
        assert sorted(d["name"] for d in dynos) == ["web.1", "web.2"] and all(d["state"] == "up" for d in dynos)
        assert all(d["command"] == "python3 -u /app/server.py" for d in dynos), [d["command"] for d in dynos]  # the image's own

        ran = run("run", "--", 'echo "[$DYNO]"; cat; exit 3', input="from stdin\n", ok=False)
        assert ran.returncode == 3 and "[run.1]" in ran.stdout and "from stdin" in ran.stdout
        assert "Scaled to web@2:basic" in wait_for(lambda: run("logs", "-n", "200").stdout, "Scaled to web@2:basic")

        assert run("open").stdout.strip() == f"http://{name}.localhost:8080/"
        renamed = f"{name}-renamed"
        assert f"Renaming {name} to {renamed}... done" in run("apps:rename", renamed).stdout
        assert git("remote", "get-url", "paas").stdout.strip() == f"{API_URL}/{renamed}.git"
        name = renamed
        assert api.get(f"/apps/{renamed}").json()["name"] == renamed
        (repo / "NOTES").write_text("after the rename\n")
        git("add", "NOTES")
        git("commit", "-qm", "second")
        assert "is live at" in git("push", "paas", "main").stderr  # the repository moved with the app

        run("git:clone", "-a", renamed, "copy", cwd=tmp_path)
        assert (tmp_path / "copy" / "NOTES").read_text() == "after the rename\n"
        assert git("remote", "get-url", "paas", cwd=tmp_path / "copy").stdout.strip() == f"{API_URL}/{renamed}.git"

        site = tmp_path / "site"
        shutil.copytree(SAMPLE_APP, site)
        (site / "VERSION").write_text("77\n")
        built = run("builds:create", "--dir", str(site), "--version", "v77")
        assert "Building image from Dockerfile" in built.stdout and "is live at" in built.stdout, built.stdout
        assert "version=77" in httpx.get("http://127.0.0.1:8080/", headers={"Host": f"{renamed}.localhost"}).text

        assert "Destroying" in run("apps:destroy", "--confirm", renamed).stdout
        assert api.get(f"/apps/{renamed}").status_code == 404
        assert "No app specified" in run("config", ok=False).stderr  # the remote went with the app
    finally:
        api.delete(f"/apps/{name}")


def wait_for(read, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while text not in (seen := read()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return seen


def test_pip_install_gives_the_command_without_the_checkout(tmp_path, token):
    """What the README tells a user without the checkout: `pip install` of the project, then `paas`."""
    project, venv = tmp_path / "project", tmp_path / "venv"
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, project / name)  # a copy: the build leaves its files beside the source
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(project)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PAAS_API_URL": API_URL, "PAAS_TOKEN": token}
    whoami = subprocess.run([str(venv / "bin" / "paas"), "auth:whoami"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert whoami.returncode == 0 and whoami.stdout.strip() == "admin@paas.localhost", whoami
