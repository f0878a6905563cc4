"""Engine and session factory, built from settings (no import-time globals), and what the
domain's services share about rows: lookups by id or name, unique inserts."""

import uuid

from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paas.domain.errors import InvalidParams, NotFound
from paas.settings import Settings


def make_sessionmaker(settings: Settings) -> sessionmaker[Session]:
    engine = create_engine(settings.database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    # Events carry resources as the API shows them, with their URLs: sessions know the settings.
    return sessionmaker(engine, expire_on_commit=False, info={"settings": settings, "actor": None})


def add_unique(db: Session, row, taken: str) -> None:
    """Add `row`; if a unique column says it exists already (a concurrent request made the same
    one after the caller's own check), roll back and refuse with `taken`."""
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise InvalidParams(taken) from None


def one_by_id(db: Session, stmt, id_column, ident: str, what: str):
    """The row of `stmt` whose id is `ident`; NotFound (`Couldn't find that <what>`) when there is
    none, or `ident` is no UUID."""
    try:
        found = db.scalar(stmt.where(id_column == uuid.UUID(ident)))
    except ValueError:
        found = None
    if found is None:
        raise NotFound(f"Couldn't find that {what}: {ident}")
    return found


def by_ident(stmt, id_column, ident: str, by_name):
    """`stmt` narrowed to the row whose id is `ident` when that is a UUID, else to `by_name`
    (Heroku's endpoints take either)."""
    try:
        return stmt.where(id_column == uuid.UUID(ident))
    except ValueError:
        return stmt.where(by_name)
