"""CaddyRouter against a real `caddy run` and a real dnsmasq of the tests' own (own ports and
hosts directory, nothing shared with the platform)."""

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from paas.domain.crypto import create_key, load_key
from paas.signing import Signer
from paas.router import MAINTENANCE, TLS_ASK_PATH, RouterError, Routing, make_router
from paas.router.caddy import CaddyRouter
from paas.settings import Settings
from tests.conftest import free_port
from tests.waiting import wait_until, within_settle_time

# Every process of an app listens on one port, each at its own address (as containers do).
UPSTREAMS = {"up1": "127.0.0.11", "up2": "127.0.0.12", "up3": "127.0.0.13"}
DEAD = "127.0.0.19"  # nothing listens there


def start_upstream(name: str, address: str, port: int, answer=None) -> ThreadingHTTPServer:
    """An upstream answering its name, or what `answer(handler)` makes of each request."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = answer(self) if answer else name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def ups(port):
    servers = {name: start_upstream(name, address, port) for name, address in UPSTREAMS.items()}
    yield {name: f"{address}:{port}" for name, address in UPSTREAMS.items()}
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
def router(make_test_router, port):
    transport = CountingTransport()
    r = make_test_router(port, transport=transport)
    r.transport = transport
    r.ensure_server()
    return r


@pytest.fixture
def web(caddy):
    # No keep-alive: every request is a fresh connection, as a new visitor's would be.
    client = httpx.Client(base_url=f"http://127.0.0.1:{caddy.http_port}", timeout=10,
                          limits=httpx.Limits(max_keepalive_connections=0))

    def get(host: str) -> httpx.Response:
        return client.get("/", headers={"Host": host})

    yield get
    client.close()


def settled(router, web, host: str, text: str) -> bool:
    """The change reached every new request within the router's settle time (and stays)."""
    within_settle_time(router, lambda: web(host).text == text, f"{host} answering {text!r}")
    return all(web(host).text == text for _ in range(3))


def answering(router, web, host: str, status: int) -> httpx.Response:
    """host's answer once it is `status`, which it must be within the router's settle time."""
    return within_settle_time(router, lambda: (r := web(host)).status_code == status and r, f"{host} answering {status}")


def caddy_config(caddy) -> dict:
    return httpx.get(f"{caddy.admin_url}/config/").json()


def test_unknown_host_gets_paas_404(router, web):
    r = web("nope.localhost")
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "No such app" in r.text and "paas" in r.text
    assert web("not-under-the-domain.example").status_code == 404


def test_app_without_upstreams_gets_503(router, web):
    router.set_app("a", [])
    r = answering(router, web, "a.localhost", 503)
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "no running web process" in r.text and "paas" in r.text
    assert web("b.localhost").status_code == 404
    assert router.apps() == {"a": []}


def test_routes_and_switches_without_touching_caddys_config(caddy, router, web, ups):
    pid, config = caddy.proc.pid, caddy_config(caddy)
    router.set_app("a", [ups["up1"]])
    assert settled(router, web, "a.localhost", "up1")
    # The host matcher ignores the port and the case of the Host header.
    assert web(f"a.localhost:{caddy.http_port}").text == "up1"
    assert web("A.LocalHost").text == "up1"

    router.set_app("a", [ups["up2"]])
    assert settled(router, web, "a.localhost", "up2")
    router.set_app("a", [])
    answering(router, web, "a.localhost", 503)
    router.set_app("a", [ups["up1"], ups["up2"]])
    answering(router, web, "a.localhost", 200)
    assert {web("a.localhost").text for _ in range(30)} == {"up1", "up2"}  # spread over both
    # Not one of these changes was a configuration change (each would be a reload).
    assert caddy_config(caddy) == config and caddy.proc.pid == pid
    router.transport.methods.clear()
    router.ensure_server()
    assert router.transport.methods == ["GET"]
    assert router.apps() == {"a": sorted([ups["up1"], ups["up2"]])}


def test_settle_returns_once_every_new_request_sees_the_change(router, web, ups):
    """The runner says "live" and stops old processes right after settle(): the first request
    after it, and every one after, must reach the new upstream, switch after switch."""
    for turn in range(20):
        name = ("up1", "up2")[turn % 2]
        web("s.localhost")  # Caddy has just looked the old addresses up (without settle: stale, measured 1 in 5)
        router.set_app("s", [ups[name]])
        router.settle("s")
        assert [web("s.localhost").text for _ in range(3)] == [name] * 3, f"turn {turn}"
    router.remove_app("s")
    router.settle("s")
    assert web("s.localhost").status_code == 404


def test_keep_alive_clients_survive_every_switch(caddy, router, web, ups):
    """The point of the design: a client's connection is never closed by a deploy."""
    router.set_app("a", [ups["up1"]])
    router.set_app("b", [ups["up3"]])
    assert settled(router, web, "a.localhost", "up1") and settled(router, web, "b.localhost", "up3")
    clients = {app: http.client.HTTPConnection("127.0.0.1", caddy.http_port, timeout=10) for app in ("a", "b")}
    failures, answers, last = [], 0, {}
    stop = threading.Event()

    def load(app, connection):
        nonlocal answers
        while not stop.is_set():
            try:
                connection.request("GET", "/", headers={"Host": f"{app}.localhost"})
                response = connection.getresponse()
                last[app] = response.read().decode()
                answers += 1
                if response.status != 200:
                    failures.append(response.status)
            except (OSError, http.client.HTTPException) as error:  # a reset or closed connection
                failures.append(repr(error))
                return
            time.sleep(0.005)

    threads = [threading.Thread(target=load, args=pair) for pair in clients.items()]
    for thread in threads:
        thread.start()
    for i in range(10):
        new, before = "up1" if i % 2 else "up2", answers
        router.set_app("a", [ups[new]])
        router.set_app("c", [ups["up3"]] if i % 2 else [])  # another app deploys too
        # a's kept-alive connection is answered by the new upstream: the switch happened under it.
        wait_until(lambda: failures or (last.get("a") == new and answers >= before + 12), 10, f"a's client answered by {new}")
    stop.set()
    for thread in threads:
        thread.join(10)
    assert failures == [] and answers > 100, (failures, answers)


def test_two_apps_are_routed_independently(router, web, ups):
    router.set_app("a", [ups["up1"]])
    router.set_app("b", [ups["up2"]])
    assert settled(router, web, "a.localhost", "up1") and settled(router, web, "b.localhost", "up2")
    router.set_app("a", [ups["up3"]])
    router.set_app("b", [])
    assert settled(router, web, "a.localhost", "up3") and answering(router, web, "b.localhost", 503)
    router.remove_app("a")
    answering(router, web, "a.localhost", 404)
    assert (web("a.localhost").status_code, web("b.localhost").status_code) == (404, 503)
    assert router.apps() == {"b": []}


def test_remove_app_is_idempotent(router, web, ups):
    router.set_app("a", [ups["up1"]])
    router.remove_app("a")
    router.remove_app("a")
    router.remove_app("never-existed")
    assert router.apps() == {}
    answering(router, web, "a.localhost", 404)


def test_same_upstreams_make_no_write(router, router_dns, ups):
    router.set_app("a", [ups["up1"], ups["up2"]])
    written = (router_dns.hosts_dir / "a").stat().st_mtime_ns
    time.sleep(0.01)  # inherent: a write now would show in the time stamp (the clock moves in ticks)
    router.set_app("a", [ups["up2"], ups["up1"]])  # same set, other order
    assert (router_dns.hosts_dir / "a").stat().st_mtime_ns == written
    assert router.transport.methods[-1:] == ["GET"]  # only ensure_server's: set_app never calls Caddy


def test_a_dead_upstream_loses_no_request(router, web, ups, port):
    router.set_app("a", [f"{DEAD}:{port}", ups["up1"]])
    answering(router, web, "a.localhost", 200)
    for _ in range(10):
        r = web("a.localhost")
        assert (r.status_code, r.text) == (200, "up1")


def test_an_app_whose_processes_all_refuse_gets_a_503_not_a_404(router, web, port):
    router.set_app("a", [f"{DEAD}:{port}"])
    r = answering(router, web, "a.localhost", 503)
    assert "not answering" in r.text


def test_in_flight_request_survives_a_switch(caddy, router, web, ups, port):
    arrived, release = threading.Event(), threading.Event()

    def held(handler) -> bytes:  # "/held" answers once the test lets it
        if handler.path == "/held":
            arrived.set()
            release.wait(10)
        return b"slow"

    server = start_upstream("slow", "127.0.0.23", port, answer=held)
    try:
        router.set_app("a", [f"127.0.0.23:{port}"])
        assert settled(router, web, "a.localhost", "slow")
        result = {}
        held_url = f"http://127.0.0.1:{caddy.http_port}/held"
        thread = threading.Thread(target=lambda: result.update(r=httpx.get(held_url, headers={"Host": "a.localhost"}, timeout=10)))
        thread.start()
        wait_until(arrived.is_set, 10, "the request waiting on the slow upstream")
        router.set_app("a", [ups["up1"]])
        assert settled(router, web, "a.localhost", "up1")
        release.set()
        thread.join(10)
        assert (result["r"].status_code, result["r"].text) == (200, "slow")
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_ensure_server_repairs_the_configuration(caddy, router, web, ups):
    router.set_app("a", [ups["up1"]])
    httpx.delete(f"{caddy.admin_url}/id/paas-not-found").raise_for_status()
    router.ensure_server()
    assert web("not-under-the-domain.example").status_code == 404
    httpx.delete(f"{caddy.admin_url}/config/apps/http/servers/paas").raise_for_status()
    router.ensure_server()
    assert settled(router, web, "a.localhost", "up1")


def test_caddy_errors_raise_router_error(caddy, make_test_router, web, ups, port, router):
    router.set_app("a", [ups["up1"]])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        other = make_test_router(port)
        other.listen = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(RouterError, match="address already in use") as e:
            other.ensure_server()  # asks Caddy to move the listener onto a busy port
    assert e.value.status is not None and e.value.status >= 400
    # Caddy rolled back: still serving on the old port.
    assert settled(router, web, "a.localhost", "up1")

    unreachable = make_test_router(port, )
    unreachable.admin_url = f"http://127.0.0.1:{free_port()}"
    unreachable._http = httpx.Client(base_url=unreachable.admin_url)
    with pytest.raises(RouterError, match="unreachable") as e:
        unreachable.ensure_server()
    assert e.value.status is None


def test_rejects_bad_names_and_dials(router, port):
    for app in ("", "A", "a/b", "a.b", "-a", "a{x}", "../x"):
        with pytest.raises(ValueError):
            router.set_app(app, [])
    for dial in ("127.0.0.1", "127.0.0.1:0", f"localhost:{port}", f":{port}", "127.0.0.1:1"):
        with pytest.raises(ValueError):
            router.set_app("a", [dial])
    assert router.apps() == {}


def test_make_router_uses_settings(caddy, tmp_path):
    settings = Settings(caddy_admin_url=caddy.admin_url, router_port=caddy.http_port, domain="example.test",
                        home=tmp_path, instance="paas-test")
    create_key(settings, data_exists=False)
    r = make_router(settings)
    assert isinstance(r, CaddyRouter)
    assert (r.admin_url, r.listen, r.domain) == (caddy.admin_url, f"127.0.0.1:{caddy.http_port}", "example.test")
    assert (r.hosts_dir, r.dns, r.web_port) == (settings.router_hosts_dir, settings.router_dns, settings.web_port)
    assert r.zone == "paas-test.paas.internal" and r.apps() == {}
    # Caddy asks with a URL signed by the platform's key (the API refuses one without it).
    base, _, query = r.tls_ask_url.partition("?signature=")
    assert base == settings.api_url + TLS_ASK_PATH and Signer(load_key(settings)).valid("GET", TLS_ASK_PATH, query)
    r.close()


def test_the_app_gets_herokus_router_headers(router, caddy, port, web):
    def echo(handler) -> bytes:
        return "\n".join(f"{k}: {v}" for k, v in handler.headers.items()).encode()

    server = start_upstream("echo", "127.0.0.22", port, answer=echo)
    try:
        router.set_app("echo", [f"127.0.0.22:{port}"])
        answering(router, web, "echo.localhost", 200)

        def headers(**sent) -> dict[str, str]:
            text = httpx.get(f"http://127.0.0.1:{caddy.http_port}/", headers={"Host": "echo.localhost", **sent}).text
            return dict(line.split(": ", 1) for line in text.splitlines())

        got = headers()
        assert got["X-Forwarded-For"] == "127.0.0.1" and got["X-Forwarded-Proto"] == "http"
        assert got["X-Forwarded-Port"] == str(caddy.http_port) and got["Via"] == "1.1 paas"
        assert abs(int(got["X-Request-Start"]) - time.time() * 1000) < 5000  # milliseconds, as Heroku's
        assert len(got["X-Request-Id"]) == 36 and headers()["X-Request-Id"] != got["X-Request-Id"]
        assert headers(**{"X-Request-Id": "client-chosen-id-12345"})["X-Request-Id"] == "client-chosen-id-12345"
        assert len(headers(**{"X-Request-Id": "short"})["X-Request-Id"]) == 36  # not one Heroku keeps
    finally:
        server.shutdown()
        server.server_close()


def test_custom_domains_wildcards_and_https_redirects_route_to_their_app(make_test_router, port, web, ups, caddy):
    transport = CountingTransport()
    router = make_test_router(port, transport=transport, tls_port=free_port(), tls_ask_url="http://127.0.0.1:9/ask",
                              acme_directory="https://127.0.0.1:9/dir")  # never reached: no handshake here
    router.set_app("a", [ups["up1"]])
    router.set_app("b", [ups["up2"]])
    router.ensure_server(Routing(domains={"a": ("www.a.test",), "b": ("*.a.test", "*.wild.test")}))
    assert settled(router, web, "www.a.test", "up1")
    # The exact name wins over another app's wildcard; the wildcard covers one label.
    assert web("WWW.A.TEST").text == "up1" and web("other.a.test").text == "up2" and web("x.wild.test").text == "up2"
    assert web("wild.test").status_code == 404 and web("a.b.wild.test").status_code == 404
    router.ensure_server(Routing(domains={"a": ("www.a.test",), "b": ("*.a.test",)}, force_https=frozenset({"b"})))
    answering(router, web, "b.localhost", 301)

    def get(host: str, path: str = "/p?q=1") -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{caddy.http_port}{path}", headers={"Host": host})

    for host in ("b.localhost", "other.a.test"):
        moved = get(host)
        assert moved.status_code == 301 and moved.headers["Location"] == f"https://{host}:{router.tls_port}/p?q=1"
    assert get("www.a.test").text == "up1" and get("a.localhost").text == "up1"  # the other app's hosts are not redirected
    assert get("other.a.test", "/.well-known/acme-challenge/x").status_code != 301  # ACME's challenge never is
    methods = len(transport.methods)
    router.ensure_server(Routing(domains={"a": ("www.a.test",), "b": ("*.a.test",)}, force_https=frozenset({"b"})))
    assert transport.methods[methods:] == ["GET"]  # nothing changed: nothing loaded
    router.ensure_server()
    assert settled(router, web, "www.a.test", web("nope.localhost").text)  # removed: no app's host


def test_without_acme_only_the_platforms_own_hosts_redirect(make_test_router, port, ups, caddy):
    router = make_test_router(port, tls_port=free_port(), tls_ask_url="http://127.0.0.1:9/ask")
    router.set_app("a", [ups["up1"]])
    router.ensure_server(Routing(domains={"a": ("www.a.test",)}, force_https=frozenset({"a"})))
    get = lambda host: httpx.get(f"http://127.0.0.1:{caddy.http_port}/", headers={"Host": host})  # noqa: E731
    within_settle_time(router, lambda: get("www.a.test").text == "up1", "www.a.test answering from up1")
    assert get("a.localhost").status_code == 301 and get("www.a.test").text == "up1"  # no certificate to send it to
    router.ensure_server()


def test_maintenance_answers_503_with_each_apps_page_and_off_goes_back(make_test_router, port, web, ups, caddy):
    router = make_test_router(port)
    router.set_app("a", [ups["up1"]])
    router.set_app("b", [ups["up2"]])
    router.ensure_server(Routing(domains={"a": ("www.a.test",), "b": ("*.a.test",)}))
    assert settled(router, web, "www.a.test", "up1")
    router.set_page("a", b"<h1>Back soon, from a</h1>")
    router.set_app("a", [MAINTENANCE])
    router.set_app("b", [MAINTENANCE])
    page = answering(router, web, "a.localhost", 503)
    assert page.text == "<h1>Back soon, from a</h1>" and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store" and page.headers["retry-after"] == "120"
    assert web("www.a.test").text == page.text  # a custom host of the app: its page
    other = web("x.a.test")  # b has no page of its own: the default one, never a's
    assert other.status_code == 503 and "Offline for maintenance" in other.text
    assert router.apps() == {"a": [MAINTENANCE], "b": [MAINTENANCE]} and router.upstreams("a") == [MAINTENANCE]
    base = f"http://127.0.0.1:{caddy.http_port}"
    for method in ("POST", "DELETE", "PUT"):  # every method gets the page, not 405
        answer = httpx.request(method, f"{base}/any/path?x=1", headers={"Host": "a.localhost"}, content=b"x")
        assert (answer.status_code, answer.text) == (503, page.text)
    etag = page.headers.get("etag", '"x"')
    for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": page.headers.get("last-modified", "")}, {"Range": "bytes=0-3"}):
        answer = httpx.get(f"{base}/", headers={"Host": "a.localhost", **conditional})
        assert (answer.status_code, answer.text) == (503, page.text), conditional  # the whole page, never a 304 or a part
    # The request's own path never picks another file of the pages' directory.
    assert httpx.get(f"{base}/b.html", headers={"Host": "a.localhost"}).text == page.text
    assert httpx.get(f"{base}/a.html", headers={"Host": "b.localhost"}).text == other.text
    router.set_app("a", [ups["up1"]])
    assert settled(router, web, "a.localhost", "up1")
    assert web("x.a.test").status_code == 503  # b is still in maintenance
    router.set_page("a", None)
    router.set_app("a", [MAINTENANCE])
    assert "Offline for maintenance" in answering(router, web, "a.localhost", 503).text
    router.remove_app("a")
    assert not (router.pages_dir / "a.html").exists()
    router.ensure_server()
