"""Caddy's question before it makes an HTTPS certificate: only an existing app's host gets one,
and only Caddy may ask (with the signed URL it is configured with)."""

import pytest
from fastapi.testclient import TestClient

from paas.router import TLS_ASK_PATH, tls_ask_url


@pytest.fixture
def caddy(platform_app, api_settings):
    """Asks as Caddy does: no token, the signed ask URL with `domain=` added."""
    signature = tls_ask_url(api_settings).split("?signature=", 1)[1]
    with TestClient(platform_app) as client:
        yield lambda domain: client.get(TLS_ASK_PATH, params={"domain": domain, "signature": signature}).status_code


def test_only_an_apps_own_host_may_have_a_certificate(client, caddy, woken):
    assert client.post("/apps", json={"name": "shop"}).status_code == 201
    assert caddy("shop.localhost") == 200
    assert caddy("SHOP.localhost") == 200
    for refused in ("other.localhost", "www.shop.localhost", "shop.example.com", "localhost", ".localhost", ""):
        assert caddy(refused) == 404, refused


def test_a_custom_domain_and_the_names_under_a_wildcard_may_have_one(client, caddy, platform_app, woken):
    assert client.post("/apps", json={"name": "shop"}).status_code == 201
    for hostname in ("www.shop.test", "*.shops.test"):
        assert client.post("/apps/shop/domains", json={"hostname": hostname}).status_code == 201
    for allowed in ("www.shop.test", "WWW.shop.test", "eu.shops.test"):
        assert caddy(allowed) == 200, allowed
    for refused in ("shop.test", "shops.test", "a.b.shops.test", "www.other.test"):
        assert caddy(refused) == 404, refused
    # Made-up names under a wildcard get certificates only up to the cap (each is an ACME order).
    platform_app.api.state.platform.settings.wildcard_certificates = 3
    asked = [caddy(f"n{i}.shops.test") for i in range(5)]
    assert asked == [200, 200, 404, 404, 404]  # eu.shops.test was the first
    assert caddy("eu.shops.test") == 200  # one it has


def test_nobody_but_caddy_may_ask_which_names_are_apps(client, caddy, platform_app):
    assert client.post("/apps", json={"name": "shop"}).status_code == 201
    assert caddy("shop.localhost") == 200  # the positive control: Caddy's signed URL
    with TestClient(platform_app) as anyone:
        for query in ({}, {"signature": ""}, {"signature": "0" * 64}, {"signature": "é"}):
            refused = anyone.get(TLS_ASK_PATH, params={"domain": "shop.localhost", **query})
            assert refused.status_code == 403, query
            assert set(refused.json()) == {"id", "message"} and refused.json()["id"] == "forbidden"
        # A user's token is no key either: the question is Caddy's.
        assert client.get(TLS_ASK_PATH, params={"domain": "shop.localhost"}).status_code == 403
