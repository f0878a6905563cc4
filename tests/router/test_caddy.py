"""CaddyRouter against a real `caddy run` of its own (own admin and HTTP ports, nothing shared)."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from paas.router import RouterError, make_router
from paas.router.caddy import CaddyRouter
from paas.settings import Settings
from tests.conftest import free_port


def start_upstream(name: str, delay: float = 0.0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(delay)
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def ups():
    servers = {name: start_upstream(name) for name in ("up1", "up2", "up3")}
    servers["slow"] = start_upstream("slow", delay=1.0)
    yield {name: f"127.0.0.1:{s.server_address[1]}" for name, s in servers.items()}
    for s in servers.values():
        s.shutdown()
        s.server_close()


class CountingTransport(httpx.HTTPTransport):
    """Records the method of every admin API request the router makes."""

    def __init__(self):
        super().__init__()
        self.methods: list[str] = []

    def handle_request(self, request):
        self.methods.append(request.method)
        return super().handle_request(request)


@pytest.fixture
def router(caddy):
    transport = CountingTransport()
    r = CaddyRouter(caddy.admin_url, "127.0.0.1", caddy.http_port, "localhost", transport=transport)
    r.transport = transport
    r.ensure_server()
    yield r
    for app in r.apps():
        r.remove_app(app)
    r.close()


@pytest.fixture
def web(caddy):
    # No keep-alive: every request is a fresh connection, as a new visitor's would be.
    client = httpx.Client(base_url=f"http://127.0.0.1:{caddy.http_port}", timeout=10,
                          limits=httpx.Limits(max_keepalive_connections=0))

    def get(host: str) -> httpx.Response:
        return client.get("/", headers={"Host": host})

    yield get
    client.close()


def admin_routes(caddy) -> list:
    return httpx.get(f"{caddy.admin_url}/config/apps/http/servers/paas/routes").json()


def test_unknown_host_gets_paas_404(router, web):
    r = web("nope.localhost")
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "No such app" in r.text and "paas" in r.text


def test_app_without_upstreams_gets_503(router, web):
    router.set_app("a", [])
    r = web("a.localhost")
    assert r.status_code == 503
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "a has no running web process" in r.text and "paas" in r.text
    assert web("b.localhost").status_code == 404
    assert router.apps() == {"a": []}


def test_routes_and_switches_upstream_without_restart(caddy, router, web, ups):
    pid = caddy.proc.pid
    router.set_app("a", [ups["up1"]])
    assert web("a.localhost").text == "up1"
    # The host matcher ignores the port and the case of the Host header.
    assert web(f"a.localhost:{caddy.http_port}").text == "up1"
    assert web("A.LocalHost").text == "up1"

    router.set_app("a", [ups["up2"]])
    # Caddy applies the change before the admin call returns: the very next request sees it.
    assert web("a.localhost").text == "up2"
    assert caddy.proc.poll() is None and caddy.proc.pid == pid

    routes = admin_routes(caddy)
    router.transport.methods.clear()
    router.ensure_server()
    assert router.transport.methods == ["GET"]
    assert admin_routes(caddy) == routes
    assert web("a.localhost").text == "up2"
    assert router.apps() == {"a": [ups["up2"]]}


def test_two_apps_are_routed_independently(router, web, ups):
    router.set_app("a", [ups["up1"]])
    router.set_app("b", [ups["up2"]])
    assert (web("a.localhost").text, web("b.localhost").text) == ("up1", "up2")
    router.set_app("a", [ups["up3"]])
    assert (web("a.localhost").text, web("b.localhost").text) == ("up3", "up2")
    router.set_app("b", [])
    assert (web("a.localhost").text, web("b.localhost").status_code) == ("up3", 503)
    router.remove_app("a")
    assert (web("a.localhost").status_code, web("b.localhost").status_code) == (404, 503)
    assert router.apps() == {"b": []}


def test_remove_app_is_idempotent(router, web, ups):
    router.set_app("a", [ups["up1"]])
    router.remove_app("a")
    assert web("a.localhost").status_code == 404
    router.remove_app("a")
    router.remove_app("never-existed")
    assert router.apps() == {}
    assert web("nope.localhost").status_code == 404  # the catch-all survived


def test_same_upstreams_make_no_write(router, ups):
    router.set_app("a", [ups["up1"], ups["up2"]])
    router.set_app("b", [])
    router.transport.methods.clear()
    router.set_app("a", [ups["up2"], ups["up1"]])  # same set, other order
    router.set_app("a", [ups["up1"], ups["up2"]])
    router.set_app("b", [])
    assert router.transport.methods == ["GET", "GET", "GET"]
    # ...and the counter does see writes.
    router.set_app("a", [ups["up1"]])
    assert router.transport.methods[-1] == "PATCH"
    assert router.apps() == {"a": [ups["up1"]], "b": []}


def test_dead_upstream_loses_no_request(router, web, ups):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    router.set_app("a", [dead, ups["up1"]])
    for _ in range(10):
        r = web("a.localhost")
        assert (r.status_code, r.text) == (200, "up1")


def test_in_flight_request_survives_a_switch(router, web, ups):
    router.set_app("a", [ups["slow"]])
    result = {}
    thread = threading.Thread(target=lambda: result.update(r=web("a.localhost")))
    thread.start()
    time.sleep(0.3)  # the request is now waiting on the slow upstream
    router.set_app("a", [ups["up1"]])
    assert web("a.localhost").text == "up1"
    thread.join(10)
    assert (result["r"].status_code, result["r"].text) == (200, "slow")


def test_ensure_server_repairs_the_catch_all(caddy, router, web, ups):
    router.set_app("a", [ups["up1"]])
    httpx.delete(f"{caddy.admin_url}/id/paas-not-found").raise_for_status()
    assert web("nope.localhost").status_code == 200  # Caddy's default for no matching route: empty 200
    # A route appended after the catch-all is shadowed by it...
    b_route = router._app_route("b", [ups["up2"]])
    router.ensure_server()
    httpx.post(f"{caddy.admin_url}/config/apps/http/servers/paas/routes", json=b_route).raise_for_status()
    assert web("b.localhost").status_code == 404
    # ...until ensure_server moves the catch-all back to the end, leaving app routes alone.
    router.ensure_server()
    assert admin_routes(caddy)[-1]["@id"] == "paas-not-found"
    assert web("nope.localhost").status_code == 404
    assert (web("a.localhost").text, web("b.localhost").text) == ("up1", "up2")
    assert router.apps() == {"a": [ups["up1"]], "b": [ups["up2"]]}


def test_caddy_errors_raise_router_error(caddy, router, web, ups):
    router.set_app("a", [ups["up1"]])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        other = CaddyRouter(caddy.admin_url, "127.0.0.1", taken.getsockname()[1], "localhost")
        with pytest.raises(RouterError, match="address already in use") as e:
            other.ensure_server()  # asks Caddy to move the listener onto a busy port
        other.close()
    assert e.value.status is not None and e.value.status >= 400
    # Caddy rolled back: still serving on the old port.
    assert web("a.localhost").text == "up1"

    unreachable = CaddyRouter(f"http://127.0.0.1:{free_port()}", "127.0.0.1", caddy.http_port, "localhost")
    with pytest.raises(RouterError, match="unreachable") as e:
        unreachable.apps()
    assert e.value.status is None


def test_rejects_bad_names_and_dials(router):
    for app in ("", "A", "a/b", "a.b", "-a", "a{x}"):
        with pytest.raises(ValueError):
            router.set_app(app, [])
    for dial in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", ":80"):
        with pytest.raises(ValueError):
            router.set_app("a", [dial])
    assert router.apps() == {}


def test_make_router_uses_settings(caddy):
    settings = Settings(caddy_admin_url=caddy.admin_url, router_port=caddy.http_port, domain="example.test")
    r = make_router(settings)
    assert isinstance(r, CaddyRouter)
    assert (r.admin_url, r.listen, r.domain) == (caddy.admin_url, f"127.0.0.1:{caddy.http_port}", "example.test")
    assert r.apps() == {}  # talks to the admin API; our server exists with no app routes
    r.close()
