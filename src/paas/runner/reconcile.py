"""Make what runs match each app's newest release × formation.

For one app, the newest release that has not failed is the target:
- pending: deploy it. Start its processes, wait until each answers HTTP on $PORT, route to them,
  then stop the old ones. If one never answers, remove the new processes and mark the release
  failed: the old processes were never touched, so they keep serving.
- succeeded: keep it running. Replace processes that are gone, keep the route pointing at the
  running ones, and stop processes of any other release. Healthy containers are left alone.
An app that no longer exists has its processes stopped and its route removed.
"""

import logging
import uuid
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timezone

import httpx
from sqlalchemy.orm import Session, sessionmaker

from paas import networks
from paas.channels.dynos import publish_dynos, restart_requests
from paas.channels.output import LogStream
from paas.domain import apps, domains, formation, links, releases
from paas.domain.dynos import state_changed
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import NotFound
from paas.domain.formation import RELEASE_TYPE, Scale
from paas.domain.models import App, Release, Status
from paas.lines import Emit
from paas.logs import LogStore
from paas.outbound import OutboundError
from paas.router import MAINTENANCE, Router, Routing
from paas.router.pages import fetch_page
from paas.runner.backend import (
    BootFailed,
    OneOffTimeout,
    Process,
    ProcessExit,
    ProcessSpec,
    RunnerBackend,
)
from paas.settings import Settings

log = logging.getLogger(__name__)

# process type -> the private networks (and the names there) its processes join
NetworksFor = Callable[[str], dict[str, tuple[str, ...]]]
LOG_TAIL_ON_FAILURE = 20
HEALTH_POLL = 0.01  # seconds between a booting process's health checks: a deploy is live this much sooner
ENGINE_CHECK = 0.1  # and between asking the engine whether it still runs (its address may change)
# Health checks speak plain HTTP to a process's $PORT: a TLS context that trusts nothing spares
# each new client the 20-55 ms of loading the CA bundle, on every deploy's path.
PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def wanted(release: Release, scales: dict[str, Scale]) -> list[tuple[str, int, Scale]]:
    """(type, index, scale) of every process the release's formation runs: a type the formation
    does not know yet runs once if it is web, else not at all; `release` runs once per release."""
    found = []
    for process_type in sorted(release.process_types):
        if process_type == RELEASE_TYPE:
            continue
        scale = scales.get(process_type, Scale(1 if process_type == "web" else 0, formation.DEFAULT_SIZE))
        found += [(process_type, index, scale) for index in range(1, scale.quantity + 1)]
    return found


def wanted_networks(instance: str, app_name: str, process_type: str, membership: links.Membership | None,
                    existing: set[str]) -> dict[str, tuple[str, ...]]:
    """The private networks a process of the app belongs on (of those that exist): every
    process is on its add-ons' and its outgoing links' networks; web processes are also on the
    links to the app, where linked apps find them as <app>.internal."""
    if membership is None:
        return {}
    found = {networks.attachment_network(instance, a): () for a in membership.attachments}
    found |= {networks.link_network(instance, link): () for link in membership.links_out}
    if process_type == "web":
        found |= {networks.link_network(instance, link): (f"{app_name}.internal",) for link in membership.links_in}
    return {name: aliases for name, aliases in found.items() if name in existing}


def converged(target: Release | None, scales: dict, processes: list[Process], route: list[str] | None) -> bool:
    """Do the app's processes and route already match its target (nothing for the runner to do)?"""
    if target is None:  # no such app (any more)
        return not processes and route is None
    if target.image is None:
        return not processes and route == ([MAINTENANCE] if target.app.maintenance else [])
    if target.status is Status.pending:
        return False
    expected = {f"{t}.{i}": scale.size for t, i, scale in wanted(target, scales.get(target.app_id, {}))}
    mine = [p for p in processes if p.release_id == str(target.id) and p.state in ("running", "restarting")]
    if len(processes) != len(mine) or {p.name: p.size for p in mine} != expected or len(mine) != len(expected):
        return False
    routed = {p.address for p in mine if p.process_type == "web" and p.running and p.address}
    return route is not None and set(route) == ({MAINTENANCE} if target.app.maintenance else routed)


def healthy(response: httpx.Response, path: str | None) -> bool:
    """Without a health check path any answer on / means the process is up (Heroku's own rule:
    it listens); an app's own path must answer 2xx or 3xx."""
    return path is None or response.status_code < 400


def answers(process: Process, path: str | None) -> bool:
    try:
        return healthy(httpx.get(f"http://{process.address}{path or '/'}", timeout=1.0, verify=PLAIN_HTTP), path)
    except httpx.TransportError:
        return False


def restart_asked(process: Process, restarts: dict[str, float]) -> bool:
    """Was a restart of this process (by name, by type or of all) asked for after it started?"""
    return any(restarts.get(scope, 0) > process.created_at for scope in (process.name, process.process_type, "all"))


def dyno_state(process: Process) -> str:
    """Heroku's dyno states from the engine's."""
    return {"running": "up", "restarting": "crashed", "created": "starting"}.get(process.state, "down")


def dyno_metadata(release: Release) -> dict[str, str]:
    """Heroku's dyno metadata (what its runtime-dyno-metadata feature sets), from the release."""
    return {
        "HEROKU_APP_NAME": release.app.name,
        "HEROKU_APP_ID": str(release.app.id),
        "HEROKU_RELEASE_VERSION": f"v{release.version}",
        "HEROKU_SLUG_COMMIT": release.commit or "",
        "HEROKU_RELEASE_CREATED_AT": release.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: sessionmaker[Session],
        cipher: ConfigCipher,
        backend: RunnerBackend,
        router: Router,
        redis,
    ):
        self.settings, self.sessionmaker, self.cipher = settings, sessionmaker, cipher
        self.backend, self.router, self.redis = backend, router, redis
        self.logs = LogStore(redis, settings.log_lines)  # the platform's events in the apps' logs
        # Old processes get their grace period in the background: a deploy does not wait for them.
        self.stopper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stop")
        self.stopping: set[str] = set()
        # Processes the runner stopped lately: their exits are not crashes (the engine reports
        # an exit after the stop returns). Oldest first, trimmed.
        self.stopped: dict[str, None] = {}
        self.stopped_lock = threading.Lock()
        self.published: dict[str, list[dict]] = {}  # what the API was last told of each app's dynos
        self.published_at: dict[str, float] = {}  # and when (monotonic)
        self.app_ids: dict[str, str] = {}  # app name -> id, as of the last sweep (the router's lines are by name)
        self.pages: dict[str, str | None] = {}  # app in maintenance -> the MAINTENANCE_PAGE_URL its router page came from

    def sweep(self) -> list[str]:
        """The periodic pass, cheap with a thousand apps: every process, every app's target and
        the router's state are read once, and only the apps whose processes or route are not what
        they should be are returned, to be reconciled. Dynos are published where they changed."""
        seen_at = time.monotonic()
        by_app: dict[str, list[Process]] = {}
        for process in self.staying():
            by_app.setdefault(process.app, []).append(process)
        routes = self.router.apps()
        with self.sessionmaker() as db:
            targets = releases.latest_releases(db)
            scales = formation.all_formations(db)
            memberships = links.memberships(db)
        existing = self.backend.containers.private_networks()
        # Apps with no release yet keep the id their last reconcile saw; deleted apps go.
        self.app_ids = {name: str(release.app_id) if release is not None else self.app_ids.get(name)
                        for name, release in targets.items()}
        names = set(targets) | set(by_app) | set(routes)
        for name in names:
            if self.published_at.get(name, 0.0) < seen_at:  # a reconcile since has published newer
                self.publish(name, by_app.get(name, []))
        return sorted(
            name for name in names
            if not converged(targets.get(name), scales, by_app.get(name, []), routes.get(name))
            or not self.networks_match(name, by_app.get(name, []), memberships.get(name), existing)
        )

    def routing(self) -> Routing:
        with self.sessionmaker() as db:
            return Routing(*domains.routing(db))

    def networks_match(self, app_name: str, processes: list[Process], membership, existing: set[str]) -> bool:
        instance = self.settings.instance
        return all(p.networks == set(wanted_networks(instance, app_name, p.process_type, membership, existing)) for p in processes)

    def networks_of(self, db: Session, app: App) -> NetworksFor:
        """process type -> the private networks its processes join, as the database has them now.
        Read once per reconcile: its joins, its release command and its new processes share it."""
        membership = links.memberships(db, app).get(app.name)
        existing = self.backend.containers.private_networks() if membership is not None else set()
        return lambda process_type: wanted_networks(self.settings.instance, app.name, process_type, membership, existing)

    def join_networks(self, app_name: str, processes: list[Process], networks_for: NetworksFor) -> None:
        """Processes that run already join (or leave) the networks of add-ons and links made
        (or removed) since they started; one-off runs too (a detached database is cut off from
        an open `paas run` shell as well)."""
        for process in processes + self.backend.containers.one_offs(app_name):
            wanted = networks_for(process.process_type)
            if process.networks != set(wanted):
                self.backend.set_networks(process, wanted)

    def reconcile(self, app_name: str) -> None:
        try:
            self._reconcile(app_name)
        except NotFound:  # the app was deleted while we worked on it
            self.forget(app_name)

    def _reconcile(self, app_name: str) -> None:
        with self.sessionmaker() as db:
            app = apps.find_app_by_name(db, app_name)
            if app is None:
                self.forget(app_name)
                return
            self.app_ids[app_name] = str(app.id)
            self._converge(db, app_name, app)
        self.publish(app_name, self.staying(app_name))

    def staying(self, app_name: str | None = None) -> list[Process]:
        """What runs (of one app, or of all), less what is on its way out already."""
        return [p for p in self.backend.processes(app_name) if p.id not in self.stopping]

    def publish(self, app_name: str, processes: list[Process]) -> None:
        """What runs of the app now, as Heroku's dynos, for the API; written only when it changed."""
        dynos = [
            {"id": p.id, "name": p.name, "type": p.process_type, "state": dyno_state(p), "size": p.size,
             "release_id": p.release_id, "version": p.version, "created_at": p.created_at, "address": p.address,
             "command": p.command}
            for p in sorted(processes, key=lambda p: (p.process_type, p.name, p.created_at))
        ]
        self.published_at[app_name] = time.monotonic()
        if self.published.get(app_name) != dynos:
            publish_dynos(self.redis, app_name, dynos)
            if app_name in self.published:  # (what a runner that just started sees is no change)
                self.record_states(app_name, self.published[app_name], dynos)
            self.published[app_name] = dynos

    def record_states(self, app_name: str, before: list[dict], after: list[dict]) -> None:
        """Dynos whose state changed, as events (Heroku's `dyno` webhooks): best effort, as
        the dynos' list is (the app may be gone meanwhile)."""
        was = {d["id"]: d["state"] for d in before}
        now = {d["id"]: d for d in after}
        changed = [{**d, "previous": was.get(i)} for i, d in now.items() if was.get(i) != d["state"]]
        changed += [{**d, "state": "down", "previous": d["state"]} for d in before if d["id"] not in now and d["state"] != "down"]
        if not changed or app_name not in self.app_ids:
            return
        try:
            with self.sessionmaker() as db:
                app = db.get(App, uuid.UUID(self.app_ids[app_name]))
                for dyno in changed if app is not None else []:
                    state_changed(db, app, dyno, dyno["previous"])
                db.commit()
        except Exception:
            log.exception("recording the dyno states of %s failed", app_name)

    def _converge(self, db: Session, app_name: str, app: App) -> None:
        target = releases.latest_release(db, app)
        quantities = formation.formation(db, app)
        processes = self.staying(app_name)
        networks_for = self.networks_of(db, app)
        self.join_networks(app_name, processes, networks_for)
        self.maintenance_page(app, target)
        if target.image is None:
            self.route(app, [])
            self.stop_all(processes)
        elif target.status is Status.pending:
            self.deploy(db, target, quantities, processes, networks_for)
        else:
            self.keep(db, target, quantities, processes, networks_for)

    def maintenance_page(self, app: App, release: Release) -> None:
        """The router's page for the app in maintenance: fetched from its MAINTENANCE_PAGE_URL
        each time maintenance goes on (and when the URL changes), else the default one. `pages`
        holds the apps whose page is ready: only those are routed to the maintenance page (a
        switch during a deploy waits for the reconcile it wakes). An old page stays on disk
        while off, unused: the next switch on replaces or removes it before routing to it."""
        if not app.maintenance:
            self.pages.pop(app.name, None)
            return
        url = self.cipher.decrypt(release.config_vars).get("MAINTENANCE_PAGE_URL")
        if app.name in self.pages and self.pages[app.name] == url:
            return
        page = None
        if url:
            try:
                page = fetch_page(self.settings, url)
            except OutboundError as error:
                self.logs.event(str(app.id), "router", f"MAINTENANCE_PAGE_URL could not be fetched ({error}): the default maintenance page is served")
        self.router.set_page(app.name, page)
        self.pages[app.name] = url

    def forget(self, app_name: str) -> None:
        self.pages.pop(app_name, None)
        self.router.remove_app(app_name)
        self.stop_all(self.backend.processes(app_name))
        self.backend.containers.remove_one_offs(app_name)  # its runs end with it
        self.publish(app_name, [])

    def deploy(self, db: Session, release: Release, quantities: dict[str, Scale], processes: list[Process],
               networks_for: NetworksFor) -> None:
        out = LogStream.for_release(self.redis, release.id)
        app_name = release.app.name
        superseded = [r for r in releases.pending_releases_before(db, release) if releases.settle_release(db, r, Status.failed)]
        db.commit()
        # A leftover attempt at this release (the runner stopped mid-deploy) starts over; it may
        # have been routed already, so the route goes back to the old processes first.
        old = [p for p in processes if p.release_id != str(release.id)]
        leftovers = [p for p in processes if p.release_id == str(release.id)]
        if leftovers:
            self.route(release.app, [p for p in old if p.running])
            self.router.settle(app_name)
            self.stop_all(leftovers, grace=0)
        specs = self.specs(release, quantities, networks_for)
        started: list[Process] = []
        try:
            if RELEASE_TYPE in release.process_types:
                self.release_phase(release, out.write, networks_for)
            out.write(f"-----> Launching v{release.version}: starting {', '.join(s.name for s in specs) or 'no processes'}")
            started = self.start(specs)  # all at once: they boot side by side
            started = [self.wait_until_up(process, out.write, release.app.health_check_path) for process in started]
            # Settled and routed in one transaction: if routing fails the release stays unsettled
            # and fails below; if a push gave up on it meanwhile, it never takes traffic.
            if not releases.settle_release(db, release, Status.succeeded):
                self.stop_all(started, grace=0)
                out.end(False, reason=f"v{release.version} was given up on before it started")
                self.end_superseded(superseded, release, live=False)
                return
            self.route(release.app, started)
            db.commit()
        except NotFound:  # the app was destroyed meanwhile: what this attempt started goes with it
            db.rollback()
            self.stop_all(started, grace=0)
            raise
        except Exception as error:
            db.rollback()
            self.route(release.app, [p for p in old if p.running])  # in case it was routed already
            self.fail(db, release, started, error, out, superseded)
            if not isinstance(error, BootFailed):
                log.exception("starting v%s of %s failed", release.version, app_name)
            return
        self.stop_all(old)
        self.router.settle(app_name)  # "live" only once every new request reaches it
        if app_name in self.pages:
            out.write(f"-----> v{release.version} is running; {self.settings.web_url(app_name)} shows the maintenance page until maintenance is turned off")
        else:
            out.write(f"-----> v{release.version} is live at {self.settings.web_url(app_name)}")
        out.end(True, version=release.version)
        self.end_superseded(superseded, release, live=True)

    def end_superseded(self, superseded: list[Release], release: Release, live: bool) -> None:
        """Give the pushes waiting on releases this one overtook their outcome: a release overtaken
        before it started went live only if this one did and carries its code."""
        for older in superseded:
            stream = LogStream.for_release(self.redis, older.id)
            if not live:
                stream.end(False, reason=f"superseded by v{release.version}, which did not start")
            elif older.image == release.image:
                stream.write(f"-----> Deployed as part of v{release.version}, live at {self.settings.web_url(release.app.name)}")
                stream.end(True, version=release.version)
            else:
                stream.end(False, reason=f"superseded by v{release.version} before it started")

    def fail(self, db: Session, release: Release, started: list[Process], error: Exception, out, superseded) -> None:
        """Remove what this attempt started and fail the release; what served before is untouched."""
        failed = error.process if isinstance(error, BootFailed) else None
        if failed is not None:
            for line in self.backend.logs(failed, LOG_TAIL_ON_FAILURE):
                out.write(f"       {failed.name}: {line}")
        self.stop_all(started, grace=0)
        releases.settle_release(db, release, Status.failed)
        db.commit()
        serving = releases.current_release(db, release.app)
        still = f"v{serving.version} keeps serving" if serving and serving.image else "nothing was serving"
        reason = f"v{release.version} did not start; {still}"
        out.write(f"error: {error}" if isinstance(error, BootFailed) else f"error: paas could not start v{release.version}: {error}")
        out.write(f"-----> Release v{release.version} failed; {still}.")
        out.end(False, reason=reason)
        self.end_superseded(superseded, release, live=False)

    def keep(self, db: Session, release: Release, quantities: dict[str, Scale], processes: list[Process],
             networks_for: NetworksFor) -> None:
        """Converge the serving release on its formation: start what is missing (scaled up, gone,
        of another size, or asked to restart), all at once, route to what answers, then stop the
        rest. A crashed process that its engine is bringing back is left to it."""
        specs = self.specs(release, quantities, networks_for)
        sizes = {spec.name: spec.size for spec in specs}
        restarts = restart_requests(self.redis, release.app.name)
        mine = [p for p in processes if p.release_id == str(release.id)]
        rollout = self.backend.rollout  # what goes as one unit is the backend's answer
        current = {p.name: p for p in mine
                   if p.state in rollout.live and sizes.get(p.name) == p.size and not restart_asked(p, restarts)}
        renewed = rollout.started_over(mine, current)  # types that start over as a new set
        current = {name: p for name, p in current.items() if p.process_type not in renewed}
        missing = [spec for spec in specs if spec.name not in current]
        for spec in missing:
            log.info("%s: starting %s of v%s (%s)", release.app.name, spec.name, release.version, spec.size)
        started = self.start(missing)
        replacements, failed = [], []
        for process in started:
            try:
                replacements.append(self.wait_until_up(process, lambda line: None, release.app.health_check_path))
            except BootFailed as failure:
                log.warning("%s: %s", release.app.name, failure)
                instead = rollout.failed_boot(process, started, mine, renewed)
                if instead is None:
                    replacements.append(process)  # the engine brings it back
                else:
                    failed.append(instead)
        for gone, kept_back in failed:
            self.stop_all(gone, grace=0)
            replacements = [p for p in replacements if p not in gone] + [p for p in kept_back if p not in replacements]
        keep = list(current.values()) + replacements
        routed = set(self.router.upstreams(release.app.name))
        # A web process the engine brought back after a crash is routed only once it answers;
        # coming out of maintenance, what runs was routed (or health-checked) before it.
        health = release.app.health_check_path
        serving = [p for p in keep if p.running and (p.process_type != "web" or p.address in routed or routed == {MAINTENANCE}
                                                     or answers(p, health))]
        self.route(release.app, serving)
        kept = {rollout.unit(p) for p in keep}  # a set goes whole, or not at all
        self.stop_all([p for p in processes if rollout.unit(p) not in kept])

    def release_phase(self, release: Release, emit: Emit, networks_for: NetworksFor) -> None:
        """The `release` command (migrations), once, in a one-off process of the new release,
        before anything of it serves; BootFailed if it fails, and nothing that serves changes."""
        command = release.process_types[RELEASE_TYPE]
        emit(f"-----> Running release command: {command}")
        spec = self.one_off(release, RELEASE_TYPE, command, networks_for)
        try:
            exit_code = self.backend.containers.run_once(spec, self.settings.release_phase_timeout, lambda line: emit(f"       {line}"))
        except OneOffTimeout as timeout:
            raise BootFailed(f"the release command failed: {timeout}") from None
        if exit_code != 0:
            raise BootFailed(f"the release command exited with code {exit_code}")
        emit("       release command done")

    def one_off(self, release: Release, process_type: str, command: str, networks_for: NetworksFor, index: int = 1,
                size: str = formation.DEFAULT_SIZE, env: dict[str, str] | None = None) -> ProcessSpec:
        """A process of the release outside its formation: its release phase, a run, a scheduled job."""
        sizes = self.settings.dyno_sizes
        return ProcessSpec(
            app=release.app.name, app_id=str(release.app_id), release_id=str(release.id), version=release.version,
            process_type=process_type, index=index, image=release.image, command=command,
            env={**self.environment(release), **(env or {})}, port=self.settings.web_port,
            size=size, limits=sizes.get(size) or sizes[formation.DEFAULT_SIZE],  # a size the operator dropped
            networks=networks_for(process_type),
        )

    def environment(self, release: Release) -> dict[str, str]:
        """Every process's environment: the release's config vars and Heroku's dyno metadata."""
        return {**self.cipher.decrypt(release.config_vars), **dyno_metadata(release)}

    def specs(self, release: Release, quantities: dict[str, Scale], networks_for: NetworksFor) -> list[ProcessSpec]:
        env = self.environment(release)
        sizes = self.settings.dyno_sizes
        return [
            ProcessSpec(
                app=release.app.name, app_id=str(release.app_id), release_id=str(release.id), version=release.version,
                process_type=process_type, index=index, image=release.image, command=release.process_types[process_type],
                env=env, port=self.settings.web_port, size=scale.size,
                limits=sizes.get(scale.size) or sizes[formation.DEFAULT_SIZE],  # a size the operator dropped
                networks=networks_for(process_type),
            )
            for process_type, index, scale in wanted(release, quantities)
        ]

    def exited(self, exit: ProcessExit) -> None:
        """Heroku's events for a process that ended: stopped by the runner, crashed, or moved."""
        if exit.moved:
            self.logs.event(exit.app_id, exit.name, "State changed from up to starting (moved to another node)")
            return
        if exit.out_of_memory:
            self.logs.event(exit.app_id, exit.name, "Error R15 (Memory quota vastly exceeded): killed over its size's memory")
        self.logs.event(exit.app_id, exit.name, f"Process exited with status {exit.status}")
        if exit.id not in self.stopped:
            self.logs.event(exit.app_id, exit.name, "State changed from up to crashed")

    def start(self, specs: list[ProcessSpec]) -> list[Process]:
        for spec in specs:
            command = spec.command or "the image's command"
            self.logs.event(spec.app_id, spec.name, f"Starting process with command `{command}` (v{spec.version}, {spec.size})")
        started = self.backend.start(specs)
        for spec in specs:
            if spec.process_type != "web":  # up once it runs; web processes once they answer
                self.logs.event(spec.app_id, spec.name, "State changed from starting to up")
        return started

    def wait_until_up(self, process: Process, emit: Emit, path: str | None = None) -> Process:
        """Return the process once it passes its health check (`healthy`) on $PORT; raise
        BootFailed if it exits or time runs out."""
        if process.process_type != "web":
            return process
        deadline = time.monotonic() + self.settings.boot_timeout
        last = "it did not answer HTTP"
        checked = time.monotonic()  # as the engine told it, just now
        with httpx.Client(timeout=2.0, verify=PLAIN_HTTP) as client:
            while time.monotonic() < deadline:
                if time.monotonic() - checked >= ENGINE_CHECK:
                    now = self.backend.refresh(process)
                    if now is None or not now.running:
                        raise BootFailed(f"{process.name} exited while booting", process)
                    process, checked = now, time.monotonic()
                try:
                    response = client.get(f"http://{process.address}{path or '/'}")
                    # What answered was this process only if the engine still has it there: an
                    # address it gave up (a crash, a restart) may be another container's by now.
                    if healthy(response, path) and self.still_at(process):
                        self.logs.event(process.app_id, process.name, "State changed from starting to up")
                        emit(f"       {process.name} answers on $PORT" + (f" (health check {path}: {response.status_code})" if path else ""))
                        return process  # as it is now (its address, if the engine restarted it)
                    last = f"its health check {path} answered {response.status_code}"
                except httpx.TransportError:
                    pass
                time.sleep(HEALTH_POLL)
        if path:
            raise BootFailed(f"{process.name} did not pass its health check within {self.settings.boot_timeout:.0f} s: {last}", process)
        raise BootFailed(f"{process.name} did not answer HTTP on $PORT within {self.settings.boot_timeout:.0f} s", process)

    def still_at(self, process: Process) -> bool:
        now = self.backend.refresh(process)
        return now is not None and now.running and now.address == process.address

    def route(self, app: App, processes: list[Process]) -> None:
        """To the app's web processes, or to the maintenance page while it is in maintenance (and
        its page is ready)."""
        addresses = sorted(p.address for p in processes if p.process_type == "web" and p.address)
        self.router.set_app(app.name, [MAINTENANCE] if app.name in self.pages else addresses)

    def stop_all(self, processes: list[Process], grace: int | None = None) -> None:
        grace = self.settings.stop_grace if grace is None else grace
        for process in processes:
            with self.stopped_lock:
                self.stopped[process.id] = None
                while len(self.stopped) > 4096:
                    del self.stopped[next(iter(self.stopped))]
            if grace == 0:
                self.logs.event(process.app_id, process.name, "Stopping process with SIGKILL")
                self.backend.stop(process, 0)
            elif process.id not in self.stopping:  # a sweep during the grace period does not stop it twice
                self.stopping.add(process.id)
                self.stopper.submit(self._stop_in_background, process, grace)

    def _stop_in_background(self, process: Process, grace: int) -> None:
        try:
            if process.process_type == "web":  # it just left the router: let the router notice
                time.sleep(self.settings.router_drain)
            self.logs.event(process.app_id, process.name, "Stopping all processes with SIGTERM")
            self.backend.stop(process, grace)
        except Exception:
            log.exception("stopping %s of %s failed", process.name, process.app)
        finally:
            self.stopping.discard(process.id)
