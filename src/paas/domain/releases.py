"""Releases: append-only history of build x config; rollbacks and settling deploys.

These functions touch only the database, and record their changes as events; callers commit.
"""

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, joinedload

from paas.domain import apps, events
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import AddonAttachment, App, Release, Status, User
from paas.domain.ranges import DIGITS

DESCRIPTION_LIMIT = Release.description.type.length  # the column's


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
    build_id: uuid.UUID | None = None,
    stack: str | None = None,
    slug_size: int | None = None,
) -> Release:
    """Append the next release. A release with nothing to run has nothing to wait for."""
    apps.get_app(db, str(app.id), lock=True)  # serialises version numbers per app
    if len(description) > DESCRIPTION_LIMIT:  # a long list of config keys, say
        description = description[: DESCRIPTION_LIMIT - 1] + "…"
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
        build_id=build_id,
        stack=stack,
        slug_size=slug_size,
        addon_keys=addon_keys(db, app),
    )
    db.add(release)
    if status is Status.succeeded:
        app.released_at = func.now()
    events.recorded(db, app, "release", "create", release)
    return release


def addon_keys(db: Session, app: App) -> list[str]:
    """The app's config vars that its add-on attachments own."""
    return sorted(f"{name}_URL" for name in db.scalars(select(AddonAttachment.name).where(AddonAttachment.app_id == app.id)))


def code_of(release: Release) -> dict:
    """What a new release built from the same code carries over (config changes, rollbacks)."""
    return {
        "image": release.image, "commit": release.commit, "process_types": release.process_types,
        "build_id": release.build_id, "stack": release.stack, "slug_size": release.slug_size,
    }


def latest_release(db: Session, app: App) -> Release:
    """The newest release that has not failed: the base for config changes, the runner's target."""
    return db.scalar(
        select(Release)
        .where(Release.app_id == app.id, Release.status != Status.failed)
        .order_by(Release.version.desc())
        .limit(1)
    )


def latest_releases(db: Session) -> dict[str, Release | None]:
    """Every app's `latest_release` (None before its first), by app name, in one query."""
    newest = (
        select(Release.id)
        .where(Release.status != Status.failed)
        .ext(distinct_on(Release.app_id))
        .order_by(Release.app_id, Release.version.desc())
    )
    found = {r.app.name: r for r in db.scalars(select(Release).where(Release.id.in_(newest)).options(joinedload(Release.app)))}
    return {name: found.get(name) for name in db.scalars(select(App.name))}


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
    if DIGITS.fullmatch(text):  # ASCII, and within the column's reach
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


def rollback(db: Session, cipher: ConfigCipher, app: App, user: User, target_ident: str | int) -> Release:
    """A new release with the target's image and config snapshot; the app's config follows it,
    except for the add-ons' vars: those stay as the add-ons attached now have them (a rollback
    does not bring back a detached database or an old password)."""
    target = get_release(db, app, target_ident)
    if not eligible_for_rollback(target):
        raise InvalidParams(f"Release v{target.version} cannot be rolled back to: it has no running code or it failed.")
    app = apps.get_app(db, str(app.id), lock=True)  # an add-on job may be changing its vars right now
    current = cipher.decrypt(app.config_vars)
    config = {k: v for k, v in cipher.decrypt(target.config_vars).items() if k not in target.addon_keys}
    config.update({k: current[k] for k in addon_keys(db, app) if k in current})
    app.config_vars = cipher.encrypt(config)
    return add_release(
        db,
        app,
        user,
        description=f"Rollback to v{target.version}",
        config=app.config_vars,
        **code_of(target),
    )


def settle_release(db: Session, release: Release, status: Status) -> bool:
    """Move a pending release to succeeded or failed, under the app's lock.

    False when it is not pending any more: the runner and a push that gave up on waiting may
    race to settle the same release, and only the first one counts. Raises NotFound when the
    app was deleted meanwhile.
    """
    app = apps.get_app(db, str(release.app_id), lock=True)
    db.refresh(release)
    if release.status is not Status.pending:
        return False
    with events.updating(db, app, "release", release):
        release.status = status
        if status is Status.succeeded:
            app.released_at = func.now()
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
