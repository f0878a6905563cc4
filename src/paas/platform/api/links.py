"""Links: `POST /apps/{app}/links {"app": target}` lets the app's processes reach the target's
web processes at http://<target>.internal:<PORT> over a private network of the two."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas.domain import access, links
from paas.domain.errors import InvalidParams
from paas.platform.api.addons import wait_for_job
from paas.platform.deps import DbDep, PlatformDep, SettingsDep, UserDep
from paas.shapes import link_json

router = APIRouter()


@router.post("/apps/{ident}/links")
def create_link(ident: str, user: UserDep, db: DbDep, platform: PlatformDep, settings: SettingsDep,
                body: Annotated[dict | None, Body()] = None):
    target = (body or {}).get("app")
    if not isinstance(target, str):
        raise InvalidParams('Give the app to reach: {"app": "<name or id>"}.')
    app = access.app_for(db, ident, user, access.MANAGE)
    link = links.create_link(db, app, access.app_for(db, target, user, access.MANAGE))
    db.commit()
    done = wait_for_job(platform, link.id)
    db.expire_all()
    return JSONResponse(link_json(links.get_link(db, app, target, user), settings), status_code=201 if done else 202)


@router.get("/apps/{ident}/links")
def list_links(ident: str, user: UserDep, db: DbDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [link_json(link, settings) for link in links.list_links(db, app)]


@router.delete("/apps/{ident}/links/{target}")
def delete_link(ident: str, target: str, user: UserDep, db: DbDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    link = links.get_link(db, app, target, user)
    body = link_json(link, settings)
    links.delete_link(db, link)
    db.commit()
    return JSONResponse(body)
