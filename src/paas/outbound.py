"""Fetches made on a tenant's behalf (source URLs, buildpacks) and webhooks' deliveries: the
host's own and private networks are out of reach.

The worker fetches on the host's network, so a URL could otherwise reach the host's services, its
private networks and a cloud's metadata service (a port scanner in the build output). The rule:
every address a host name resolves to must be outside the networks below, unless it is inside one
the operator allows (`PAAS_OUTBOUND_ALLOW`). The name is resolved once and the connection goes to
the address that was checked, so a second answer of a name server (DNS rebinding) is never used.
Redirects are followed here, each target checked again. A refused address is refused before any
connection, with one message whatever listens there.
"""

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import NamedTuple

import httpx

from paas.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORBIDDEN = tuple(ipaddress.ip_network(n) for n in (
    # IPv4: "this network" (0.0.0.0 included), RFC 1918, CGNAT, loopback, link-local (cloud
    # metadata at 169.254.169.254), IETF protocol assignments, documentation, benchmarking,
    # multicast, reserved and broadcast.
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    # IPv6: unspecified, loopback and IPv4-compatible (::/96), IPv4-translated, discard, IETF
    # protocol assignments (Teredo included), documentation, unique local, link-local, site-local,
    # multicast.
    "::/96", "::ffff:0:0:0/96", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
# A host name as DNS spells it, or an IP literal (checked apart): anything else (percent signs,
# backslashes, spaces) could be read as another host by another URL parser, git's included. No
# trailing dot: curl would not match `name.` to the address pinned for it, and look it up again.
HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*", re.IGNORECASE)


class OutboundError(Exception):
    """A fetch that was refused or failed; the message is fit for the tenant's build output."""


class Destination(NamedTuple):
    host: str  # as in the URL, IDNA-encoded, without brackets
    port: int
    address: str  # the checked address to connect to


def allowed(address: Address, allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """Whether a fetch may connect to `address`. An IPv6 form of an IPv4 address (mapped,
    NAT64, 6to4) is judged as that IPv4 address too."""
    forms = [address]
    if address.version == 6:
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            forms.append(inner)
    if any(form in network for form in forms for network in allow):
        return True
    return not any(form in network for form in forms for network in FORBIDDEN)


def check_url(settings: Settings, url: str, schemes: tuple[str, ...] = SCHEMES) -> Destination:
    """Resolve the URL's host once and check every address; the first one is where to connect.
    For clients that are not `stream` (git): pin them to `address`."""
    parsed = _parse(url, schemes)
    return _check(settings, parsed)


@cache
def system_cas() -> ssl.SSLContext:
    """The system's CAs, read once (reading them costs more than a request)."""
    return ssl.create_default_context()


@contextmanager
def stream(settings: Settings, url: str, timeout: float, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
    """GET `url` and yield the response (its body not read yet), following up to MAX_REDIRECTS
    redirects, each checked again. Raises OutboundError (refused, unreachable, a network error
    while the body is read); any status but a redirect is the caller's to judge."""
    target = _parse(url, SCHEMES)
    # No proxy from the environment (it would connect for us, to anything); the system's CAs.
    with httpx.Client(trust_env=False, verify=system_cas(), timeout=timeout) as client:
        try:
            response = _follow(client, settings, target, headers or {})
            try:
                yield response
            finally:
                response.close()
        except httpx.HTTPError as error:
            raise OutboundError(str(error) or type(error).__name__) from None


def _follow(client: httpx.Client, settings: Settings, target: httpx.URL, headers: dict[str, str]) -> httpx.Response:
    for _ in range(MAX_REDIRECTS + 1):
        destination = _check(settings, target)
        # To the checked address; the name still goes in the Host header and TLS (SNI and the
        # certificate's check).
        request = client.build_request(
            "GET", target.copy_with(host=destination.address, fragment=None),
            headers={**headers, "Host": target.netloc.decode("ascii")},
            extensions={"sni_hostname": destination.host} if target.scheme == "https" else {},
        )
        response = client.send(request, stream=True)
        if not response.is_redirect:
            return response
        response.close()
        try:
            location = str(target.join(response.headers["location"]))
        except httpx.InvalidURL:
            raise OutboundError(f"{destination.host} redirected to an invalid URL") from None
        target = _parse(location, SCHEMES, redirect=True)
    raise OutboundError(f"more than {MAX_REDIRECTS} redirects")


def _parse(url: str, schemes: tuple[str, ...], redirect: bool = False) -> httpx.URL:
    what = "a redirect's URL" if redirect else "the URL"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise OutboundError(f"{what} is not a valid URL") from None
    if parsed.scheme not in schemes:
        raise OutboundError(f"{what} must start with {' or '.join(f'{scheme}://' for scheme in schemes)}")
    host = _host(parsed)
    if not host:
        raise OutboundError(f"{what} has no host")
    if not (HOST_NAME.fullmatch(host) or _literal(host)):
        raise OutboundError(f"{what} has an invalid host name")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise OutboundError(f"{what} has an invalid port")
    return parsed


async def post(settings: Settings, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` once (no redirect is followed: a receiver answers for itself); the status.
    Its body is never read. Raises OutboundError (refused, unreachable, `timeout` seconds in all)."""
    target = _parse(url, SCHEMES)
    host, port = _host(target), target.port or DEFAULT_PORTS[target.scheme]
    try:
        async with asyncio.timeout(timeout):
            try:
                found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
            except (socket.gaierror, UnicodeError):
                raise OutboundError(f"could not resolve {host}") from None
            destination = _judge(settings, host, port, found)
            async with httpx.AsyncClient(trust_env=False, verify=system_cas(), timeout=timeout) as client:
                request = client.build_request(
                    "POST", target.copy_with(host=destination.address, fragment=None), content=body,
                    headers={**headers, "Host": target.netloc.decode("ascii")},
                    extensions={"sni_hostname": destination.host} if target.scheme == "https" else {},
                )
                response = await client.send(request, stream=True)
                await response.aclose()
                return response.status_code
    except (TimeoutError, httpx.TimeoutException):
        raise OutboundError(f"no answer within {timeout:g} s") from None
    except httpx.ConnectError:
        raise OutboundError(f"could not connect to {host}:{port}") from None
    except httpx.HTTPError as error:  # its words may quote what was sent (a header): only its kind
        raise OutboundError(f"failed ({type(error).__name__})") from None


def _check(settings: Settings, url: httpx.URL) -> Destination:
    host = _host(url)
    port = url.port or DEFAULT_PORTS.get(url.scheme)
    if port is None:
        raise OutboundError("the URL has no port")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise OutboundError(f"could not resolve {host}") from None
    return _judge(settings, host, port, found)


def _judge(settings: Settings, host: str, port: int, found: list) -> Destination:
    """Every address the name resolved to must be allowed; the first is where to connect."""
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]
    # The name, never the address: what a name resolves to inside the host's network stays there.
    if not addresses or not all(allowed(address, settings.outbound_allow) for address in addresses):
        raise OutboundError(
            f"the address of {host} is not allowed (loopback, private and link-local networks are not reachable)"
        )
    return Destination(host, port, str(addresses[0]))


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii")


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
