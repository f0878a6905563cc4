"""Release numbering and build rules, against the real test database."""

import threading

import pytest
import sqlalchemy as sa
from paas.domain.db import make_sessionmaker

from paas.domain import accounts, apps, builds, config, releases
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import Conflict
from paas.domain.models import Event, Status

CIPHER = ConfigCipher(b"x" * 43 + b"=")


def test_releases_are_numbered_in_order_and_config_changes_append(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "numbered")
        for value in ("a", "b", "c"):
            config.update_config(db, CIPHER, app, owner, {"V": value})
        versions = [r.version for r in db.scalars(releases.list_releases(app).order_by(sa.text("version")))]
        assert versions == [1, 2, 3, 4]
        assert releases.latest_release(db, app).version == 4


def test_a_failed_release_is_skipped_as_base_and_as_current(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "skipping")
        good = builds.release_build(db, builds.create_build(db, app, owner, "1" * 40), "img@sha256:1", {"web": ""})
        releases.settle_release(db, good, Status.succeeded)
        bad = builds.release_build(db, builds.create_build(db, app, owner, "2" * 40), "img@sha256:2", {"web": ""})
        releases.settle_release(db, bad, Status.failed)
        assert releases.current_release(db, app).version == good.version
        # A config change after a failed deploy builds on the code that works.
        _config, release = config.update_config(db, CIPHER, app, owner, {"K": "v"})
        assert (release.version, release.image) == (4, "img@sha256:1")


def test_an_abandoned_build_never_becomes_a_release(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "abandoned")
        build = builds.create_build(db, app, owner, "3" * 40)
        assert builds.give_up_on_build(db, build.id, "the push stopped waiting")
        assert not builds.give_up_on_build(db, build.id, "twice")  # finished: its outcome stands
        assert builds.start_build(db, build.id, "worker-1") is None  # a worker that picks it up later skips it
        with pytest.raises(Conflict):
            builds.release_build(db, build, "img@sha256:3", {"web": ""})
        assert releases.latest_release(db, app).version == 1


def test_concurrent_changes_get_distinct_consecutive_versions(test_database_url, api_settings):
    """Separate connections, committed for real: the app row lock serialises version numbers."""
    make_session = make_sessionmaker(api_settings.model_copy(update={"database_url": test_database_url}))
    with make_session() as db:
        user = accounts.ensure_user(db, "racer@example.com")
        app = apps.create_app(db, CIPHER, user, "racing")
        db.commit()
    errors = []

    def change(n: int) -> None:
        try:
            for i in range(5):
                with make_session() as db:
                    config.update_config(db, CIPHER, apps.get_app(db, "racing"), user, {f"T{n}": str(i)})
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
            app = apps.get_app(db, "racing")
            assert sorted(r.version for r in db.scalars(releases.list_releases(app))) == list(range(1, 17))
            assert config.config_vars(CIPHER, app) == {"T0": "4", "T1": "4", "T2": "4"}
    finally:
        with make_session() as db:
            racing = apps.get_app(db, "racing")
            apps.delete_app(db, racing)
            db.execute(sa.delete(Event).where(Event.app_id == racing.id))  # committed for real: not for another test's publisher
            db.execute(sa.text("DELETE FROM users WHERE email = 'racer@example.com'"))
            db.commit()
        make_session.kw["bind"].dispose()


def test_builds_queue_in_order_and_a_lost_workers_build_is_not_run_again(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "queued")
        first, second, third = (builds.create_build(db, app, owner, c * 40) for c in "abc")
        db.commit()
        assert [builds.queue_position(db, b) for b in (first, second, third)] == [0, 1, 2]
        assert builds.start_build(db, first.id, "worker-1") is not None
        db.commit()
        assert [builds.queue_position(db, b) for b in (second, third)] == [0, 1]
        # Celery hands the task of a worker killed mid-build to the next worker: it must fail, not run twice.
        assert builds.start_build(db, first.id, "worker-2") is None
        db.refresh(first)
        assert first.status is Status.failed and builds.LOST_WORKER in first.output


def test_config_changes_and_rollbacks_carry_the_builds_stack_and_slug(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "sluggy")
        build = builds.create_build(db, app, owner, "d" * 40)
        first = builds.release_build(db, build, "img@sha256:4", {"web": "gunicorn app:app"}, stack="trixie",
                                     buildpacks=["python"], slug_key="sluggy/x.tgz", slug_size=1234)
        releases.settle_release(db, first, Status.succeeded)
        _config, changed = config.update_config(db, CIPHER, app, owner, {"K": "v"})
        releases.settle_release(db, changed, Status.succeeded)
        rolled = releases.rollback(db, CIPHER, app, owner, first.version)
        for release in (changed, rolled):
            assert (release.stack, release.slug_size, release.build_id) == ("trixie", 1234, build.id)
            assert release.process_types == {"web": "gunicorn app:app"}
