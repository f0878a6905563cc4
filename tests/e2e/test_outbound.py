"""Buildpack URLs cannot scan the host: as a second, non-admin user, a buildpack on a refused
address (127.0.0.2, directly, on a closed port, through a redirect, over git) rejects the push with
one message, and nothing reaches the server there; the same server at 127.0.0.1 (allowed by
`make test`'s PAAS_OUTBOUND_ALLOW=127.0.0.1/32) builds.

The platform must run with PAAS_OUTBOUND_ALLOW=127.0.0.1/32 (`make test` sets it)."""

import http.server
import re
import secrets
import socket
import string
import threading

import httpx
import pytest

from tests.e2e.conftest import Checkout
from tests.served_buildpacks import publish

pytestmark = pytest.mark.e2e

REFUSED = "the address of 127.0.0.2 is not allowed (loopback, private and link-local networks are not reachable)"
SCRIPTS = {
    "bin/detect": "#!/bin/sh\necho Fenced\n",
    "bin/compile": "#!/bin/sh\necho '-----> Fenced buildpack compiled'\n",
    "bin/release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: exec python3 -m http.server $PORT\\n'\n",
}


@pytest.fixture
def tenant(api, settings):
    """A second user, not an admin: (their API client, their git remote for an app of theirs)."""
    suffix = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    email, app = f"tenant-{suffix}@example.com", f"t-{suffix}"
    made = api.post("/accounts", json={"email": email})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    client = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert client.get("/account").json()["admin"] is False
    assert client.post("/apps", json={"name": app}).status_code == 201
    yield client, app, f"http://tenant:{token}@{settings.api_url.removeprefix('http://')}/{app}.git"
    client.delete(f"/apps/{app}")
    client.close()
    api.delete(f"/accounts/{email}")


@pytest.fixture
def buildpack_servers(tmp_path):
    """One buildpack (a .tgz and a git repository), served on 127.0.0.1 and 127.0.0.2 at the same
    port; /redirect/<path> on either sends the client to 127.0.0.2. Every request is recorded."""
    root = tmp_path / "served"
    source = tmp_path / "fenced"
    for rel, text in SCRIPTS.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(text)
        (source / rel).chmod(0o755)
    root.mkdir()
    publish(source, root, "fenced")
    seen = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            seen.append((self.server.server_address[0], self.path))
            if self.path.startswith("/redirect/"):
                self.send_response(302)
                port = self.server.server_address[1]
                self.send_header("Location", f"http://127.0.0.2:{port}/{self.path.removeprefix('/redirect/')}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

    servers = []
    for _ in range(20):  # a free port on 127.0.0.2 that is free on 127.0.0.1 too
        second = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        try:
            first = http.server.ThreadingHTTPServer(("127.0.0.1", second.server_address[1]), Handler)
        except OSError:
            second.server_close()
            continue
        servers = [first, second]
        break
    assert servers, "no port free on both 127.0.0.1 and 127.0.0.2"
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers[0].server_address[1], seen
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return probe.getsockname()[1]


def push_with(client, app: str, checkout: Checkout, buildpack: str):
    client.patch(f"/apps/{app}/config-vars", json={"BUILDPACK_URL": buildpack}).raise_for_status()
    checkout.commit(f"build with {buildpack}")
    return checkout.push()


def refused_with(client, app, checkout, buildpack) -> str:
    pushed = push_with(client, app, checkout, buildpack)
    assert pushed.returncode != 0 and "[remote rejected]" in pushed.stderr, pushed.stderr
    lines = [line for line in pushed.stderr.splitlines() if "could not fetch buildpack" in line]
    assert lines, pushed.stderr
    return lines[0]


def test_buildpack_urls_cannot_reach_refused_addresses(tenant, buildpack_servers, tmp_path):
    client, app, remote = tenant
    port, seen = buildpack_servers
    source = tmp_path / "app"
    source.mkdir()
    (source / "index.txt").write_text("fenced\n")
    checkout = Checkout(tmp_path / "checkout", remote, source=source)

    told = {}
    for what, url in {
        "tarball": f"http://127.0.0.2:{port}/fenced.tgz",
        "closed port": f"http://127.0.0.2:{closed_port()}/fenced.tgz",
        "redirect": f"http://127.0.0.1:{port}/redirect/fenced.tgz",
        "git": f"http://127.0.0.2:{port}/fenced.git",
    }.items():
        line = refused_with(client, app, checkout, url)
        assert f"could not fetch buildpack {url}: {REFUSED}" in line, (what, line)
        told[what] = re.sub(r"http://127\.0\.0\.[12]:\d+/(redirect/)?", "URL/", line)
    # One message whether a server listens there or not, and the server on 127.0.0.2 saw nothing.
    assert told["tarball"] == told["closed port"] == told["redirect"], told
    assert [address for address, _ in seen] == ["127.0.0.1"], seen  # only the redirect was asked

    # Positive control: the same server's buildpack at 127.0.0.1 builds, as a tarball and from git.
    for url in (f"http://127.0.0.1:{port}/fenced.tgz", f"http://127.0.0.1:{port}/fenced.git#main"):
        pushed = push_with(client, app, checkout, url)
        assert pushed.returncode == 0, (
            f"{pushed.stderr}\n(is the platform running with PAAS_OUTBOUND_ALLOW=127.0.0.1/32, as make test sets?)")
        assert "Fenced buildpack compiled" in pushed.stderr, pushed.stderr
    assert all(address == "127.0.0.1" for address, _ in seen), seen


def test_a_source_blob_url_cannot_reach_a_refused_address(tenant, buildpack_servers):
    """The same rule for the builds API's source URL."""
    client, app, _remote = tenant
    port, seen = buildpack_servers

    def build_from(url: str) -> str:
        build = client.post(f"/apps/{app}/builds", json={"source_blob": {"url": url}})
        assert build.status_code == 201, build.text
        return httpx.get(build.json()["output_stream_url"], timeout=300).text

    output = build_from(f"http://127.0.0.2:{port}/fenced.tgz")
    assert REFUSED in output and seen == [], output
    # Positive control: at 127.0.0.1 the same file is fetched (whatever the build makes of it).
    output = build_from(f"http://127.0.0.1:{port}/fenced.tgz")
    assert REFUSED not in output and seen == [("127.0.0.1", "/fenced.tgz")], output
