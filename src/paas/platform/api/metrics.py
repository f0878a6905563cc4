"""An app's metrics (paas's own; Heroku has no public API for them): what the runner's collector
(paas.metrics.collector) wrote, 10-s points for the last hour and 1-min points for 7 days.

`GET /apps/{app}/metrics?type=web&from=...&to=...&step=...`: `from` and `to` are ISO 8601 times or
Unix seconds (default: the last hour); `step` is seconds, a multiple of 10 within the last hour
and of 60 before it (default: 10 for the last hour, else what keeps the answer near 360 points).
"""

import math
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from paas.domain import access
from paas.domain.errors import InvalidParams
from paas.metrics.store import HOUR, PROCESS_TYPE, Store
from paas.platform.deps import DbDep, SettingsDep, UserDep
from paas.shapes import metrics_json

router = APIRouter()
POINTS = 360  # what a default step aims at


def moment(value: str | None, default: float, name: str) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value) if value.replace(".", "", 1).isdigit() else datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidParams(f"{name} is an ISO 8601 time or Unix seconds, not {value[:40]!r}.") from None


def read_metrics(store: Store, app, process_type: str, from_: str | None, to: str | None, step: int | None) -> dict:
    """The points the API and the dashboard answer, checked as the API checks them."""
    now = time.time()
    end = moment(to, now, "to")
    start = moment(from_, end - HOUR, "from")
    if not PROCESS_TYPE.fullmatch(process_type):
        raise InvalidParams("type is a process type's name, such as web.")
    if not (end > start and end - start <= 8 * 24 * HOUR):
        raise InvalidParams("from must be before to, at most 8 days apart.")
    if now - HOUR - 60 < start < now - HOUR:
        start = now - HOUR  # "the last hour", from a client whose clock is a little behind
    if step is None:
        recent = start >= now - HOUR
        step = 10 if recent else 60 * max(1, math.ceil((end - start) / 60 / POINTS))
    try:
        points = store.read(app.id, process_type, start, end, step, now=now)
    except ValueError as error:
        raise InvalidParams(f"{error}.") from None
    return metrics_json(process_type, step, points)


@router.get("/apps/{ident}/metrics")
def get_metrics(ident: str, user: UserDep, db: DbDep, settings: SettingsDep,
                type_: Annotated[str, Query(alias="type", max_length=30)] = "web",
                from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
                to: Annotated[str | None, Query(max_length=40)] = None,
                step: Annotated[int | None, Query(ge=10, le=86400)] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    return read_metrics(Store(settings.metrics_dir), app, type_, from_, to, step)
