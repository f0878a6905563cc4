"""Fixtures of the CLI tests that run against the platform `make up` started."""

import os
import random
import string
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from paas.cli.main import app

API_URL = os.environ.get("PAAS_API_URL", "http://127.0.0.1:5100")
REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "FROM paas/stack:bookworm\nCMD exec python3 -m http.server $PORT\n"

runner = CliRunner()


@pytest.fixture(scope="module")
def token() -> str:
    home = Path(os.environ.get("PAAS_HOME", REPO_ROOT / ".paas"))
    path = home if home.is_absolute() else REPO_ROOT / home
    try:
        value = (path / "admin-token").read_text().strip()
    except OSError:
        pytest.fail(f"no admin token at {path / 'admin-token'}: run `make up` first")
    try:
        httpx.get(f"{API_URL}/account", headers={"Authorization": f"Bearer {value}"}, timeout=5).raise_for_status()
    except httpx.HTTPError as error:
        pytest.fail(f"the paas API at {API_URL} does not answer ({error}): run `make up` first")
    return value


@pytest.fixture
def env(token, tmp_path, monkeypatch):
    """Every test runs in an empty directory that git cannot climb out of (never the project's repo),
    with a HOME of its own: `paas login` and git's global config never touch the real ones."""
    monkeypatch.setenv("PAAS_TOKEN", token)
    monkeypatch.setenv("PAAS_API_URL", API_URL)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / "xdg-config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def new_name(token):
    """Unique app names; whatever was created under them is deleted afterwards."""
    names = []

    def make() -> str:
        names.append("cli-" + "".join(random.choices(string.ascii_lowercase, k=6)))
        return names[-1]

    yield make
    for name in names:
        httpx.delete(f"{API_URL}/apps/{name}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def app_name(new_name):
    name = new_name()
    result = paas("apps", "create", name)
    assert result.exit_code == 0, result.output
    return name


def paas(*args: str, **env: str):
    return runner.invoke(app, list(args), env=env or None)
