"""Following a build to its outcome (the deploy service), against real Postgres and Redis: what
the pusher is told always matches what happened, whatever the worker did."""

import threading

import pytest

from paas.channels.builds import Heartbeat
from paas.channels.output import LogStream
from paas.domain import apps, builds
from paas.domain.models import Status
from paas.platform import deploys as deploys_module
from paas.runner.lost_builds import fail_lost_builds


@pytest.fixture
def platform(platform_app, token):
    return platform_app.api.state.platform


@pytest.fixture
def build_id(platform, test_sessionmaker, client):
    client.post("/apps", json={"name": "followed"})
    with test_sessionmaker() as db:
        app = apps.get_app(db, "followed")
        build = builds.create_build(db, app, app.owner, "c" * 40)
        db.commit()
        return build.id


def follow(platform, build_id):
    said = []
    return platform.deploys._follow_build(build_id, said.append), said


def status_of(test_sessionmaker, build_id):
    with test_sessionmaker() as db:
        return builds.get_build(db, build_id).status


def test_a_build_released_by_a_worker_that_died_before_saying_so_is_live(platform, build_id, test_sessionmaker, monkeypatch):
    monkeypatch.setattr(deploys_module, "SETTLED_WITHOUT_END", 1.0)
    with test_sessionmaker() as db:
        builds.start_build(db, build_id, "worker-1")
        release = builds.release_build(db, builds.get_build(db, build_id), "img@sha256:" + "2" * 64, {"web": ""})
        db.commit()
    # No heartbeat and no End: the worker went right after committing the release.
    end, said = follow(platform, build_id)
    assert end.ok and end.detail == {"release_id": str(release.id), "version": release.version}
    assert builds.LOST_WORKER not in said
    assert status_of(test_sessionmaker, build_id) is Status.succeeded


def test_a_started_build_whose_worker_went_silent_fails_when_the_sweeper_says_so(platform, build_id, test_sessionmaker):
    with test_sessionmaker() as db:
        builds.start_build(db, build_id, "worker-1")
        db.commit()
    LogStream.for_build(platform.redis, build_id).write("-----> Building")
    swept = threading.Timer(1.5, fail_lost_builds, args=(test_sessionmaker, platform.redis, 30, lambda: True))
    swept.start()
    end, said = follow(platform, build_id)  # it only reads, and waits
    swept.join()
    assert not end.ok and end.detail["reason"] == "build worker lost"
    assert said == ["-----> Building", builds.LOST_WORKER]
    assert status_of(test_sessionmaker, build_id) is Status.failed


def test_with_no_runner_to_say_so_a_push_stops_waiting_for_a_build_nobody_works_on(platform, build_id, test_sessionmaker, monkeypatch):
    monkeypatch.setattr(deploys_module, "SWEEPER_GRACE", 1.0)
    monkeypatch.setattr(platform.deploys, "settings", platform.settings.model_copy(update={"build_worker_lost_after": 1.0}))
    with test_sessionmaker() as db:
        builds.start_build(db, build_id, "worker-1")
        db.commit()
    Heartbeat(platform.redis, build_id, 2.5).beat()  # alive a moment: the push waits while it is
    end, said = follow(platform, build_id)
    assert not end.ok and end.detail["reason"] == "build worker lost"
    assert said == [builds.LOST_WORKER + " (and the paas runner did not notice: is it running?)"]
    assert status_of(test_sessionmaker, build_id) is Status.failed


def test_a_build_that_cannot_be_queued_does_not_wait_in_the_queue(platform, client, test_sessionmaker, monkeypatch):
    client.post("/apps", json={"name": "unqueued"})

    def broker_away(*args, **kwargs):
        raise ConnectionError("broker away")

    monkeypatch.setattr(platform.celery, "send_task", broker_away)
    with test_sessionmaker() as db:
        app = apps.get_app(db, "unqueued")
        with pytest.raises(ConnectionError):
            platform.deploys.start(db, app, app.owner, source_version="d" * 40)
    with test_sessionmaker() as db:
        [build] = db.scalars(builds.list_builds(apps.get_app(db, "unqueued"))).all()
        assert build.status is Status.failed and "could not queue" in build.output


def test_a_build_failed_elsewhere_tells_the_pusher_why(platform, build_id, test_sessionmaker, monkeypatch):
    monkeypatch.setattr(deploys_module, "SETTLED_WITHOUT_END", 1.0)
    with test_sessionmaker() as db:
        builds.start_build(db, build_id, "worker-1")
        db.commit()
        builds.give_up_on_build(db, build_id, builds.LOST_WORKER)  # as the runner's sweep does
    end, said = follow(platform, build_id)
    assert not end.ok and said == [builds.LOST_WORKER]
