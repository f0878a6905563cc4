"""PAAS_DOMAIN_VERIFY: a custom domain is added only when a TXT record in its DNS proves it is the
user's. The DNS is a name server of the test's own (dnsmasq on 127.0.0.1), asked by the real API."""

import random
import socket
import subprocess
import time
from contextlib import contextmanager

import dns.exception
import dns.message
import dns.query
import pytest
from fastapi.testclient import TestClient

from paas.platform.app import create_app
from paas.platform.ownership import PREFIX


def free_port() -> int:
    """A port free for both UDP and TCP (dnsmasq takes both), below the range outgoing
    connections take theirs from."""
    for port in random.sample(range(20000, 32000), 50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            try:
                udp.bind(("127.0.0.1", port))
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port for the name server")


@contextmanager
def name_server(port: int, records: dict[str, str]):
    """dnsmasq answering only these TXT records (and nothing else, forwarding nowhere)."""
    command = ["dnsmasq", "--keep-in-foreground", "--port", str(port), "--listen-address", "127.0.0.1",
               "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--local=/test/",
               *(f"--txt-record={name},{value}" for name, value in records.items())]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(50):  # up once it answers a query
            try:
                dns.query.udp(dns.message.make_query("probe.test", "TXT"), "127.0.0.1", port=port, timeout=0.2)
                break
            except dns.exception.Timeout:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.05)
        yield
    finally:
        server.terminate()
        server.wait(5)


@pytest.fixture
def verifying(api_settings, test_sessionmaker, token):
    port = free_port()
    settings = api_settings.model_copy(update={"domain_verify": True, "domain_verify_dns": f"127.0.0.1:{port}"})
    app = create_app(settings)
    app.api.state.platform.sessionmaker = test_sessionmaker
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for name in ("shop", "other"):
            assert client.post("/apps", json={"name": name}).status_code == 201
        yield client, port


def test_a_domain_is_added_only_once_its_dns_proves_it(verifying):
    client, port = verifying
    with name_server(port, {}):
        refused = client.post("/apps/shop/domains", json={"hostname": "www.shop.test"})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["id"] == "domain_unverified" and body["record"]["name"] == f"{PREFIX}.www.shop.test"
    assert body["record"]["value"] in body["message"]
    assert client.get("/apps/shop/domains/www.shop.test").status_code == 404  # nothing was added
    # A stale value, or the proof of another app, proves nothing.
    with name_server(port, {f"{PREFIX}.www.shop.test": "paas-verification=0123"}):
        assert client.post("/apps/shop/domains", json={"hostname": "www.shop.test"}).status_code == 422
    with name_server(port, {body["record"]["name"]: body["record"]["value"]}):
        stranger = client.post("/apps/other/domains", json={"hostname": "www.shop.test"})
        assert stranger.status_code == 422 and stranger.json()["record"]["value"] != body["record"]["value"]
        # The positive control: the record the API named, in the DNS, and the same call adds it.
        added = client.post("/apps/shop/domains", json={"hostname": "www.shop.test"})
    assert added.status_code == 201, added.text
    assert added.json()["hostname"] == "www.shop.test"


def test_a_wildcard_is_proven_at_the_name_it_covers(verifying):
    client, port = verifying
    with name_server(port, {}):
        record = client.post("/apps/shop/domains", json={"hostname": "*.shop.test"}).json()["record"]
    assert record["name"] == f"{PREFIX}.shop.test"
    with name_server(port, {record["name"]: record["value"]}):
        assert client.post("/apps/shop/domains", json={"hostname": "*.shop.test"}).status_code == 201


def test_a_name_server_that_does_not_answer_is_said_so(verifying):
    client, port = verifying  # nothing listens on the port
    answered = client.post("/apps/shop/domains", json={"hostname": "www.shop.test"})
    assert answered.status_code == 503 and answered.json()["id"] == "dns_unavailable"
