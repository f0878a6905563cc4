"""The `paas` CLI against the running platform (`make up`): real API, real git."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from paas.cli.client import Api
from tests.cli.conftest import API_URL, DOCKERFILE, paas

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("env")]

def paas_json(*args: str, **env: str):
    result = paas(*args, "--json", **env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def git_repo(path: Path) -> Path:
    path.mkdir()
    git("init", "-q", "-b", "main", cwd=path)
    (path / "Dockerfile").write_text(DOCKERFILE)
    git("add", ".", cwd=path)
    git("-c", "user.email=cli@test", "-c", "user.name=cli", "commit", "-qm", "app", cwd=path)
    return path


def descriptions(name: str) -> list[str]:
    return [r["description"] for r in paas_json("releases", "-a", name)]


def wait_live(name: str, version: int, timeout: float = 120) -> None:
    """A release with code starts `pending`; one superseded before it starts is marked failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        release = paas_json("releases", "info", str(version), "-a", name)
        if release["status"] != "pending":
            assert release["status"] == "succeeded", release
            return
        time.sleep(0.5)
    pytest.fail(f"{name} v{version} still pending after {timeout} s")


def test_create_then_listed(app_name):
    assert app_name in [a["name"] for a in paas_json("apps")]
    assert paas_json("apps", "info", "-a", app_name)["name"] == app_name
    result = paas("apps")
    assert result.exit_code == 0 and app_name in result.stdout


def test_maintenance_on_off_and_shown(app_name):
    assert paas("maintenance", "-a", app_name).stdout == "off\n"
    on = paas("maintenance:on", "-a", app_name)
    assert on.exit_code == 0 and on.stdout == f"Enabling maintenance mode for {app_name}... done\n", on.output
    assert paas("maintenance", "-a", app_name).stdout == "on\n"
    assert "Maintenance: on" in paas("apps:info", "-a", app_name).stdout
    assert paas_json("apps:info", "-a", app_name)["maintenance"] is True
    off = paas("maintenance:off", "-a", app_name)
    assert off.exit_code == 0 and off.stdout == f"Disabling maintenance mode for {app_name}... done\n", off.output
    assert paas("maintenance", "-a", app_name).stdout == "off\n"
    missing = paas("maintenance:on", "-a", "no-such-app-here")
    assert missing.exit_code != 0 and "no-such-app-here" in missing.output


def test_create_with_a_stack_and_a_buildpack(new_name):
    name = new_name()
    result = paas("apps:create", name, "--stack", "trixie", "--buildpack", "heroku/python")
    assert result.exit_code == 0 and "stack is trixie" in result.stdout, result.output
    assert paas_json("apps:info", "-a", name)["build_stack"]["name"] == "trixie"
    assert [b["buildpack"]["url"] for b in paas_json("buildpacks", "-a", name)] == ["python"]
    refused = paas("apps:create", new_name(), "--stack", "nosuch")
    assert refused.exit_code == 1 and "nosuch" in refused.output


def test_config_set_get_unset_make_releases(app_name):
    result = paas("config", "set", "A=1", "B=two", "-a", app_name)
    assert result.exit_code == 0, result.output
    assert "Setting A, B and restarting" in result.stdout and ", v2" in result.stdout
    assert paas_json("config", "-a", app_name) == {"A": "1", "B": "two"}
    assert paas("config", "get", "B", "-a", app_name).stdout == "two\n"
    assert descriptions(app_name)[:2] == ["Set A, B config vars", "Initial release"]  # newest first

    result = paas("config", "unset", "A", "-a", app_name)
    assert result.exit_code == 0, result.output
    assert paas_json("config", "-a", app_name) == {"B": "two"}
    assert descriptions(app_name)[0] == "Remove A config vars"

    info = paas("releases", "info", "v2", "-a", app_name)
    assert info.exit_code == 0 and "Set A, B config vars" in info.stdout and "A: 1" in info.stdout


def test_lists_follow_next_range(app_name):
    for i in range(3):
        assert paas("config", "set", f"K{i}=v", "-a", app_name).exit_code == 0
    # One release per page: the client must keep asking with each Next-Range.
    versions = [r["version"] for r in Api().list(f"/apps/{app_name}/releases", "version ..; max=1, order=desc")]
    assert versions == [4, 3, 2, 1]


def test_create_in_git_repo_adds_remote_and_destroy_removes_it(new_name, env, monkeypatch):
    repo = git_repo(env / "repo")
    monkeypatch.chdir(repo)
    name = new_name()
    result = paas("apps", "create", name)
    assert result.exit_code == 0, result.output
    assert git("remote", "get-url", "paas") == f"{API_URL}/{name}.git"
    assert paas_json("apps", "info")["name"] == name  # inferred from the remote

    result = paas("apps", "destroy", "--confirm", name)
    assert result.exit_code == 0, result.output
    assert name not in [a["name"] for a in paas_json("apps")]
    assert subprocess.run(["git", "remote", "get-url", "paas"], capture_output=True).returncode != 0


def test_app_from_remote_deploy_and_rollback(app_name, env, token, monkeypatch):
    repo = git_repo(env / "repo")
    monkeypatch.chdir(repo)
    result = paas("git-remote", "-a", app_name)
    assert result.exit_code == 0, result.output
    assert git("remote", "get-url", "paas") == f"{API_URL}/{app_name}.git"

    # Rollback needs a release with code: deploy once (git authenticates with the token).
    git("-c", f"http.extraHeader=Authorization: Bearer {token}", "push", "-q", "paas", "HEAD:main", cwd=repo)
    deployed = paas_json("releases")[0]
    assert deployed["description"].startswith("Deploy ") and deployed["current"]

    result = paas("config", "set", "C=3")  # no -a: the remote names the app
    assert result.exit_code == 0, result.output
    set_version = deployed["version"] + 1
    wait_live(app_name, set_version)

    result = paas("rollback")  # default: the release before the current one
    assert result.exit_code == 0, result.output
    assert f"Rollback to v{deployed['version']}" in result.stdout
    assert descriptions(app_name)[0] == f"Rollback to v{deployed['version']}"
    assert paas_json("config") == {}
    wait_live(app_name, set_version + 1)

    result = paas("rollback", f"v{set_version}")
    assert result.exit_code == 0, result.output
    assert descriptions(app_name)[0] == f"Rollback to v{set_version}"
    assert paas_json("config") == {"C": "3"}


def test_rollback_without_code_fails(app_name):
    result = paas("rollback", "v1", "-a", app_name)
    assert result.exit_code == 1
    assert result.stderr.startswith(" !    ") and "cannot be rolled back" in result.stderr


def test_unknown_app(new_name):
    missing = new_name()
    result = paas("config", "-a", missing)
    assert result.exit_code == 1
    assert result.stderr == f" !    Couldn't find that app: {missing}\n"


def test_bad_token():
    result = paas("apps", PAAS_TOKEN="bad")
    assert result.exit_code == 1
    assert result.stderr == " !    Invalid credentials provided.\n"


def test_invalid_name():
    result = paas("apps", "create", "Bad_Name")
    assert result.exit_code == 1
    assert "Name must start with a letter" in result.stderr


def test_no_app_outside_a_repo():
    result = paas("config")
    assert result.exit_code == 1
    assert "No app specified" in result.stderr


def test_api_down_hint():
    result = paas("apps", PAAS_API_URL="http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "is paas running? Try `make up`" in result.stderr


def test_logs_show_the_apps_events_and_refuse_bad_options(env, app_name):
    assert paas("config", "set", "A=1", "-a", app_name).exit_code == 0
    result = paas("logs", "-a", app_name, "-n", "10")
    assert result.exit_code == 0, result.output
    assert " app[api]: Set A config vars by " in result.output and " app[api]: Release v2 created by " in result.output
    assert paas("logs", "-a", app_name, "--source", "heroku").output == ""
    bad = paas("logs", "-a", app_name, "--source", "kernel")
    assert bad.exit_code == 1 and "source must be one of" in bad.output


def test_colon_verbs_and_spaced_ones_are_the_same_commands(app_name, token):
    assert paas_json("apps:info", "-a", app_name) == paas_json("apps", "info", "-a", app_name)
    assert paas("config:set", "C=3", "-a", app_name).exit_code == 0
    assert paas_json("config", "-a", app_name)["C"] == "3"
    assert paas("auth:whoami").stdout.strip() == Api().get("/account")["email"]
    assert paas("auth:token").stdout.strip() == token
    for args in (("help",), ("help", "config:set"), ("help", "config", "set"), ("config:set", "--help"), ("--help",)):
        result = paas(*args)
        assert result.exit_code == 0 and "Usage: " in result.stdout, (args, result.output)
    assert "apps:create" in paas("help").stdout
    told = paas("help", "nosuch")
    assert told.exit_code != 0 and "No such command: nosuch" in told.output


def test_dynos_builds_buildpacks_and_stacks(app_name, env, token, monkeypatch):
    repo = git_repo(env / "repo")
    monkeypatch.chdir(repo)
    assert paas("git:remote", "-a", app_name).exit_code == 0
    git("-c", f"http.extraHeader=Authorization: Bearer {token}", "push", "-q", "paas", "HEAD:main", cwd=repo)

    [build] = paas_json("builds")
    assert build["status"] == "succeeded" and paas_json("builds:info")["id"] == build["id"]
    output = paas("builds:output", build["id"])
    assert output.exit_code == 0 and "Building image from Dockerfile" in output.stdout, output.output

    scaled = paas("ps:scale", "web+1", "--wait")
    assert scaled.exit_code == 0 and "web at 2:basic" in scaled.stdout, scaled.output
    dynos = paas_json("ps")
    assert sorted(d["name"] for d in dynos) == ["web.1", "web.2"] and {d["state"] for d in dynos} == {"up"}
    listed = paas("ps")
    assert "=== web (basic)" in listed.stdout and "web.2: up" in listed.stdout, listed.output
    assert paas("ps:type", "web=standard-1x").exit_code == 0
    assert {f["size"] for f in Api().get(f"/apps/{app_name}/formation")} == {"standard-1x"}
    assert paas("ps:restart", "web.2").exit_code == 0
    assert paas("ps:scale", "web=1").exit_code == 0
    assert paas("ps:scale", "web-5").exit_code != 0  # cannot go below none; nothing changed
    assert [f["quantity"] for f in Api().get(f"/apps/{app_name}/formation")] == [1]

    assert paas("buildpacks:set", "python").exit_code == 0
    assert paas("buildpacks:add", "nodejs", "--index", "1").exit_code == 0
    assert [b["buildpack"]["url"] for b in paas_json("buildpacks")] == ["nodejs", "python"]
    assert paas("buildpacks:remove", "nodejs").exit_code == 0 and paas("buildpacks:clear").exit_code == 0
    assert paas_json("buildpacks") == []

    assert "* bookworm" in paas("stack").stdout
    assert paas("stack:set", "trixie").exit_code == 0 and "* trixie" in paas("stack").stdout
    assert paas("stack:set", "cedar-14").exit_code != 0
