"""Caddy's question before it makes an HTTPS certificate: only an existing app's host gets one."""

from fastapi.testclient import TestClient


def test_only_an_apps_own_host_may_have_a_certificate(client, platform_app, woken):
    assert client.post("/apps", json={"name": "shop"}).status_code == 201
    with TestClient(platform_app) as caddy:  # Caddy asks without a token
        assert caddy.get("/router/tls-ask", params={"domain": "shop.localhost"}).status_code == 200
        assert caddy.get("/router/tls-ask", params={"domain": "SHOP.localhost"}).status_code == 200
        for refused in ("other.localhost", "www.shop.localhost", "shop.example.com", "localhost", ".localhost", ""):
            assert caddy.get("/router/tls-ask", params={"domain": refused}).status_code == 404, refused


def test_a_custom_domain_and_the_names_under_a_wildcard_may_have_one(client, platform_app, woken):
    assert client.post("/apps", json={"name": "shop"}).status_code == 201
    for hostname in ("www.shop.test", "*.shops.test"):
        assert client.post("/apps/shop/domains", json={"hostname": hostname}).status_code == 201
    with TestClient(platform_app) as caddy:
        for allowed in ("www.shop.test", "WWW.shop.test", "eu.shops.test"):
            assert caddy.get("/router/tls-ask", params={"domain": allowed}).status_code == 200, allowed
        for refused in ("shop.test", "shops.test", "a.b.shops.test", "www.other.test"):
            assert caddy.get("/router/tls-ask", params={"domain": refused}).status_code == 404, refused
        # Made-up names under a wildcard get certificates only up to the cap (each is an ACME order).
        platform_app.api.state.platform.settings.wildcard_certificates = 3
        asked = [caddy.get("/router/tls-ask", params={"domain": f"n{i}.shops.test"}).status_code for i in range(5)]
        assert asked == [200, 200, 404, 404, 404]  # eu.shops.test was the first
        assert caddy.get("/router/tls-ask", params={"domain": "eu.shops.test"}).status_code == 200  # one it has
