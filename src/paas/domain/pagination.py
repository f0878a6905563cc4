"""Range-header pagination of list queries.

These functions touch only the database; callers commit (the events they record go out after).
"""

from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy.orm import Session

from paas.domain.errors import RangeNotSatisfiable
from paas.domain.ranges import DIGITS, Range


@dataclass
class Page:
    items: list
    next_range: str | None


def page(db: Session, stmt: Select, rng: Range, columns: dict) -> Page:
    """Apply a parsed Range to a select; `columns` maps range fields to (column, type)."""
    column, kind = columns[rng.field]
    descending = rng.order == "desc"
    if rng.start is not None:
        start = bound(rng.start, kind, rng.field)
        if descending:
            stmt = stmt.where(column < start if rng.start_exclusive else column <= start)
        else:
            stmt = stmt.where(column > start if rng.start_exclusive else column >= start)
    if rng.end is not None:
        end = bound(rng.end, kind, rng.field)
        if descending:
            stmt = stmt.where(column > end if rng.end_exclusive else column >= end)
        else:
            stmt = stmt.where(column < end if rng.end_exclusive else column <= end)
    stmt = stmt.order_by(column.desc() if descending else column.asc()).limit(rng.max + 1)
    items = list(db.scalars(stmt))
    if len(items) <= rng.max:
        return Page(items, None)
    items = items[: rng.max]
    return Page(items, rng.next_range(getattr(items[-1], rng.field)))


def bound(text: str, kind: type, field: str) -> object:
    """A Range bound as the field's type; one that cannot be (or is out of the column's reach) is 416."""
    try:
        if (kind is int and not DIGITS.fullmatch(text)) or "\x00" in text:
            raise ValueError(text)
        return kind(text)
    except ValueError:
        raise RangeNotSatisfiable(f"Invalid Range bound {text!r} for {field}") from None
