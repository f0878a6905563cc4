"""The runner process: `python -m paas.runner`. It starts, from here, each of its parts, each in
a module of its own: the publisher of events (paas.publisher) and their consumers (runner.wakes,
addons.jobs.queue, logs.writer, domain.webhooks.enqueue), the webhooks' sender (paas.webhooks),
the reconciler (runner.reconcile) and its scheduling (runner.scheduler), the log collector
(runner.log_collector), the metrics' collector (metrics.collector), one-off runs (runner.one_off), add-on jobs (addons.jobs), the sweeper
of lost builds (runner.lost_builds) and the certificate watcher (router.certificates).

It reconciles an app as soon as an event wakes it for that app, and sweeps every app every
`reconcile_interval` seconds, so that missed wake-ups, crashed processes and platform restarts
all converge.
"""

import logging
import sys
import threading
import time

import docker

from paas import logs
from paas.addons.jobs import AddonJobs, queue
from paas.addons.jobs import Context as AddonContext
from paas.celery_app import BUILD_TASK, make_celery
from paas.channels import connect
from paas.channels.dynos import publish_nodes
from paas.channels.runner import ROUTER_WAKE, wait_for_work
from paas.domain import webhooks
from paas.domain.crypto import ConfigCipher, load_keys
from paas.domain.db import make_sessionmaker
from paas.memory import release_free_memory
from paas.metrics.collector import MetricsCollector
from paas.metrics.collector import forget as forget_metrics
from paas.metrics.store import Store
from paas.publisher import Publisher
from paas.router import make_router
from paas.router.access_log import AccessLogParser
from paas.router.certificates import CertificateWatcher
from paas.runner.backend import make_backend
from paas.runner.log_collector import LogCollector, dyno_at
from paas.runner.lost_builds import LostBuilds
from paas.runner.cron import Cron
from paas.runner.setups import Setups
from paas.runner.one_off import OneOffs
from paas.runner.reconcile import Reconciler
from paas.runner.scheduler import Scheduler, follow_exits
from paas.runner.wakes import waker
from paas.settings import get_settings
from paas.source_files import remove_spent
from paas.webhooks import Sender

log = logging.getLogger("paas.runner")


def not_a_swarm_manager(info: dict, engine: str) -> str | None:
    """Why the engine at `engine`, with this `docker info`, cannot run the swarm backend; None when it can."""
    swarm = info.get("Swarm") or {}
    if swarm.get("ControlAvailable"):
        return None
    state = swarm.get("LocalNodeState") or "inactive"
    role = "a swarm worker" if state == "active" else f"in no swarm (swarm state: {state})"
    return (f"PAAS_RUNNER_BACKEND=swarm needs a swarm manager, and the Docker engine at {engine} is {role}: "
            "run `docker swarm init` there, or use PAAS_RUNNER_BACKEND=docker")


def check_swarm_manager(settings) -> None:
    """Exit with one line when the swarm backend's engine is no manager: every sweep would fail.
    An engine that does not answer yet (a restart) is left to the loop, which waits for it."""
    client = docker.DockerClient(base_url=settings.docker_url, timeout=10)
    try:
        info = client.info()
    except docker.errors.DockerException:
        return
    finally:
        client.close()
    problem = not_a_swarm_manager(info, settings.docker_url)
    if problem:
        print(f"paas runner: {problem}", file=sys.stderr, flush=True)
        sys.exit(1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per admin-API call drowns the log
    settings = get_settings()
    if settings.runner_backend == "swarm":
        check_swarm_manager(settings)
    redis = connect(settings)
    router = make_router(settings)
    reconciler = Reconciler(
        settings=settings,
        sessionmaker=make_sessionmaker(settings),
        cipher=ConfigCipher(load_keys(settings)),
        backend=make_backend(settings),
        router=router,
        redis=redis,
    )
    scheduler = Scheduler(reconciler.reconcile)
    one_offs = OneOffs(reconciler)
    addon_jobs = AddonJobs(AddonContext.from_settings(settings, reconciler.sessionmaker, redis, reconciler.cipher))
    one_offs.forget_previous()
    threading.Thread(target=follow_exits, args=(reconciler, scheduler), daemon=True, name="exits").start()
    metrics_store = Store(settings.metrics_dir)
    metrics = MetricsCollector(metrics_store, lambda: reconciler.published, lambda: reconciler.app_ids,
                               {name: size.memory_mb for name, size in settings.dyno_sizes.items()})
    collector = LogCollector(
        settings.redis_url, settings.log_collector, settings.instance, max_lines=settings.log_lines,
        rate=settings.log_rate, router_rate=settings.router_log_rate, router_log=settings.router_log_file,
        parser=AccessLogParser(settings.domain, settings.router_idle_address, dyno_at(lambda: reconciler.published),
                               on_request=metrics.request, maintenance_address=settings.router_maintenance_address),
        app_id_of=lambda name: reconciler.app_ids.get(name),
        # On the swarm tasks may reach the collector too: it takes only the containers' own lines.
        sources=reconciler.backend.log_sources if settings.runner_backend == "swarm" else None,
    )
    if settings.runner_backend == "docker":
        # The apps' bridge and its rules before anything else: after a reboot the engine restarts
        # processes (unless-stopped) before any deploy would make the rules again.
        reconciler.backend.containers.ensure_network()
    log.info("runner started: backend %s, router %s", settings.runner_backend, settings.caddy_admin)

    CertificateWatcher(settings, reconciler.sessionmaker).start()
    metrics.start()
    LostBuilds(settings, reconciler.sessionmaker, redis).start()
    sender = Sender(settings, reconciler.sessionmaker, reconciler.cipher).start()
    builds = make_celery(settings)
    setups = Setups(reconciler, lambda build_id: builds.send_task(BUILD_TASK, args=[str(build_id)])).start()
    publisher = Publisher(reconciler.sessionmaker, redis,
                          [waker(redis), queue(redis), logs.writer(logs.LogStore(redis, settings.log_lines)), webhooks.enqueue,
                           forget_metrics(metrics_store)],
                          after=[sender.wake, setups.wake])
    threading.Thread(target=publisher.run, daemon=True, name="publisher").start()
    Cron(reconciler).start()

    def sweep() -> None:
        # Caddy may have restarted since the last sweep and lost our servers; domains may have changed.
        router.ensure_server(reconciler.routing())
        for app in reconciler.sweep():
            scheduler.request(app)
        reconciler.backend.containers.remove_stray_one_offs()
        remove_spent(settings, reconciler.sessionmaker)  # uploaded sources used or expired
        with reconciler.sessionmaker() as db:
            webhooks.prune(db)
        publish_nodes(redis, reconciler.backend.nodes(), reconciler.backend.join_command())
        release_free_memory()

    next_sweep = 0.0
    while True:
        # Redis, Docker, Caddy or Postgres may be down for a while (a restart, `make down`):
        # the runner logs it and keeps trying instead of dying.
        try:
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + settings.reconcile_interval
                sweep()
                if not collector.ready.is_set():
                    # After the first sweep: the router's lines name apps, which it maps to ids.
                    collector.start()
            work = wait_for_work(redis, max(0.1, next_sweep - time.monotonic()))
            if work is not None:
                if work.kind == "run":
                    one_offs.start(work.item)
                elif work.kind == "addon":
                    addon_jobs.start(work.item)
                elif work.item == ROUTER_WAKE:
                    next_sweep = 0.0
                else:
                    scheduler.request(work.item)
        except Exception:
            log.exception("runner loop failed; retrying in 1 s")
            time.sleep(1)

if __name__ == "__main__":
    main()
