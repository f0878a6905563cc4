"""The Heroku `Range` header: `<field> [start]..[end]; max=N, order=asc|desc`.

`Next-Range` is answered as `<field> ]<last>..; max=N, order=O`: `]` makes the start exclusive,
as `[` makes the end so. A header that cannot be read answers 416, as Heroku's.
"""

import re
from dataclasses import dataclass

from paas.domain.errors import RangeNotSatisfiable

DEFAULT_MAX = 200
MAX_LIMIT = 1000
DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() takes "²", which int() refuses


@dataclass(frozen=True)
class Range:
    field: str
    start: str | None = None
    start_exclusive: bool = False
    order: str = "asc"
    max: int = DEFAULT_MAX
    end: str | None = None
    end_exclusive: bool = False

    def next_range(self, last_value: object) -> str:
        end = "" if self.end is None else f"{self.end}{'[' if self.end_exclusive else ''}"
        return f"{self.field} ]{last_value}..{end}; max={self.max}, order={self.order}"


def parse_range(header: str | None, fields: tuple[str, ...]) -> Range:
    """Parse a Range header; the first of `fields` is the default sort field."""
    if not header or not header.strip():
        return Range(field=fields[0])
    head, _, params = header.partition(";")
    match = re.match(r"^\s*([A-Za-z_]+)\s*(.*)$", head)
    if not match:
        raise RangeNotSatisfiable(f"Invalid Range header: {header!r}")
    field, bounds = match.group(1), match.group(2).strip()
    if field not in fields:
        raise RangeNotSatisfiable(f"Range field {field!r} is not one of: {', '.join(fields)}")
    start = end = None
    start_exclusive = end_exclusive = False
    if bounds:
        lower, sep, upper = bounds.partition("..")
        if not sep:
            raise RangeNotSatisfiable(f"Invalid Range header: {header!r} (bounds are written start..end)")
        lower, upper = lower.strip(), upper.strip()
        if lower.startswith("]"):
            start_exclusive, lower = True, lower[1:].strip()
        if upper.endswith("["):
            end_exclusive, upper = True, upper[:-1].strip()
        start, end = lower or None, upper or None
    order, limit = "asc", DEFAULT_MAX
    for pair in re.split(r"[;,]", params):
        key, _, value = pair.partition("=")
        key, value = key.strip().lower(), value.strip().lower()
        if not key:
            continue
        if key == "order":
            if value not in ("asc", "desc"):
                raise RangeNotSatisfiable(f"Range order must be asc or desc, not {value!r}")
            order = value
        elif key == "max":
            if not DIGITS.fullmatch(value) or int(value) < 1:
                raise RangeNotSatisfiable(f"Range max must be a whole number from 1 to {MAX_LIMIT}, not {value!r}")
            limit = min(int(value), MAX_LIMIT)
    return Range(field=field, start=start, start_exclusive=start_exclusive, order=order, max=limit,
                 end=end, end_exclusive=end_exclusive)
