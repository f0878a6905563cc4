"""Events (real Postgres, the test's transaction): each change of each kind records exactly one
event, with its actor, its data as the API shows it and, for an update, what it was before; a
change that is rolled back records none; the publisher delivers each event once it committed,
in order, and again after a delivery that failed before it was marked."""

import secrets
import threading
import time

import pytest
import sqlalchemy as sa

from paas.channels import connect
from paas.domain import accounts, addons, apps, builds, collaborators, config, domains, events, formation, links, releases
from paas.domain.crypto import ConfigCipher
from paas.domain.db import make_sessionmaker
from paas.domain.errors import InvalidParams
from paas.domain.models import Event, Status
from paas import publisher as publisher_module
from paas.publisher import Publisher, live_channel

CIPHER = ConfigCipher(b"e" * 43 + b"=")
SIZES = {"basic": {}, "standard-1x": {}}


def new_events(db, since: int) -> list[tuple[str, str]]:
    return [(e.resource, e.action) for e in db.scalars(sa.select(Event).where(Event.seq > since).order_by(Event.seq))]


def last_seq(db) -> int:
    return db.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.seq), 0)))


def messages_within(pubsub, seconds: float) -> list[dict]:
    deadline, found = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        if (message := pubsub.get_message(timeout=0.1)) is not None:
            found.append(message)
    return found


def latest(db) -> Event:
    return db.scalar(sa.select(Event).order_by(Event.seq.desc()).limit(1))


@pytest.fixture
def acting(test_sessionmaker, owner):
    """A session acting as the owner, and an app of theirs."""
    with test_sessionmaker() as db:
        events.act_as(db, owner)
        app = apps.create_app(db, CIPHER, owner, "ev-" + secrets.token_hex(3))
        db.commit()
        yield db, app


def test_each_change_records_one_event_with_its_actor_and_data(acting, owner):
    db, app = acting
    actor = {"id": str(owner.id), "email": owner.email}
    [made, initial] = db.scalars(sa.select(Event).where(Event.app_id == app.id).order_by(Event.seq)).all()
    assert (made.resource, made.action, made.actor, made.data["name"]) == ("app", "create", actor, app.name)
    assert (initial.resource, initial.action, initial.data["version"], initial.data["description"]) == ("release", "create", 1, "Initial release")

    def change(expected: list[tuple[str, str]], do):
        since = last_seq(db)
        result = do()
        assert new_events(db, since) == expected, do
        assert all(e.actor == actor for e in db.scalars(sa.select(Event).where(Event.seq > since)))
        return result

    change([("config-vars", "update"), ("release", "create")], lambda: config.update_config(db, CIPHER, app, owner, {"A": "1", "B": "2"}))
    assert latest(db).data["description"] == "Set A, B config vars"
    assert db.scalar(sa.select(Event).where(Event.resource == "config-vars").order_by(Event.seq.desc())).data == {"set": ["A", "B"], "unset": []}

    build = change([("build", "create")], lambda: builds.create_build(db, app, owner, "a" * 40))
    assert latest(db).data["status"] == "pending" and latest(db).data["source_blob"]["version"] == "a" * 40
    release = change([("release", "create"), ("build", "update"), ("formation", "create")],
                     lambda: builds.release_build(db, build, "img@sha256:1", {"web": "serve"}))
    assert latest(db).data["type"] == "web" and latest(db).data["quantity"] == 1  # a new process type
    built = db.scalar(sa.select(Event).where(Event.resource == "build").order_by(Event.seq.desc()))
    assert built.data["status"] == "succeeded" and built.previous_data["status"] == "pending"
    change([("release", "update")], lambda: releases.settle_release(db, release, Status.succeeded))
    assert (latest(db).data["status"], latest(db).previous_data["status"]) == ("succeeded", "pending")
    change([], lambda: releases.settle_release(db, release, Status.failed))  # settled already: no change, no event

    change([("formation", "update")], lambda: formation.update_formation(db, app, [{"type": "web", "quantity": 3}], SIZES))
    assert (latest(db).data["quantity"], latest(db).previous_data["quantity"]) == (3, 1)
    change([], lambda: formation.update_formation(db, app, [{"type": "web", "quantity": 3}], SIZES))  # as it was

    change([("app", "update")], lambda: apps.set_switch(db, app, "force_https", True))
    assert (latest(db).data["force_https"], latest(db).previous_data["force_https"]) == (True, False)
    change([("app", "update")], lambda: apps.set_switch(db, app, "maintenance", True))
    assert (latest(db).data["maintenance"], latest(db).previous_data["maintenance"]) == (True, False)
    change([], lambda: apps.set_switch(db, app, "maintenance", True))  # as it was
    old = app.name
    change([("app", "update")], lambda: apps.rename_app(db, app, old + "-r"))
    assert (latest(db).data["name"], latest(db).previous_data["name"], latest(db).app_name) == (old + "-r", old, old + "-r")

    domain = change([("domain", "create")], lambda: domains.add_domain(db, app, "www.example.org", "paas.test", acme=False))
    assert latest(db).data["hostname"] == "www.example.org"
    change([("domain", "update")], lambda: domains.set_acm_status(db, domain.id, "failed", "no DNS"))  # as the certificate watcher does
    assert (latest(db).data["acm_status"], latest(db).previous_data["acm_status"]) == ("failed", None)
    change([("domain", "destroy")], lambda: domains.remove_domain(db, domain))

    friend = accounts.ensure_user(db, f"friend-{secrets.token_hex(3)}@example.com")
    collaborator = change([("collaborator", "create")], lambda: collaborators.add_collaborator(db, app, friend.email))
    assert latest(db).data["user"]["email"] == friend.email
    change([("collaborator", "destroy")], lambda: collaborators.remove_collaborator(db, collaborator))

    other = apps.create_app(db, CIPHER, owner, "ev-" + secrets.token_hex(3))
    link = change([("link", "create")], lambda: links.create_link(db, app, other))
    assert latest(db).data["target"]["name"] == other.name
    change([("link", "destroy")], lambda: links.delete_link(db, link))

    addon = change([("addon", "create"), ("addon-attachment", "create")],
                   lambda: addons.create_addon(db, CIPHER, app, "postgresql", None))
    change([("addon", "update"), ("config-vars", "update"), ("release", "create")], lambda: addons.provisioned(db, CIPHER, addon, owner))
    assert db.scalar(sa.select(Event).where(Event.resource == "addon").order_by(Event.seq.desc())).previous_data["state"] == "provisioning"
    change([("config-vars", "update"), ("release", "create"), ("addon-attachment", "destroy"), ("addon", "destroy")],
           lambda: addons.destroy(db, CIPHER, addon, owner))

    change([("app", "destroy")], lambda: apps.delete_app(db, app))
    assert latest(db).data["name"] == old + "-r"
    assert not any("password" in str(e.data) for e in db.scalars(sa.select(Event).where(Event.app_id == app.id)))


def test_a_change_that_is_rolled_back_records_no_event(acting, owner):
    db, app = acting
    formation.ensure_formation(db, app, "web", 1)
    db.commit()
    since = last_seq(db)
    with pytest.raises(InvalidParams):  # the second update is refused: all or nothing
        formation.update_formation(db, app, [{"type": "web", "quantity": 2}, {"type": "web", "size": "huge"}], SIZES)
    db.rollback()
    config.update_config(db, CIPHER, app, owner, {"KEPT": "no"})
    db.rollback()
    assert new_events(db, since) == []


def committed_changes(sessions, changes: list[dict]):
    """No events left but those of a new app of a new owner, and its config `changes`, committed."""
    with sessions() as db:
        db.execute(sa.delete(Event))
        owner = accounts.ensure_user(db, f"pub-{secrets.token_hex(3)}@example.com")
        events.act_as(db, owner)
        app = apps.create_app(db, CIPHER, owner, "ev-" + secrets.token_hex(3))
        for change in changes:
            config.update_config(db, CIPHER, app, owner, change)
        db.commit()
        return owner, app


def test_the_publisher_delivers_committed_events_in_order_once_and_again_after_a_failed_delivery(test_database_url, api_settings):
    """Real commits: a publisher that fails in a consumer (a kill before it marked the batch)
    leaves the events to the next, which delivers all of them, in order; then none again."""
    sessions = make_sessionmaker(api_settings.model_copy(update={"database_url": test_database_url}))
    _owner, app = committed_changes(sessions, [{"N": str(n)} for n in range(3)])
    seen: list[list[tuple[str, str]]] = []

    def broken(_db, batch):
        seen.append([(e.resource, e.action) for e in batch])
        raise ConnectionError("Redis went away")

    delivered: list[tuple[str, str, str]] = []

    def recording(_db, batch):
        delivered.extend((e.resource, e.action, e.data.get("description", "")) for e in batch)

    redis_client = connect(api_settings)
    live = redis_client.pubsub(ignore_subscribe_messages=True)
    live.subscribe(live_channel(app.id))
    with pytest.raises(ConnectionError):
        Publisher(sessions, redis_client, [recording, broken]).deliver()
    assert len(seen[0]) == 8 and delivered  # it got as far as the second consumer
    delivered.clear()
    assert Publisher(sessions, redis_client, [recording]).deliver() == 8  # all again, in order
    assert [d for d in delivered if d[0] == "release"] == [("release", "create", "Initial release")] + [
        ("release", "create", "Set N config vars") for _ in range(3)]
    assert Publisher(sessions, redis_client, [recording]).deliver() == 0  # once delivered, never again
    with sessions() as db:
        positions = db.scalars(sa.select(Event.position).where(Event.app_id == app.id).order_by(Event.seq)).all()
        assert positions == sorted(positions) and None not in positions
        assert [e.position for e in db.scalars(events.of_app(app.id, positions[3]))] == positions[4:]
        apps.delete_app(db, apps.get_app(db, str(app.id)))
        db.execute(sa.delete(Event))
        db.commit()
    assert [m["channel"] for m in messages_within(live, 1.0)] == [live_channel(app.id)]  # live readers are told, once
    live.close()
    sessions.kw["bind"].dispose()



def test_an_event_a_consumer_cannot_take_is_skipped_for_it_after_a_few_tries_and_holds_up_nothing(test_database_url, api_settings):
    """A bug in one consumer on one event: after ISOLATE_AFTER failed deliveries the batch goes
    through, that event skipped for that consumer only; a consumer that takes no event (Redis
    away) still fails every delivery, so nothing is skipped for an outage."""
    sessions = make_sessionmaker(api_settings.model_copy(update={"database_url": test_database_url}))
    owner, app = committed_changes(sessions, [{name: "1"} for name in ("GOOD", "BAD", "FINE")])
    took, others = [], []

    def picky(_db, batch):
        if any(e.resource == "config-vars" and e.data["set"] == ["BAD"] for e in batch):
            raise KeyError("a bug")
        took.extend(e.data["set"][0] for e in batch if e.resource == "config-vars")

    def everyone(_db, batch):
        others.extend(e.seq for e in batch)

    redis_client = connect(api_settings)
    publisher = Publisher(sessions, redis_client, [everyone, picky])
    for _ in range(publisher_module.ISOLATE_AFTER):
        with pytest.raises(KeyError):
            publisher.deliver()
    assert took == []  # nothing yet: a failure may be Redis restarting
    others.clear()
    assert publisher.deliver() == 8 and took == ["GOOD", "FINE"] and len(others) == 8
    assert publisher.deliver() == 0

    def away(_db, batch):
        raise ConnectionError("Redis went away")

    with sessions() as db:
        events.act_as(db, owner)
        config.update_config(db, CIPHER, apps.get_app(db, str(app.id)), owner, {"LATER": "1"})
        db.commit()
    outage = Publisher(sessions, redis_client, [away])
    for _ in range(publisher_module.ISOLATE_AFTER + 2):
        with pytest.raises(ConnectionError):
            outage.deliver()
    assert Publisher(sessions, redis_client, [everyone]).deliver() == 2  # still there, for when Redis is back
    with sessions() as db:
        apps.delete_app(db, apps.get_app(db, str(app.id)))
        db.execute(sa.delete(Event))
        db.commit()
    sessions.kw["bind"].dispose()


def test_a_publisher_whose_delivery_failed_takes_up_again_and_a_second_one_waits(test_database_url, api_settings):
    """Running as the runner runs it: the first delivery fails (Redis away), the next succeeds;
    the lock that keeps it to one publisher is let go, and held meanwhile."""
    sessions = make_sessionmaker(api_settings.model_copy(update={"database_url": test_database_url}))
    with sessions() as db:
        db.execute(sa.delete(Event))
        owner = accounts.ensure_user(db, f"run-{secrets.token_hex(3)}@example.com")
        app = apps.create_app(db, CIPHER, owner, "ev-" + secrets.token_hex(3))
        db.commit()
    calls: list[int] = []

    def flaky(_db, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise ConnectionError("Redis went away")

    second_calls: list[int] = []
    first = Publisher(sessions, connect(api_settings), [flaky])
    second = Publisher(sessions, connect(api_settings), [lambda _db, batch: second_calls.append(len(batch))])
    threads = [threading.Thread(target=p.run, daemon=True) for p in (first, second)]
    threads[0].start()
    try:
        deadline = time.monotonic() + 15
        while calls[-1:] != [2] or len(calls) < 2:
            assert time.monotonic() < deadline, calls
            time.sleep(0.05)
        threads[1].start()  # the first holds the lock again
        time.sleep(1.5)
        with sessions() as db:
            assert None not in db.scalars(sa.select(Event.position).where(Event.app_id == app.id)).all()
            config.update_config(db, CIPHER, apps.get_app(db, str(app.id)), owner, {"LATER": "1"})
            db.commit()
        while calls[-1:] != [2] or len(calls) < 3:  # a notification wakes it: no second poll needed
            assert time.monotonic() < deadline, calls
            time.sleep(0.05)
        assert second_calls == []  # it waits for the lock all along
    finally:
        for publisher in (first, second):
            publisher.stopping.set()
        for thread in threads:
            thread.join(10)
        with sessions() as db:
            apps.delete_app(db, apps.get_app(db, str(app.id)))
            db.execute(sa.delete(Event))
            db.commit()
        sessions.kw["bind"].dispose()
