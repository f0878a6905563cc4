"""Formation (Heroku's Formation resource): how many processes of each type run, and their size.
A change wakes the runner, which starts or stops processes of the current release."""

from typing import Annotated

from fastapi import APIRouter, Body

from paas import messages
from paas.domain import access, formation, quotas, releases
from paas.domain.errors import InvalidParams
from paas.platform.deps import DbDep, LogsDep, RedisDep, SettingsDep, UserDep
from paas.shapes import formation_json

router = APIRouter()


@router.get("/apps/{ident}/formation")
def list_formation(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [formation_json(row, app, commands(db, app)) for row in formation.list_formation(db, app)]


@router.get("/apps/{ident}/formation/{process_type}")
def get_formation(ident: str, process_type: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return formation_json(formation.get_formation(db, app, process_type), app, commands(db, app))


@router.patch("/apps/{ident}/formation")
def update_formation(ident: str, user: UserDep, db: DbDep, redis: RedisDep, settings: SettingsDep, log: LogsDep,
                     body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.OPERATE)
    updates = body.get("updates") if isinstance(body, dict) else None
    return scale(db, redis, settings, log, app, user, updates)


@router.patch("/apps/{ident}/formation/{process_type}")
def update_one(ident: str, process_type: str, user: UserDep, db: DbDep, redis: RedisDep, settings: SettingsDep,
               log: LogsDep, body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.OPERATE)
    if not isinstance(body, dict):
        raise InvalidParams('Give {"quantity": 2} and/or {"size": "standard-2x"}.')
    return scale(db, redis, settings, log, app, user, [{**body, "type": process_type}])[0]


def scale(db, redis, settings, log, app, user, updates) -> list[dict]:
    quotas.lock(db, app.owner)  # the owner's dynos, counted before and after
    before = quotas.used(db, app.owner, "dynos")
    changed = formation.update_formation(db, app, updates, settings.dyno_sizes)
    quotas.refuse_growth(db, settings, app.owner, "dynos", before, actor=user)
    db.commit()
    scaled = " ".join(f"{row.type}@{row.quantity}:{row.size}" for row in changed)
    log.event(str(app.id), "api", f"Scaled to {scaled} by {user.email}", source="app")  # Heroku's words
    messages.wake_runner(redis, app.name)
    return [formation_json(row, app, commands(db, app)) for row in changed]


def commands(db, app) -> dict[str, str]:
    current = releases.current_release(db, app)
    return current.process_types if current else {}
