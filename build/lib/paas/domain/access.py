"""Who may do what to an app (Heroku's model): its owner, its collaborators, its team.

Permissions are Heroku's team permissions, each a set of endpoints:
- view: see the app, its releases, builds, formation, dynos, logs, add-ons and domains;
- deploy: push and build, read and change config vars, roll back, run one-off processes;
- operate: scale, restart and stop dynos, change the app's settings (health check, HTTPS);
- manage: add-ons, domains, links and collaborators; rename and delete the app.
Each of deploy, operate and manage includes view. A user who may not view an app gets the
same 404 as for an app that does not exist, so names do not leak; one who may view but lacks
the permission gets 403. These functions touch only the database.
"""

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from paas.domain import accounts, apps
from paas.domain.errors import Forbidden, InvalidParams, NotFound
from paas.domain.models import App, Collaborator, TeamMember, User

VIEW, DEPLOY, OPERATE, MANAGE = "view", "deploy", "operate", "manage"
PERMISSIONS = (VIEW, DEPLOY, OPERATE, MANAGE)
EVERYTHING = frozenset(PERMISSIONS)
# A collaborator on a personal app may do all but manage it (as Heroku's collaborators).
COLLABORATOR = frozenset({VIEW, DEPLOY, OPERATE})


def permissions(db: Session, app: App, user: User) -> frozenset[str]:
    if user.is_admin:
        return EVERYTHING
    if app.team_id is None and app.owner_id == user.id:
        return EVERYTHING
    if app.team_id is not None:
        role = db.scalar(select(TeamMember.role).where(TeamMember.team_id == app.team_id, TeamMember.user_id == user.id))
        if role == "admin":
            return EVERYTHING
        if role is None:
            return frozenset()
    # (every grant holds view: validate_permissions and COLLABORATOR add it)
    return frozenset(db.scalar(select(Collaborator.permissions).where(Collaborator.app_id == app.id, Collaborator.user_id == user.id)) or ())


def app_for(db: Session, ident: str, user: User, permission: str = VIEW) -> App:
    """The app, if `user` may do `permission` to it: else 404 (may not see it) or 403."""
    try:
        app = apps.get_app(db, ident)
    except NotFound:
        raise NotFound(f"Couldn't find that app: {ident}") from None
    granted = permissions(db, app, user)
    if VIEW not in granted:
        raise NotFound(f"Couldn't find that app: {ident}")
    if permission not in granted:
        raise Forbidden(f"You do not have {permission} access to {app.name}.")
    return app


def token_still_may(db: Session, token_hash: str, app_ident: str, permission: str = VIEW) -> bool:
    """Does the token behind a long answer (a log tail) still give `permission` on the app? Asked
    again while it streams: revoking the token, disabling its user or taking away their access
    ends it."""
    user = accounts.user_for_token_hash(db, token_hash)
    if user is None:
        return False
    try:
        app_for(db, app_ident, user, permission)
    except (NotFound, Forbidden):
        return False
    return True


def visible_apps(user: User) -> Select:
    """Every app `user` may view, for listings."""
    if user.is_admin:
        return select(App)
    team_admin = select(TeamMember.team_id).where(TeamMember.user_id == user.id, TeamMember.role == "admin")
    in_team = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    collaborating = select(Collaborator.app_id).where(Collaborator.user_id == user.id)
    return select(App).where(or_(
        (App.owner_id == user.id) & App.team_id.is_(None), App.team_id.in_(team_admin),
        # as `permissions`: a team app's grants count only while the user is in the team
        App.id.in_(collaborating) & (App.team_id.is_(None) | App.team_id.in_(in_team)),
    ))


def validate_permissions(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(p in PERMISSIONS for p in value):
        raise InvalidParams(f"permissions is a list of {', '.join(PERMISSIONS)}.")
    return [p for p in PERMISSIONS if p in set(value) | {VIEW}]
