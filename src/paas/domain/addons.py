"""Add-ons and their attachments: an add-on's URL in the config of every app it is attached to.

Every change of what an app's config holds is a new release. These functions touch only the
database, and record their changes as events (which call for the add-on jobs that make, change
or remove the servers: paas.addons.jobs); callers commit.
"""

import re
import secrets
import uuid
from urllib.parse import urlsplit

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from paas.domain import access, apps, events, releases
from paas.domain.addon_services import BY_NAME, COLORS, AddonService, find_plan
from paas.domain.config import check_size
from paas.domain.crypto import ConfigCipher
from paas.domain.db import by_ident
from paas.domain.errors import Conflict, Forbidden, InvalidParams, NotFound
from paas.domain.models import Addon, AddonAttachment, App, Release, User
from paas.domain.names import _ADJECTIVES, _NOUNS

ATTACHMENT_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,55}$")


def service_of(addon: Addon) -> AddonService:
    return BY_NAME[addon.service]


def credentials_of(cipher: ConfigCipher, addon: Addon) -> dict[str, str]:
    return cipher.decrypt(addon.credentials) if addon.credentials else {}


def url_of(cipher: ConfigCipher, addon: Addon) -> str:
    return service_of(addon).url(credentials_of(cipher, addon))


def create_addon(
    db: Session, cipher: ConfigCipher, app: App, plan_spec: object,
    attachment_name: object = None, config: object = None,
) -> Addon:
    """A new add-on of `app`, attached to it. Server-backed ones start `provisioning` (their
    server is made by a task, then `provisioned` sets the var); an external one is ready now."""
    service, plan = find_plan(plan_spec)
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise InvalidParams("config must be a JSON object.")
    app = apps.get_app(db, str(app.id), lock=True)
    if service.runs_server:
        name = f"{service.name}-{secrets.choice(_ADJECTIVES)}-{secrets.randbelow(100000):05d}"
        addon = Addon(name=name, service=service.name, plan=plan.name, app_id=app.id, state="provisioning",
                      credentials=cipher.encrypt(service.new_credentials(name, config)))
    else:
        if attachment_name is None:
            raise InvalidParams('An external add-on needs a name: give "attachment": {"name": "MAILER"} (its URL is then MAILER_URL).')
        url = config.get("url")
        unknown = set(config) - {"url"}
        if unknown or not valid_url(url):
            raise InvalidParams('An external add-on takes "config": {"url": "<scheme>://<host>..."} and nothing else.')
        name = f"external-{secrets.choice(_NOUNS)}-{secrets.randbelow(100000):05d}"
        addon = Addon(name=name, service=service.name, plan=plan.name, app_id=app.id, state="provisioned",
                      credentials=cipher.encrypt({"url": url}))
    db.add(addon)
    events.recorded(db, app, "addon", "create", addon)
    attach(db, cipher, addon, app, attachment_name)
    return addon


def valid_url(url: object) -> bool:
    if not isinstance(url, str) or len(url) > 2000 or any(c.isspace() for c in url):
        return False
    parts = urlsplit(url)
    return bool(re.fullmatch(r"[a-z][a-z0-9+.-]*", parts.scheme)) and bool(parts.netloc)


def attach(db: Session, cipher: ConfigCipher, addon: Addon, app: App, name: object = None) -> AddonAttachment:
    """Attach under `name` (or the service's next free one). Its var is set by `apply_attachment`."""
    service = service_of(addon)
    taken = set(db.scalars(select(AddonAttachment.name).where(AddonAttachment.app_id == app.id)))
    config = cipher.decrypt(app.config_vars)
    if name is None:
        name = next_attachment_name(service, taken | {k.removesuffix("_URL") for k in config if k.endswith("_URL")})
    elif not isinstance(name, str) or not ATTACHMENT_NAME.fullmatch(name.upper()):
        raise InvalidParams("An attachment name is letters, digits and underscores, starting with a letter (its var is <NAME>_URL).")
    name = name.upper()
    if name in taken:
        raise InvalidParams(f"{name} is already attached to {app.name}; give the attachment another name.")
    if f"{name}_URL" in config:
        raise InvalidParams(f"{app.name} already has a {name}_URL config var; unset it or give the attachment another name.")
    attachment = AddonAttachment(addon_id=addon.id, app_id=app.id, name=name)
    db.add(attachment)
    events.recorded(db, app, "addon-attachment", "create", attachment)
    return attachment


def next_attachment_name(service: AddonService, taken: set[str]) -> str:
    if service.attachment_name is None:
        raise InvalidParams(f"Name the attachment of a {service.name} add-on: \"name\": \"MAILER\" (its URL is then MAILER_URL).")
    if service.attachment_name not in taken:
        return service.attachment_name
    free = [c for c in COLORS if f"{service.color_prefix}_{c}" not in taken]
    if not free:
        raise InvalidParams(f"Every {service.color_prefix}_<COLOR> name is taken on this app; name the attachment.")
    return f"{service.color_prefix}_{secrets.choice(free)}"


def set_vars(db: Session, cipher: ConfigCipher, app: App, user: User, changes: dict[str, str | None], description: str) -> Release:
    """The app's config with add-on vars set (a None value removes one), in a new release."""
    app = apps.get_app(db, str(app.id), lock=True)
    config = cipher.decrypt(app.config_vars)
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    check_size(config)
    app.config_vars = cipher.encrypt(config)
    events.record(db, app, "config-vars", "update", {"set": [k for k, v in changes.items() if v is not None],
                                                     "unset": [k for k, v in changes.items() if v is None]})
    return releases.add_release(db, app, user, description=description, config=app.config_vars,
                                **releases.code_of(releases.latest_release(db, app)))


def still_attached(db: Session, attachment: AddonAttachment) -> bool:
    """Lock its app, then look again: a detach that committed meanwhile (under the same lock)
    must not see its var come back."""
    apps.get_app(db, str(attachment.app_id), lock=True)
    return db.scalar(select(AddonAttachment.id).where(AddonAttachment.id == attachment.id)) is not None


def apply_attachment(db: Session, cipher: ConfigCipher, attachment: AddonAttachment, user: User) -> Release | None:
    """Its var in its app's config, in a new release (none when the var holds its URL already: a
    job done twice); None if it was detached meanwhile."""
    if not still_attached(db, attachment):
        return None
    addon = attachment.addon
    if cipher.decrypt(attachment.app.config_vars).get(attachment.config_key) == url_of(cipher, addon):
        return releases.latest_release(db, attachment.app)
    return set_vars(db, cipher, attachment.app, user, {attachment.config_key: url_of(cipher, addon)},
                    f"Attach {attachment.name} (@ref:{addon.name})")


def provisioned(db: Session, cipher: ConfigCipher, addon: Addon, user: User) -> list[Release]:
    """Its server is up: it is ready, and each app it is attached to gets its var."""
    with events.updating(db, addon.app, "addon", addon):
        addon.state = "provisioned"
    return [r for a in attachments_of(db, addon) if (r := apply_attachment(db, cipher, a, user)) is not None]


def rotated(db: Session, cipher: ConfigCipher, addon: Addon, credentials: dict[str, str], user: User) -> list[Release]:
    """New credentials are in force on its server: every attached app gets the new URL."""
    addon.credentials = cipher.encrypt(credentials)
    url = url_of(cipher, addon)
    return [set_vars(db, cipher, a.app, user, {a.config_key: url}, f"Update {a.name} by rotating credentials of {addon.name}")
            for a in attachments_of(db, addon) if still_attached(db, a)]


def check_detachable(db: Session, attachment: AddonAttachment) -> None:
    """The owning app keeps an attachment of its add-on (Heroku's rule): destroy it instead."""
    addon = attachment.addon
    if attachment.app_id == addon.app_id and sum(a.app_id == addon.app_id for a in attachments_of(db, addon)) == 1:
        raise InvalidParams(f"{attachment.name} is {addon.name}'s last attachment to {attachment.app.name}, which owns it: "
                            "destroy the add-on instead (paas addons:destroy).")


def detach(db: Session, cipher: ConfigCipher, attachment: AddonAttachment, user: User) -> Release:
    release = set_vars(db, cipher, attachment.app, user, {attachment.config_key: None},
                       f"Detach {attachment.name} (@ref:{attachment.addon.name})")
    events.record(db, attachment.app, "addon-attachment", "destroy", events.shape(db, attachment))
    db.delete(attachment)
    db.flush()
    return release


def destroy(db: Session, cipher: ConfigCipher, addon: Addon, user: User) -> None:
    """Detach it everywhere (a release per app) and delete it."""
    for attachment in attachments_of(db, addon):
        detach(db, cipher, attachment, user)
    events.record(db, addon.app, "addon", "destroy", events.shape(db, addon))
    db.delete(addon)
    db.flush()


def attachments_of(db: Session, addon: Addon) -> list[AddonAttachment]:
    return list(db.scalars(select(AddonAttachment).where(AddonAttachment.addon_id == addon.id).order_by(AddonAttachment.created_at)))


def list_addons(app: App | None = None, user: User | None = None) -> Select:
    """An app's add-ons are those attached to it, as Heroku lists them; a user's, those of the
    apps they may view."""
    stmt = select(Addon).order_by(Addon.created_at)
    if app is not None:
        stmt = stmt.where(Addon.id.in_(select(AddonAttachment.addon_id).where(AddonAttachment.app_id == app.id)))
    if user is not None:
        stmt = stmt.where(Addon.app_id.in_(access.visible_apps(user).with_only_columns(App.id)))
    return stmt


def list_attachments(app: App | None = None, user: User | None = None) -> Select:
    stmt = select(AddonAttachment).order_by(AddonAttachment.created_at)
    if app is not None:
        stmt = stmt.where(AddonAttachment.app_id == app.id)
    if user is not None:
        stmt = stmt.where(AddonAttachment.app_id.in_(access.visible_apps(user).with_only_columns(App.id)))
    return stmt


def get_addon(db: Session, ident: str, app: App | None = None) -> Addon:
    """By id or name; with `app`, also by the name of its attachment there (DATABASE)."""
    addon = db.scalar(by_ident(select(Addon), Addon.id, ident, Addon.name == ident))
    if addon is None and app is not None:
        attachment = db.scalar(select(AddonAttachment).where(AddonAttachment.app_id == app.id, AddonAttachment.name == ident.upper()))
        addon = attachment.addon if attachment else None
    if addon is None:
        raise NotFound(f"Couldn't find that add-on: {ident}")
    return addon


def get_attachment(db: Session, ident: str, app: App | None = None) -> AddonAttachment:
    """By id, or (with `app`) by its name there; with `app`, only that app's."""
    stmt = select(AddonAttachment).where(AddonAttachment.app_id == app.id) if app is not None else select(AddonAttachment)
    try:
        stmt = stmt.where(AddonAttachment.id == uuid.UUID(ident))
    except ValueError:
        if app is None:
            raise NotFound(f"Couldn't find that add-on attachment: {ident}") from None
        stmt = stmt.where(AddonAttachment.name == ident.upper())
    attachment = db.scalar(stmt)
    if attachment is None:
        raise NotFound(f"Couldn't find that add-on attachment: {ident}")
    return attachment


def require_provisioned(addon: Addon) -> None:
    if addon.state != "provisioned":
        raise Conflict(f"{addon.name} is still {addon.state}; try again when it is provisioned.")


def addon_for_user(db: Session, ident: str, user: User, app: App | None = None) -> Addon:
    """An add-on the caller may see: of an app they may view, or attached to one. With `app`,
    only one attached to that app (or owned by it)."""
    addon = get_addon(db, ident, app)
    attached = attachments_of(db, addon)
    if app is not None and addon.app_id != app.id and all(t.app_id != app.id for t in attached):
        raise NotFound(f"Couldn't find that add-on: {ident}")
    if not any(access.VIEW in access.permissions(db, a, user) for a in [addon.app] + [t.app for t in attached]):
        raise NotFound(f"Couldn't find that add-on: {ident}")
    return addon


def require_manage(db: Session, addon: Addon, user: User) -> None:
    """Sharing an add-on, or changing its credentials, is for who manages the app that owns it:
    viewing it is not enough (its URL holds the password)."""
    if access.MANAGE not in access.permissions(db, addon.app, user):
        raise Forbidden(f"You do not have manage access to {addon.app.name}, which owns {addon.name}.")


def release_app(db: Session, cipher: ConfigCipher, app: App, user: User) -> None:
    """Before an app is deleted: the add-ons it owns are destroyed (detached from the other apps
    too, as on Heroku), and its attachments of other apps' add-ons go (no release: it goes too)."""
    for addon in db.scalars(select(Addon).where(Addon.app_id == app.id)).all():
        destroy(db, cipher, addon, user)
    for attachment in db.scalars(select(AddonAttachment).where(AddonAttachment.app_id == app.id)).all():
        events.record(db, app, "addon-attachment", "destroy", events.shape(db, attachment))
        db.delete(attachment)
    db.flush()
