"""The runner's sweep fails builds whose worker died with nobody following them (real Postgres
and Redis): a started build without a heartbeat, and only that one."""

from paas import messages
from paas.domain import accounts, apps, builds
from paas.domain.crypto import ConfigCipher
from paas.domain.models import Status
from paas.runner.__main__ import fail_lost_builds


def test_only_started_builds_without_a_heartbeat_are_failed(test_sessionmaker, api_settings):
    redis = messages.connect(api_settings)
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "sweep@example.com")
        app = apps.create_app(db, ConfigCipher(b"x" * 43 + b"="), owner, "swept")
        queued, alive, lost = (builds.create_build(db, app, owner, c * 40) for c in "abc")
        for build in (alive, lost):
            builds.start_build(db, build.id, "worker-1")
        db.commit()
        ids = {"queued": queued.id, "alive": alive.id, "lost": lost.id}
    messages.Heartbeat(redis, ids["alive"], 30).beat()
    try:
        assert fail_lost_builds(test_sessionmaker, redis, 30) == [ids["lost"]]
    finally:
        messages.Heartbeat(redis, ids["alive"], 30).stop()
    with test_sessionmaker() as db:
        status = {name: builds.get_build(db, build_id) for name, build_id in ids.items()}
        assert {name: b.status for name, b in status.items()} == {
            "queued": Status.pending, "alive": Status.pending, "lost": Status.failed}
        assert builds.LOST_WORKER in status["lost"].output
