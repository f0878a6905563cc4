"""Formation (Heroku's Formation resource): how many processes of each type run, and their size.
A change is an event: the runner starts or stops processes of the current release."""

from typing import Annotated

from fastapi import APIRouter, Body

from paas.domain import access, formation, quotas, releases
from paas.domain.errors import InvalidParams
from paas.platform.deps import DbDep, SettingsDep, UserDep
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
def update_formation(ident: str, user: UserDep, db: DbDep, settings: SettingsDep,
                     body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.OPERATE)
    updates = body.get("updates") if isinstance(body, dict) else None
    return scale(db, settings, app, user, updates)


@router.patch("/apps/{ident}/formation/{process_type}")
def update_one(ident: str, process_type: str, user: UserDep, db: DbDep, settings: SettingsDep,
               body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.OPERATE)
    if not isinstance(body, dict):
        raise InvalidParams('Give {"quantity": 2} and/or {"size": "standard-2x"}.')
    return scale(db, settings, app, user, [{**body, "type": process_type}])[0]


def scale(db, settings, app, user, updates) -> list[dict]:
    quotas.lock(db, app.owner)  # the owner's dynos, counted before and after
    before = quotas.used(db, app.owner, "dynos")
    changed = formation.update_formation(db, app, updates, settings.dyno_sizes)
    quotas.refuse_growth(db, settings, app.owner, "dynos", before, actor=user)
    db.commit()
    return [formation_json(row, app, commands(db, app)) for row in changed]


def commands(db, app) -> dict[str, str]:
    current = releases.current_release(db, app)
    return current.process_types if current else {}
