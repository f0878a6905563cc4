"""The outbound rule for fetches made on a tenant's behalf: which addresses are refused, and that
redirects, the name's resolution and the message cannot be used to reach or scan the host.
Servers here are real, on 127.0.0.x only."""

import functools
import http.server
import ipaddress
import re
import socket
import ssl
import threading
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from paas import outbound
from paas.certificates import server_certificate
from paas.settings import Settings

# Written from the RFCs, apart from the module's own table: each must be refused.
FORBIDDEN_RANGES = {
    "loopback": ["127.0.0.0/8", "::1/128"],
    "private (RFC 1918)": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
    "carrier-grade NAT": ["100.64.0.0/10"],
    "unique local": ["fc00::/7"],
    "link-local and metadata": ["169.254.0.0/16", "169.254.169.254/32", "fe80::/10"],
    "unspecified": ["0.0.0.0/8", "::/128"],
    "multicast": ["224.0.0.0/4", "ff00::/8"],
    "reserved and broadcast": ["240.0.0.0/4", "255.255.255.255/32"],
}
NETWORKS = [ipaddress.ip_network(n) for ranges in FORBIDDEN_RANGES.values() for n in ranges]
V4_NETWORKS = [n for n in NETWORKS if n.version == 4]
PUBLIC = ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]
MESSAGE = "is not allowed (loopback, private and link-local networks are not reachable)"


def address_in(networks):
    return st.sampled_from(networks).flatmap(
        lambda network: st.integers(0, network.num_addresses - 1).map(lambda i: network[i])
    )


def settings(allow: str = "") -> Settings:
    return Settings(outbound_allow=allow)


# --- the rule ------------------------------------------------------------------------------

@given(address_in(NETWORKS))
def test_every_address_of_a_forbidden_range_is_refused(address):
    assert not outbound.allowed(address, ())


@given(address_in(V4_NETWORKS))
def test_the_ipv6_forms_of_a_forbidden_ipv4_address_are_refused(address):
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    for form in (mapped, nat64, sixtofour):
        assert not outbound.allowed(form, ()), form


@given(address_in(NETWORKS), address_in(NETWORKS), st.integers(0, 32))
def test_an_allowed_network_lets_its_own_addresses_through_and_no_others(address, other, shorter):
    network = ipaddress.ip_network(f"{address}/{max(address.max_prefixlen - shorter, 0)}", strict=False)
    assert outbound.allowed(address, (network,))
    if address.version == 4:  # the mapped form is the same destination
        assert outbound.allowed(ipaddress.IPv6Address(f"::ffff:{address}"), (network,))
    if other not in network:
        assert not outbound.allowed(other, (network,))


@given(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address))
def test_an_ipv4_address_outside_every_forbidden_range_is_allowed(address):
    special = ["192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24"]
    if not any(address in n for n in NETWORKS + [ipaddress.ip_network(n) for n in special]):
        assert outbound.allowed(address, ())
        assert outbound.allowed(ipaddress.IPv6Address(f"::ffff:{address}"), ())


@pytest.mark.parametrize("address", PUBLIC + ["::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address):
    assert outbound.allowed(ipaddress.ip_address(address), ())


# --- the setting ---------------------------------------------------------------------------

def test_the_setting_takes_comma_separated_networks(monkeypatch):
    monkeypatch.setenv("PAAS_OUTBOUND_ALLOW", " 127.0.0.1/32, 10.1.0.0/16 ,fd00:1::/64,")
    assert Settings().outbound_allow == tuple(
        ipaddress.ip_network(n) for n in ("127.0.0.1/32", "10.1.0.0/16", "fd00:1::/64"))
    monkeypatch.setenv("PAAS_OUTBOUND_ALLOW", "")
    assert Settings().outbound_allow == ()


@pytest.mark.parametrize("bad", ["localhost", "10.0.0.0/33", "127.0.0.1/8", "10.0.0.0/8;rm"])
def test_a_bad_network_is_a_clear_start_up_error(monkeypatch, bad):
    monkeypatch.setenv("PAAS_OUTBOUND_ALLOW", f"127.0.0.1/32,{bad}")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "outbound_allow" in str(raised.value) and f"{bad!r} is not a network" in str(raised.value)


# --- check_url -----------------------------------------------------------------------------

@pytest.mark.parametrize("url, told", [
    ("git://example.com/x.git", "must start with http:// or https://"),
    ("ssh://git@example.com/x.git", "must start with http:// or https://"),
    ("file:///etc/passwd", "must start with http:// or https://"),
    ("git@example.com:x/y.git", "must start with http:// or https://"),
    ("http:///x", "has no host"),
    ("http://exa%6dple.com/", "invalid host name"),
    ("http://a b.example/", "invalid host name"),
    ("http://example.com./", "invalid host name"),  # curl would not match it to the pinned address
    ("http://example.com:0/", "invalid port"),
    ("http://[::1/", "not a valid URL"),
])
def test_check_url_refuses_what_it_cannot_check(url, told):
    with pytest.raises(outbound.OutboundError, match=told):
        outbound.check_url(settings(), url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:5000/v2/", "http://127.1/", "http://2130706433/", "http://0x7f.1/", "http://localhost/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "https://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/", "http://user:pw@192.168.1.1:8080/", "http://0.0.0.0/", "http://[fe80::1]/",
])
def test_check_url_refuses_the_hosts_own_addresses_in_any_spelling(url):
    host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host = host[1:host.index("]")] if host.startswith("[") else host.split(":", 1)[0]
    with pytest.raises(outbound.OutboundError) as raised:
        outbound.check_url(settings(), url)
    assert str(raised.value) == f"the address of {host} {MESSAGE}"


def test_check_url_gives_the_checked_address_and_the_default_port():
    assert outbound.check_url(settings("127.0.0.0/8"), "http://127.1/x") == ("127.1", 80, "127.0.0.1")
    assert outbound.check_url(settings("::1/128"), "https://[::1]/x") == ("::1", 443, "::1")
    assert outbound.check_url(settings(), "https://8.8.8.8:8443/") == ("8.8.8.8", 8443, "8.8.8.8")


def test_a_name_is_refused_when_any_of_its_addresses_is(monkeypatch):
    answers = {"mixed.example": ["8.8.8.8", "10.0.0.1"], "public.example": ["8.8.8.8", "1.1.1.1"]}
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(answers))
    with pytest.raises(outbound.OutboundError, match=re.escape(f"the address of mixed.example {MESSAGE}")):
        outbound.check_url(settings(), "http://mixed.example/")
    assert outbound.check_url(settings(), "http://public.example/") == ("public.example", 80, "8.8.8.8")
    with pytest.raises(outbound.OutboundError, match="could not resolve nowhere.example"):
        outbound.check_url(settings(), "http://nowhere.example/")


real_getaddrinfo = socket.getaddrinfo


def fake_resolver(answers: dict[str, list[str]], calls: list | None = None):
    """getaddrinfo for names of the test's own (IP literals as they are); nothing leaves the machine."""
    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
            return real_getaddrinfo(host, port, *args, **kwargs)
        except ValueError:
            pass
        if calls is not None:
            calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
    return getaddrinfo


# --- stream, against real servers on 127.0.0.x --------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    seen: list = []

    def do_GET(self):
        self.seen.append((self.server.server_address[0], self.path, self.headers.get("Host")))
        status, location, body = self.routes.get(self.path, (404, None, b"none"))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def server(address: str, routes: dict, tls: ssl.SSLContext | None = None):
    handler = type("H", (Handler,), {"routes": routes, "seen": []})
    served = http.server.ThreadingHTTPServer((address, 0), handler)
    if tls is not None:
        served.socket = tls.wrap_socket(served.socket, server_side=True)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    try:
        yield served.server_address[1], handler.seen
    finally:
        served.shutdown()
        served.server_close()


def closed_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]  # closed again on leaving: nothing listens there


def fetch(allow: str, url: str) -> tuple[int, bytes]:
    with outbound.stream(settings(allow), url, timeout=10) as response:
        return response.status_code, response.read()


def test_a_redirect_to_a_refused_address_is_refused_and_followed_where_allowed():
    with server("127.0.0.2", {"/x": (200, None, b"second")}) as (port2, seen2):
        target = f"http://127.0.0.2:{port2}/x"
        with server("127.0.0.1", {"/go": (302, target, b"")}) as (port1, seen1):
            with pytest.raises(outbound.OutboundError) as raised:
                fetch("127.0.0.1/32", f"http://127.0.0.1:{port1}/go")
            assert str(raised.value) == f"the address of 127.0.0.2 {MESSAGE}"
            assert len(seen1) == 1 and seen2 == []  # the redirect was read, its target never asked
            # Positive control: the same redirect with the target's network allowed.
            assert fetch("127.0.0.0/8", f"http://127.0.0.1:{port1}/go") == (200, b"second")
            assert seen2 == [("127.0.0.2", "/x", f"127.0.0.2:{port2}")]


def test_a_refused_address_gets_one_message_whether_or_not_something_listens():
    with server("127.0.0.2", {"/": (401, None, b"who are you")}) as (listening, seen):
        closed = closed_port("127.0.0.2")
        told = set()
        for port in (listening, closed):
            with pytest.raises(outbound.OutboundError) as raised:
                fetch("127.0.0.1/32", f"http://127.0.0.2:{port}/")
            told.add(str(raised.value))
        assert told == {f"the address of 127.0.0.2 {MESSAGE}"} and seen == []
        # Positive control: where the address is allowed, the two ports do answer differently.
        assert fetch("127.0.0.0/8", f"http://127.0.0.2:{listening}/") == (401, b"who are you")
        with pytest.raises(outbound.OutboundError, match="(?i)connection refused"):
            fetch("127.0.0.0/8", f"http://127.0.0.2:{closed}/")


def test_redirects_are_limited_and_only_to_http():
    routes = {"/loop": (302, "/loop", b""), "/file": (301, "file:///etc/passwd", b""),
              "/ftp": (307, "ftp://127.0.0.1/x", b""), "/relative": (308, "../final?q=1", b""),
              "/final?q=1": (200, None, b"here")}
    with server("127.0.0.1", routes) as (port, seen):
        base = f"http://127.0.0.1:{port}"
        with pytest.raises(outbound.OutboundError, match=f"more than {outbound.MAX_REDIRECTS} redirects"):
            fetch("127.0.0.1/32", f"{base}/loop")
        assert len(seen) == outbound.MAX_REDIRECTS + 1
        for path in ("/file", "/ftp"):
            with pytest.raises(outbound.OutboundError, match="a redirect's URL must start with http:// or https://"):
                fetch("127.0.0.1/32", base + path)
        assert fetch("127.0.0.1/32", f"{base}/relative") == (200, b"here")  # positive control


def test_the_name_is_resolved_once_and_the_checked_address_is_used(monkeypatch):
    """DNS rebinding: the first answer is checked and used, a second one (here: the refused
    127.0.0.2) is never asked for. The name goes in the Host header."""
    with server("127.0.0.3", {"/bp.tgz": (200, None, b"checked")}) as (port, seen):
        calls = []
        answers = {"buildpacks.example": ["127.0.0.3"]}
        monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(answers, calls))
        with outbound.stream(settings("127.0.0.3/32"), f"http://buildpacks.example:{port}/bp.tgz", timeout=10) as response:
            answers["buildpacks.example"] = ["127.0.0.2"]  # what a rebinding name server says next
            assert response.read() == b"checked"
        assert calls == ["buildpacks.example"]
        assert seen == [("127.0.0.3", "/bp.tgz", f"buildpacks.example:{port}")]
        # Positive control: asked again, the new answer is checked, and refused.
        with pytest.raises(outbound.OutboundError, match=re.escape(f"the address of buildpacks.example {MESSAGE}")):
            fetch("127.0.0.3/32", f"http://buildpacks.example:{port}/bp.tgz")


def test_https_to_the_checked_address_verifies_the_name(monkeypatch, tmp_path):
    """Connected by address, TLS still sends the name (SNI) and checks the certificate against it."""
    cert, key = server_certificate(tmp_path / "tls", tmp_path / "ca.crt", ["buildpacks.example"])
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.crt"))  # the test's CA, not the system's
    monkeypatch.setattr(outbound, "system_cas", functools.cache(outbound.system_cas.__wrapped__))  # read from there
    names = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    with server("127.0.0.3", {"/bp.tgz": (200, None, b"secure")}, tls=context) as (port, seen):
        answers = {"buildpacks.example": ["127.0.0.3"], "impostor.example": ["127.0.0.3"]}
        monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(answers))
        assert fetch("127.0.0.3/32", f"https://buildpacks.example:{port}/bp.tgz") == (200, b"secure")
        assert names == ["buildpacks.example"] and seen == [("127.0.0.3", "/bp.tgz", f"buildpacks.example:{port}")]
        # Control: a name the certificate does not hold fails, at the same address.
        with pytest.raises(outbound.OutboundError, match="(?i)certificate"):
            fetch("127.0.0.3/32", f"https://impostor.example:{port}/bp.tgz")
        assert names[-1] == "impostor.example" and len(seen) == 1
