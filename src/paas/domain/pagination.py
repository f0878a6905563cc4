"""Range-header pagination of list queries.

These functions touch only the database; callers commit, then send messages.
"""

from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy.orm import Session

from paas.domain.errors import InvalidParams
from paas.domain.ranges import Range


@dataclass
class Page:
    items: list
    next_range: str | None


def page(db: Session, stmt: Select, rng: Range, columns: dict) -> Page:
    """Apply a parsed Range to a select; `columns` maps range fields to (column, type)."""
    column, kind = columns[rng.field]
    descending = rng.order == "desc"
    if rng.start is not None:
        try:
            start = kind(rng.start)
        except ValueError:
            raise InvalidParams(f"Invalid Range start {rng.start!r} for {rng.field}") from None
        if descending:
            stmt = stmt.where(column < start if rng.start_exclusive else column <= start)
        else:
            stmt = stmt.where(column > start if rng.start_exclusive else column >= start)
    stmt = stmt.order_by(column.desc() if descending else column.asc()).limit(rng.max + 1)
    items = list(db.scalars(stmt))
    if len(items) <= rng.max:
        return Page(items, None)
    items = items[: rng.max]
    return Page(items, rng.next_range(getattr(items[-1], rng.field)))
