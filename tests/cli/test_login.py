"""`paas login` and `git push` authenticated through the CLI's credential helper, against the running platform."""

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from paas.cli.common import git_credential_command
from paas.cli.main import app
from tests.cli.conftest import API_URL, REPO_ROOT, paas, runner
from tests.cli.test_main import git

pytestmark = pytest.mark.e2e

SAMPLE_APP = REPO_ROOT / "tests" / "e2e" / "sample_app"


@pytest.fixture
def config_home(env, tmp_path, monkeypatch) -> Path:
    """No token anywhere: no PAAS_TOKEN, no PAAS_HOME, and no `.paas/admin-token` below the working directory."""
    monkeypatch.delenv("PAAS_TOKEN")
    monkeypatch.delenv("PAAS_HOME", raising=False)
    assert not (Path.cwd() / ".paas").exists()
    return Path(os.environ["XDG_CONFIG_HOME"])


def credentials_file(config_home: Path) -> Path:
    return config_home / "paas" / "credentials.json"


def git_env() -> dict[str, str]:
    """What a user's shell would give git: the test's HOME, no token, and no way to prompt."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PAAS_TOKEN", "PAAS_HOME", "GIT_ASKPASS", "SSH_ASKPASS")}
    environ["GIT_TERMINAL_PROMPT"] = "0"
    return environ


def run_git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True, timeout=300)


def test_login_saves_the_token_0600_and_the_cli_uses_it(config_home, token):
    assert paas("apps").exit_code == 1  # no token anywhere yet
    result = paas("login", "--token", token)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Logged in as admin@paas.localhost\n"

    path = credentials_file(config_home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {API_URL: token}
    assert "PAAS_TOKEN" not in os.environ and "PAAS_HOME" not in os.environ

    result = paas("apps")
    assert result.exit_code == 0, result.output

    result = paas("logout")
    assert result.exit_code == 0 and result.stdout == f"Logged out of {API_URL}\n"
    assert json.loads(path.read_text()) == {}
    result = paas("apps")
    assert result.exit_code == 1 and "paas login" in result.stderr and "PAAS_TOKEN" in result.stderr


def test_login_prompts_for_the_token(config_home, token):
    result = runner.invoke(app, ["login"], input=f"{token}\n")
    assert result.exit_code == 0, result.output
    assert token not in result.output  # hidden input is not echoed
    assert "Logged in as admin@paas.localhost" in result.stdout
    assert json.loads(credentials_file(config_home).read_text()) == {API_URL: token}


def test_login_with_a_bad_token_saves_nothing(config_home):
    result = paas("login", "--token", "not-a-token")
    assert result.exit_code == 1
    assert result.stderr.startswith(" !    Login to") and "refused" in result.stderr
    assert not credentials_file(config_home).exists()


def test_create_then_plain_git_push_uses_the_login(config_home, env, new_name, token, monkeypatch):
    repo = env / "app"
    shutil.copytree(SAMPLE_APP, repo)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("-c", "user.email=cli@test", "-c", "user.name=cli", "commit", "-qm", "app", cwd=repo)
    monkeypatch.chdir(repo)

    assert paas("login", "--token", token).exit_code == 0
    name = new_name()
    result = paas("apps", "create", name)
    assert result.exit_code == 0, result.output
    git_url = f"{API_URL}/{name}.git"
    assert git("remote", "get-url", "paas", cwd=repo) == git_url
    assert git("config", "--get-urlmatch", "credential.helper", git_url, cwd=repo) == git_credential_command()

    # Run again: still exactly one reset and one helper, not a growing list.
    assert paas("git-remote", "-a", name).exit_code == 0
    helpers = run_git(repo, "config", "--local", "--get-all", f"credential.{API_URL}.helper").stdout
    assert helpers == f"\n{git_credential_command()}\n"

    # Logged out, git gets no credentials and fails at once instead of prompting.
    assert paas("logout").exit_code == 0
    refused = run_git(repo, "ls-remote", "paas")
    assert refused.returncode != 0

    assert paas("login", "--token", token).exit_code == 0
    pushed = run_git(repo, "push", "paas", "main")
    assert pushed.returncode == 0, pushed.stderr
    assert "is live at" in pushed.stderr
    assert token not in pushed.stderr

    result = paas("apps", "destroy", "--confirm", name)
    assert result.exit_code == 0, result.output
