"""`/router/tls-ask` answers Caddy only: the URL Caddy is configured with carries a signature made
with the platform's key (a private file of $PAAS_HOME); without it nobody learns which names are apps."""

import httpx
import pytest

from paas.router import TLS_ASK_PATH, tls_ask_url

pytestmark = pytest.mark.e2e


def caddy_config(settings, path: str):
    admin = settings.caddy_admin
    if admin.startswith("unix/"):
        with httpx.Client(transport=httpx.HTTPTransport(uds=admin.removeprefix("unix/")), base_url="http://localhost") as caddy:
            return caddy.get(path).json()
    return httpx.get(admin.rstrip("/") + path).json()


def test_only_caddy_may_ask_whether_a_name_is_an_apps(settings, app_name):
    host = settings.app_host(app_name)
    ask = tls_ask_url(settings)
    assert (settings.secret_key_file.stat().st_mode & 0o077) == 0  # the key it is made with is private
    assert caddy_config(settings, "/config/apps/tls/automation/on_demand/ask") == ask  # what Caddy asks with

    url, signature = ask.split("?signature=", 1)
    assert url == settings.api_url + TLS_ASK_PATH
    # The positive control: Caddy's question (Caddy adds `domain=` to the URL's query).
    assert httpx.get(f"{ask}&domain={host}").status_code == 200
    assert httpx.get(f"{ask}&domain=nothing-{app_name}.{settings.domain}").status_code == 404
    wrong = signature[:-1] + ("1" if signature.endswith("0") else "0")  # one digit off (never the same: it flaked 1 in 16)
    for query in ({}, {"signature": ""}, {"signature": wrong}, {"signature": "x" * 64}):
        refused = httpx.get(url, params={"domain": host, **query})
        assert refused.status_code == 403 and set(refused.json()) == {"id", "message"}, (query, refused.text)
        # ... and the same answer for a name that is no app's: nothing to tell them apart.
        other = httpx.get(url, params={"domain": f"nothing-{app_name}.{settings.domain}", **query})
        assert other.status_code == 403 and other.json() == refused.json()
