"""Release numbering and build rules, against the real test database."""

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from paas.platform import services
from paas.platform.crypto import ConfigCipher
from paas.platform.errors import Conflict
from paas.platform.models import Status

CIPHER = ConfigCipher(b"x" * 43 + b"=")


@pytest.fixture
def owner(test_sessionmaker):
    with test_sessionmaker() as db:
        user = services.ensure_user(db, "owner@example.com")
        db.commit()
        return user


def test_releases_are_numbered_in_order_and_config_changes_append(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = services.create_app(db, CIPHER, owner, "numbered")
        for value in ("a", "b", "c"):
            services.update_config(db, CIPHER, app, owner, {"V": value})
        versions = [r.version for r in db.scalars(services.list_releases(app).order_by(sa.text("version")))]
        assert versions == [1, 2, 3, 4]
        assert services.latest_release(db, app).version == 4


def test_a_failed_release_is_skipped_as_base_and_as_current(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = services.create_app(db, CIPHER, owner, "skipping")
        good = services.release_build(db, services.create_build(db, app, owner, "1" * 40), "img@sha256:1", {"web": ""})
        services.settle_release(db, good, Status.succeeded)
        bad = services.release_build(db, services.create_build(db, app, owner, "2" * 40), "img@sha256:2", {"web": ""})
        services.settle_release(db, bad, Status.failed)
        assert services.current_release(db, app).version == good.version
        # A config change after a failed deploy builds on the code that works.
        _config, release = services.update_config(db, CIPHER, app, owner, {"K": "v"})
        assert (release.version, release.image) == (4, "img@sha256:1")


def test_an_abandoned_build_never_becomes_a_release(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = services.create_app(db, CIPHER, owner, "abandoned")
        build = services.create_build(db, app, owner, "3" * 40)
        services.fail_build(db, build)
        with pytest.raises(Conflict):
            services.release_build(db, build, "img@sha256:3", {"web": ""})
        assert services.latest_release(db, app).version == 1


def test_concurrent_changes_get_distinct_consecutive_versions(test_database_url):
    """Separate connections, committed for real: the app row lock serialises version numbers."""
    engine = sa.create_engine(test_database_url, pool_size=4)
    make_session = sessionmaker(engine, expire_on_commit=False)
    with make_session() as db:
        user = services.ensure_user(db, "racer@example.com")
        app = services.create_app(db, CIPHER, user, "racing")
        db.commit()
    errors = []

    def change(n: int) -> None:
        try:
            for i in range(5):
                with make_session() as db:
                    services.update_config(db, CIPHER, services.get_app(db, "racing"), user, {f"T{n}": str(i)})
                    db.commit()
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=change, args=(n,)) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with make_session() as db:
            app = services.get_app(db, "racing")
            assert sorted(r.version for r in db.scalars(services.list_releases(app))) == list(range(1, 17))
            assert services.config_vars(CIPHER, app) == {"T0": "4", "T1": "4", "T2": "4"}
    finally:
        with make_session() as db:
            services.delete_app(db, services.get_app(db, "racing"))
            db.execute(sa.text("DELETE FROM users WHERE email = 'racer@example.com'"))
            db.commit()
        engine.dispose()
