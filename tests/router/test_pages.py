"""An app's maintenance page as the runner fetches it: under the outbound rule, whole, small,
uncompressed and quick, else a clear reason (and the default page). Servers of the test's own on
127.0.0.1 (allowed here) and 127.0.0.2 (refused)."""

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paas.outbound import OutboundError
from paas.router import pages
from paas.settings import Settings

SETTINGS = Settings(outbound_allow="127.0.0.1/32")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/page":
            body = b"<h1>back soon</h1>"
            self.send_response(200)
        elif self.path == "/gzip":
            body = gzip.compress(b"x" * 10_000_000)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
        elif self.path == "/large":
            body = b"x" * (pages.MAX_PAGE + 1)
            self.send_response(200)
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):  # bounded: 100 bytes, one a tenth of a second
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        else:
            body = b"no"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_is_fetched_whole(url):
    assert pages.fetch_page(SETTINGS, f"{url}/page") == b"<h1>back soon</h1>"


@pytest.mark.parametrize("path, reason", [
    ("/missing", "it answered HTTP 404"),
    ("/gzip", "it answered compressed, though asked not to"),
    ("/large", "the page is larger than 1024 kB"),
])
def test_a_page_that_cannot_be_served_is_refused_with_its_reason(url, path, reason):
    with pytest.raises(OutboundError) as refused:
        pages.fetch_page(SETTINGS, url + path)
    assert str(refused.value) == reason


def test_a_slow_page_gives_up_at_the_deadline_and_never_holds_the_caller(url, monkeypatch):
    monkeypatch.setattr(pages, "FETCH_TIME", 0.5)
    started = time.monotonic()
    with pytest.raises(OutboundError) as refused:
        pages.fetch_page(SETTINGS, f"{url}/drip")
    assert str(refused.value) == "it took longer than 0.5 s"
    assert time.monotonic() - started < 1.5


def test_the_outbound_rule_applies():
    with pytest.raises(OutboundError) as refused:
        pages.fetch_page(SETTINGS, "http://127.0.0.2:9/page")
    assert "127.0.0.2" in str(refused.value)
