"""Pure unit tests of the credentials file and the git credential helper: no platform needed."""

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from paas.cli import credentials
from paas.cli.common import git_credential_command
from paas.cli.main import app

API = "http://127.0.0.1:5100"
runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A HOME of the test's own; no token from the environment or from a PAAS_HOME."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("PAAS_TOKEN", raising=False)
    monkeypatch.setenv("PAAS_HOME", str(tmp_path / "no-paas-home"))
    monkeypatch.setenv("PAAS_API_URL", API)
    return tmp_path / "home"


def test_path_default_and_xdg(home, tmp_path, monkeypatch):
    assert credentials.credentials_path() == home / ".config" / "paas" / "credentials.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert credentials.credentials_path() == tmp_path / "xdg" / "paas" / "credentials.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/xdg")  # ignored, as the XDG spec says
    assert credentials.credentials_path() == home / ".config" / "paas" / "credentials.json"


def test_save_lookup_remove_and_mode():
    assert credentials.lookup(API) is None
    path = credentials.save(API, "tok-1")
    credentials.save("http://other:5100", "tok-2")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text()) == {API: "tok-1", "http://other:5100": "tok-2"}
    assert credentials.lookup(API) == "tok-1"
    assert credentials.remove(API) is True
    assert credentials.remove(API) is False
    assert json.loads(path.read_text()) == {"http://other:5100": "tok-2"}
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temp files left behind


def test_rewrite_replaces_a_too_open_file():
    path = credentials.credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    path.chmod(0o644)
    credentials.save(API, "tok")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_corrupt_file():
    path = credentials.credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("not json")
    assert credentials.lookup(API) is None
    with pytest.raises(credentials.CredentialsError, match="not valid JSON"):
        credentials.save(API, "tok")
    assert path.read_text() == "not json"


def test_parse_git_request_stops_at_blank_line():
    lines = ["protocol=http\n", "host=127.0.0.1:5100\n", "wwwauth[]=Basic realm=\"paas\"\n", "\n", "host=evil\n"]
    assert credentials.parse_git_request(lines) == {
        "protocol": "http", "host": "127.0.0.1:5100", "wwwauth[]": 'Basic realm="paas"',
    }
    assert credentials.parse_git_request(iter(["protocol=https", "host=x"])) == {"protocol": "https", "host": "x"}


@pytest.mark.parametrize(
    ("request_", "api", "matches"),
    [
        ({"protocol": "http", "host": "127.0.0.1:5100"}, API, True),
        ({"protocol": "http", "host": "127.0.0.1:5100", "path": "app.git"}, API, True),
        ({"protocol": "HTTP", "host": "LOCALHOST:5100"}, "http://localhost:5100", True),
        ({"protocol": "http", "host": "127.0.0.1:5101"}, API, False),
        ({"protocol": "http", "host": "127.0.0.1"}, API, False),
        ({"protocol": "https", "host": "127.0.0.1:5100"}, API, False),
        ({"protocol": "http", "host": "github.com"}, API, False),
        ({"protocol": "http"}, API, False),
        ({"host": "127.0.0.1:5100"}, API, False),
        ({"protocol": "https", "host": "paas.test"}, "https://paas.test:443", True),
        ({"protocol": "http", "host": "paas.test:80"}, "http://paas.test", True),
        ({"protocol": "http", "host": "[::1]:5100"}, "http://[::1]:5100", True),
        ({"protocol": "http", "host": "[::1]"}, "http://[::1]:5100", False),
        ({"url": "http://127.0.0.1:5100/app.git"}, API, True),
    ],
)
def test_matches_api(request_, api, matches):
    assert credentials.matches_api(request_, api) is matches


def helper(action: str, text: str, **env: str):
    return runner.invoke(app, ["git-credential", action], input=text, env=env or None)


def test_helper_answers_for_the_api_host_only():
    result = helper("get", "protocol=http\nhost=127.0.0.1:5100\n\n", PAAS_TOKEN="tok")
    assert result.exit_code == 0
    assert result.stdout == "username=paas\npassword=tok\n"

    result = helper("get", "protocol=http\nhost=example.test\n\n", PAAS_TOKEN="tok")
    assert result.exit_code == 0 and result.stdout == ""


def test_helper_uses_the_saved_token():
    credentials.save(API, "saved-tok")
    credentials.save("http://127.0.0.1:5200", "other-tok")
    result = helper("get", "protocol=http\nhost=127.0.0.1:5100\n")  # EOF instead of a blank line
    assert result.exit_code == 0 and result.stdout == "username=paas\npassword=saved-tok\n"


def test_helper_without_token_is_silent():
    result = helper("get", "protocol=http\nhost=127.0.0.1:5100\n\n")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("action", ["store", "erase"])
def test_helper_store_and_erase_do_nothing(action):
    credentials.save(API, "tok")
    result = helper(action, "protocol=http\nhost=127.0.0.1:5100\nusername=paas\npassword=tok\n\n")
    assert result.exit_code == 0 and result.stdout == ""
    assert credentials.lookup(API) == "tok"


def test_helper_is_hidden_from_help():
    result = runner.invoke(app, ["--help"])
    assert "login" in result.stdout and "git-credential" not in result.stdout


def test_helper_command_runs_this_python():
    command = git_credential_command()
    assert command.startswith("!") and command.endswith(" -m paas.cli.main git-credential")
    assert os.path.isabs(command[1:].split(" -m ")[0].strip("'"))
