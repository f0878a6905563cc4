"""The router's access lines: the parser on its own, then from a real Caddy's log file."""

import json

import httpx
from hypothesis import given
from hypothesis import strategies as st

from paas.router import MAINTENANCE
from paas.router.access_log import AccessLogParser
from tests.conftest import TEST_IDLE_ADDRESS, TEST_MAINTENANCE_ADDRESS, free_port
from tests.router.test_caddy import start_upstream
from tests.waiting import wait_until, within_settle_time


def entries(port: int, upstream: str | None, status: int = 200, host: str = "shop.localhost:8080", uri: str = "/a?b=1"):
    request = {"remote_ip": "127.0.0.1", "remote_port": str(port), "method": "GET", "host": host, "uri": uri}
    lines = []
    compact = {"separators": (",", ":")}  # as Caddy writes it
    if upstream:
        lines.append(json.dumps({"level": "debug", "logger": "http.handlers.reverse_proxy", "msg": "upstream roundtrip",
                                 "upstream": upstream, "request": request, "status": status}, **compact))
    lines.append(json.dumps({"level": "info", "ts": 1796000000.5, "logger": "http.log.access.paas", "msg": "handled request",
                             "request": request, "duration": 0.0123, "size": 42, "status": status}, **compact))
    return lines


def parser():
    return AccessLogParser("localhost", "127.0.0.2", lambda app, address: {"10.0.0.7:5000": "web.2"}.get(address))


def test_each_request_is_one_heroku_router_line_naming_the_dyno_that_answered():
    p = parser()
    first, second = entries(1001, "10.0.0.7:5000"), entries(1002, "10.0.0.9:5000", uri='/say "hi"')
    # Two connections interleaved: each access line gets its own connection's upstream.
    results = [p.feed(raw) for raw in (first[0], second[0], second[1], first[1])]
    assert results[:2] == [None, None]
    assert results[2].app == "shop" and "dyno=10.0.0.9:5000 " in results[2].text and r'path="/say \"hi\""' in results[2].text
    line = results[3]
    assert line.at == 1796000000.5 and line.text == (
        'at=info method=GET path="/a?b=1" host=shop.localhost:8080 fwd="127.0.0.1" dyno=web.2 connect=0ms '
        "service=12ms status=200 bytes=42 protocol=http"
    )


def test_no_web_process_and_no_answer_are_heroku_errors_and_other_hosts_are_skipped():
    p = parser()
    idle = [p.feed(raw) for raw in entries(1, "127.0.0.2:5000", status=503)][-1]
    closed = AccessLogParser("localhost", "127.0.0.2", lambda app, address: None, maintenance_address="127.0.0.6")
    assert [closed.feed(raw) for raw in entries(1, "127.0.0.6:5000", status=503)][-1].text == (
        'at=info code=H80 desc="Maintenance mode" method=GET path="/a?b=1" host=shop.localhost:8080 fwd="127.0.0.1" '
        "dyno= connect= service= status=503 bytes= protocol=http")
    assert idle.text.startswith('at=error code=H14 desc="No web processes running" method=GET')
    failed = [p.feed(raw) for raw in entries(2, None, status=503)][-1]
    assert failed.text.startswith("at=error code=H13 ")
    assert [p.feed(raw) for raw in entries(3, "10.0.0.7:5000", host="localhost:8080")][-1] is None
    assert [p.feed(raw) for raw in entries(4, "10.0.0.7:5000", host="www.shop.localhost")][-1].app == "shop"


@given(st.text())
def test_any_other_line_is_ignored(raw):
    assert parser().feed(raw) is None or "http.log.access.paas" in raw


def test_a_line_the_app_does_not_admit_is_not_kept_and_its_connection_is_forgotten():
    p = parser()
    first = entries(7, "10.0.0.7:5000")
    p.feed(first[0])
    assert p.feed(first[1], admit=lambda app: False) is None and p.upstreams == {}


def test_a_real_caddy_writes_what_the_parser_turns_into_router_lines(make_test_router, caddy, tmp_path):
    port = free_port()
    server = start_upstream("up", "127.0.0.21", port)
    try:
        log_file = tmp_path / "access.log"
        router = make_test_router(port, log_file=log_file)
        router.ensure_server()
        router.ensure_server()  # the second time changes nothing
        router.set_app("shop", [f"127.0.0.21:{port}"])
        router.set_app("idle", [])
        router.set_app("closed", [MAINTENANCE])
        get = lambda app, path: httpx.get(f"http://127.0.0.1:{caddy.http_port}{path}", headers={"Host": f"{app}.localhost"})  # noqa: E731
        # Both routes in place (these requests are logged too, and left out below).
        within_settle_time(router, lambda: [get(app, "/settle").status_code for app in ("shop", "idle", "closed")] == [200, 503, 503],
                           "shop answering 200, idle and closed 503")
        for app in ("shop", "idle", "closed"):
            get(app, "/hello")
        p = AccessLogParser("localhost", TEST_IDLE_ADDRESS, lambda app, address: "web.1" if address.endswith(f":{port}") else None,
                            maintenance_address=TEST_MAINTENANCE_ADDRESS)

        def logged():
            raws = log_file.read_text().splitlines() if log_file.exists() else []
            found = [line for raw in raws if (line := p.feed(raw)) and 'path="/settle"' not in line.text]
            p.upstreams.clear()
            return found if len(found) >= 3 else None

        lines = wait_until(logged, 5, "three access lines of /hello in the log", interval=0.1)
        assert [(l.app, l.text.split(" ")[0]) for l in lines] == [("shop", "at=info"), ("idle", "at=error"), ("closed", "at=info")], lines
        assert "dyno=web.1 " in lines[0].text and "status=200" in lines[0].text and 'path="/hello"' in lines[0].text
        assert "code=H14" in lines[1].text and "status=503" in lines[1].text
        assert lines[2].text.startswith('at=info code=H80 desc="Maintenance mode" method=GET path="/hello"') and "status=503" in lines[2].text
    finally:
        server.shutdown()
        server.server_close()


@given(uri=st.text(max_size=80), status=st.integers(100, 599), duration=st.floats(0, 120))
def test_every_request_is_counted_with_its_own_status_and_time_whatever_its_uri(uri, status, duration):
    """Metrics read two fields with patterns: a tenant's URI (or a header) cannot forge them."""
    counted = []
    p = AccessLogParser("localhost", "127.0.0.2", lambda app, address: None, on_request=lambda *r: counted.append(r))
    forged = f'{uri}","status":999,"duration":99'
    request = {"remote_ip": "127.0.0.1", "remote_port": "7", "method": "GET", "host": "shop.localhost", "uri": forged,
               "headers": {"X-A": [forged]}}
    raw = json.dumps({"level": "info", "logger": "http.log.access.paas", "request": request, "duration": duration,
                      "size": 1, "status": status, "resp_headers": {"X-B": ['"status":1']}}, separators=(",", ":"))
    p.feed(raw, admit=lambda app: False)  # counted even when the logs' rate drops the line
    assert counted == [("shop", status, duration * 1000)] or (counted and abs(counted[0][2] - duration * 1000) < 1e-6)
