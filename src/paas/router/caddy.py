"""The router: Caddy, whose configuration never changes while apps deploy, and a name server.

Every change to Caddy's configuration is a reload, and a reload closes idle client connections
(of every site: a keep-alive client of one app would see its connection reset when another app
deploys). So Caddy is programmed once, by `ensure_server`, with one route for all apps:
`<app>.<domain>` is proxied to the addresses the name `<app>.<zone>` has, which Caddy looks up
(`dynamic_upstreams`, refreshed every `refresh`) at a dnsmasq of the platform's own. Which
processes serve an app is then one small file per app in dnsmasq's hosts directory, which it
reads as soon as it changes: a deploy, a rollback or a scale writes that file and changes nothing
in Caddy.

- An app with no web process names the idle address, where a second server of this Caddy answers
  the 503 page (no configuration change when an app scales to zero and back either).
- An app in maintenance names the maintenance address, where a fourth server answers every
  request with 503 and the app's own page (a file the runner fetched from MAINTENANCE_PAGE_URL)
  or the default one. Its processes keep running: turning maintenance off is one file again.
- Any other name of the zone (no such app) is answered with the unknown address, where a third
  server answers the 404 page.
- So an error of the proxy always means the app's processes did not answer: a 503 page.
- Every process of an app listens on the same port ($PORT) at its own address.
"""

import html
import ipaddress
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import httpx

from paas.router import MAINTENANCE, RouterError, Routing, access_log, tls_ask_url

if TYPE_CHECKING:
    from paas.settings import Settings

SERVER = "paas"
IDLE_SERVER = "paas-idle"
UNKNOWN_SERVER = "paas-unknown"
MAINTENANCE_SERVER = "paas-maintenance"
APPS_ROUTE_ID = "paas-apps"
NOT_FOUND_ID = "paas-not-found"
TLS_SERVER = "paas-tls"
LOG_NAME = "paas-router"
TLS_LOG_NAME = "paas-tls"
REQUEST_ID = r"^[A-Za-z0-9+=/_-]{20,200}$"  # what Heroku's router accepts from a client
# App names become a DNS label and a file name.
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


IDLE_PAGE = _page("This app has no running web process", "The app exists but nothing is running to answer.")
MAINTENANCE_PAGE = _page("Offline for maintenance", "This app is undergoing maintenance right now. Please check back later.")


def _respond(status: int, page: str) -> dict[str, Any]:
    return {"handler": "static_response", "status_code": status, "headers": HTML, "body": page}


class CaddyRouter:
    def __init__(
        self,
        admin_url: str,
        listen_host: str,
        listen_port: int,
        domain: str,
        *,
        hosts_dir: Path,
        dns: str,
        zone: str,
        web_port: int,
        idle_address: str,
        unknown_address: str,
        maintenance_address: str,
        pages_dir: Path,
        log_file: Path | None = None,
        tls_log_file: Path | None = None,
        tls_port: int | None = None,
        tls_ask_url: str | None = None,
        ca_file: Path | None = None,
        acme_directory: str = "",
        acme_email: str = "",
        acme_ca_root: Path | None = None,
        refresh: float = 0.02,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.admin_url = admin_url.rstrip("/")
        if self.admin_url.startswith("unix/"):  # the platform's socket; Caddy accepts Host: localhost there
            transport = transport or httpx.HTTPTransport(uds=self.admin_url.removeprefix("unix/"))
            base_url = "http://localhost"
        else:
            base_url = self.admin_url
        self.listen = f"{listen_host}:{listen_port}"
        self.domain = domain
        self.hosts_dir, self.dns, self.zone = Path(hosts_dir), dns, zone
        self.web_port, self.idle_address, self.unknown_address = web_port, idle_address, unknown_address
        self.maintenance_address, self.pages_dir = maintenance_address, Path(pages_dir)
        self.refresh = refresh
        self.log_file, self.tls_log_file = log_file, tls_log_file
        # HTTPS beside HTTP: certificates from Caddy's own CA, made for a host at its first
        # handshake once the platform says (tls_ask_url) it is an app's; the CA's root in ca_file.
        self.listen_host, self.tls_port, self.tls_ask_url, self.ca_file = listen_host, tls_port, tls_ask_url, ca_file
        self._exported_ca = False
        self.acme_directory, self.acme_email, self.acme_ca_root = acme_directory, acme_email, acme_ca_root
        # Caddy keeps a looked-up name for `refresh`; a little more for the lookup itself.
        self.settle_time = refresh + 0.05
        dns_host, _, dns_port = dns.rpartition(":")
        self._dns_server = (dns_host or dns, int(dns_port) if dns_port.isdigit() else 53)
        self._server_path = f"/config/apps/http/servers/{SERVER}"
        # Admin calls are local and quick; a hung Caddy must not hang the caller.
        self._http = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(timeout, connect=2.0), transport=transport
        )
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: "Settings", **kwargs: Any) -> "CaddyRouter":
        return cls(
            settings.caddy_admin, settings.router_host, settings.router_port, settings.domain,
            hosts_dir=settings.router_hosts_dir, dns=settings.router_dns, zone=f"{settings.instance}.paas.internal",
            web_port=settings.web_port, idle_address=settings.router_idle_address,
            unknown_address=settings.router_unknown_address, maintenance_address=settings.router_maintenance_address,
            pages_dir=settings.router_pages_dir, log_file=settings.router_log_file,
            tls_log_file=settings.router_tls_log_file,
            tls_port=settings.router_tls_port, tls_ask_url=tls_ask_url(settings), ca_file=settings.router_ca_file,
            acme_directory=settings.acme_directory, acme_email=settings.acme_email, acme_ca_root=settings.acme_ca_root,
            **kwargs,
        )

    def close(self) -> None:
        self._http.close()

    # -- the Router protocol --------------------------------------------------------------

    def ensure_server(self, routing: Routing = Routing()) -> None:
        """Make Caddy's configuration the one above, with `routing`'s custom domains and
        redirects; a no-op (one GET) when it already is. (Custom domains are routes of their
        own, so adding or removing one is a reload: rare, unlike deploys.)"""
        with self._lock:
            self.hosts_dir.mkdir(parents=True, exist_ok=True)
            config = self._call("GET", "/config/") or {}
            apps = config.get("apps") or {}
            http = apps.get("http") or {}
            servers = http.get("servers") or {}
            want = {
                SERVER: self._server(routing=routing),
                IDLE_SERVER: self._page_server(self.idle_address, 503, IDLE_PAGE),
                UNKNOWN_SERVER: self._page_server(self.unknown_address, 404, self._not_found_page()),
                MAINTENANCE_SERVER: self._maintenance_server(routing),
            }
            more = {}
            ports = {"http_port": int(self.listen.rsplit(":", 1)[1])}  # where ACME's HTTP challenge comes
            if self.tls_port is not None:
                want[TLS_SERVER] = self._server(tls=True, routing=routing)
                more = self._tls_apps()
                ports["https_port"] = self.tls_port
            if (any(servers.get(name) != server for name, server in want.items()) or any(apps.get(k) != v for k, v in more.items())
                    or any(http.get(k) != v for k, v in ports.items())):
                # One load for all (each load is a reload); the servers and apps of others are kept.
                self._call("POST", "/config/apps", {**apps, **more, "http": {**http, **ports, "servers": {**servers, **want}}})
            if self.log_file is not None:
                self._ensure_access_log(config.get("logging") or {})
            if self.ca_file is not None and self.tls_port is not None and not (self._exported_ca and self.ca_file.exists()):
                self._export_ca()

    def _tls_apps(self) -> dict[str, Any]:
        # The platform's own hosts: Caddy's own CA signs their certificates (it must never touch
        # the host's trust store). Custom domains: ACME, if a directory is set, each certificate
        # on its own (one that cannot be had holds up no other).
        policies = [{"subjects": [f"*.{self.domain}"], "issuers": [{"module": "internal"}], "on_demand": True}]
        if self.acme_directory:
            issuer = {
                "module": "acme", "ca": self.acme_directory,
                # The HTTP challenge comes to the router's HTTP port, which is ours.
                "challenges": {"http": {"alternate_port": int(self.listen.rsplit(":", 1)[1])}, "tls-alpn": {"disabled": True}},
                **({"email": self.acme_email} if self.acme_email else {}),
                **({"trusted_roots_pem_files": [str(self.acme_ca_root)]} if self.acme_ca_root else {}),
            }
            policies.append({"issuers": [issuer], "on_demand": True})
        return {
            "pki": {"certificate_authorities": {"local": {"install_trust": False}}},
            "tls": {"automation": {"policies": policies, "on_demand": {"ask": self.tls_ask_url}}},
        }

    def _export_ca(self) -> None:
        """The CA's root certificate where users find it, to trust the apps' HTTPS."""
        root = (self._call("GET", "/pki/ca/local") or {}).get("root_certificate")
        if root and (not self.ca_file.exists() or self.ca_file.read_text() != root):
            self.ca_file.parent.mkdir(parents=True, exist_ok=True)
            partial = self.ca_file.with_name(f".{self.ca_file.name}.partial")
            partial.write_text(root)
            os.replace(partial, self.ca_file)
        self._exported_ca = bool(root)  # the CA keeps its root: later sweeps need not ask again

    def _ensure_access_log(self, logging: dict[str, Any]) -> None:
        """The access lines and the proxy's choice of upstream go to `log_file` (and not to
        Caddy's own log), for the runner to put into the apps' logs."""
        loggers = [access_log.ACCESS_LOGGER, access_log.PROXY_LOGGER]
        logs = logging.get("logs") or {}
        want = {
            LOG_NAME: {
                "writer": {"output": "file", "filename": str(self.log_file), "roll_size_mb": 20, "roll_keep": 1},
                "encoder": {"format": "json"},
                "level": "DEBUG",  # the proxy says which upstream answered at debug level
                "include": loggers,
            },
            "default": {**logs.get("default", {}), "exclude": loggers},
        }
        if self.tls_log_file is not None:  # certificate events: why a custom domain's certificate could not be had
            want[TLS_LOG_NAME] = {
                "writer": {"output": "file", "filename": str(self.tls_log_file), "roll_size_mb": 5, "roll_keep": 1},
                "encoder": {"format": "json"},
                "include": ["tls"],
            }
        if any(logs.get(name) != log for name, log in want.items()):
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._call("POST", "/config/logging", {**logging, "logs": {**logs, **want}})  # one load

    def set_app(self, app: str, upstreams: list[str]) -> None:
        if upstreams == [MAINTENANCE]:
            addresses = [self.maintenance_address]
        else:
            addresses = sorted({self._address(dial) for dial in upstreams}, key=ipaddress.ip_address) or [self.idle_address]
        text = "".join(f"{address} {self._name(app)}\n" for address in addresses)
        path = self.hosts_dir / app
        with self._lock:
            try:
                if path.read_text() == text:
                    return  # a periodic sweep writes nothing
            except FileNotFoundError:
                pass
            self.hosts_dir.mkdir(parents=True, exist_ok=True)
            # Written beside the directory and renamed in: the name server never reads half a file.
            partial = self.hosts_dir.parent / f".{app}.partial"
            partial.write_text(text)
            os.replace(partial, path)

    def remove_app(self, app: str) -> None:
        with self._lock:
            (self.hosts_dir / _checked(app)).unlink(missing_ok=True)
        self.set_page(app, None)

    def settle(self, app: str) -> None:
        """Return once every new request is routed as the app's hosts file says: the name
        server answers its addresses (it reads the file a moment after it changes), then
        Caddy's answer from before expires (`refresh`, and a little for a look-up under way).
        Usually refresh + 5 ms; about settle_time at most (a name server that does not answer)."""
        deadline = time.monotonic() + self.settle_time
        path = self.hosts_dir / app
        try:
            wanted = {line.split()[0] for line in path.read_text().splitlines() if line.strip()}
        except FileNotFoundError:
            wanted = set()
        query = dns.message.make_query(self._name(app), "A")
        while time.monotonic() < deadline - self.refresh:
            try:
                answer = dns.query.udp(query, self._dns_server[0], port=self._dns_server[1], timeout=0.05)
                if {item.address for rrset in answer.answer for item in rrset if item.rdtype == dns.rdatatype.A} == wanted:
                    time.sleep(self.refresh + 0.005)
                    return
            except (dns.exception.DNSException, OSError, ValueError):  # ValueError: not an address it can ask
                pass
            time.sleep(0.002)
        time.sleep(max(0.0, deadline - time.monotonic()))

    def upstreams(self, app: str) -> list[str]:
        _checked(app)
        return self._read(self.hosts_dir / app) or []

    def apps(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in self.hosts_dir.glob("*") if self.hosts_dir.is_dir() else []:
            if APP_NAME.fullmatch(path.name):
                upstreams = self._read(path)
                if upstreams is not None:
                    found[path.name] = upstreams
        return found

    def _read(self, path: Path) -> list[str] | None:
        """The upstreams in one app's hosts file; None when there is none (removed meanwhile)."""
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        addresses = [line.split()[0] for line in text.splitlines() if line.strip()]
        if addresses == [self.maintenance_address]:
            return [MAINTENANCE]
        return [f"{a}:{self.web_port}" for a in addresses if a != self.idle_address]

    def set_page(self, app: str, page: bytes | None) -> None:
        """The app's own maintenance page (None: the default one)."""
        path = self.pages_dir / f"{_checked(app)}.html"
        if page is None:
            path.unlink(missing_ok=True)
            return
        self.pages_dir.mkdir(parents=True, exist_ok=True)
        partial = self.pages_dir.parent / f".{app}.page.partial"  # renamed in: never half a page
        partial.write_bytes(page)
        os.replace(partial, path)

    # -- config pieces ----------------------------------------------------------------------

    def _name(self, app: str) -> str:
        _checked(app)
        return f"{app}.{self.zone}"

    def _address(self, dial: str) -> str:
        host, _, port = dial.rpartition(":")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"upstream must be ipv4:port, got {dial!r}") from None
        if port != str(self.web_port):
            raise ValueError(f"every upstream listens on port {self.web_port} ($PORT), got {dial!r}")
        return host

    def _server(self, tls: bool = False, routing: Routing = Routing()) -> dict[str, Any]:
        # `*.localhost` matches one label, the app; its index counts from the right.
        app_label = f"{{http.request.host.labels.{len(self.domain.split('.'))}}}"
        not_found = _respond(404, self._not_found_page())
        not_answering = _respond(503, _page("The app is not answering", "Its web processes did not take the request."))
        routes = [
            # A client's own X-Request-Id is kept when it is one Heroku would keep, else a new one.
            {"match": [{"not": [{"header_regexp": {"X-Request-Id": {"pattern": REQUEST_ID}}}]}],
             "handle": [{"handler": "headers", "request": {"set": {"X-Request-Id": ["{http.request.uuid}"]}}}]},
        ]
        # Exact host names first, then wildcards: `www.example.com` of one app is never taken by
        # another app's `*.example.com` (Caddy tries routes in order). An app that redirects to
        # HTTPS does it in its own routes, so it never redirects another app's host.
        redirect = self.tls_port is not None and not tls
        exact = [(app, f"{app}.{self.domain}") for app in sorted(routing.force_https)] if redirect else []
        exact += [(app, h) for app, hosts in sorted(routing.domains.items()) for h in hosts if not h.startswith("*.")]
        wildcard = [(app, h) for app, hosts in sorted(routing.domains.items()) for h in hosts if h.startswith("*.")]
        for group in (exact, wildcard):
            by_app: dict[str, list[str]] = {}
            for app, host in group:
                by_app.setdefault(app, []).append(host)
            for app, hosts in by_app.items():
                # Only to hosts that can have a certificate: custom ones need ACME.
                secure = [h for h in hosts if self.acme_directory or h.endswith("." + self.domain)]
                if redirect and app in routing.force_https and secure:
                    routes.append(self._redirect(secure))
                routes.append({"match": [{"host": hosts}], "handle": [self._proxy(tls, self._name(app))], "terminal": True})
        routes += [
            {"@id": APPS_ROUTE_ID, "match": [{"host": [f"*.{self.domain}"]}], "handle": [self._proxy(tls, f"{app_label}.{self.zone}")], "terminal": True},
            {"@id": NOT_FOUND_ID, "handle": [not_found]},
        ]
        return {
            "listen": [f"{self.listen_host}:{self.tls_port}" if tls else self.listen],
            # Host matchers on *.localhost would otherwise turn on HTTPS for this server (a
            # wildcard certificate for *.localhost, which TLS clients refuse).
            "automatic_https": {"disable": True},
            **({"tls_connection_policies": [{}]} if tls else {}),
            "routes": routes,
            # Every name resolves (see above): an error is the app's processes not answering.
            "errors": {"routes": [{"handle": [not_answering]}]},
            **({"logs": {"default_logger_name": "paas"}} if self.log_file is not None else {}),
        }

    def _redirect(self, hosts: list[str]) -> dict[str, Any]:
        """Plain HTTP to the same URL on HTTPS (ACME's HTTP challenges excepted)."""
        port = "" if self.tls_port == 443 else f":{self.tls_port}"
        return {
            "match": [{"host": hosts, "not": [{"path": ["/.well-known/acme-challenge/*"]}]}],
            "handle": [{"handler": "static_response", "status_code": 301,
                        "headers": {"Location": [f"https://{{http.request.host}}{port}{{http.request.uri}}"]}}],
            "terminal": True,
        }

    def _proxy(self, tls: bool, name: str) -> dict[str, Any]:
        """To the processes the name server has for `name` (an app's, or an app label's)."""
        return {
            "handler": "reverse_proxy",
            # The headers Heroku's router adds (Caddy sets X-Forwarded-For, -Proto and -Host itself).
            "headers": {"request": {"set": {
                "X-Forwarded-Port": [str(self.tls_port) if tls else self.listen.rsplit(":", 1)[1]],
                "X-Request-Start": ["{time.now.unix_ms}"],
                "Via": ["1.1 paas"],
            }}},
            "dynamic_upstreams": {
                "source": "a",
                "name": name,
                "port": str(self.web_port),
                "refresh": f"{int(self.refresh * 1000)}ms",
                "resolver": {"addresses": [f"udp/{self.dns}"]},
            },
            "load_balancing": {
                # Random, not round robin: Caddy 2.6 keeps no health state for looked-up
                # upstreams, so a retry must not be able to land on the same dead one every time
                # (measured: round robin did, for the whole try duration).
                "selection_policy": {"policy": "random"},
                # A refused connection (a process that just died) is tried again elsewhere
                # instead of failing the request; a lone upstream gets 2 s to come back.
                "try_duration": "2s",
                "try_interval": "10ms",
            },
        }

    def _not_found_page(self) -> str:
        return _page("No such app", f"Nothing is deployed at this address (*.{html.escape(self.domain)}).")

    def _maintenance_server(self, routing: Routing) -> dict[str, Any]:
        """503 for every request: the app's own page if it has one (`pages_dir/<app>.html`),
        else the default. The app is known by the request's host, as the main server knows it."""
        def page_of(app: str) -> dict[str, Any]:
            # Any method gets the page (the file server answers only GET and HEAD).
            return {"handler": "rewrite", "method": "GET", "uri": f"/{app}.html"}
        app_label = f"{{http.request.host.labels.{len(self.domain.split('.'))}}}"
        hosts = sorted((host.startswith("*."), host, app) for app, names in routing.domains.items() for host in names)
        # Of a group, only the first route that matches runs: exact names, then wildcards.
        choose = [{"match": [{"host": [host]}], "handle": [page_of(app)], "group": "page"} for _, host, app in hosts]
        choose.append({"match": [{"host": [f"*.{self.domain}"]}], "handle": [page_of(app_label)], "group": "page"})
        return {
            "listen": [f"{self.maintenance_address}:{self.web_port}"],
            "automatic_https": {"disable": True},
            "routes": [
                {"handle": [page_of("-")]},  # no app's: the default page (no path of the request's own is served)
                *choose,
                {"handle": [{"handler": "headers", "response": {"set": {"Cache-Control": ["no-store"], "Retry-After": ["120"]}},
                             # The whole page every time: a 304 or a part of it under a 503 is no page.
                             "request": {"delete": ["Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since",
                                                    "If-Unmodified-Since"]}}]},
                {"match": [{"file": {"root": str(self.pages_dir), "try_files": ["{http.request.uri.path}"]}}],
                 "handle": [{"handler": "file_server", "root": str(self.pages_dir), "status_code": 503}], "terminal": True},
                {"handle": [_respond(503, MAINTENANCE_PAGE)]},
            ],
        }

    def _page_server(self, address: str, status: int, page: str) -> dict[str, Any]:
        return {
            "listen": [f"{address}:{self.web_port}"],
            "automatic_https": {"disable": True},
            "routes": [{"handle": [_respond(status, page)]}],
        }

    # -- admin API --------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = _NO_BODY) -> Any:
        kwargs = {} if body is _NO_BODY else {"json": body}
        try:
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # A config load closes the admin API's idle connections too: once more, anew.
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


def _checked(app: str) -> str:
    if not APP_NAME.fullmatch(app):
        raise ValueError(f"not a routable app name: {app!r}")
    return app
