"""The add-on jobs: making, joining, rotating and removing add-on servers and private networks.

The runner does them, each in a thread of its own, as it takes them from Redis
(paas.channels.addon_jobs): it is the part that owns containers and networks, a database is
never made to wait behind builds, and no process more is needed (a Celery worker of their own
cost 88 MB). Jobs take ids. They come from events (`jobs_of`: an add-on, an attachment or a link
made or gone), except a credentials rotation, which the API asks for; the API call that made
the change waits for the job's outcome and answers with it."""

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import docker
import redis
from sqlalchemy.orm import Session, sessionmaker

from paas import logs, networks
from paas.addons.servers import Servers
from paas.channels import addon_jobs
from paas.channels.addon_jobs import Job
from paas.channels.runner import wake_runner
from paas.domain import addons, events
from paas.domain.addon_services import BY_NAME, random_secret
from paas.domain.crypto import ConfigCipher
from paas.domain.models import Addon, AddonAttachment, AppLink, User
from paas.settings import Settings

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

    @classmethod
    def from_settings(cls, settings: Settings, sessionmaker: sessionmaker[Session], redis_client: redis.Redis,
                      cipher: ConfigCipher) -> "Context":
        client = docker.DockerClient(base_url=settings.docker_url, timeout=120)
        return cls(settings, sessionmaker, redis_client, client, cipher, Servers(client, settings),
                   logs.LogStore(redis_client, settings.log_lines))


def _say(c: Context, app_id, text: str) -> None:
    c.logs.event(str(app_id), "api", text, source="app")


def provision(c: Context, addon_id: str, user_id: str) -> str:
    addon_id, user_id = uuid.UUID(addon_id), uuid.UUID(user_id)
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
            events.act_as(db, user)
            addons.provisioned(db, c.cipher, addon, user)
            db.commit()
    except Exception as error:  # nothing was committed: nothing of it may stay
        _undo_provision(c, addon_id, nets)
        _say(c, app_id, f"Provisioning {name} failed: {error}")
        raise
    return f"{name} is ready"


def _undo_provision(c: Context, addon_id: uuid.UUID, nets: list[str]) -> None:
    """Nothing of a failed add-on stays: its server, its data, its networks, its rows."""
    c.servers.destroy(str(addon_id))
    for net in nets:
        networks.remove(c.docker, net)
    _forget(c, Addon, addon_id)


FORGOTTEN = {Addon: "addon", AddonAttachment: "addon-attachment", AppLink: "link"}  # their events' resources


def _forget(c: Context, model, row_id: uuid.UUID) -> None:
    """What a job failed to make (an add-on, an attachment, a link) goes from the database too;
    gone already is fine. (Cascades take an add-on's attachments with it.)"""
    with c.sessionmaker() as db:
        row = db.get(model, row_id)
        if row is not None:
            events.record(db, row.app, FORGOTTEN[model], "destroy", events.shape(db, row))
            db.delete(row)
            db.commit()


def attach(c: Context, attachment_id: str, user_id: str) -> str:
    """A second app gets an add-on: a network of their own, then its var."""
    attachment_id, user_id = uuid.UUID(attachment_id), uuid.UUID(user_id)
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
            events.act_as(db, user)
            if attachment is None or addons.apply_attachment(db, c.cipher, attachment, user) is None:
                raise RuntimeError("the attachment was removed meanwhile")
            db.commit()
    except Exception:  # nothing was committed
        networks.remove(c.docker, net)
        _forget(c, AddonAttachment, attachment_id)
        raise
    return f"attached {addon_name}"


def rotate(c: Context, addon_id: str, user_id: str) -> str:
    """The new password is kept (as `next_password`) before the server gets it, so a rotation
    cut short anywhere is finished by the next one instead of locking the apps out."""
    addon_id, user_id = uuid.UUID(addon_id), uuid.UUID(user_id)
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
        events.act_as(db, user)
        addons.rotated(db, c.cipher, addon, {**current, "password": password}, user)
        db.commit()
    return f"rotated the credentials of {name}"


def destroy(c: Context, addon_id: str, attachment_ids: list[str]) -> str:
    c.servers.destroy(addon_id)  # the server first: nobody reaches the data any more
    for attachment_id in attachment_ids:
        networks.remove(c.docker, networks.attachment_network(c.settings.instance, attachment_id))
    return "destroyed"


def remove_networks(c: Context, attachment_ids: list[str], link_ids: list[str]) -> str:
    """Access ends: the networks of detached add-ons and of removed links go."""
    for attachment_id in attachment_ids:
        networks.remove(c.docker, networks.attachment_network(c.settings.instance, attachment_id))
    for link_id in link_ids:
        networks.remove(c.docker, networks.link_network(c.settings.instance, link_id))
    return "removed"


def open_link(c: Context, link_id: str) -> str:
    link_id = uuid.UUID(link_id)
    with c.sessionmaker() as db:
        link = db.get(AppLink, link_id)
        if link is None:
            return "nothing to do"
        names = (link.app.name, link.target.name)
    try:
        networks.create(c.docker, c.settings, networks.link_network(c.settings.instance, link_id), "link")
    except Exception:  # no network, no link: it may be asked for again
        _forget(c, AppLink, link_id)
        raise
    for name in names:  # the runner puts both apps' processes on it
        wake_runner(c.redis, name)
    return f"{names[0]} can reach {names[1]}"


JOBS: dict[str, Callable[..., str]] = {
    "provision": provision, "attach": attach, "rotate": rotate, "open-link": open_link,
    "destroy": destroy, "remove-networks": remove_networks,
}
# Removing what access rests on is tried again: a network left behind would keep an app connected.
RETRIED = {"destroy", "remove-networks"}
RETRIES, RETRY_WAIT = 8, 0.5  # doubling: about two minutes in all


class AddonJobs:
    """Runs the jobs the runner takes, each in a thread of its own (a slow database holds up
    nothing else), and reports each one's outcome for the API call waiting on it."""

    def __init__(self, context: Context, workers: int = 4):
        self.context = context
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="addon-job")

    def start(self, payload: str) -> None:
        self.pool.submit(self.run, payload)

    def run(self, payload: str) -> None:
        try:
            job = Job.parse(payload)
            work = JOBS[job.job]
        except (ValueError, KeyError):
            log.error("not an add-on job: %r", payload[:200])
            return
        if not addon_jobs.claim(self.context.redis, job.id):
            log.info("add-on job %s (%s) was taken before: an event delivered again", job.job, job.id)
            return
        attempts = RETRIES if job.job in RETRIED else 1
        for attempt in range(attempts):
            try:
                outcome = (True, work(self.context, *job.args))
                break
            except Exception as error:
                log.exception("add-on job %s (%s) failed", job.job, job.id)
                outcome = (False, str(error))
                if attempt + 1 < attempts:  # no wait after the last: its outcome is due now
                    time.sleep(RETRY_WAIT * 2**attempt)
        addon_jobs.report_outcome(self.context.redis, job.id, *outcome)


def jobs_of(db: Session, batch) -> list[Job]:
    """The jobs these events call for: an add-on's server, a second app's attachment to one, a
    link made need their server and networks (each job has the id of what it makes, which the
    API call waits for); an add-on, an attachment or a link gone, that its server and networks go.
    The server of an add-on destroyed goes first, then the networks of its attachments."""
    made = {e.data["id"] for e in batch if (e.resource, e.action) == ("addon", "create")}
    destroyed = {e.data["id"]: BY_NAME[e.data["addon_service"]["name"]].runs_server
                 for e in batch if (e.resource, e.action) == ("addon", "destroy")}
    networks_of = {addon_id: [] for addon_id in destroyed}
    jobs = []
    for e in batch:
        actor = (e.actor or {}).get("id", "")
        match (e.resource, e.action):
            case ("addon", "create") if e.data["state"] == "provisioning":
                jobs.append(Job("provision", [e.data["id"], actor], e.data["id"]))
            case ("addon-attachment", "create") if e.data["addon"]["id"] not in made and _serves(db, e.data["addon"]["id"]):
                jobs.append(Job("attach", [e.data["id"], actor], e.data["id"]))
            case ("link", "create"):
                jobs.append(Job("open-link", [e.data["id"]], e.data["id"]))
            case ("addon-attachment", "destroy") if e.data["addon"]["id"] in destroyed:
                networks_of[e.data["addon"]["id"]].append(e.data["id"])
            case ("addon-attachment", "destroy"):
                jobs.append(Job("remove-networks", [[e.data["id"]], []], str(e.id)))
            case ("link", "destroy"):
                jobs.append(Job("remove-networks", [[], [e.data["id"]]], str(e.id)))
    # Every job's id comes from its event: one delivered again makes the same jobs, taken once.
    return jobs + [Job("destroy", [addon_id, networks_of[addon_id]], f"destroy-{addon_id}")
                   for addon_id, serves in destroyed.items() if serves]


def _serves(db: Session, addon_id: str) -> bool:
    """A provisioned add-on with a server (an attachment to it needs a network of its own)."""
    addon = db.get(Addon, uuid.UUID(addon_id))
    return addon is not None and addon.state == "provisioned" and addons.service_of(addon).runs_server


def queue(redis_client: redis.Redis):
    """The consumer of events that queues their jobs for the runner."""
    def send(db: Session, batch) -> None:
        for job in jobs_of(db, batch):
            addon_jobs.send(redis_client, job)

    return send

