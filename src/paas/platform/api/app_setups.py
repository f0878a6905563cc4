"""App setups (Heroku's `POST /app-setups`, `GET /app-setups/{id}`): an app from a source tarball
and its app.json. The app is made at once (its name is in the answer); the worker and the runner
do the rest, and `GET` tells how far it got."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas.celery_app import SETUP_TASK
from paas.domain import app_setups
from paas.domain.models import Build
from paas.platform.api.builds import describe as build_json
from paas.platform.deps import CipherDep, DbDep, PlatformDep, UserDep
from paas.shapes import app_setup_json

router = APIRouter()


def describe(db, platform, setup, user) -> dict:
    build = db.get(Build, setup.build_id) if setup.build_id else None
    return app_setup_json(setup, build_json(platform, build, user) if build else None)


@router.post("/app-setups", status_code=202)
def create_setup(user: UserDep, db: DbDep, cipher: CipherDep, platform: PlatformDep, body: Annotated[dict | None, Body()] = None):
    setup = app_setups.create_setup(db, cipher, platform.settings, user, body)
    db.commit()
    try:
        platform.celery.send_task(SETUP_TASK, args=[str(setup.id)])
    except Exception as error:  # the broker is away: nothing may stay half made
        app_setups.fail(db, cipher, setup, f"paas could not queue the setup: {error}")
        db.commit()
    return JSONResponse(describe(db, platform, setup, user), status_code=202)


@router.get("/app-setups/{ident}")
def get_setup(ident: str, user: UserDep, db: DbDep, platform: PlatformDep):
    return describe(db, platform, app_setups.setup_for(db, ident, user), user)
