"""Teams (Heroku's `/teams`, `/teams/{team}/members`, `POST /teams/apps`)."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas.domain import apps, quotas, teams
from paas.domain.errors import InvalidParams
from paas.platform.api.apps import describe
from paas.platform.deps import CipherDep, DbDep, SettingsDep, UserDep
from paas.shapes import team_json, team_member_json

router = APIRouter()


@router.post("/teams", status_code=201)
def create_team(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    team = teams.create_team(db, user, (body or {}).get("name"))
    db.commit()
    return team_json(team, "admin")


@router.get("/teams")
def list_teams(user: UserDep, db: DbDep):
    return [team_json(team, role) for team, role in teams.teams_of(db, user)]


@router.get("/teams/{ident}")
def get_team(ident: str, user: UserDep, db: DbDep):
    team = teams.team_for(db, ident, user)
    return team_json(team, teams.role_of(db, team, user))


@router.get("/teams/{ident}/members")
def list_members(ident: str, user: UserDep, db: DbDep):
    return [team_member_json(m) for m in teams.members(db, teams.team_for(db, ident, user))]


@router.put("/teams/{ident}/members")
def set_member(ident: str, user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    team = teams.team_for(db, ident, user, admin=True)
    body = body or {}
    member = teams.set_member(db, team, body.get("email") or body.get("user"), body.get("role", "member"))
    db.commit()
    return team_member_json(member)


@router.delete("/teams/{ident}/members/{who}")
def remove_member(ident: str, who: str, user: UserDep, db: DbDep):
    team = teams.team_for(db, ident, user, admin=True)
    member = teams.remove_member(db, team, who)
    body = team_member_json(member)
    db.commit()
    return JSONResponse(body)


@router.post("/teams/apps", status_code=201)
def create_team_app(user: UserDep, db: DbDep, cipher: CipherDep, settings: SettingsDep,
                    body: Annotated[dict | None, Body()] = None):
    body = body or {}
    if not isinstance(body.get("team"), str):
        raise InvalidParams('Give the team: {"team": "<name>", "name": "<app name>"}.')
    team = teams.team_for(db, body["team"], user, admin=True)
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidParams("Name must be a string.")
    quotas.require_room(db, settings, user, "apps")  # the team's app is its maker's (its owner)
    app = apps.create_app(db, cipher, user, name, team=team)
    db.commit()
    return describe(db, app, settings)
