"""The add-on jobs, on queue `addons` of the build worker (which includes this module and has a
thread more than builds need, so a database seldom waits behind builds; a worker of its own cost
88 MB more). Tasks take ids; the API call that sent one waits for its outcome
(`messages.wait_for_outcome`) and answers with it."""

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import docker
import redis
from celery import shared_task
from sqlalchemy.orm import Session, sessionmaker

from paas import logs, messages
from paas.addons import networks
from paas.addons.servers import Servers
from paas.domain import addons
from paas.domain.addon_services import random_secret
from paas.domain.crypto import ConfigCipher, load_or_create_key
from paas.domain.db import make_sessionmaker
from paas.domain.models import Addon, AddonAttachment, AppLink, Release, User
from paas.settings import Settings, get_settings

log = logging.getLogger(__name__)



@dataclass
class Context:
    settings: Settings
    sessionmaker: sessionmaker[Session]
    redis: redis.Redis
    docker: docker.DockerClient
    cipher: ConfigCipher
    servers: Servers
    logs: logs.LogStore


_context_lock = threading.Lock()


@cache
def _make_context() -> Context:
    settings = get_settings()
    client = docker.DockerClient(base_url=settings.docker_url, timeout=120)
    redis_client = messages.connect(settings)
    return Context(settings, make_sessionmaker(settings), redis_client, client, ConfigCipher(load_or_create_key(settings)),
                   Servers(client, settings), logs.LogStore(redis_client, settings.log_lines))


def context() -> Context:
    with _context_lock:
        return _make_context()


Announcement = tuple[str, str, str, int, str]  # app id, app name, description, version, by


def announcements(made: list[Release], user: User) -> list[Announcement]:
    """What to say of the releases made, read while their session is open."""
    return [(str(r.app_id), r.app.name, r.description, r.version, user.email) for r in made]


def _announce(c: Context, said: list[Announcement]) -> None:
    """After the commit: each release in its app's logs, and the runner rolls it out. Best
    effort: the change has happened, and the answer must say so."""
    try:
        for app_id, app_name, description, version, by in said:
            logs.released(c.logs, app_id, description, version, by)
            messages.wake_runner(c.redis, app_name)
    except Exception:
        log.exception("telling of the releases made failed (the runner's next sweep rolls them out)")


def _job(job_id: str, work: Callable[[Context], str]) -> None:
    """Run `work` and report how it went to whoever waits on `job_id`."""
    c = context()
    try:
        message = work(c)
    except Exception as error:
        log.exception("add-on job %s failed", job_id)
        messages.report_outcome(c.redis, job_id, False, str(error))
    else:
        messages.report_outcome(c.redis, job_id, True, message)


def _say(c: Context, app_id, text: str) -> None:
    c.logs.event(str(app_id), "api", text, source="app")


@shared_task(name="paas.addons.provision")
def provision(addon_id: str, user_id: str, job_id: str) -> None:
    _job(job_id, lambda c: _provision(c, uuid.UUID(addon_id), uuid.UUID(user_id)))


def _provision(c: Context, addon_id: uuid.UUID, user_id: uuid.UUID) -> str:
    with c.sessionmaker() as db:
        addon = db.get(Addon, addon_id)
        if addon is None or addon.state != "provisioning":
            return "nothing to do"
        service, plan = addons.service_of(addon), addons.service_of(addon).plan(addon.plan)
        credentials = addons.credentials_of(c.cipher, addon)
        attachment_ids = [a.id for a in addons.attachments_of(db, addon)]
        name, app_id = addon.name, addon.app_id
    nets = [networks.attachment_network(c.settings.instance, a) for a in attachment_ids]
    try:
        for net in nets:
            networks.create(c.docker, c.settings, net, "attachment")
        c.servers.create(str(addon_id), name, service.name, plan, credentials, nets[0])
        for net in nets[1:]:
            c.servers.join(name, net, credentials["host"])
        with c.sessionmaker() as db:
            addon = db.get(Addon, addon_id, with_for_update=True)
            if addon is None:
                raise RuntimeError(f"{name} was destroyed while it was made")
            user = db.get(User, user_id)
            said = announcements(addons.provisioned(db, c.cipher, addon, user), user)
            db.commit()
    except Exception as error:  # nothing was committed: nothing of it may stay
        _undo_provision(c, addon_id, nets)
        _say(c, app_id, f"Provisioning {name} failed: {error}")
        raise
    _announce(c, said)
    return f"{name} is ready"


def _undo_provision(c: Context, addon_id: uuid.UUID, nets: list[str]) -> None:
    """Nothing of a failed add-on stays: its server, its data, its networks, its rows."""
    c.servers.destroy(str(addon_id))
    for net in nets:
        networks.remove(c.docker, net)
    with c.sessionmaker() as db:
        addon = db.get(Addon, addon_id)
        if addon is not None:
            addons.forget_failed(db, addon)
            db.commit()


@shared_task(name="paas.addons.attach")
def attach(attachment_id: str, user_id: str, job_id: str) -> None:
    _job(job_id, lambda c: _attach(c, uuid.UUID(attachment_id), uuid.UUID(user_id)))


def _attach(c: Context, attachment_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """A second app gets an add-on: a network of their own, then its var."""
    net = networks.attachment_network(c.settings.instance, attachment_id)
    with c.sessionmaker() as db:
        attachment = db.get(AddonAttachment, attachment_id)
        if attachment is None:
            return "nothing to do"
        addon_name, host = attachment.addon.name, addons.credentials_of(c.cipher, attachment.addon)["host"]
    try:
        networks.create(c.docker, c.settings, net, "attachment")
        c.servers.join(addon_name, net, host)
        with c.sessionmaker() as db:
            attachment = db.get(AddonAttachment, attachment_id)
            user = db.get(User, user_id)
            release = addons.apply_attachment(db, c.cipher, attachment, user) if attachment is not None else None
            if release is None:
                raise RuntimeError("the attachment was removed meanwhile")
            said = announcements([release], user)
            db.commit()
    except Exception:  # nothing was committed
        networks.remove(c.docker, net)
        with c.sessionmaker() as db:
            attachment = db.get(AddonAttachment, attachment_id)
            if attachment is not None:
                db.delete(attachment)
                db.commit()
        raise
    _announce(c, said)
    return f"attached {addon_name}"


@shared_task(name="paas.addons.rotate")
def rotate(addon_id: str, user_id: str, job_id: str) -> None:
    _job(job_id, lambda c: _rotate(c, uuid.UUID(addon_id), uuid.UUID(user_id)))


def _rotate(c: Context, addon_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The new password is kept (as `next_password`) before the server gets it, so a rotation
    cut short anywhere is finished by the next one instead of locking the apps out."""
    with c.sessionmaker() as db:
        addon = db.get(Addon, addon_id, with_for_update=True)
        if addon is None:
            raise RuntimeError("the add-on was destroyed meanwhile")
        credentials = addons.credentials_of(c.cipher, addon)
        password = credentials.get("next_password") or random_secret(32)
        addon.credentials = c.cipher.encrypt({**credentials, "next_password": password})
        name, service = addon.name, addon.service
        db.commit()
    current = {k: v for k, v in credentials.items() if k != "next_password"}
    c.servers.set_password(name, service, current, password)
    with c.sessionmaker() as db:
        addon = db.get(Addon, addon_id, with_for_update=True)
        if addon is None:
            raise RuntimeError("the add-on was destroyed meanwhile")
        user = db.get(User, user_id)
        said = announcements(addons.rotated(db, c.cipher, addon, {**current, "password": password}, user), user)
        db.commit()
    _announce(c, said)
    return f"rotated the credentials of {name}"


# Removing what access rests on is retried: a network left behind would keep an app connected.
CLEANUP = {"autoretry_for": (Exception,), "retry_backoff": True, "max_retries": 8}


@shared_task(name="paas.addons.destroy", **CLEANUP)
def destroy(addon_id: str, attachment_ids: list[str]) -> None:
    c = context()
    c.servers.destroy(addon_id)  # the server first: nobody reaches the data any more
    for attachment_id in attachment_ids:
        networks.remove(c.docker, networks.attachment_network(c.settings.instance, attachment_id))


@shared_task(name="paas.addons.remove-networks", **CLEANUP)
def remove_networks(attachment_ids: list[str], link_ids: list[str]) -> None:
    """Access ends: the networks of detached add-ons and of removed links go."""
    c = context()
    for attachment_id in attachment_ids:
        networks.remove(c.docker, networks.attachment_network(c.settings.instance, attachment_id))
    for link_id in link_ids:
        networks.remove(c.docker, networks.link_network(c.settings.instance, link_id))


@shared_task(name="paas.addons.open-link")
def open_link(link_id: str, job_id: str) -> None:
    _job(job_id, lambda c: _open_link(c, uuid.UUID(link_id)))


def _open_link(c: Context, link_id: uuid.UUID) -> str:
    with c.sessionmaker() as db:
        link = db.get(AppLink, link_id)
        if link is None:
            return "nothing to do"
        names = (link.app.name, link.target.name)
    try:
        networks.create(c.docker, c.settings, networks.link_network(c.settings.instance, link_id), "link")
    except Exception:  # no network, no link: it may be asked for again
        with c.sessionmaker() as db:
            link = db.get(AppLink, link_id)
            if link is not None:
                db.delete(link)
                db.commit()
        raise
    for name in names:  # the runner puts both apps' processes on it
        messages.wake_runner(c.redis, name)
    return f"{names[0]} can reach {names[1]}"
