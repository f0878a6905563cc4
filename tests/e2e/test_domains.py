"""Custom domains: routed to their app over HTTP and HTTPS, with certificates from a real ACME
server (Debian's pebble, on 127.0.0.1, resolving every name to 127.0.0.1 through its test
DNS server); a domain whose challenge fails beside one that works; HTTP to HTTPS redirects."""

import json
import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import eventually, platform
from tests.e2e.test_https import https_get

pytestmark = pytest.mark.e2e
DNS, DNS_ADMIN, PEBBLE_ADMIN = "127.0.0.1:8053", "127.0.0.1:8055", "127.0.0.1:15000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# pebble forgets its accounts when it stops, and Caddy keeps the account it made per directory
# URL: a new port per run gives Caddy a directory it has no stale account for.
PEBBLE = f"127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def acme(settings, tmp_path_factory):
    """pebble and its DNS server, and the platform restarted to take certificates from it; the
    platform as it was afterwards."""
    assert shutil.which("pebble"), "pebble is missing: `scripts/services.sh tools` installs it (`make test` runs it)"
    work = tmp_path_factory.mktemp("pebble")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", work / "key.pem", "-out", work / "cert.pem"],
                   check=True, capture_output=True)
    (work / "config.json").write_text(json.dumps({"pebble": {
        "listenAddress": PEBBLE, "managementListenAddress": PEBBLE_ADMIN,
        "certificate": str(work / "cert.pem"), "privateKey": str(work / "key.pem"),
        "httpPort": settings.router_port, "tlsPort": 5001,  # the HTTP challenge comes to the router
        "ocspResponderURL": "", "externalAccountBindingRequired": False,
    }}))
    dns = subprocess.Popen(["pebble-challtestsrv", "-dns01", DNS, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                            "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", DNS_ADMIN],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen(["pebble", "-config", work / "config.json", "-dnsserver", DNS],
                              env={**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: _answers(f"https://{PEBBLE}/dir", work / "cert.pem"), timeout=20, what="pebble up")
        platform(settings, "down")
        platform(settings, "up", PAAS_ACME_DIRECTORY=f"https://{PEBBLE}/dir", PAAS_ACME_CA_ROOT=str(work / "cert.pem"))
        root = work / "pebble-root.pem"
        root.write_text(httpx.get(f"https://{PEBBLE_ADMIN}/roots/0", verify=ssl.create_default_context(cafile=str(work / "cert.pem"))).text)
        yield root
    finally:
        platform(settings, "down")
        platform(settings, "up")
        for process in (server, dns):
            process.terminate()
            process.wait(10)


def _answers(url: str, cafile: Path) -> bool:
    try:
        return httpx.get(url, verify=ssl.create_default_context(cafile=str(cafile)), timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def domain(api, app: str, hostname: str) -> dict:
    return api.get(f"/apps/{app}/domains/{hostname}").json()


def test_a_custom_domain_gets_an_acme_certificate_and_a_failing_one_harms_nothing(api, checkout, app_name, router, settings, acme):
    assert checkout.push().returncode == 0
    good, bad = f"www.{app_name}.test", f"bad.{app_name}.test"
    made = api.post(f"/apps/{app_name}/domains", json={"hostname": good.upper()})
    assert made.status_code == 201, made.text
    assert (made.json()["hostname"], made.json()["kind"], made.json()["acm_status"]) == (good, "custom", "pending")
    listed = api.get(f"/apps/{app_name}/domains").json()
    assert [(d["hostname"], d["kind"]) for d in listed] == [(settings.app_host(app_name), "heroku"), (good, "custom")]

    # Served over HTTP at once, and over HTTPS with pebble's certificate once it is issued.
    eventually(lambda: router.get(app_name).status_code == 200 and _via_host(settings, good).status_code == 200, what="routed")
    assert _via_host(settings, good).text.startswith("sample-app")
    eventually(lambda: domain(api, app_name, good)["acm_status"] == "cert issued", what="the certificate issued")
    assert https_get(settings, good, cafile=acme).text.startswith("sample-app")

    # A domain whose challenge cannot succeed (its name points where nothing answers): failed,
    # with Caddy's reason; the good domain and the default one keep their HTTPS.
    httpx.post(f"http://{DNS_ADMIN}/add-a", json={"host": bad, "addresses": ["127.0.0.2"]}).raise_for_status()
    assert api.post(f"/apps/{app_name}/domains", json={"hostname": bad}).status_code == 201
    failed = eventually(lambda: (d := domain(api, app_name, bad))["acm_status"] == "failed" and d, timeout=60, what="the bad domain failed")
    assert failed["acm_status_reason"] and bad in failed["acm_status_reason"]
    assert https_get(settings, good, cafile=acme).status_code == 200
    assert https_get(settings, settings.app_host(app_name)).status_code == 200
    assert _via_host(settings, bad).status_code == 200  # plain HTTP still routes it
    with pytest.raises((httpx.ConnectError, httpx.ConnectTimeout)):  # no certificate: Caddy is still trying
        https_get(settings, bad, cafile=acme)


def test_domain_rules_wildcards_removal_and_https_redirects(api, checkout, app_name, router, settings, new_app):
    assert checkout.push().returncode == 0
    base = f"{app_name}.test"
    for wrong in ("no_underscores.test", "localhost", f"x.{settings.domain}", settings.domain, "1.2.3.4", "a..b.test", "-a.test"):
        refused = api.post(f"/apps/{app_name}/domains", json={"hostname": wrong})
        assert refused.status_code == 422, wrong
    assert api.post(f"/apps/{app_name}/domains", json={"hostname": f"*.{base}"}).json()["acm_status"] is None
    assert api.post(f"/apps/{app_name}/domains", json={"hostname": f"api.{base}"}).status_code == 201
    other, _ = new_app("static")
    taken = api.post(f"/apps/{other}/domains", json={"hostname": f"api.{base}"})
    assert taken.status_code == 422 and "already added" in taken.json()["message"]
    eventually(lambda: _via_host(settings, f"anything.{base}").status_code == 200, what="the wildcard routed")
    assert _via_host(settings, f"api.{base}").text.startswith("sample-app")

    # Redirects: plain HTTP answers 301 to the same URL on HTTPS, on every host of the app.
    assert api.patch(f"/apps/{app_name}", json={"force_https": True}).json()["force_https"] is True
    moved = eventually(lambda: (r := _via_host(settings, f"api.{base}", "/x?y=1")).status_code == 301 and r, what="the redirect")
    assert moved.headers["Location"] == f"https://api.{base}:{settings.router_tls_port}/x?y=1"
    assert router.get(app_name).headers["Location"] == f"https://{settings.app_host(app_name)}:{settings.router_tls_port}/"
    assert https_get(settings, settings.app_host(app_name)).status_code == 200
    api.patch(f"/apps/{app_name}", json={"force_https": False}).raise_for_status()
    eventually(lambda: router.get(app_name).status_code == 200, what="the redirect off")

    assert api.delete(f"/apps/{app_name}/domains/api.{base}").status_code == 200
    assert api.delete(f"/apps/{app_name}/domains/api.{base}").status_code == 404
    # The wildcard still covers it; without the wildcard the host is no app's.
    assert api.delete(f"/apps/{app_name}/domains/*.{base}").status_code == 200
    eventually(lambda: _via_host(settings, f"api.{base}").status_code == 404, what="the domains removed")


def _via_host(settings, host: str, path: str = "/") -> httpx.Response:
    return httpx.get(f"http://{settings.router_host}:{settings.router_port}{path}", headers={"Host": host}, timeout=10)
