"""The git receiver in-process: a real uvicorn server on loopback, the real git CLI, committed rows
in the test database, and a Celery broker (Redis db 15) that no worker listens on."""

import contextlib
import os
import secrets
import threading
import time

import pytest
import sqlalchemy as sa
import uvicorn
from paas.domain.db import make_sessionmaker

from paas.domain import accounts, apps
from paas.domain.crypto import ConfigCipher, load_keys
from paas.domain.models import Event
from paas.platform.app import create_app
from tests.conftest import free_port
from tests.e2e.conftest import Checkout


@contextlib.contextmanager
def git_server(api_settings, test_database_url):
    """The platform's git receiver on a port of its own, with an app, its owner and a stranger."""
    port = free_port()
    settings = api_settings.model_copy(update={"api_port": port})
    make_session = make_sessionmaker(settings.model_copy(update={"database_url": test_database_url}))
    cipher = ConfigCipher(load_keys(settings))
    suffix = secrets.token_hex(3)
    with make_session() as db:
        owner = accounts.ensure_user(db, f"git-{suffix}@example.com")
        stranger = accounts.ensure_user(db, f"other-{suffix}@example.com")
        tokens = {"owner": accounts.issue_token(db, owner), "stranger": accounts.issue_token(db, stranger)}
        app = apps.create_app(db, cipher, owner, f"git-{suffix}")
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
        apps.delete_app(db, apps.get_app(db, app.name))
        db.execute(sa.delete(Event).where(Event.app_id == app.id))  # committed for real: not for another test's publisher
        db.execute(sa.text("DELETE FROM users WHERE email LIKE :p"), {"p": f"%-{suffix}@example.com"})
        db.commit()
    make_session.kw["bind"].dispose()


@pytest.fixture
def server(api_settings, test_database_url):
    with git_server(api_settings, test_database_url) as running:
        yield running


@pytest.fixture
def repo(tmp_path, server):
    host, app, tokens = server
    return Checkout(tmp_path / "app", f"http://paas:{tokens['owner']}@{host}/{app}.git")


def test_a_push_without_a_build_worker_is_refused_at_once_and_moves_nothing(repo):
    started = time.monotonic()
    refused = repo.push()
    assert refused.returncode != 0
    assert "remote: error: no paas build worker is running" in refused.stderr
    assert "! [remote rejected] main -> main (no build worker)" in refused.stderr
    assert time.monotonic() - started < 10
    assert "refs/heads/main" not in repo.remote_refs()


def test_other_branches_are_stored_without_a_build(repo):
    stored = repo.push(ref="main:refs/heads/feature")
    assert stored.returncode == 0, stored.stderr
    assert "only main or master deploy; not building" in stored.stderr
    assert "refs/heads/feature" in repo.remote_refs()


def test_git_needs_a_token_and_the_apps_owner(server, repo):
    host, app, tokens = server
    anonymous = repo.push(f"http://{host}/{app}.git")
    assert anonymous.returncode != 0 and "could not read Username" in anonymous.stderr
    wrong = repo.push(f"http://paas:wrong@{host}/{app}.git")
    assert wrong.returncode != 0 and "Authentication failed" in wrong.stderr
    stranger = repo.push(f"http://paas:{tokens['stranger']}@{host}/{app}.git")
    assert stranger.returncode != 0 and "not found" in stranger.stderr
    unknown = repo.push(f"http://paas:{tokens['owner']}@{host}/no-such-app.git")
    assert unknown.returncode != 0 and "not found" in unknown.stderr


def test_a_push_over_the_size_limit_is_refused_and_moves_nothing(api_settings, test_database_url, tmp_path):
    small = api_settings.model_copy(update={"push_size_limit": 64 * 1024})
    with git_server(small, test_database_url) as (host, app, tokens):
        checkout = Checkout(tmp_path / "big", f"http://paas:{tokens['owner']}@{host}/{app}.git")
        checkout.write("noise.bin", os.urandom(300 * 1024).hex())  # does not compress: the pack is big
        checkout.commit("big")
        refused = checkout.push(ref="main:refs/heads/feature")
        assert refused.returncode != 0 and "413" in refused.stderr, refused.stderr
        assert "refs/heads/feature" not in checkout.remote_refs()
