"""Teams: apps that belong to a team, members with Heroku's roles (admin, member).

These functions touch only the database."""


from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paas.domain import accounts
from paas.domain.db import add_unique, by_ident
from paas.domain.errors import Forbidden, InvalidParams, NotFound
from paas.domain.models import App, Collaborator, Team, TeamMember, User
from paas.domain.names import APP_NAME

ROLES = ("admin", "member")


def create_team(db: Session, user: User, name: object) -> Team:
    if not isinstance(name, str) or not APP_NAME.fullmatch(name):
        raise InvalidParams("A team's name is 3 to 30 lowercase letters, digits and dashes, starting with a letter.")
    if db.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise InvalidParams(f"The team name {name} is taken.")
    team = Team(name=name)
    add_unique(db, team, f"The team name {name} is taken.")
    db.add(TeamMember(team_id=team.id, user_id=user.id, role="admin"))  # who makes it runs it
    db.flush()
    return team


def role_of(db: Session, team: Team, user: User) -> str | None:
    if user.is_admin:
        return "admin"
    return db.scalar(select(TeamMember.role).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id))


def team_for(db: Session, ident: str, user: User, admin: bool = False) -> Team:
    """A team the user is in (404 otherwise, as for none); with `admin`, one they run (else 403)."""
    team = db.scalar(by_ident(select(Team), Team.id, ident, Team.name == ident))
    role = role_of(db, team, user) if team is not None else None
    if role is None:
        raise NotFound(f"Couldn't find that team: {ident}")
    if admin and role != "admin":
        raise Forbidden(f"Only the admins of {team.name} may do that.")
    return team


def teams_of(db: Session, user: User) -> list[tuple[Team, str]]:
    if user.is_admin:
        return [(t, "admin") for t in db.scalars(select(Team).order_by(Team.name))]
    return list(db.execute(select(Team, TeamMember.role).join(TeamMember).where(TeamMember.user_id == user.id).order_by(Team.name)))


def members(db: Session, team: Team) -> list[TeamMember]:
    return list(db.scalars(select(TeamMember).where(TeamMember.team_id == team.id).order_by(TeamMember.created_at)))


def set_member(db: Session, team: Team, who: object, role: object) -> TeamMember:
    """Add a user to the team, or change their role (Heroku's PUT /teams/{team}/members)."""
    if not isinstance(who, str):
        raise InvalidParams('Give the member as {"email": "...", "role": "admin" or "member"}.')
    if role not in ROLES:
        raise InvalidParams(f"role is one of {', '.join(ROLES)}.")
    user = accounts.find_user(db, who)
    member = db.scalar(select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id))
    if member is None:
        member = TeamMember(team_id=team.id, user_id=user.id, role=role)
        db.add(member)
    else:
        if member.role == "admin" and role != "admin":
            _keep_an_admin(db, team, member)
        member.role = role
    db.flush()
    return member


def remove_member(db: Session, team: Team, who: str) -> TeamMember:
    user = accounts.find_user(db, who, include_disabled=True)
    member = db.scalar(select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id))
    if member is None:
        raise NotFound(f"{who} is not a member of {team.name}.")
    if member.role == "admin":
        _keep_an_admin(db, team, member)
    # Their permissions on the team's apps go with them (a later return starts from nothing).
    db.execute(delete(Collaborator).where(Collaborator.user_id == user.id,
                                          Collaborator.app_id.in_(select(App.id).where(App.team_id == team.id))))
    db.delete(member)
    db.flush()
    return member


def _keep_an_admin(db: Session, team: Team, leaving: TeamMember) -> None:
    admins = [m for m in members(db, team) if m.role == "admin" and m.id != leaving.id]
    if not admins:
        raise InvalidParams(f"{team.name} needs an admin; make another member admin first.")
