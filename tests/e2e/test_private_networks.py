"""Apps' processes and builds reach no private network through the host (a site's LAN, a cloud's
metadata service) but what the operator allows (PAAS_OUTBOUND_ALLOW), tried from inside both.

The private network is a network namespace of this test's, which the host routes to as it would
to its site's LAN: 10.253.77.2 (allowed by `make test`: the positive control), 10.253.77.3 (not
allowed) and 169.254.77.2 (link-local, where a cloud's metadata service would be), each serving
HTTP. No packet of this test leaves the host."""

import ipaddress
import secrets
import subprocess

import pytest

from tests.e2e.conftest import SAMPLE_APP
from tests.e2e.test_addons import reaches

pytestmark = pytest.mark.e2e

ALLOWED, REFUSED, LINK_LOCAL = "10.253.77.2", "10.253.77.3", "169.254.77.2"
PORT = 8000
# The answer of the host's rule: the same whether anything listens there or not.
NO_ROUTE = "[Errno 113] No route to host"
PROBE = f"""\
import urllib.request
for address in {[ALLOWED, REFUSED, LINK_LOCAL]!r}:
    try:
        answer = urllib.request.urlopen(f"http://{{address}}:{PORT}/", timeout=5).read().decode().strip()
    except Exception as error:
        answer = f"{{type(error).__name__}}: {{error}}"
    print(f"probe {{address}}: {{answer}}", flush=True)
"""


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@pytest.fixture
def private_site(settings):
    allowed = ipaddress.ip_address(ALLOWED)
    assert any(allowed in network for network in settings.outbound_allow), \
        f"the platform must allow {ALLOWED}/32 (PAAS_OUTBOUND_ALLOW, as make test sets)"
    name, host_side = f"paas-site-{secrets.token_hex(3)}", f"ps{secrets.token_hex(3)}"
    run("ip", "netns", "add", name)
    try:
        run("ip", "link", "add", host_side, "type", "veth", "peer", "name", "site", "netns", name)
        for address, here in (("10.253.77.1/29", host_side), ("169.254.77.1/24", host_side)):
            run("ip", "addr", "add", address, "dev", here)
        for address in (f"{ALLOWED}/29", f"{REFUSED}/29", f"{LINK_LOCAL}/24"):
            run("ip", "netns", "exec", name, "ip", "addr", "add", address, "dev", "site")
        run("ip", "link", "set", host_side, "up")
        run("ip", "netns", "exec", name, "ip", "link", "set", "site", "up")
        run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        server = subprocess.Popen(
            ["ip", "netns", "exec", name, "python3", "-c",
             "import http.server as h\n"
             "class A(h.BaseHTTPRequestHandler):\n"
             "    def do_GET(self):\n"
             "        self.send_response(200); self.end_headers(); self.wfile.write(b'on the site network')\n"
             f"h.ThreadingHTTPServer(('0.0.0.0', {PORT}), A).serve_forever()\n"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            # The host itself reaches every address: what stops apps and builds is the rule alone.
            for address in (ALLOWED, REFUSED, LINK_LOCAL):
                run("curl", "-sf", "--retry", "20", "--retry-connrefused", "--retry-delay", "0", "--max-time", "5",
                    f"http://{address}:{PORT}/")
            yield
        finally:
            server.kill()
            server.wait()
    finally:
        subprocess.run(["ip", "link", "del", host_side], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_an_app_process_reaches_only_the_allowed_private_address(private_site, new_app, router):
    name, checkout = new_app("backing")
    assert checkout.push().returncode == 0
    assert reaches(router, name, f"http://{ALLOWED}:{PORT}/") == {"reached": True}
    for address in (REFUSED, LINK_LOCAL):
        probe = reaches(router, name, f"http://{address}:{PORT}/")
        assert probe["reached"] is False and NO_ROUTE in probe["error"], (address, probe)


def test_a_build_reaches_only_the_allowed_private_address(private_site, new_app):
    _, checkout = new_app(SAMPLE_APP)
    checkout.write("probe.py", PROBE)
    checkout.write("Dockerfile", (SAMPLE_APP / "Dockerfile").read_text() + "RUN python3 /app/probe.py\n")
    checkout.commit("probe the site's network")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert f"probe {ALLOWED}: on the site network" in pushed.stderr, pushed.stderr
    for address in (REFUSED, LINK_LOCAL):
        assert f"probe {address}: URLError: <urlopen error {NO_ROUTE}>" in pushed.stderr, pushed.stderr
