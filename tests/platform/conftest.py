"""The API's in-process fixtures: real Postgres (a transaction per test) and real Redis (its own db)."""

import pytest
from fastapi.testclient import TestClient

from paas import logs
from paas.channels.runner import ADDON_QUEUE, WAKE_QUEUE
from paas.domain import accounts, apps, builds, models, releases
from paas.platform.app import create_app
from paas.publisher import Publisher
from paas.runner.wakes import waker


@pytest.fixture
def platform_app(api_settings, test_sessionmaker):
    app = create_app(api_settings)
    platform = app.api.state.platform
    platform.sessionmaker = test_sessionmaker
    platform.redis.delete(WAKE_QUEUE, ADDON_QUEUE)
    yield app
    platform.redis.delete(WAKE_QUEUE, ADDON_QUEUE)


@pytest.fixture
def token(test_sessionmaker):
    with test_sessionmaker() as db:
        user = accounts.ensure_user(db, "dev@example.com", name="Dev")
        token = accounts.issue_token(db, user)
        db.commit()
    return token


@pytest.fixture
def client(platform_app, token):
    with TestClient(platform_app) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        c.headers["Accept"] = "application/vnd.heroku+json; version=3"
        yield c


@pytest.fixture
def publish(platform_app, test_sessionmaker):
    """Deliver the events recorded so far, as the runner's publisher does (to the same consumers)."""
    platform = platform_app.api.state.platform
    publisher = Publisher(test_sessionmaker, platform.redis, [waker(platform.redis), logs.writer(platform.logs)])
    return lambda: publisher.deliver()


@pytest.fixture
def woken(platform_app, publish):
    """The apps the runner was woken for, once the events so far are delivered."""
    redis = platform_app.api.state.platform.redis

    def read() -> list[str]:
        publish()
        return redis.lrange(WAKE_QUEUE, 0, -1)

    return read


def deploy(test_sessionmaker, app_name: str, image: str, process_types: dict[str, str] | None = None) -> int:
    """What a finished build records (the builder's own work is covered end to end)."""
    with test_sessionmaker() as db:
        app = apps.get_app(db, app_name)
        build = builds.create_build(db, app, app.owner, "a" * 40)
        release = builds.release_build(db, build, image, process_types or {"web": ""})
        releases.settle_release(db, release, models.Status.succeeded)
        db.commit()
        return release.version
