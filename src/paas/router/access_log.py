"""The router's access lines, as Heroku's router writes them into an app's logs:
`heroku[router]: at=info method=GET path="/" host=app.localhost fwd="127.0.0.1" dyno=web.1
connect=0ms service=2ms status=200 bytes=316 protocol=http`.

Caddy writes two JSON lines per proxied request to the router's log file: the reverse proxy's
"upstream roundtrip" (which process answered) and then the access log's "handled request"
(status, size, duration). Caddy 2.6 cannot put the upstream into the access line itself, so the
two are matched by the client connection (`remote_ip:remote_port`), on which HTTP/1.1
requests follow one another.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

ACCESS_LOGGER = "http.log.access.paas"
PROXY_LOGGER = "http.handlers.reverse_proxy"
ROUNDTRIP = '"msg":"upstream roundtrip"'
# Caddy writes a request's fields in this order: the client connection is remote_ip then remote_port.
CONNECTION = re.compile(r'"remote_ip":"([^"]*)","remote_port":"([^"]*)"')
UPSTREAM = re.compile(r'"upstream":"([^"]*)"')
HOST = re.compile(r'"host":"([^"]*)"')
STATUS = re.compile(r'"status":(\d+)')
DURATION = re.compile(r'"duration":([0-9.eE+-]+)')


@dataclass(frozen=True)
class RouterLine:
    app: str
    at: float
    text: str


class AccessLogParser:
    """Feed it the router log's lines in order; it answers a RouterLine for each request that
    reached an app (None for other lines). `dyno_at(app, address)` names the process at an
    upstream address (None if unknown); `idle_address` is where an app with no web process points,
    `maintenance_address` where an app in maintenance does."""

    def __init__(self, domain: str, idle_address: str, dyno_at: Callable[[str, str], str | None],
                 on_request: Callable[[str, int, float], None] | None = None, maintenance_address: str | None = None):
        self.suffix = "." + domain.lower()
        self.idle_address, self.maintenance_address = idle_address, maintenance_address
        self.dyno_at = dyno_at
        self.on_request = on_request  # (app, status, milliseconds) of every request, admitted or not: the metrics
        self.upstreams: dict[str, str] = {}  # client connection -> upstream of its request

    def feed(self, raw: str, admit: Callable[[str], bool] = lambda app: True) -> RouterLine | None:
        """`admit(app)` says whether the app's line is wanted (its rate): only then is the line
        parsed whole. The proxy's lines are read with two patterns, not parsed: at thousands of
        requests a second, parsing every line would cost the runner a large share of a core."""
        if ROUNDTRIP in raw:
            connection, upstream = CONNECTION.search(raw), UPSTREAM.search(raw)
            if connection and upstream:
                if len(self.upstreams) > 10_000:  # connections whose access line never came
                    self.upstreams.clear()
                self.upstreams[connection.group(0)] = upstream.group(1)
            return None
        if ACCESS_LOGGER not in raw:
            return None
        connection, host = CONNECTION.search(raw), HOST.search(raw)
        if not connection or not host:
            return None
        upstream = self.upstreams.pop(connection.group(0), None)
        app = self.app_of(host.group(1))
        if app is None:
            return None
        if self.on_request is not None:
            # Two patterns, not a parse: every request is counted, at thousands a second. Only the
            # line's own fields can match: a quote inside a string value is escaped (\").
            status, duration = STATUS.search(raw), DURATION.search(raw)
            try:
                if status and duration:
                    self.on_request(app, int(status.group(1)), float(duration.group(1)) * 1000)
            except ValueError:
                pass
        if not admit(app):
            return None
        try:
            entry = json.loads(raw)
            request = entry["request"]
            return RouterLine(app, float(entry.get("ts", 0)), self.describe(app, str(request["host"]), request, entry, upstream))
        except (ValueError, KeyError, TypeError):
            return None

    def app_of(self, host: str) -> str | None:
        """`web.app.localhost:8080` -> `app`: the label before the domain, as the route resolves it."""
        name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
        if not name.endswith(self.suffix):
            return None
        labels = name[: -len(self.suffix)].split(".")
        return labels[-1] or None

    def describe(self, app: str, host: str, request: dict, entry: dict, upstream: str | None) -> str:
        status = entry.get("status", 0)
        service = f"{float(entry.get('duration', 0)) * 1000:.0f}ms"
        common = (
            f'method={request.get("method", "")} path={quote(str(request.get("uri", "")))} host={host} '
            f'fwd={quote(str(request.get("remote_ip", "")))}'
        )
        if upstream and upstream.rsplit(":", 1)[0] == self.maintenance_address:
            return f'at=info code=H80 desc="Maintenance mode" {common} dyno= connect= service= status={status} bytes= protocol=http'
        if upstream and upstream.rsplit(":", 1)[0] == self.idle_address:
            return f'at=error code=H14 desc="No web processes running" {common} dyno= connect= service= status={status} bytes= protocol=http'
        if upstream is None:  # no process took the request: the router answered its error page
            return f'at=error code=H13 desc="Connection closed without response" {common} dyno= connect= service={service} status={status} bytes= protocol=http'
        dyno = self.dyno_at(app, upstream) or upstream
        return f"at=info {common} dyno={dyno} connect=0ms service={service} status={status} bytes={entry.get('size', 0)} protocol=http"


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
