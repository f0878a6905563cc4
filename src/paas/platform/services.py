"""Business rules. These functions touch only the database; callers commit, then send messages."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paas.platform.crypto import ConfigCipher
from paas.platform.errors import Conflict, Forbidden, InvalidParams, NotFound, Unauthorized
from paas.platform.models import ApiToken, App, Build, Formation, Release, Status, User
from paas.platform.names import generate_app_name, validate_app_name, validate_config_key
from paas.platform.ranges import Range

# --- users and tokens -------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(db: Session, token: str | None) -> User:
    if not token:
        raise Unauthorized("Invalid credentials provided.")
    user = db.scalar(select(User).join(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if user is None:
        raise Unauthorized("Invalid credentials provided.")
    return user


def ensure_user(db: Session, email: str, name: str | None = None) -> User:
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name)
        db.add(user)
        db.flush()
    return user


def issue_token(db: Session, user: User, description: str = "") -> str:
    """Return a new token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=hash_token(token), description=description))
    db.flush()
    return token


def token_is_valid(db: Session, token: str) -> bool:
    return db.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token))) is not None


# --- apps -------------------------------------------------------------------


def create_app(db: Session, cipher: ConfigCipher, owner: User, name: str | None = None) -> App:
    name = validate_app_name(name) if name is not None else generate_app_name()
    if db.scalar(select(App.id).where(App.name == name)) is not None:
        raise InvalidParams("Name is already taken")
    app = App(name=name, owner_id=owner.id, config_vars=cipher.encrypt({}))
    db.add(app)
    try:
        db.flush()
    except IntegrityError:  # a concurrent create won the race
        db.rollback()
        raise InvalidParams("Name is already taken") from None
    add_release(db, app, owner, description="Initial release", config=cipher.encrypt({}), status=Status.succeeded)
    return app


def get_app(db: Session, ident: str, *, lock: bool = False) -> App:
    """Find an app by name or UUID."""
    stmt = select(App)
    try:
        stmt = stmt.where(App.id == uuid.UUID(ident))
    except ValueError:
        stmt = stmt.where(App.name == ident)
    if lock:
        # Reload under the row lock so a concurrent change is not overwritten with stale values.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    app = db.scalar(stmt)
    if app is None:
        raise NotFound(f"Couldn't find that app: {ident}")
    return app


def app_for_user(db: Session, ident: str, user: User) -> App:
    """An app the caller may act on: for now, one they own."""
    app = get_app(db, ident)
    if app.owner_id != user.id:
        raise Forbidden(f"You do not have access to the app {app.name}.")
    return app


def find_app_by_name(db: Session, name: str) -> App | None:
    return db.scalar(select(App).where(App.name == name))


def list_apps(db: Session, owner: User) -> Select:
    return select(App).where(App.owner_id == owner.id)


def delete_app(db: Session, app: App) -> None:
    db.delete(app)
    db.flush()


def all_app_names(db: Session) -> list[str]:
    return list(db.scalars(select(App.name)))


# --- config vars ------------------------------------------------------------


def config_vars(cipher: ConfigCipher, app: App) -> dict[str, str]:
    return cipher.decrypt(app.config_vars)


def update_config(db: Session, cipher: ConfigCipher, app: App, user: User, changes: dict) -> tuple[dict[str, str], Release]:
    """Merge `changes` (a None value deletes a key) and add the release that carries them."""
    if not isinstance(changes, dict):
        raise InvalidParams("Config vars must be a JSON object of names to values.")
    app = get_app(db, str(app.id), lock=True)
    config = config_vars(cipher, app)
    set_keys, removed = [], []
    for key, value in changes.items():
        validate_config_key(key)
        if value is None:
            if config.pop(key, None) is not None:
                removed.append(key)
        elif isinstance(value, (str, int, float, bool)):
            config[key] = str(value).lower() if isinstance(value, bool) else str(value)
            set_keys.append(key)
        else:
            raise InvalidParams(f"Config var {key} must be a string or null.")
    parts = []
    if set_keys:
        parts.append(f"Set {', '.join(set_keys)} config vars")
    if removed:
        parts.append(f"Remove {', '.join(removed)} config vars")
    app.config_vars = cipher.encrypt(config)
    base = latest_release(db, app)
    release = add_release(
        db,
        app,
        user,
        description="; ".join(parts) or "Update config vars",
        config=app.config_vars,
        image=base.image,
        commit=base.commit,
        process_types=base.process_types,
    )
    return config, release


# --- releases ---------------------------------------------------------------


def add_release(
    db: Session,
    app: App,
    user: User,
    *,
    description: str,
    config: bytes,
    image: str | None = None,
    commit: str | None = None,
    process_types: dict[str, str] | None = None,
    status: Status | None = None,
) -> Release:
    """Append the next release. A release with nothing to run has nothing to wait for."""
    get_app(db, str(app.id), lock=True)  # serialises version numbers per app
    version = (db.scalar(select(func.max(Release.version)).where(Release.app_id == app.id)) or 0) + 1
    if status is None:
        status = Status.pending if image else Status.succeeded
    release = Release(
        app_id=app.id,
        version=version,
        description=description,
        status=status,
        image=image,
        commit=commit,
        process_types=process_types or {},
        config_vars=config,
        user_id=user.id,
    )
    db.add(release)
    if status is Status.succeeded:
        app.released_at = func.now()
    db.flush()
    return release


def latest_release(db: Session, app: App) -> Release:
    """The newest release that has not failed: the base for config changes, the runner's target."""
    return db.scalar(
        select(Release)
        .where(Release.app_id == app.id, Release.status != Status.failed)
        .order_by(Release.version.desc())
        .limit(1)
    )


def current_release(db: Session, app: App) -> Release | None:
    """The newest release that came up: what is serving."""
    return db.scalar(
        select(Release)
        .where(Release.app_id == app.id, Release.status == Status.succeeded)
        .order_by(Release.version.desc())
        .limit(1)
    )


def get_release(db: Session, app: App, ident: str | int) -> Release:
    stmt = select(Release).where(Release.app_id == app.id)
    text = str(ident).removeprefix("v")
    if text.isdigit():
        stmt = stmt.where(Release.version == int(text))
    else:
        try:
            stmt = stmt.where(Release.id == uuid.UUID(text))
        except ValueError:
            raise NotFound(f"Couldn't find that release: {ident}") from None
    release = db.scalar(stmt)
    if release is None:
        raise NotFound(f"Couldn't find that release: {ident}")
    return release


def list_releases(app: App) -> Select:
    return select(Release).where(Release.app_id == app.id)


def eligible_for_rollback(release: Release) -> bool:
    return release.status is Status.succeeded and release.image is not None


def rollback(db: Session, app: App, user: User, target_ident: str | int) -> Release:
    """A new release with the target's image and config snapshot; the app's config follows it."""
    target = get_release(db, app, target_ident)
    if not eligible_for_rollback(target):
        raise InvalidParams(f"Release v{target.version} cannot be rolled back to: it has no running code or it failed.")
    app.config_vars = target.config_vars
    return add_release(
        db,
        app,
        user,
        description=f"Rollback to v{target.version}",
        config=target.config_vars,
        image=target.image,
        commit=target.commit,
        process_types=target.process_types,
    )


def settle_release(db: Session, release: Release, status: Status) -> bool:
    """Move a pending release to succeeded or failed, under the app's lock.

    False when it is not pending any more: the runner and a push that gave up on waiting may
    race to settle the same release, and only the first one counts. Raises NotFound when the
    app was deleted meanwhile.
    """
    app = get_app(db, str(release.app_id), lock=True)
    db.refresh(release)
    if release.status is not Status.pending:
        return False
    release.status = status
    if status is Status.succeeded:
        app.released_at = func.now()
    db.flush()
    return True


def give_up_on_release(db: Session, release_id: uuid.UUID) -> Status:
    """A push stopped waiting for this release: it must not go live later. Returns its final status."""
    release = db.get(Release, release_id)
    settle_release(db, release, Status.failed)
    db.commit()
    return release.status


def pending_releases_before(db: Session, release: Release) -> list[Release]:
    return list(
        db.scalars(
            select(Release).where(
                Release.app_id == release.app_id,
                Release.status == Status.pending,
                Release.version < release.version,
            )
        )
    )


# --- builds -----------------------------------------------------------------


def create_build(db: Session, app: App, user: User, commit: str) -> Build:
    build = Build(app_id=app.id, user_id=user.id, commit=commit, status=Status.pending)
    db.add(build)
    db.flush()
    return build


def get_build(db: Session, build_id: uuid.UUID) -> Build:
    build = db.get(Build, build_id)
    if build is None:
        raise NotFound(f"Couldn't find that build: {build_id}")
    return build


def fail_build(db: Session, build: Build) -> None:
    build.status = Status.failed
    db.flush()


def give_up_on_build(db: Session, build_id: uuid.UUID) -> None:
    """A push stopped waiting for this build: it must not deploy later, when a worker picks it up."""
    build = get_build(db, build_id)
    if build.status is Status.pending:
        fail_build(db, build)
        db.commit()


def release_build(db: Session, build: Build, image: str, process_types: dict[str, str]) -> Release:
    """A successful build becomes a release that carries the app's current config."""
    app = get_app(db, str(build.app_id), lock=True)
    db.refresh(build, with_for_update=True)
    if build.status is not Status.pending:
        raise Conflict("the push gave up waiting for this build; push again to deploy it")
    release = add_release(
        db,
        app,
        build.user,
        description=f"Deploy {build.commit[:7]}",
        config=app.config_vars,
        image=image,
        commit=build.commit,
        process_types=process_types,
    )
    build.status, build.image, build.release_id = Status.succeeded, image, release.id
    for process_type in process_types:
        ensure_formation(db, app, process_type, quantity=1 if process_type == "web" else 0)
    db.flush()
    return release


# --- formation --------------------------------------------------------------


def ensure_formation(db: Session, app: App, process_type: str, quantity: int) -> Formation:
    formation = db.scalar(select(Formation).where(Formation.app_id == app.id, Formation.type == process_type))
    if formation is None:
        formation = Formation(app_id=app.id, type=process_type, quantity=quantity)
        db.add(formation)
        db.flush()
    return formation


def formation(db: Session, app: App) -> dict[str, int]:
    return {f.type: f.quantity for f in db.scalars(select(Formation).where(Formation.app_id == app.id))}


# --- pagination -------------------------------------------------------------


@dataclass
class Page:
    items: list
    next_range: str | None


def page(db: Session, stmt: Select, rng: Range, columns: dict) -> Page:
    """Apply a parsed Range to a select; `columns` maps range fields to (column, type)."""
    column, kind = columns[rng.field]
    descending = rng.order == "desc"
    if rng.start is not None:
        try:
            start = kind(rng.start)
        except ValueError:
            raise InvalidParams(f"Invalid Range start {rng.start!r} for {rng.field}") from None
        if descending:
            stmt = stmt.where(column < start if rng.start_exclusive else column <= start)
        else:
            stmt = stmt.where(column > start if rng.start_exclusive else column >= start)
    stmt = stmt.order_by(column.desc() if descending else column.asc()).limit(rng.max + 1)
    items = list(db.scalars(stmt))
    if len(items) <= rng.max:
        return Page(items, None)
    items = items[: rng.max]
    return Page(items, rng.next_range(getattr(items[-1], rng.field)))
