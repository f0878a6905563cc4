"""Webhooks' rules (real Postgres, the test's transaction): what a webhook may be, a delivery per
included event, claims one at a time per webhook, and how attempts settle a delivery."""

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from paas.domain import apps, config, events, webhooks
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import InvalidParams
from paas.domain.models import Event, WebhookDelivery

CIPHER = ConfigCipher(b"w" * 43 + b"=")
HOOK = {"include": ["api:release"], "level": "sync", "url": "https://hooks.example.com/in"}


@pytest.fixture
def app(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        made = apps.create_app(db, CIPHER, owner, "wh-" + secrets.token_hex(3))
        db.commit()
        yield db, made


def publish(db) -> list[Event]:
    """What the publisher does with the events so far: deliveries for them, then marks them."""
    batch = events.publish(db, 1000)
    webhooks.enqueue(db, batch)
    return batch


def test_a_webhook_is_checked_and_its_secret_made_once_and_kept_encrypted(app):
    db, made = app
    hook, secret = webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    assert secret and len(secret) == 64 and secret.encode() not in hook.secrets
    assert webhooks.secrets_of(CIPHER, hook) == {"secret": secret}
    given_secret, none = webhooks.create_webhook(db, CIPHER, made, {**HOOK, "secret": "mine", "authorization": "Bearer x"})
    assert none is None and webhooks.secrets_of(CIPHER, given_secret) == {"secret": "mine", "authorization": "Bearer x"}
    webhooks.update_webhook(db, CIPHER, given_secret, {"authorization": None, "level": "notify"})
    assert webhooks.secrets_of(CIPHER, given_secret) == {"secret": "mine"} and given_secret.level == "notify"
    for wrong in ({**HOOK, "include": ["api:nothing"]}, {**HOOK, "include": []}, {**HOOK, "level": "often"},
                  {**HOOK, "url": "ftp://x.example.com/"}, {**HOOK, "url": "https://"}, {**HOOK, "url": "x" * 3000},
                  {**HOOK, "secret": "a\nb"}, {**HOOK, "extra": 1}, {"include": ["api:app"]}, None, []):
        with pytest.raises(InvalidParams):
            webhooks.create_webhook(db, CIPHER, made, wrong)
    with pytest.raises(InvalidParams):
        webhooks.update_webhook(db, CIPHER, hook, {"secret": None})


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["include", "level", "url", "secret", "authorization", "other"]),
                       st.one_of(st.none(), st.text(max_size=30), st.lists(st.text(max_size=20), max_size=3), st.integers())))
def test_any_body_is_a_webhook_or_a_clear_refusal(body):
    try:
        checked = webhooks._check(dict(body), partial=False)
    except InvalidParams as error:
        assert error.message
    else:
        assert set(checked["include"]) <= set(webhooks.INCLUDES) and checked["level"] in webhooks.LEVELS


def test_an_event_a_webhook_includes_gets_one_delivery_each(app, owner):
    db, made = app
    publish(db)  # the app's own creation: before any webhook
    releases_hook, _ = webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    every, _ = webhooks.create_webhook(db, CIPHER, made, {**HOOK, "include": ["api:release", "api:config-vars"], "level": "notify"})
    config.update_config(db, CIPHER, made, owner, {"A": "1"})  # config-vars.update, release.create
    publish(db)
    found = db.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.app_id == made.id)).all()
    assert sorted((d.webhook_id == every.id, d.event.resource) for d in found) == [
        (False, "release"), (True, "config-vars"), (True, "release")]
    assert publish(db) == [] and len(db.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.app_id == made.id)).all()) == 3


def test_a_webhook_gets_no_event_made_before_it_even_one_published_after_it(app, owner):
    db, made = app
    publish(db)
    config.update_config(db, CIPHER, made, owner, {"EARLY": "1"})  # made, not yet published (the publisher lags)
    early = db.scalars(sa.select(Event).where(Event.app_id == made.id, Event.resource == "release").order_by(Event.seq.desc())).first()
    hook, _ = webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    hook.created_at = early.created_at + timedelta(seconds=1)
    db.flush()
    publish(db)
    assert db.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)).all() == []
    config.update_config(db, CIPHER, made, owner, {"LATE": "1"})  # the positive control: made after the webhook
    late = db.scalars(sa.select(Event).where(Event.app_id == made.id, Event.resource == "release").order_by(Event.seq.desc())).first()
    late.created_at = hook.created_at + timedelta(seconds=1)
    db.flush()
    publish(db)
    [delivery] = db.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)).all()
    assert delivery.event_seq == late.seq


def test_claims_go_one_at_a_time_per_webhook_and_attempts_settle_deliveries(app, owner):
    db, made = app
    publish(db)
    sync, _ = webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    notify, _ = webhooks.create_webhook(db, CIPHER, made, {**HOOK, "level": "notify"})
    for n in range(2):
        config.update_config(db, CIPHER, made, owner, {"N": str(n)})
    publish(db)
    lease = timedelta(seconds=60)
    first = webhooks.claim(db, 10, lease, set())
    assert sorted(d.webhook_id for d in first) == sorted([sync.id, notify.id])  # one each, the oldest
    assert webhooks.claim(db, 10, lease, {sync.id, notify.id}) == []  # both busy
    second = webhooks.claim(db, 10, lease, set())  # the next of each; the first ones are leased
    assert {d.webhook_id for d in second} == {sync.id, notify.id} and not {d.id for d in second} & {d.id for d in first}
    assert webhooks.claim(db, 10, lease, set()) == []  # all leased: none due
    by_hook = {d.webhook_id: d for d in first}
    assert webhooks.attempted(db, by_hook[notify.id].id, 500, None, 2.0).status == "failed"  # notify: one try
    retried = webhooks.attempted(db, by_hook[sync.id].id, None, "connection refused", 2.0)
    assert (retried.status, retried.num_attempts, retried.last_error) == ("retrying", 1, "connection refused")
    wait = retried.next_attempt_at - retried.updated_at
    assert timedelta(seconds=1.5) < wait < timedelta(seconds=2.5)
    again = webhooks.attempted(db, retried.id, 503, None, 2.0)
    assert again.next_attempt_at - again.updated_at > timedelta(seconds=3.5)  # the wait doubles
    assert webhooks.attempted(db, retried.id, 204, None, 2.0).status == "succeeded"
    # Past 72 hours after its event, a sync delivery that fails has failed.
    late = next(d for d in second if d.webhook_id == sync.id)
    late.event.created_at = late.event.created_at - timedelta(hours=72)
    db.flush()
    assert webhooks.attempted(db, late.id, 500, None, 2.0).status == "failed"


def test_a_header_that_http_cannot_carry_is_refused(app):
    db, made = app
    for value in ("Bearer é", "Bearer s3cret ", " Bearer x", "a  b", "x" * 201):
        with pytest.raises(InvalidParams, match="visible ASCII"):
            webhooks.create_webhook(db, CIPHER, made, {**HOOK, "authorization": value})
    webhooks.create_webhook(db, CIPHER, made, {**HOOK, "authorization": "Bearer abc.DEF-123", "secret": "x" * 200})


def test_retries_past_dozens_of_attempts_wait_an_hour_and_stop_after_72_hours(app, owner):
    db, made = app
    publish(db)
    webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    config.update_config(db, CIPHER, made, owner, {"A": "1"})
    publish(db)
    [delivery] = db.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.app_id == made.id)).all()
    delivery.num_attempts = 60  # a receiver down for two days and more
    db.flush()
    again = webhooks.attempted(db, delivery.id, 503, None, 2.0)
    assert again.status == "retrying" and timedelta(minutes=59) < again.next_attempt_at - again.updated_at < timedelta(hours=1, seconds=5)
    assert webhooks.attempted(db, delivery.id, 200, None, 2.0).status == "succeeded"
    assert webhooks.attempted(db, delivery.id, 500, None, 2.0).status == "succeeded"  # settled: a late record changes nothing
    # Still due past its 72 hours (nobody tried meanwhile): failed by the sweep, not tried for ever.
    config.update_config(db, CIPHER, made, owner, {"B": "1"})
    [late_event] = publish(db)[-1:]
    db.execute(sa.update(Event).where(Event.seq == late_event.seq).values(created_at=sa.func.now() - timedelta(hours=80)))
    webhooks.prune(db)
    late = db.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.event_seq == late_event.seq))
    assert late.status == "failed"


def test_one_webhooks_backlog_never_hides_anothers_deliveries(app, owner):
    db, made = app
    publish(db)
    noisy, _ = webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    for n in range(30):
        config.update_config(db, CIPHER, made, owner, {"N": str(n)})
    publish(db)
    quiet, _ = webhooks.create_webhook(db, CIPHER, made, dict(HOOK))
    config.update_config(db, CIPHER, made, owner, {"LAST": "1"})
    publish(db)
    claimed = webhooks.claim(db, 2, timedelta(seconds=60), set())
    assert {d.webhook_id for d in claimed} == {noisy.id, quiet.id}
