"""The Heroku `Range` header: `<field> [start]..[end]; max=N, order=asc|desc` (parsed loosely).

`Next-Range` is answered as `<field> ]<last>..; max=N, order=O`: `]` makes the start exclusive.
"""

import re
from dataclasses import dataclass

from paas.domain.errors import InvalidParams

DEFAULT_MAX = 200
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Range:
    field: str
    start: str | None = None
    start_exclusive: bool = False
    order: str = "asc"
    max: int = DEFAULT_MAX

    def next_range(self, last_value: object) -> str:
        return f"{self.field} ]{last_value}..; max={self.max}, order={self.order}"


def parse_range(header: str | None, fields: tuple[str, ...]) -> Range:
    """Parse a Range header; the first of `fields` is the default sort field."""
    if not header or not header.strip():
        return Range(field=fields[0])
    head, _, params = header.partition(";")
    match = re.match(r"^\s*([A-Za-z_]+)\s*(.*)$", head)
    if not match:
        raise InvalidParams(f"Invalid Range header: {header!r}")
    field, bounds = match.group(1), match.group(2).strip()
    if field not in fields:
        raise InvalidParams(f"Range field {field!r} is not one of: {', '.join(fields)}")
    start, exclusive = None, False
    if bounds:
        lower, sep, _upper = bounds.partition("..")
        if not sep:
            raise InvalidParams(f"Invalid Range header: {header!r}")
        lower = lower.strip()
        if lower.startswith("]"):
            exclusive, lower = True, lower[1:].strip()
        start = lower or None
    order, limit = "asc", DEFAULT_MAX
    for pair in re.split(r"[;,]", params):
        key, _, value = pair.partition("=")
        key, value = key.strip().lower(), value.strip().lower()
        if not key:
            continue
        if key == "order":
            if value not in ("asc", "desc"):
                raise InvalidParams(f"Range order must be asc or desc, not {value!r}")
            order = value
        elif key == "max":
            if not value.isdigit() or int(value) < 1:
                raise InvalidParams(f"Range max must be a positive integer, not {value!r}")
            limit = min(int(value), MAX_LIMIT)
    return Range(field=field, start=start, start_exclusive=exclusive, order=order, max=limit)
