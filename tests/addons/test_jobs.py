"""The add-on jobs against the real Docker engine, Postgres and Redis: a server that
cannot start leaves nothing behind and says why; a real one is made, rotated and destroyed."""

import time
import uuid

import docker
import pytest

from paas import logs, networks
from paas.addons import jobs
from paas.addons.servers import Servers
from paas.channels import connect
from paas.channels import addon_jobs
from paas.channels.addon_jobs import Job
from paas.channels.runner import ADDON_QUEUE
from paas.domain import accounts, addons, apps, events, links
from paas.domain.crypto import ConfigCipher
from paas.domain.models import Addon

CIPHER = ConfigCipher(b"z" * 43 + b"=")


@pytest.fixture
def context(api_settings, test_sessionmaker):
    client = docker.DockerClient(base_url=api_settings.docker_url)
    redis = connect(api_settings)
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
    context.redis.delete(ADDON_QUEUE)  # what other tests' API calls queued
    job = Job("remove-networks", ["n1"])
    addon_jobs.send(context.redis, job)
    _, payload = context.redis.blpop([ADDON_QUEUE], timeout=5)
    runner.run(payload)
    assert calls == ["n1"] * 3
    assert addon_jobs.wait_for_outcome(context.redis, job.id, 5) == {"ok": True, "message": "removed n1"}
    failing = Job("provision", ["not-an-id", "x"], f"made-{uuid.uuid4()}")
    addon_jobs.send(context.redis, failing)
    runner.run(context.redis.blpop([ADDON_QUEUE], timeout=5)[1])
    outcome = addon_jobs.wait_for_outcome(context.redis, failing.id, 5)
    assert outcome["ok"] is False and outcome["message"]
    # The same job again (its event delivered twice): taken once, so it neither runs nor reports.
    runner.run(payload)
    assert calls == ["n1"] * 3 and addon_jobs.wait_for_outcome(context.redis, job.id, 0.5) is None


def test_changes_call_for_the_jobs_that_make_and_remove_servers_and_networks(test_sessionmaker):
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "jobs@example.com")
        events.act_as(db, owner)
        app, other = apps.create_app(db, CIPHER, owner), apps.create_app(db, CIPHER, owner)
        mine = {app.id, other.id}

        def jobs_now() -> list[tuple]:
            batch = [e for e in events.publish(db, 1000) if e.app_id in mine]
            made = [(job.job, job.args, job.id) for job in jobs.jobs_of(db, batch)]
            assert [(job.job, job.args, job.id) for job in jobs.jobs_of(db, batch)] == made  # delivered again: the same jobs
            return made

        jobs_now()  # the apps' own events: none
        addon = addons.create_addon(db, CIPHER, app, "postgresql")
        external = addons.create_addon(db, CIPHER, app, "external", "MAILER", {"url": "smtp://m.example"})
        link = links.create_link(db, app, other)
        # The add-on's own first attachment is its provisioning's; an external one needs nothing.
        assert jobs_now() == [("provision", [str(addon.id), str(owner.id)], str(addon.id)),
                              ("open-link", [str(link.id)], str(link.id))]
        addons.attach(db, CIPHER, external, other, "MAILER")
        assert jobs_now() == []
        addons.provisioned(db, CIPHER, addon, owner)
        second = addons.attach(db, CIPHER, addon, other)
        assert jobs_now() == [("attach", [str(second.id), str(owner.id)], str(second.id))]
        addons.detach(db, CIPHER, second, owner)
        links.delete_link(db, link)
        assert [(name, args) for name, args, _id in jobs_now()] == [("remove-networks", [[str(second.id)], []]),
                                                                    ("remove-networks", [[], [str(link.id)]])]
        third = addons.attach(db, CIPHER, addon, other)
        [first] = [a.id for a in addons.attachments_of(db, addon) if a.app_id == app.id]
        jobs_now()
        addons.release_app(db, CIPHER, app, owner)  # the app goes: its add-ons' servers and networks too
        assert [(name, args) for name, args, _id in jobs_now()] == [("destroy", [str(addon.id), [str(first), str(third.id)]])]
        db.rollback()
