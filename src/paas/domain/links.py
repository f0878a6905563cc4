"""Links between apps: a linked app's processes reach the target's web processes over a private
network at http://<target>.internal:<PORT>, never through the router. Unlinked apps cannot.

These functions touch only the database; callers commit, then send the task that makes the network.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from paas.domain import access, events
from paas.domain.addon_services import SERVICES
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import Addon, AddonAttachment, App, AppLink, User


def create_link(db: Session, app: App, target: App) -> AppLink:
    if target.id == app.id:
        raise InvalidParams("An app reaches its own processes already; link it to another app.")
    if db.scalar(select(AppLink.id).where(AppLink.app_id == app.id, AppLink.target_id == target.id)):
        raise InvalidParams(f"{app.name} is already linked to {target.name}.")
    link = AppLink(app_id=app.id, target_id=target.id)
    db.add(link)
    events.recorded(db, app, "link", "create", link)
    return link


def list_links(db: Session, app: App) -> list[AppLink]:
    return list(db.scalars(select(AppLink).where(AppLink.app_id == app.id).order_by(AppLink.created_at)))


def get_link(db: Session, app: App, target_ident: str, user: User) -> AppLink:
    try:
        target = access.app_for(db, target_ident, user, access.VIEW)
    except NotFound:
        raise NotFound(f"{app.name} is not linked to {target_ident}.") from None
    link = db.scalar(select(AppLink).where(AppLink.app_id == app.id, AppLink.target_id == target.id))
    if link is None:
        raise NotFound(f"{app.name} is not linked to {target.name}.")
    return link


def delete_link(db: Session, link: AppLink) -> None:
    events.record(db, link.app, "link", "destroy", events.shape(db, link))
    db.delete(link)
    db.flush()


def release_app(db: Session, app: App) -> None:
    """Before an app is deleted: every link it is in, either way, goes."""
    for link in db.scalars(select(AppLink).where((AppLink.app_id == app.id) | (AppLink.target_id == app.id))).all():
        delete_link(db, link)


@dataclass
class Membership:
    """Which private networks an app's processes belong on."""

    attachments: list[str] = field(default_factory=list)  # ids of attachments of server add-ons
    links_out: list[str] = field(default_factory=list)  # ids of links from the app: all its processes
    links_in: list[str] = field(default_factory=list)  # ids of links to the app: its web processes


def memberships(db: Session, app: App | None = None) -> dict[str, Membership]:
    """By app name; every app's in three queries, or one app's."""
    found: dict[str, Membership] = {}
    server_services = [s.name for s in SERVICES if s.runs_server]
    attached = (select(App.name, AddonAttachment.id).join(AddonAttachment, AddonAttachment.app_id == App.id)
                .join(Addon, Addon.id == AddonAttachment.addon_id).where(Addon.service.in_(server_services)))
    source, target = aliased(App), aliased(App)
    links = select(source.name, target.name, AppLink.id).join(source, source.id == AppLink.app_id).join(target, target.id == AppLink.target_id)
    if app is not None:
        attached = attached.where(App.id == app.id)
        links = links.where((AppLink.app_id == app.id) | (AppLink.target_id == app.id))
    for name, attachment_id in db.execute(attached):
        found.setdefault(name, Membership()).attachments.append(str(attachment_id))
    for source_name, target_name, link_id in db.execute(links):
        found.setdefault(source_name, Membership()).links_out.append(str(link_id))
        found.setdefault(target_name, Membership()).links_in.append(str(link_id))
    return found
