"""Events: every change to an app, or to what belongs to it, is recorded by the domain service
that makes it, in the change's own transaction, with who made it (the session's actor) and the
resource in Heroku's shape after the change and, for an update, the fields it had before.
Nothing else tells the runner, the logs, webhooks or live pages about a change: one publisher
(paas.publisher) delivers the events to them after commit.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from paas import shapes
from paas.domain import releases
from paas.domain.models import (
    Addon,
    AddonAttachment,
    App,
    AppLink,
    Build,
    Collaborator,
    Domain,
    Event,
    Formation,
    PipelineCoupling,
    Release,
    ScheduledJob,
    User,
)

CHANNEL = "paas_events"  # notified at commit: the publisher looks at once, not at its next poll
RESOURCES = ("addon", "addon-attachment", "app", "build", "collaborator", "config-vars", "domain", "dyno",
             "formation", "link", "pipeline-coupling", "release", "scheduled-job")


def act_as(db: Session, user: User | None) -> None:
    """Whose changes the session makes from now on (None: the platform's own, the runner's)."""
    db.info["actor"] = {"id": str(user.id), "email": user.email} if user else None


def shape(db: Session, row) -> dict:
    """The row as the API shows it (what an event carries)."""
    settings = db.info["settings"]
    match row:
        case App():
            return shapes.app_json(row, settings, releases.current_release(db, row))
        case Release():
            return shapes.release_json(row, None)
        case Build():
            return shapes.build_json(row, settings, None)
        case Formation():
            current = releases.current_release(db, row.app)
            return shapes.formation_json(row, row.app, current.process_types if current else {})
        case Addon():
            attached = db.scalars(select(AddonAttachment).where(AddonAttachment.addon_id == row.id))
            return shapes.addon_json(row, [a.config_key for a in attached])
        case AddonAttachment():
            return shapes.attachment_json(row)
        case AppLink():
            return shapes.link_json(row, settings)
        case Domain():
            return shapes.domain_json(row, row.app, settings)
        case Collaborator():
            return shapes.collaborator_json(row, row.app, row.user, row.permissions)
        case PipelineCoupling():
            return shapes.pipeline_coupling_json(row)
        case ScheduledJob():
            return shapes.scheduled_job_json(row)
    raise TypeError(f"no event shape for {type(row).__name__}")


def record(db: Session, app: App, resource: str, action: str, data: dict, before: dict | None = None) -> Event:
    """One event of `app`'s. `data`: the resource now (for a destroy, as it was); `before`: the
    resource before an update, of which the event keeps the fields that changed."""
    previous = {key: value for key, value in (before or {}).items() if data.get(key) != value}
    event = Event(app_id=app.id, app_name=app.name, resource=resource, action=action, actor=db.info.get("actor"),
                  data=data, previous_data=previous)
    db.add(event)
    if db.info.get("notified") is not db.get_transaction():  # once per transaction is enough
        db.execute(select(func.pg_notify(CHANNEL, "")))
        db.info["notified"] = db.get_transaction()
    db.flush()
    return event


def recorded(db: Session, app: App, resource: str, action: str, row) -> Event:
    """`record` with the row's shape as the data."""
    db.flush()
    return record(db, app, resource, action, shape(db, row))


@contextmanager
def updating(db: Session, app: App, resource: str, row) -> Iterator[None]:
    """An update event of `row`'s for what the block changes (none when nothing visible did)."""
    before = shape(db, row)
    yield
    db.flush()
    after = shape(db, row)
    if any(after[key] != before.get(key) for key in after if key != "updated_at"):
        record(db, app, resource, "update", after, before)


# --- the publisher's side -------------------------------------------------------------------

# The publisher's one statement per batch, written out: it runs for every change, and building
# it with the ORM each time cost more than the rest of a delivery. Batches are one at a time
# across publishers (a transaction's advisory lock): positions then commit in the order drawn,
# so a reader never passes one that commits later, even while a second runner takes over.
BATCH_LOCK = 0x7061617342415443  # "paasBATC"
PUBLISH = text(f"""
    UPDATE events SET position = drawn.position, published_at = now()
    FROM (SELECT seq, nextval('event_positions') AS position
          FROM (SELECT seq FROM events WHERE position IS NULL AND (SELECT pg_try_advisory_xact_lock({BATCH_LOCK}))
                ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED) AS ordered
         ) AS drawn
    WHERE events.seq = drawn.seq
    RETURNING events.*
""")


def publish(db: Session, limit: int) -> list:
    """The oldest events not delivered yet, each given its place in the order readers resume
    from (in the order they were recorded: positions are drawn as the ordered subquery's rows
    come), locked by this transaction until it commits: rows with the columns as attributes.
    The caller delivers them before it commits; a rollback leaves them to the next."""
    return sorted(db.execute(PUBLISH, {"limit": limit}), key=lambda row: row.seq)


def of_app(app_id: uuid.UUID, after: int = 0) -> Select:
    """An app's delivered events, in the order they were delivered, after a position."""
    return (select(Event).where(Event.app_id == app_id, Event.position > after).order_by(Event.position))


def as_json(event: Event) -> dict:
    """As webhooks have it, and which app's."""
    return {**shapes.webhook_payload(event), "app": {"id": str(event.app_id), "name": event.app_name}}

