"""Apps: names, ownership, lookup.

These functions touch only the database, and record their changes as events; callers commit.
"""

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from paas.domain import events, releases, stacks
from paas.domain.crypto import ConfigCipher
from paas.domain.db import add_unique, by_ident
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import App, Status, Team, User
from paas.domain.names import generate_app_name, validate_app_name


def create_app(db: Session, cipher: ConfigCipher, owner: User, name: str | None = None, team: Team | None = None) -> App:
    """A personal app of `owner`'s, or (with `team`) the team's, made by `owner`."""
    name = validate_app_name(name) if name is not None else generate_app_name()
    if db.scalar(select(App.id).where(App.name == name)) is not None:
        raise InvalidParams("Name is already taken")
    app = App(name=name, owner_id=owner.id, team_id=team.id if team else None, config_vars=cipher.encrypt({}))
    add_unique(db, app, "Name is already taken")
    events.recorded(db, app, "app", "create", app)
    releases.add_release(db, app, owner, description="Initial release", config=cipher.encrypt({}), status=Status.succeeded)
    return app


def get_app(db: Session, ident: str, *, lock: bool = False) -> App:
    """Find an app by name or UUID."""
    stmt = by_ident(select(App), App.id, ident, App.name == ident)
    if lock:
        # Reload under the row lock so a concurrent change is not overwritten with stale values.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    app = db.scalar(stmt)
    if app is None:
        raise NotFound(f"Couldn't find that app: {ident}")
    return app


def find_app_by_name(db: Session, name: str) -> App | None:
    return db.scalar(select(App).where(App.name == name))


def rename_app(db: Session, app: App, name: object) -> str:
    """Give the app a new name (its default host and git remote change with it); the old name."""
    name, old = validate_app_name(name), app.name
    if name != old:
        if db.scalar(select(App.id).where(App.name == name)) is not None:
            raise InvalidParams("Name is already taken")
        with events.updating(db, app, "app", app):
            app.name = name
            add_unique(db, app, "Name is already taken")
    return old


def delete_app(db: Session, app: App) -> None:
    events.record(db, app, "app", "destroy", events.shape(db, app))
    db.delete(app)
    db.flush()


HEALTH_CHECK_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,199}")


def set_health_check_path(db: Session, app: App, path: object) -> App:
    """A path like `/health` that must answer 2xx or 3xx before a web process takes requests;
    None or "" go back to any answer on `/`."""
    if path in (None, ""):
        path = None
    elif not isinstance(path, str) or not HEALTH_CHECK_PATH.fullmatch(path):
        raise InvalidParams("health_check_path must be a path starting with /, such as /health (200 characters at most).")
    app = get_app(db, str(app.id), lock=True)
    with events.updating(db, app, "app", app):
        app.health_check_path = path
    return app


SWITCHES = ("force_https", "maintenance")  # an app's settings that are on or off


def set_switch(db: Session, app: App, name: str, value: object) -> App:
    """force_https (plain HTTP redirected) or maintenance (the router's maintenance page)."""
    if name not in SWITCHES:
        raise ValueError(name)
    if not isinstance(value, bool):
        raise InvalidParams(f"{name} must be true or false.")
    app = get_app(db, str(app.id), lock=True)
    with events.updating(db, app, "app", app):
        setattr(app, name, value)
    return app


def set_build_stack(db: Session, app: App, name: str) -> App:
    if stacks.get_stack(name) is None:
        raise InvalidParams(f"Unknown stack {name!r}; the stacks are {', '.join(stacks.STACK_ORDER)}.")
    app = get_app(db, str(app.id), lock=True)
    with events.updating(db, app, "app", app):
        app.build_stack = name
    return app


def purge_build_cache(db: Session, app: App) -> None:
    """The next build starts with an empty cache: builds use the cache of the new generation."""
    app = get_app(db, str(app.id), lock=True)
    app.build_cache_generation += 1
    db.flush()
