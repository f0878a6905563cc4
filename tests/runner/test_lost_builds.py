"""The one sweeper of lost builds (real Postgres and Redis): a started build without a heartbeat
is failed, and only that one; queued builds are failed when no worker answers; a failed build's
output ends with why, which its follower (a push) relays."""

import pytest
import sqlalchemy as sa

from paas.channels import connect
from paas.channels.builds import Heartbeat
from paas.channels.output import LogStream
from paas.domain import accounts, apps, builds
from paas.domain.crypto import ConfigCipher
from paas.domain.models import Build, Status
from paas.runner.lost_builds import fail_lost_builds

CIPHER = ConfigCipher(b"x" * 43 + b"=")


@pytest.fixture
def three_builds(test_sessionmaker):
    """A queued build, and two started: one whose worker beats and one whose worker is gone."""
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "sweep@example.com")
        app = apps.create_app(db, CIPHER, owner)
        queued, alive, lost = (builds.create_build(db, app, owner, c * 40) for c in "abc")
        for build in (alive, lost):
            builds.start_build(db, build.id, "worker-1")
        db.commit()
        return {"queued": queued.id, "alive": alive.id, "lost": lost.id}


def statuses(test_sessionmaker, ids) -> dict:
    with test_sessionmaker() as db:
        return {name: builds.get_build(db, build_id).status for name, build_id in ids.items()}


def test_only_started_builds_without_a_heartbeat_are_failed_and_their_output_says_why(test_sessionmaker, api_settings, three_builds):
    redis = connect(api_settings)
    Heartbeat(redis, three_builds["alive"], 30).beat()
    asked = []
    try:
        assert fail_lost_builds(test_sessionmaker, redis, 30, lambda: asked.append(1) or True) == [three_builds["lost"]]
    finally:
        Heartbeat(redis, three_builds["alive"], 30).stop()
    assert asked == []  # nothing waited long in the queue: no worker was asked
    assert statuses(test_sessionmaker, three_builds) == {"queued": Status.pending, "alive": Status.pending, "lost": Status.failed}
    with test_sessionmaker() as db:
        assert builds.LOST_WORKER in builds.get_build(db, three_builds["lost"]).output
    *lines, end = LogStream.for_build(redis, three_builds["lost"]).follow(1)
    assert lines == [builds.LOST_WORKER] and not end.ok and end.detail == {"reason": "build worker lost"}
    assert fail_lost_builds(test_sessionmaker, redis, 30, lambda: True) == [three_builds["alive"]]  # its beat stopped


def test_builds_long_in_the_queue_are_failed_only_when_no_worker_answers(test_sessionmaker, api_settings, three_builds):
    redis = connect(api_settings)
    with test_sessionmaker() as db:  # in the queue for a minute
        db.execute(sa.update(Build).where(Build.id == three_builds["queued"]).values(created_at=sa.func.now() - sa.text("interval '60 seconds'")))
        db.commit()
    for build_id in (three_builds["alive"], three_builds["lost"]):
        Heartbeat(redis, build_id, 30).beat()
    try:
        assert fail_lost_builds(test_sessionmaker, redis, 30, lambda: True) == []
        assert fail_lost_builds(test_sessionmaker, redis, 30, lambda: False) == [three_builds["queued"]]
    finally:
        for build_id in (three_builds["alive"], three_builds["lost"]):
            Heartbeat(redis, build_id, 30).stop()
    assert statuses(test_sessionmaker, three_builds)["queued"] is Status.failed
    with test_sessionmaker() as db:  # taken by a worker while the sweeper asked whether any answers: it stands
        assert not builds.give_up_on_build(db, three_builds["alive"], builds.NO_WORKER, only_queued=True)
    *lines, end = LogStream.for_build(redis, three_builds["queued"]).follow(1)
    assert lines == [builds.NO_WORKER] and end.detail == {"reason": "no build worker"}
