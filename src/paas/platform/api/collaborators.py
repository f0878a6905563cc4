"""Collaborators (Heroku's `/apps/{app}/collaborators`, and `/teams/apps/{app}/collaborators`
with permissions for a team app's members)."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas.domain import access, collaborators
from paas.platform.deps import DbDep, UserDep
from paas.shapes import collaborator_json

router = APIRouter()


@router.get("/apps/{ident}/collaborators")
@router.get("/teams/apps/{ident}/collaborators")
def list_collaborators(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    found = [] if app.team_id else [collaborator_json(None, app, app.owner, access.EVERYTHING)]
    return found + [collaborator_json(c, app, c.user, c.permissions) for c in collaborators.list_collaborators(db, app)]


@router.post("/apps/{ident}/collaborators", status_code=201)
@router.post("/teams/apps/{ident}/collaborators", status_code=201)
@router.patch("/teams/apps/{ident}/collaborators/{who}")
def add_collaborator(ident: str, user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None, who: str | None = None):
    app = access.app_for(db, ident, user, access.MANAGE)
    body = body or {}
    permissions = body.get("permissions")
    if isinstance(permissions, list):  # Heroku's CLI sends names, or objects with a name
        permissions = [p.get("name") if isinstance(p, dict) else p for p in permissions]
    added = collaborators.add_collaborator(db, app, who or body.get("user"), permissions)
    db.commit()
    return collaborator_json(added, app, added.user, added.permissions)


@router.get("/apps/{ident}/collaborators/{who}")
@router.get("/teams/apps/{ident}/collaborators/{who}")
def get_collaborator(ident: str, who: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    found = collaborators.get_collaborator(db, app, who)
    return collaborator_json(found, app, found.user, found.permissions)


@router.delete("/apps/{ident}/collaborators/{who}")
@router.delete("/teams/apps/{ident}/collaborators/{who}")
def remove_collaborator(ident: str, who: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    found = collaborators.get_collaborator(db, app, who)
    body = collaborator_json(found, app, found.user, found.permissions)
    collaborators.remove_collaborator(db, found)
    db.commit()
    return JSONResponse(body)
