"""Collaborators: users other than the owner who may act on an app (Heroku's collaborators,
and a team app's members with their permissions). These functions touch only the database."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from paas.domain import access, accounts, events
from paas.domain.db import add_unique
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import App, Collaborator, TeamMember


def list_collaborators(db: Session, app: App) -> list[Collaborator]:
    return list(db.scalars(select(Collaborator).where(Collaborator.app_id == app.id).order_by(Collaborator.created_at)))


def add_collaborator(db: Session, app: App, who: object, permissions: object = None) -> Collaborator:
    """A personal app's collaborator may view, deploy and operate it; a team app's member gets
    the permissions given (view at least), and must be in the team."""
    if not isinstance(who, str):
        raise InvalidParams('Give the user as {"user": "<email or id>"}.')
    user = accounts.find_user(db, who)
    if app.team_id is None:
        if permissions is not None:
            raise InvalidParams("Permissions are for team apps; a personal app's collaborators may view, deploy and operate it.")
        granted = [p for p in access.PERMISSIONS if p in access.COLLABORATOR]
        if user.id == app.owner_id:
            raise InvalidParams(f"{user.email} owns {app.name}.")
    else:
        granted = access.validate_permissions(permissions if permissions is not None else [access.VIEW])
        if db.scalar(select(TeamMember.id).where(TeamMember.team_id == app.team_id, TeamMember.user_id == user.id)) is None:
            raise InvalidParams(f"{user.email} is not a member of the team that owns {app.name}; add them to the team first.")
    existing = db.scalar(select(Collaborator).where(Collaborator.app_id == app.id, Collaborator.user_id == user.id))
    if existing is not None:
        if app.team_id is None:
            raise InvalidParams(f"{user.email} is already a collaborator on {app.name}.")
        with events.updating(db, app, "collaborator", existing):
            existing.permissions = granted  # a team member's permissions change (Heroku's PATCH)
        return existing
    collaborator = Collaborator(app_id=app.id, user_id=user.id, permissions=granted)
    add_unique(db, collaborator, f"{user.email} is already a collaborator on {app.name}.")
    events.recorded(db, app, "collaborator", "create", collaborator)
    return collaborator


def get_collaborator(db: Session, app: App, who: str) -> Collaborator:
    try:
        user = accounts.find_user(db, who, include_disabled=True)
    except NotFound:
        user = None
    found = db.scalar(select(Collaborator).where(Collaborator.app_id == app.id, Collaborator.user_id == user.id)) if user else None
    if found is None:
        raise NotFound(f"{who} is not a collaborator on {app.name}.")
    return found


def remove_collaborator(db: Session, collaborator: Collaborator) -> None:
    events.record(db, collaborator.app, "collaborator", "destroy", events.shape(db, collaborator))
    db.delete(collaborator)
    db.flush()
