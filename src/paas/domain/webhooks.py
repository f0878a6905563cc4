"""App webhooks, as Heroku has them: which of an app's events are POSTed where, and each
delivery's attempts. Touches only the database; paas.webhooks sends.

A delivery is made for each event a webhook includes, in the publisher's transaction (so once).
`notify` tries once; `sync` tries again, the wait doubling from `retry_base` up to an hour,
until 72 hours after the event. A delivery is claimed for a lease (the sender's deadline), so a
sender that dies leaves it due again, and two senders never send it at once."""

import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, selectinload

from paas import shapes
from paas.domain import events
from paas.domain.crypto import ConfigCipher
from paas.domain.db import one_by_id
from paas.domain.errors import InvalidParams
from paas.domain.models import App, Event, Webhook, WebhookDelivery

LEVELS = ("notify", "sync")
INCLUDES = tuple(sorted({f"api:{resource}" for resource in events.RESOURCES} | {"api:sni-endpoint", "dyno"}))
MAX_PER_APP = 10
URL_LIMIT = 2000
SECRET_LIMIT = 200
# What an HTTP header may carry as is: visible ASCII, single spaces inside (the authorization is
# sent as one; the secret is kept alike).
HEADER_VALUE = re.compile(rf"(?=.{{1,{SECRET_LIMIT}}}$)[\x21-\x7e]+( [\x21-\x7e]+)*")
RETRY_FOR = timedelta(hours=72)
LONGEST_WAIT = timedelta(hours=1)
PENDING = ("pending", "retrying")
KEPT_FOR = timedelta(days=7)  # finished deliveries then go
EVENTS_KEPT_FOR = timedelta(days=30)  # the events (an app's history and audit of its changes)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _check(body: object, partial: bool) -> dict:
    if not isinstance(body, dict):
        raise InvalidParams('Give the webhook as {"include": ["api:release"], "level": "notify", "url": "https://..."}.')
    unknown = set(body) - {"include", "level", "url", "secret", "authorization"}
    if unknown:
        raise InvalidParams(f"A webhook has no {', '.join(sorted(unknown))}.")
    if not partial:
        missing = {"include", "level", "url"} - set(body)
        if missing:
            raise InvalidParams(f"A webhook needs {', '.join(sorted(missing))}.")
    if "include" in body:
        include = body["include"]
        if not isinstance(include, list) or not include or not all(isinstance(i, str) for i in include):
            raise InvalidParams(f"include is a list of event kinds: {', '.join(INCLUDES)}.")
        if wrong := [i for i in include if i not in INCLUDES]:
            raise InvalidParams(f"Unknown event kinds {', '.join(map(repr, wrong[:5]))}; the kinds are {', '.join(INCLUDES)}.")
        body["include"] = sorted(set(include))
    if "level" in body and body["level"] not in LEVELS:
        raise InvalidParams("level is notify (one try) or sync (tried again for up to 72 hours).")
    if "url" in body:
        body["url"] = check_url(body["url"])
    for key in ("secret", "authorization"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or not HEADER_VALUE.fullmatch(value)):
            raise InvalidParams(f"{key} is up to {SECRET_LIMIT} visible ASCII characters (single spaces between words).")
    return body


def check_url(url: object) -> str:
    """An http(s) URL with a host (where it may be reached is judged at each delivery)."""
    if not isinstance(url, str) or len(url) > URL_LIMIT:
        raise InvalidParams(f"url is an http:// or https:// URL of up to {URL_LIMIT} characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise InvalidParams("url is not a valid URL.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidParams("url is an http:// or https:// URL with a host.")
    return url


def create_webhook(db: Session, cipher: ConfigCipher, app: App, body: object) -> tuple[Webhook, str | None]:
    """The webhook, and its secret when one was made here (shown once: it is kept encrypted)."""
    body = _check(body, partial=False)
    if len(list_webhooks(db, app)) >= MAX_PER_APP:
        raise InvalidParams(f"{app.name} has {MAX_PER_APP} webhooks, the most an app may have.")
    made = None if body.get("secret") else secrets.token_hex(32)
    hook = Webhook(app_id=app.id, include=body["include"], level=body["level"], url=body["url"],
                   secrets=cipher.encrypt({"secret": body.get("secret") or made,
                                           **({"authorization": body["authorization"]} if body.get("authorization") else {})}))
    db.add(hook)
    db.flush()
    return hook, made


def update_webhook(db: Session, cipher: ConfigCipher, hook: Webhook, body: object) -> Webhook:
    body = _check(body, partial=True)
    for key in ("include", "level", "url"):
        if key in body:
            setattr(hook, key, body[key])
    if "secret" in body or "authorization" in body:
        kept = cipher.decrypt(hook.secrets)
        for key in ("secret", "authorization"):
            if key in body:
                kept[key] = body[key]
        if not kept.get("secret"):
            raise InvalidParams("A webhook keeps a secret: give a new one, not null.")
        hook.secrets = cipher.encrypt({k: v for k, v in kept.items() if v})
    db.flush()
    return hook


def secrets_of(cipher: ConfigCipher, hook: Webhook) -> dict[str, str]:
    return cipher.decrypt(hook.secrets)


def list_webhooks(db: Session, app: App) -> list[Webhook]:
    return list(db.scalars(select(Webhook).where(Webhook.app_id == app.id).order_by(Webhook.created_at)))


def get_webhook(db: Session, app: App, ident: str) -> Webhook:
    return one_by_id(db, select(Webhook).where(Webhook.app_id == app.id), Webhook.id, ident, "webhook")


def delete_webhook(db: Session, hook: Webhook) -> None:
    db.delete(hook)
    db.flush()


ENQUEUE = text("""
    INSERT INTO webhook_deliveries (id, webhook_id, app_id, event_seq, status, num_attempts, next_attempt_at)
    SELECT gen_random_uuid(), webhooks.id, kinds.app_id, kinds.seq, 'pending', 0, now()
    FROM unnest(CAST(:seqs AS bigint[]), CAST(:apps AS uuid[]), CAST(:kinds AS text[]), CAST(:times AS timestamptz[]))
        AS kinds (seq, app_id, include, created_at)
    JOIN webhooks ON webhooks.app_id = kinds.app_id AND webhooks.include ? kinds.include
        AND webhooks.created_at <= kinds.created_at
""")


def enqueue(db: Session, batch: list[Event]) -> None:
    """The publisher's consumer: a delivery of each event to each webhook of its app that includes it."""
    if not batch:
        return
    # One statement (the same each time: prepared once), whether any webhook wants them or not:
    # the publisher runs this for every batch.
    # A webhook gets the events made since it was: not those made before and published after.
    db.execute(ENQUEUE, {"seqs": [e.seq for e in batch], "apps": [e.app_id for e in batch],
                         "kinds": [shapes.event_include(e) for e in batch], "times": [e.created_at for e in batch]})


def claim(db: Session, limit: int, lease: timedelta, busy: set[uuid.UUID]) -> list[WebhookDelivery]:
    """Due deliveries, the oldest of each webhook not `busy` (one at a time per webhook), leased:
    due again only once `lease` has passed (a sender that died)."""
    now = _utcnow()
    # The oldest due one of each webhook (a backlog of one webhook never hides the others'),
    # then the longest waiting of those.
    oldest = (select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
              .where(WebhookDelivery.status.in_(PENDING), WebhookDelivery.next_attempt_at <= now,
                     WebhookDelivery.webhook_id.not_in(busy) if busy else True)
              .order_by(WebhookDelivery.webhook_id, WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
              .ext(distinct_on(WebhookDelivery.webhook_id)).subquery())
    picked = db.scalars(select(oldest.c.id).order_by(oldest.c.next_attempt_at).limit(limit)).all()
    if not picked:
        return []
    # Only if still due: another sender may have leased it meanwhile.
    leased = db.scalars(update(WebhookDelivery).where(WebhookDelivery.id.in_(picked), WebhookDelivery.status.in_(PENDING),
                                                      WebhookDelivery.next_attempt_at <= now)
                        .values(next_attempt_at=now + lease).returning(WebhookDelivery.id)).all()
    db.commit()
    return list(db.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(leased))
                           .options(selectinload(WebhookDelivery.webhook), selectinload(WebhookDelivery.event))))


def attempted(db: Session, delivery_id: uuid.UUID, code: int | None, error: str | None, retry_base: float) -> WebhookDelivery:
    """Record an attempt: a 2xx succeeds; otherwise `sync` is due again after a wait that
    doubles, until 72 hours after its event; `notify` has failed."""
    delivery = db.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status not in PENDING:  # gone with its webhook, or settled by another sender
        db.rollback()
        return delivery
    delivery.num_attempts += 1
    delivery.last_code, delivery.last_error = code, error
    now = _utcnow()
    # (The doubling stops long before a wait could overflow: an hour is reached at the 12th.)
    wait = min(timedelta(seconds=retry_base * 2 ** min(delivery.num_attempts - 1, 20)), LONGEST_WAIT)
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.next_attempt_at = "succeeded", None
    elif delivery.webhook.level == "sync" and now + wait < delivery.event.created_at + RETRY_FOR:
        delivery.status, delivery.next_attempt_at = "retrying", now + wait
    else:
        delivery.status, delivery.next_attempt_at = "failed", None
    db.commit()
    return delivery


def deliveries(app: App, status: str | None = None) -> Select:
    stmt = (select(WebhookDelivery).where(WebhookDelivery.app_id == app.id)
            .options(selectinload(WebhookDelivery.webhook), selectinload(WebhookDelivery.event)))
    return stmt.where(WebhookDelivery.status == status) if status else stmt


def get_delivery(db: Session, app: App, ident: str) -> WebhookDelivery:
    return one_by_id(db, deliveries(app), WebhookDelivery.id, ident, "webhook delivery")


def delivered_events(app: App) -> Select:
    """The app's events that went (or go) to a webhook, newest first."""
    sent = select(WebhookDelivery.event_seq).where(WebhookDelivery.app_id == app.id)
    return select(Event).where(Event.seq.in_(sent)).order_by(Event.position.desc())


def get_event(db: Session, app: App, ident: str) -> Event:
    return one_by_id(db, select(Event).where(Event.app_id == app.id, Event.position.is_not(None)), Event.id, ident, "webhook event")


def prune(db: Session) -> None:
    """What would otherwise grow for ever: a delivery still due past its 72 hours has failed;
    finished deliveries older than KEPT_FOR go; so do events older than EVENTS_KEPT_FOR that no
    delivery waits on."""
    now = _utcnow()
    expired = select(Event.seq).where(Event.created_at < now - RETRY_FOR - LONGEST_WAIT)
    db.execute(update(WebhookDelivery).where(WebhookDelivery.status.in_(PENDING), WebhookDelivery.event_seq.in_(expired))
               .values(status="failed", next_attempt_at=None))
    db.execute(delete(WebhookDelivery).where(WebhookDelivery.status.not_in(PENDING), WebhookDelivery.updated_at < now - KEPT_FOR))
    waited_on = select(WebhookDelivery.event_seq)
    db.execute(delete(Event).where(Event.created_at < now - EVENTS_KEPT_FOR, Event.position.is_not(None), Event.seq.not_in(waited_on)))
    db.commit()
