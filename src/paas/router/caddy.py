"""The router on Caddy, driven through its admin API.

Caddy runs with a config holding only `admin.listen`. We own one HTTP server in it, "paas":
one route per app (`"@id": "paas-app-<name>"`) and, last, a catch-all answering 404.
Changes go to single routes by path or @id so other apps' routes are never rewritten by us.
"""

import html
import re
import threading
from typing import TYPE_CHECKING, Any

import httpx

from paas.router import RouterError

if TYPE_CHECKING:
    from paas.settings import Settings

SERVER = "paas"
APP_ID_PREFIX = "paas-app-"
NOT_FOUND_ID = "paas-not-found"
# App names become a DNS label and part of an admin URL path.
APP_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
HTML = {"Content-Type": ["text/html; charset=utf-8"]}
_NO_BODY = object()


def _page(title: str, text: str) -> str:
    # No braces: Caddy would expand {...} placeholders in a static_response body.
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n"
        f"<body><h1>{title}</h1><p>{text}</p><hr><p><small>paas router</small></p></body></html>\n"
    )


class CaddyRouter:
    def __init__(
        self,
        admin_url: str,
        listen_host: str,
        listen_port: int,
        domain: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.listen = f"{listen_host}:{listen_port}"
        self.domain = domain
        self._server_path = f"/config/apps/http/servers/{SERVER}"
        # Admin calls are local and quick; a hung Caddy must not hang the caller.
        self._http = httpx.Client(
            base_url=self.admin_url, timeout=httpx.Timeout(timeout, connect=2.0), transport=transport
        )
        # Read-compare-write in set_app must not interleave within this process
        # (two inserts of one app would leave two routes with the same @id).
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: "Settings", **kwargs: Any) -> "CaddyRouter":
        return cls(settings.caddy_admin_url, settings.router_host, settings.router_port, settings.domain, **kwargs)

    def close(self) -> None:
        self._http.close()

    # -- the Router protocol --------------------------------------------------------------

    def ensure_server(self) -> None:
        with self._lock:
            self._ensure_server()

    def set_app(self, app: str, upstreams: list[str]) -> None:
        route = self._app_route(app, upstreams)
        path = f"/id/{APP_ID_PREFIX}{app}"
        with self._lock:
            current = self._get_id(path)
            if current == route:
                return  # a periodic sweep must not churn Caddy
            if current is not None:
                self._call("PATCH", path, route)  # replaces just this route
                return
            self._ensure_server()
            # PUT on an array index inserts there; index 0 is always before the catch-all,
            # and app routes match disjoint hosts, so their order among themselves is free.
            self._call("PUT", f"{self._server_path}/routes/0", route)

    def remove_app(self, app: str) -> None:
        _check_name(app)
        with self._lock:
            # Loop: a racing writer elsewhere could have left a second route with this @id.
            for _ in range(10):
                try:
                    self._call("DELETE", f"/id/{APP_ID_PREFIX}{app}")
                except RouterError as e:
                    if e.status == 404:
                        return
                    raise

    def apps(self) -> dict[str, list[str]]:
        routes = (self._get_server() or {}).get("routes") or []
        found: dict[str, list[str]] = {}
        for route in routes:
            route_id = route.get("@id", "")
            if not route_id.startswith(APP_ID_PREFIX):
                continue
            found[route_id.removeprefix(APP_ID_PREFIX)] = [
                upstream["dial"]
                for handler in route.get("handle", [])
                if handler.get("handler") == "reverse_proxy"
                for upstream in handler.get("upstreams", [])
            ]
        return found

    # -- config pieces ----------------------------------------------------------------------

    def _server(self) -> dict[str, Any]:
        return {
            "listen": [self.listen],
            # Host matchers on *.localhost would otherwise turn on HTTPS for this server.
            "automatic_https": {"disable": True},
            "routes": [self._not_found_route()],
        }

    def _not_found_route(self) -> dict[str, Any]:
        page = _page("No such app", f"Nothing is deployed at this address (*.{html.escape(self.domain)}).")
        return {
            "@id": NOT_FOUND_ID,
            "handle": [{"handler": "static_response", "status_code": 404, "headers": HTML, "body": page}],
        }

    def _app_route(self, app: str, upstreams: list[str]) -> dict[str, Any]:
        _check_name(app)
        for dial in upstreams:
            _check_dial(dial)
        if upstreams:
            handler: dict[str, Any] = {
                "handler": "reverse_proxy",
                # Sorted and deduplicated: the same set in another order is the same route (no write).
                "upstreams": [{"dial": dial} for dial in sorted(set(upstreams))],
                "load_balancing": {
                    "selection_policy": {"policy": "round_robin"},
                    # A refused connection (process just died) moves on to the next upstream
                    # instead of failing the request; a lone upstream gets 2 s to come back.
                    "try_duration": "2s",
                    "try_interval": "100ms",
                },
                # ...and the dead one is skipped for a second, so not every request pays the retry.
                # Short, so a lone upstream that restarts is not shut out for long.
                "health_checks": {"passive": {"fail_duration": "1s"}},
            }
        else:
            page = _page(f"{app} has no running web process", "The app exists but nothing is running to answer.")
            handler = {"handler": "static_response", "status_code": 503, "headers": HTML, "body": page}
        return {
            "@id": f"{APP_ID_PREFIX}{app}",
            # Caddy's host matcher ignores the port in the Host header, so "a.localhost:8080" matches too.
            "match": [{"host": [f"{app}.{self.domain}"]}],
            "handle": [handler],
            "terminal": True,
        }

    def _ensure_server(self) -> None:
        server = self._get_server()
        if server is None:
            # PUT creates the missing parents (apps, http, servers) as well.
            self._call("PUT", self._server_path, self._server())
            return
        # The server exists: fix only what is off, never replace it (that would drop app routes).
        for key in ("listen", "automatic_https"):
            want = self._server()[key]
            if server.get(key) != want:
                self._call("PATCH" if key in server else "PUT", f"{self._server_path}/{key}", want)
        routes = server.get("routes") or []
        catch_all = self._not_found_route()
        if routes and routes[-1] == catch_all:
            return
        # Missing, stale or no longer last: delete every copy, then append a fresh one.
        for _ in range(sum(r.get("@id") == NOT_FOUND_ID for r in routes)):
            self._call("DELETE", f"/id/{NOT_FOUND_ID}")
        if "routes" in server:
            self._call("POST", f"{self._server_path}/routes", catch_all)  # POST on an array appends
        else:
            self._call("PUT", f"{self._server_path}/routes", [catch_all])

    # -- admin API --------------------------------------------------------------------------

    def _get_server(self) -> dict[str, Any] | None:
        # Read from /config/apps down: a GET through a missing parent is an error, not null.
        apps = self._call("GET", "/config/apps") or {}
        return ((apps.get("http") or {}).get("servers") or {}).get(SERVER)

    def _get_id(self, path: str) -> Any:
        try:
            return self._call("GET", path)
        except RouterError as e:
            if e.status == 404:  # unknown @id
                return None
            raise

    def _call(self, method: str, path: str, body: Any = _NO_BODY) -> Any:
        kwargs = {} if body is _NO_BODY else {"json": body}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise RouterError(f"Caddy admin API at {self.admin_url} unreachable: {e}") from e
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text.strip() or response.reason_phrase
            raise RouterError(f"Caddy: {method} {path}: {message}", status=response.status_code)
        # GET of a missing /config/ path answers 200 with `null`: that is "absent", not an error.
        return response.json() if response.content else None


def _check_name(app: str) -> None:
    if not APP_NAME.fullmatch(app):
        raise ValueError(f"not a routable app name: {app!r}")


def _check_dial(dial: str) -> None:
    # Caddy 2.6 accepts any dial string and fails only per request (502): catch typos here.
    host, _, port = dial.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"upstream must be host:port, got {dial!r}")
