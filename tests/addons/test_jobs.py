"""The add-on jobs against the real Docker engine, Postgres and Redis: a server that
cannot start leaves nothing behind and says why; a real one is made, rotated and destroyed."""

import time

import docker
import pytest

from paas import logs, messages, networks
from paas.addons import jobs
from paas.addons.servers import Servers
from paas.domain import accounts, addons, apps
from paas.domain.crypto import ConfigCipher
from paas.domain.models import Addon

CIPHER = ConfigCipher(b"z" * 43 + b"=")


@pytest.fixture
def context(api_settings, test_sessionmaker):
    client = docker.DockerClient(base_url=api_settings.docker_url)
    redis = messages.connect(api_settings)
    yield jobs.Context(api_settings, test_sessionmaker, redis, client, CIPHER, Servers(client, api_settings),
                        logs.LogStore(redis, 100))
    for container in client.containers.list(all=True, filters={"label": "paas.instance=paas-test"}):
        if "paas.addon" in container.labels:
            container.remove(force=True)
    client.close()


def leftovers(client, addon_id) -> list:
    label = {"label": [f"paas.addon={addon_id}"]}
    return client.containers.list(all=True, filters=label) + client.volumes.list(filters=label)


def new_addon(context, plan: str):
    with context.sessionmaker() as db:
        user = accounts.ensure_user(db, "worker@example.com")
        app = apps.create_app(db, CIPHER, user, f"w-{plan.replace(':', '-')}")
        addon = addons.create_addon(db, CIPHER, app, plan)
        db.commit()
        return addon.id, user.id, [a.id for a in addons.attachments_of(db, addon)], app.id


def test_a_server_that_does_not_start_leaves_nothing_and_says_why(context):
    # An image that is no Postgres server: its container exits at once.
    context.settings.addon_images = {**context.settings.addon_images, "postgresql": context.settings.stack_image}
    addon_id, user_id, [attachment_id], app_id = new_addon(context, "postgresql")
    with pytest.raises(Exception, match="exited on start"):
        jobs.provision(context, str(addon_id), str(user_id))
    with context.sessionmaker() as db:
        assert db.get(Addon, addon_id) is None
    assert leftovers(context.docker, addon_id) == []
    assert not context.docker.networks.list(names=[networks.attachment_network("paas-test", attachment_id)])
    said, _ = context.logs.recent(str(app_id), 10)
    assert any("Provisioning" in line.text and "exited on start" in line.text for line in said)


def test_a_redis_server_is_made_rotated_and_destroyed(context):
    addon_id, user_id, [attachment_id], _ = new_addon(context, "redis")
    try:
        assert jobs.provision(context, str(addon_id), str(user_id)).endswith("is ready")
        with context.sessionmaker() as db:
            addon = db.get(Addon, addon_id)
            old = addons.credentials_of(CIPHER, addon)
            assert addon.state == "provisioned"
        server = context.docker.containers.get(f"paas-test-addon-{addon.name}")

        def ping(password: str) -> bytes:
            return server.exec_run(["redis-cli", "ping"], environment={"REDISCLI_AUTH": password}).output.strip()

        assert ping(old["password"]) == b"PONG"
        jobs.rotate(context, str(addon_id), str(user_id))
        with context.sessionmaker() as db:
            new = addons.credentials_of(CIPHER, db.get(Addon, addon_id))
        assert new["password"] != old["password"]
        assert ping(old["password"]) != b"PONG"
        server.restart(timeout=5)  # the new password outlives a restart (written to its config)
        assert any(ping(new["password"]) == b"PONG" or time.sleep(0.1) for _ in range(50)), "the new password was lost"
    finally:
        context.servers.destroy(str(addon_id))
        networks.remove(context.docker, networks.attachment_network("paas-test", attachment_id))
    assert leftovers(context.docker, addon_id) == []


def test_jobs_report_their_outcome_and_cleanup_is_tried_again(context, monkeypatch):
    calls = []

    def flaky(c, name):
        calls.append(name)
        if len(calls) < 3:
            raise RuntimeError("engine busy")
        return f"removed {name}"

    monkeypatch.setitem(jobs.JOBS, "remove-networks", flaky)
    monkeypatch.setattr(jobs, "RETRY_WAIT", 0.01)
    runner = jobs.AddonJobs(context)
    context.redis.delete(messages.ADDON_QUEUE)  # what other tests' API calls queued
    job_id = messages.send_addon_job(context.redis, "remove-networks", "n1")
    _, payload = context.redis.blpop([messages.ADDON_QUEUE], timeout=5)
    runner.run(payload)
    assert calls == ["n1"] * 3
    assert messages.wait_for_outcome(context.redis, job_id, 5) == {"ok": True, "message": "removed n1"}
    failing = messages.send_addon_job(context.redis, "provision", "not-an-id", "x")
    runner.run(context.redis.blpop([messages.ADDON_QUEUE], timeout=5)[1])
    outcome = messages.wait_for_outcome(context.redis, failing, 5)
    assert outcome["ok"] is False and outcome["message"]
