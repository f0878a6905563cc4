"""The audit log: who changed what, through the API or git. Touches only the database."""

import re

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from paas.domain.models import AuditEvent

APP_IN_PATH = re.compile(r"^/(?:dashboard/)?(?:teams/)?apps/([^/]+)")


def record(db: Session, actor: str, action: str, app: str | None) -> None:
    db.add(AuditEvent(actor=actor, action=action[:200], app=app[:30] if app else None))
    db.flush()


def record_on_commit(db: Session, actor: str, method: str, path: str) -> None:
    """An API request's change is recorded in the transaction that makes it (none: nothing changed)."""
    match = APP_IN_PATH.match(path)
    event.listen(db, "before_commit", lambda session: session.add(
        AuditEvent(actor=actor, action=f"{method} {path}"[:200], app=match.group(1)[:30] if match else None)), once=True)


def events(app: str | None = None) -> Select:
    stmt = select(AuditEvent)
    return stmt.where(AuditEvent.app == app) if app else stmt
