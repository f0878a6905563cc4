"""The reconciler with real parts: Docker engine, registry image, a Caddy of the tests' own, Postgres
(the test's transaction) and Redis. Boot timeouts are short so failed boots are quick to see."""

import ipaddress
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.fernet import Fernet

from paas.channels import connect
from paas.channels.output import End, LogStream
from paas.domain import accounts, apps, builds, config, formation, releases
from paas.domain.crypto import ConfigCipher
from paas.domain.models import Status
from paas.runner.docker_backend import DockerBackend
from paas.runner.reconcile import Reconciler
from tests.waiting import wait_until, within_settle_time

SERVER = (
    "import http.server, os, time\n"
    "time.sleep(float(os.environ.get('BOOT_DELAY', '0')))\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = ('greeting=' + os.environ.get('GREETING', '')).encode()\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
    "http.server.HTTPServer(('', int(os.environ['PORT'])), H).serve_forever()\n"
)
SERVE = "python3 -u -c 'import os; exec(os.environ[\"SERVER\"])'"
NEVER_LISTENS = "sleep 600"
CRASHES = "python3 -c 'print(\"cannot reach the database\"); raise SystemExit(3)'"


@pytest.fixture
def world(api_settings, test_sessionmaker, caddy, make_test_router):
    settings = api_settings.model_copy(update={"boot_timeout": 4.0, "stop_grace": 1, "router_drain": 0.3,
                                               "release_phase_timeout": 3.0})
    cipher = ConfigCipher(Fernet.generate_key())
    router = make_test_router(settings.web_port)
    router.ensure_server()
    backend = DockerBackend.from_settings(settings)
    redis = connect(settings)
    reconciler = Reconciler(settings, test_sessionmaker, cipher, backend, router, redis)
    name = "rc-" + secrets.token_hex(4)
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "runner@example.com")
        app = apps.create_app(db, cipher, owner, name)
        config.update_config(db, cipher, app, owner, {"SERVER": SERVER})
        db.commit()

    class World:
        def deploy(self, command: str, changes: dict | None = None, release: str | None = None) -> int:
            """Record what a finished build records, then let the runner act on it."""
            with test_sessionmaker() as db:
                app = apps.get_app(db, name)
                if changes:
                    config.update_config(db, cipher, app, app.owner, changes)
                build = builds.create_build(db, app, app.owner, secrets.token_hex(20))
                image = f"{settings.registry}/{settings.stack_image}"
                types = {"web": command, **({"release": release} if release else {})}
                release = builds.release_build(db, build, image, types)
                db.commit()
                version = release.version
            reconciler.reconcile(name)
            return version

        def status(self, version: int) -> Status:
            with test_sessionmaker() as db:
                return releases.get_release(db, apps.get_app(db, name), version).status

        def outcome(self, version: int) -> tuple[list[str], End]:
            with test_sessionmaker() as db:
                release = releases.get_release(db, apps.get_app(db, name), version)
            items = list(LogStream.for_release(redis, release.id).follow(1))
            return [i for i in items if isinstance(i, str)], items[-1]

        def get(self) -> httpx.Response:
            return httpx.get(f"http://127.0.0.1:{caddy.http_port}/", headers={"Host": f"{name}.localhost"}, timeout=5)

        def running(self) -> list:
            return [p for p in backend.processes(name) if p.running]

        def wait_for_old_to_stop(self, keep: int) -> None:
            wait_until(lambda: len(self.running()) <= keep, 15, f"all but {keep} processes stopped", interval=0.1)

    w = World()
    w.name, w.reconciler, w.router, w.sessionmaker = name, reconciler, router, test_sessionmaker
    yield w
    for process in backend.processes(name):
        backend.stop(process, 0)
    router.remove_app(name)


def test_deploy_config_change_failed_boots_restart_and_delete(world):
    # No code yet: the app is routed to the 503 page.
    world.reconciler.reconcile(world.name)
    assert world.get().status_code == 503

    v3 = world.deploy(SERVE, {"GREETING": "one"})
    assert world.status(v3) is Status.succeeded
    assert world.get().text == "greeting=one"
    lines, end = world.outcome(v3)
    assert end.ok and any("is live" in line for line in lines)
    [first] = world.running()

    # A config change starts a new container and retires the old one.
    v5 = world.deploy(SERVE, {"GREETING": "two"})
    assert world.status(v5) is Status.succeeded and world.get().text == "greeting=two"
    world.wait_for_old_to_stop(keep=1)
    [second] = world.running()
    assert second.id != first.id and second.version == v5

    # A process that never listens: failed after the boot timeout, the old one keeps serving.
    started = time.monotonic()
    v6 = world.deploy(NEVER_LISTENS)
    assert time.monotonic() - started >= 4
    assert world.status(v6) is Status.failed
    lines, end = world.outcome(v6)
    assert not end.ok and end.detail["reason"] == f"v{v6} did not start; v{v5} keeps serving"
    assert any("did not answer HTTP on $PORT within 4 s" in line for line in lines)
    assert world.get().text == "greeting=two"
    assert [p.id for p in world.running()] == [second.id]

    # A process that exits at once fails fast and shows its output.
    started = time.monotonic()
    v7 = world.deploy(CRASHES)
    assert time.monotonic() - started < 4
    assert world.status(v7) is Status.failed
    lines, _end = world.outcome(v7)
    assert any("cannot reach the database" in line for line in lines)
    assert world.get().text == "greeting=two"

    # A runner that restarts leaves healthy containers alone.
    fresh = Reconciler(world.reconciler.settings, world.sessionmaker, world.reconciler.cipher,
                       world.reconciler.backend, world.router, world.reconciler.redis)
    fresh.reconcile(world.name)
    assert [p.id for p in world.running()] == [second.id]

    # A container that dies is replaced on the next pass.
    world.reconciler.backend.stop(second, 0)
    world.reconciler.reconcile(world.name)
    within_settle_time(world.router, lambda: world.get().text == "greeting=two", "the replacement answering")
    [replacement] = world.running()
    assert replacement.id != second.id and world.get().text == "greeting=two"

    # Deleted app: processes stopped, route gone.
    with world.sessionmaker() as db:
        apps.delete_app(db, apps.get_app(db, world.name))
        db.commit()
    world.reconciler.reconcile(world.name)
    within_settle_time(world.router, lambda: world.get().status_code == 404, "the route gone")
    world.wait_for_old_to_stop(keep=0)
    assert world.running() == []


def test_an_app_destroyed_while_its_release_boots_leaves_nothing_running(world):
    def destroy() -> None:
        with world.sessionmaker() as db:
            apps.delete_app(db, apps.get_app(db, world.name))
            db.commit()

    destroyer = threading.Timer(1.0, destroy)  # while its process waits 2 s before it listens
    destroyer.start()
    world.deploy(SERVE, {"BOOT_DELAY": "2"})  # returns, not raises
    destroyer.join()
    world.wait_for_old_to_stop(keep=0)
    assert world.get().status_code == 404


def test_a_release_superseded_before_it_started_is_not_deployed(world):
    with world.sessionmaker() as db:
        app = apps.get_app(db, world.name)
        for greeting in ("skipped", "wanted"):
            build = builds.create_build(db, app, app.owner, secrets.token_hex(20))
            image = f"{world.reconciler.settings.registry}/{world.reconciler.settings.stack_image}"
            config.update_config(db, world.reconciler.cipher, app, app.owner, {"GREETING": greeting})
            builds.release_build(db, build, image, {"web": SERVE})
        db.commit()
        versions = sorted(r.version for r in db.scalars(releases.list_releases(app)))
    world.reconciler.reconcile(world.name)
    assert world.get().text == "greeting=wanted"
    assert world.status(versions[-1]) is Status.succeeded
    assert world.status(versions[-3]) is Status.failed  # the "skipped" deploy


def test_a_release_command_over_its_time_fails_the_release_and_leaves_nothing(world):
    v_ok = world.deploy(SERVE, {"GREETING": "before"})
    assert world.status(v_ok) is Status.succeeded
    started = time.monotonic()
    v_slow = world.deploy(SERVE, {"GREETING": "after"}, release="echo migrating; sleep 60")
    assert 3 <= time.monotonic() - started < 15
    assert world.status(v_slow) is Status.failed
    lines, end = world.outcome(v_slow)
    assert "       migrating" in lines and any("ran longer than 3 s" in line for line in lines), lines
    assert world.get().text == "greeting=before"
    backend = world.reconciler.backend
    assert not backend.client.containers.list(all=True, filters={"label": [f"paas.app={world.name}", "paas.one-off"]})


def test_the_sweep_picks_only_apps_that_differ_from_their_target(world):
    v = world.deploy(SERVE, {"GREETING": "swept"})
    assert world.status(v) is Status.succeeded
    assert world.name not in world.reconciler.sweep()  # converged: nothing to do
    [process] = world.running()
    world.reconciler.backend.stop(process, 0)  # gone behind the runner's back
    assert world.name in world.reconciler.sweep()
    world.reconciler.reconcile(world.name)
    assert world.name not in world.reconciler.sweep()
    with world.sessionmaker() as db:
        formation.update_formation(db, apps.get_app(db, world.name), [{"type": "web", "quantity": 2}],
                                   world.reconciler.settings.dyno_sizes)
        db.commit()
    assert world.name in world.reconciler.sweep()  # scaled: one more to start
    world.reconciler.reconcile(world.name)
    assert world.name not in world.reconciler.sweep() and len(world.running()) == 2


READY_SERVER = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        ready = self.path != '/ready' or os.environ.get('READY') == '1'\n"
    "        self.send_response(200 if ready else 503); self.end_headers(); self.wfile.write(b'ready=' + str(ready).encode())\n"
    "http.server.HTTPServer(('', int(os.environ['PORT'])), H).serve_forever()\n"
)


def test_an_apps_health_check_path_must_answer_before_it_serves(world):
    with world.sessionmaker() as db:
        apps.set_health_check_path(db, apps.get_app(db, world.name), "/ready")
        db.commit()
    v_good = world.deploy(SERVE, {"SERVER": READY_SERVER, "READY": "1"})
    assert world.status(v_good) is Status.succeeded
    lines, _end = world.outcome(v_good)
    assert any("health check /ready: 200" in line for line in lines), lines
    v_bad = world.deploy(SERVE, {"READY": "0"})  # it listens, but says it is not ready
    assert world.status(v_bad) is Status.failed
    lines, _end = world.outcome(v_bad)
    assert any("did not pass its health check within 4 s: its health check /ready answered 503" in line for line in lines), lines
    assert world.get().text == "ready=True"


def set_maintenance(world, on: bool) -> None:
    with world.sessionmaker() as db:
        apps.set_switch(db, apps.get_app(db, world.name), "maintenance", on)
        db.commit()


def test_maintenance_serves_the_apps_page_keeps_its_processes_and_off_loses_no_request(world):
    page = b"<h1>Down for a database upgrade</h1>"
    served = []

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            status, body = (200, page) if self.path == "/page.html" else (404, b"no")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    pages = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    reconciler = world.reconciler
    reconciler.settings = reconciler.settings.model_copy(update={"outbound_allow": (ipaddress.ip_network("127.0.0.1/32"),)})
    try:
        url = f"http://127.0.0.1:{pages.server_address[1]}"
        v = world.deploy(SERVE, {"GREETING": "open", "MAINTENANCE_PAGE_URL": f"{url}/page.html"})
        assert world.status(v) is Status.succeeded and served == []  # not in maintenance: not fetched
        [process] = world.running()
        set_maintenance(world, True)
        assert world.name in reconciler.sweep()
        reconciler.reconcile(world.name)
        answer = within_settle_time(world.router, lambda: (r := world.get()).status_code == 503 and r, "the maintenance page")
        assert answer.content == page and served == ["/page.html"]
        assert [p.id for p in world.running()] == [process.id]  # its processes keep running
        assert world.name not in reconciler.sweep()
        reconciler.reconcile(world.name)
        assert served == ["/page.html"]  # fetched once per URL

        # A deploy in maintenance comes up but is not routed: the page stays.
        v2 = world.deploy(SERVE, {"GREETING": "upgraded"})
        lines, end = world.outcome(v2)
        assert end.ok and any("shows the maintenance page until maintenance is turned off" in line for line in lines), lines
        assert world.get().content == page and world.status(v2) is Status.succeeded

        # Turned off while a client keeps asking: every answer is the page or the app, none fails.
        answers, stop = [], threading.Event()

        def ask():
            with httpx.Client(timeout=5) as client:
                for _ in range(2000):  # bounded; stopped well before
                    if stop.is_set():
                        return
                    try:
                        r = client.get(f"http://127.0.0.1:{world.router.listen.rsplit(':', 1)[1]}/",
                                       headers={"Host": f"{world.name}.localhost"})
                        answers.append((r.status_code, r.content))
                    except httpx.HTTPError as error:
                        answers.append((0, repr(error).encode()))

        client = threading.Thread(target=ask)
        client.start()
        wait_until(lambda: len(answers) >= 5, 10, "answers during maintenance", interval=0.01)
        set_maintenance(world, False)
        reconciler.reconcile(world.name)
        wait_until(lambda: answers[-1] == (200, b"greeting=upgraded"), 5, "the app answering again", interval=0.01)
        time.sleep(0.3)
        stop.set()
        client.join(10)
        assert {a for a in answers} == {(503, page), (200, b"greeting=upgraded")}, [a for a in answers if a[0] not in (200, 503)][:3]

        # A page that cannot be had: the default page (never the last one), and the app's logs say why.
        world.deploy(SERVE, {"MAINTENANCE_PAGE_URL": f"{url}/missing.html"})
        set_maintenance(world, True)
        reconciler.reconcile(world.name)
        answer = within_settle_time(world.router, lambda: (r := world.get()).status_code == 503 and r, "the default page")
        assert "Offline for maintenance" in answer.text
        with world.sessionmaker() as db:
            app_id = str(apps.get_app(db, world.name).id)
        logged, _ = reconciler.logs.recent(app_id, 20)
        assert any(line.dyno == "router" and "MAINTENANCE_PAGE_URL could not be fetched (it answered HTTP 404)" in line.text
                   for line in logged), logged
    finally:
        pages.shutdown()
        pages.server_close()
