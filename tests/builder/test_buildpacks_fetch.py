"""Fetching custom buildpacks through the outbound rule, with the real git CLI and real HTTP
servers on 127.0.0.x: refused addresses, no redirects for git, git pinned to the checked address."""

import http.server
import re
import socket
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from paas.builder.buildpacks import BuildError
from paas.builder.buildpacks.fetch import fetch_buildpack
from paas.settings import Settings
from tests.served_buildpacks import publish

REFUSED = "is not allowed (loopback, private and link-local networks are not reachable)"
SCRIPTS = {"bin/detect": "#!/bin/sh\necho Tiny\n", "bin/compile": "#!/bin/sh\ntrue\n"}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Path:
    """A buildpack as a tarball and as a bare git repository for git's "dumb" HTTP protocol."""
    root = tmp_path_factory.mktemp("served")
    source = tmp_path_factory.mktemp("tiny")
    for rel, text in SCRIPTS.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(text)
    publish(source, root, "tiny")
    return root


@contextmanager
def serving(root: Path, address: str, redirect_to: str | None = None):
    """Files under `root`; with `redirect_to`, every request is redirected there instead."""
    seen = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            seen.append(self.path)
            if redirect_to is None:
                return super().do_GET()
            self.send_response(302)
            self.send_header("Location", redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((address, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{address}:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def fetch(allow: str, url: str, cache: Path) -> Path:
    return fetch_buildpack(Settings(outbound_allow=allow), url, cache, lambda line: None)


@pytest.mark.parametrize("kind", ["tiny.tgz", "tiny.git#main"])
def test_a_buildpack_on_a_refused_address_is_refused_and_fetched_where_allowed(served, tmp_path, kind):
    with serving(served, "127.0.0.2") as (base, seen):
        url = f"{base}/{kind}"
        with pytest.raises(BuildError) as raised:
            fetch("127.0.0.1/32", url, tmp_path)
        assert str(raised.value) == f"could not fetch buildpack {url}: the address of 127.0.0.2 {REFUSED}"
        assert seen == []
        path = fetch("127.0.0.2/32", url, tmp_path)  # positive control
        assert (path / "bin" / "compile").is_file() and seen


@pytest.mark.parametrize("url", ["git://127.0.0.1/tiny.git", "ssh://git@127.0.0.1/tiny.git", "file:///tmp/tiny.git"])
def test_git_urls_other_than_http_are_refused(served, tmp_path, url):
    with pytest.raises(BuildError, match=re.escape(f"could not fetch buildpack {url}: the URL must start with http:// or https://")):
        fetch("127.0.0.0/8", url, tmp_path)
    # Positive control: the same repository over http is fetched.
    with serving(served, "127.0.0.1") as (base, _):
        assert (fetch("127.0.0.0/8", f"{base}/tiny.git", tmp_path) / "bin" / "detect").is_file()


def test_git_follows_no_redirect_even_to_an_allowed_address(served, tmp_path):
    with serving(served, "127.0.0.2") as (target, seen_target):
        with serving(served, "127.0.0.1", redirect_to=target) as (base, seen):
            with pytest.raises(BuildError, match=re.escape(f"could not fetch buildpack {base}/tiny.git: ") + ".* 302"):
                fetch("127.0.0.0/8", f"{base}/tiny.git", tmp_path)
            assert seen and seen_target == []
        # Positive control: the redirect's target itself is fetched.
        assert (fetch("127.0.0.0/8", f"{target}/tiny.git", tmp_path / "direct") / "bin" / "detect").is_file()


def test_git_connects_to_the_checked_address_not_its_own_lookup(served, tmp_path, monkeypatch):
    """The check resolved `localhost` to 127.0.0.3 (a name server of the test's own); git's own
    lookup would say 127.0.0.1, where nothing listens on that port. Only the pin gets there."""
    with serving(served, "127.0.0.3") as (base, seen):
        port = int(base.rsplit(":", 1)[1])
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing there
        url = f"http://localhost:{port}/tiny.git"
        unpinned = subprocess.run(["git", "ls-remote", url], capture_output=True, text=True, timeout=60)
        assert unpinned.returncode != 0 and seen == []  # control: git alone does not reach it

        real = socket.getaddrinfo

        def resolve(host, *args, **kwargs):
            return real("127.0.0.3" if host == "localhost" else host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        assert (fetch("127.0.0.3/32", url, tmp_path) / "bin" / "detect").is_file()
        assert seen


def test_redirects_of_a_tarball_are_checked_again(served, tmp_path):
    with serving(served, "127.0.0.2") as (target, seen_target):
        with serving(served, "127.0.0.1", redirect_to=target) as (base, _):
            with pytest.raises(BuildError, match=re.escape(f"the address of 127.0.0.2 {REFUSED}")):
                fetch("127.0.0.1/32", f"{base}/tiny.tgz", tmp_path)
            assert seen_target == []
            # Positive control: allowed, the redirect is followed.
            assert (fetch("127.0.0.0/8", f"{base}/tiny.tgz", tmp_path) / "bin" / "detect").is_file()
            assert seen_target == ["/tiny.tgz"]



@pytest.mark.parametrize("kind", ["tgz", "git"])
def test_a_buildpack_whose_links_lead_out_is_refused(tmp_path, kind):
    """Buildpacks unpack as a build's source does: a chain of links that together lead out of the
    buildpack (each one alone looks inside) is refused, from a tarball and from git alike."""
    pack, served = tmp_path / "sneaky", tmp_path / "served"
    served.mkdir()
    for rel, text in SCRIPTS.items():
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        (pack / rel).write_text(text)
    chain = "/".join(f"d{i}" for i in range(6))
    (pack / chain).parent.mkdir(parents=True)
    (pack / chain).symlink_to("../" * 5)
    (pack / "bin" / "release").symlink_to("../" + chain + "/.." * 6 + "/etc/hostname")
    publish(pack, served, "sneaky")
    url_path = "sneaky.tgz" if kind == "tgz" else "sneaky.git#main"
    with serving(served, "127.0.0.1") as (base, _):
        with pytest.raises(BuildError, match="the link 'bin/release' points outside the source"):
            fetch("127.0.0.1/32", f"{base}/{url_path}", tmp_path / "cache")
