"""The git receiver in-process: a real uvicorn server on loopback, the real git CLI, committed rows
in the test database, and a Celery broker (Redis db 15) that no worker listens on."""

import secrets
import shutil
import subprocess
import threading
import time

import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.orm import sessionmaker

from paas.platform import services
from paas.platform.app import create_app
from paas.platform.crypto import ConfigCipher, load_or_create_key
from tests.conftest import free_port
from tests.e2e.conftest import SAMPLE_APP


@pytest.fixture
def server(api_settings, test_database_url):
    port = free_port()
    settings = api_settings.model_copy(update={"api_port": port})
    engine = sa.create_engine(test_database_url)
    make_session = sessionmaker(engine, expire_on_commit=False)
    cipher = ConfigCipher(load_or_create_key(settings))
    suffix = secrets.token_hex(3)
    with make_session() as db:
        owner = services.ensure_user(db, f"git-{suffix}@example.com")
        stranger = services.ensure_user(db, f"other-{suffix}@example.com")
        tokens = {"owner": services.issue_token(db, owner), "stranger": services.issue_token(db, stranger)}
        app = services.create_app(db, cipher, owner, f"git-{suffix}")
        db.commit()
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}", app.name, tokens
    uv.should_exit = True
    thread.join(10)
    with make_session() as db:
        services.delete_app(db, services.get_app(db, app.name))
        db.execute(sa.text("DELETE FROM users WHERE email LIKE :p"), {"p": f"%-{suffix}@example.com"})
        db.commit()
    engine.dispose()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "app"
    shutil.copytree(SAMPLE_APP, path)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "v1"]):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=path, check=True)
    return path


def push(repo, url, ref="main"):
    return subprocess.run(
        ["git", "push", url, ref], cwd=repo, capture_output=True, text=True, timeout=60,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"},
    )


def remote_head(repo, url):
    out = subprocess.run(["git", "ls-remote", url], cwd=repo, capture_output=True, text=True, timeout=30).stdout
    return {ref: sha for sha, ref in (line.split("\t") for line in out.splitlines())}


def test_a_push_without_a_build_worker_is_refused_at_once_and_moves_nothing(server, repo):
    host, app, tokens = server
    url = f"http://paas:{tokens['owner']}@{host}/{app}.git"
    started = time.monotonic()
    refused = push(repo, url)
    assert refused.returncode != 0
    assert "remote: error: no paas build worker is running" in refused.stderr
    assert "! [remote rejected] main -> main (no build worker)" in refused.stderr
    assert time.monotonic() - started < 10
    assert "refs/heads/main" not in remote_head(repo, url)


def test_other_branches_are_stored_without_a_build(server, repo):
    host, app, tokens = server
    url = f"http://paas:{tokens['owner']}@{host}/{app}.git"
    stored = push(repo, url, "main:refs/heads/feature")
    assert stored.returncode == 0, stored.stderr
    assert "only main or master deploy; not building" in stored.stderr
    assert "refs/heads/feature" in remote_head(repo, url)


def test_git_needs_a_token_and_the_apps_owner(server, repo):
    host, app, tokens = server
    anonymous = push(repo, f"http://{host}/{app}.git")
    assert anonymous.returncode != 0 and "could not read Username" in anonymous.stderr
    wrong = push(repo, f"http://paas:wrong@{host}/{app}.git")
    assert wrong.returncode != 0 and "Authentication failed" in wrong.stderr
    stranger = push(repo, f"http://paas:{tokens['stranger']}@{host}/{app}.git")
    assert stranger.returncode != 0 and "not found" in stranger.stderr
    unknown = push(repo, f"http://paas:{tokens['owner']}@{host}/no-such-app.git")
    assert unknown.returncode != 0 and "not found" in unknown.stderr
