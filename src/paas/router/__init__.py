"""The router: turns `<app>.<domain>` host names into HTTP traffic to an app's web processes."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from paas.domain.crypto import load_key
from paas.signing import Signer

if TYPE_CHECKING:
    from paas.settings import Settings


# What set_app is given for an app in maintenance, and what upstreams() then answers.
MAINTENANCE = "maintenance"

# Where Caddy asks the API whether a host may have a certificate (only Caddy may: its URL is signed).
TLS_ASK_PATH = "/router/tls-ask"


def tls_ask_url(settings: "Settings") -> str:
    """The ask URL Caddy is configured with (it adds `domain=`), signed with the platform's key."""
    return Signer(load_key(settings)).signed(settings.api_url, TLS_ASK_PATH)


class RouterError(Exception):
    """The router refused a change or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the admin API's HTTP status; None when it could not be reached


@dataclass(frozen=True)
class Routing:
    """What the router serves beyond `<app>.<domain>`: custom hosts, and apps that redirect HTTP to HTTPS."""

    domains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # app name -> host names
    force_https: frozenset[str] = frozenset()


class Router(Protocol):
    # Seconds after set_app or remove_app returns until every new request sees the change, at most.
    settle_time: float

    def settle(self, app: str) -> None:
        """Return once every new request sees the app's last set_app or remove_app (within settle_time)."""

    def ensure_server(self, routing: Routing = Routing()) -> None:
        """Create the router's servers if missing or changed, with `routing`'s custom domains
        and redirects; leave the apps' processes alone."""

    def set_app(self, app: str, upstreams: list[str]) -> None:
        """Route `<app>.<domain>` to `upstreams` ("host:port"); an empty list answers 503, and
        `[MAINTENANCE]` the maintenance page (503)."""

    def set_page(self, app: str, page: bytes | None) -> None:
        """The app's own maintenance page (HTML), or None for the router's default one."""

    def remove_app(self, app: str) -> None:
        """Stop routing the app (its host then gets the 404 page). Idempotent."""

    def upstreams(self, app: str) -> list[str]:
        """What the router sends one app's requests to now ([] for none)."""

    def apps(self) -> dict[str, list[str]]:
        """What the router serves now: app name -> upstreams ([] for a 503 route)."""


def make_router(settings: "Settings") -> Router:
    from paas.router.caddy import CaddyRouter

    return CaddyRouter.from_settings(settings)
