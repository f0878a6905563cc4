"""Formation: how many processes of each type an app runs, and how big each is.

Scaling is not a release (as on Heroku): it changes what runs of the current one. These
functions touch only the database; callers commit, then wake the runner.
"""

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from paas.domain import apps, events, quotas
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import App, Formation
from paas.settings import get_settings

# More instances of one type than a single host should be asked for by a typo.
MAX_QUANTITY = 100
QUANTITY = re.compile(r"^([+-]?)(\d{1,4})$")
# Heroku's rule for process type names, with a length cap so names fit container names and labels.
PROCESS_TYPE = re.compile(r"[A-Za-z0-9_-]{1,30}")
DEFAULT_SIZE = "basic"
# Heroku's release phase: the `release` type runs once per release, never as a formation.
RELEASE_TYPE = "release"


@dataclass(frozen=True)
class Scale:
    """What a process type should run: `quantity` instances of `size`."""

    quantity: int
    size: str


def new_quantity(current: int, asked: object) -> int:
    """An absolute quantity (`3`, `"3"`) or one relative to `current` (`"+2"`, `"-1"`), as Heroku
    takes them; never below zero, never above MAX_QUANTITY."""
    match = QUANTITY.fullmatch(str(asked).strip()) if isinstance(asked, (int, str)) and not isinstance(asked, bool) else None
    if match is None or (isinstance(asked, int) and asked < 0):  # a number -1 is not a change; "-1" is
        raise InvalidParams(f"quantity {asked!r} is not a number of processes, or a change like \"+2\" or \"-1\".")
    sign, number = match.group(1), int(match.group(2))
    quantity = current + number if sign == "+" else max(0, current - number) if sign == "-" else number
    if quantity > MAX_QUANTITY:
        raise InvalidParams(f"At most {MAX_QUANTITY} processes of one type.")
    return quantity


def canonical_size(asked: object, sizes: dict) -> str:
    """A size of the settings' table, whatever its case (`Standard-2X` is `standard-2x`)."""
    if not isinstance(asked, str) or asked.strip().lower() not in sizes:
        raise InvalidParams(f"size must be one of: {', '.join(sizes)}.")
    return asked.strip().lower()


def ensure_formation(db: Session, app: App, process_type: str, quantity: int) -> Formation:
    """The type's formation, made with `quantity` if it is new (0 if the owner has no dyno left
    of their quota: the app is deployed, and its owner scales it when they free one)."""
    formation = db.scalar(select(Formation).where(Formation.app_id == app.id, Formation.type == process_type))
    if formation is None:
        # The owner's row is not locked: a deploy holds the app's already, and the API locks the
        # owner first (a deadlock otherwise). At worst a scale at that moment goes one over.
        most = quotas.limit(get_settings(), app.owner, "dynos")  # the deploying process's settings
        if most is not None:
            quantity = max(0, min(quantity, most - quotas.used(db, app.owner, "dynos")))
        formation = Formation(app_id=app.id, type=process_type, quantity=quantity, size=DEFAULT_SIZE)
        db.add(formation)
        events.recorded(db, app, "formation", "create", formation)
    return formation


def list_formation(db: Session, app: App) -> list[Formation]:
    return list(db.scalars(select(Formation).where(Formation.app_id == app.id).order_by(Formation.type)))


def formation(db: Session, app: App) -> dict[str, Scale]:
    return {f.type: Scale(f.quantity, f.size) for f in list_formation(db, app)}


def all_formations(db: Session) -> dict[object, dict[str, Scale]]:
    """`formation` of every app, by app id, in one query."""
    found: dict[object, dict[str, Scale]] = {}
    for row in db.scalars(select(Formation)):
        found.setdefault(row.app_id, {})[row.type] = Scale(row.quantity, row.size)
    return found


def get_formation(db: Session, app: App, process_type: str) -> Formation:
    if not PROCESS_TYPE.fullmatch(process_type):
        raise NotFound(f"Couldn't find that process type ({process_type!r}).")
    found = db.scalar(select(Formation).where(Formation.app_id == app.id, Formation.type == process_type))
    if found is None:
        raise NotFound(f"Couldn't find that process type ({process_type}).")
    return found


def update_formation(db: Session, app: App, updates: object, sizes: dict) -> list[Formation]:
    """Apply `[{"type": "web", "quantity": 2 or "+1", "size": "standard-2x"}, ...]` all or nothing."""
    if not isinstance(updates, list) or not updates or not all(isinstance(u, dict) for u in updates):
        raise InvalidParams('Give {"updates": [{"type": "web", "quantity": 2, "size": "basic"}, ...]}.')
    app = apps.get_app(db, str(app.id), lock=True)  # concurrent relative changes add up
    changed = []
    for update in updates:
        process_type = update.get("type")
        if not isinstance(process_type, str) or not PROCESS_TYPE.fullmatch(process_type):
            raise InvalidParams("Each update needs the process type it changes (letters, digits, - and _).")
        if set(update) - {"type", "quantity", "size"}:
            raise InvalidParams(f"Only quantity and size can change ({', '.join(sorted(set(update) - {'type', 'quantity', 'size'}))} given).")
        row = get_formation(db, app, process_type)
        with events.updating(db, app, "formation", row):
            if "quantity" in update:
                row.quantity = new_quantity(row.quantity, update["quantity"])
            if "size" in update:
                row.size = canonical_size(update["size"], sizes)
        changed.append(row)
    return changed
