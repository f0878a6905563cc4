"""Input limits: the API refuses a caller without a token before reading their body, refuses
bodies over its limit (declared or streamed), and config vars over Heroku's 32 kB; each leaves
everything as it was."""

import asyncio

from fastapi.testclient import TestClient


def test_no_token_is_refused_before_the_body_is_read(platform_app):
    with TestClient(platform_app) as anonymous:
        refused = anonymous.post("/apps", content=b"{" * 10, headers={"Content-Type": "application/json"})
        assert refused.status_code == 401 and refused.json()["id"] == "unauthorized"  # not a JSON error: never parsed
        assert anonymous.patch("/apps/x/config-vars", headers={"Authorization": "Bearer nope"}, json={}).status_code == 401


def test_bodies_over_the_limit_are_refused_and_change_nothing(client, platform_app):
    assert client.post("/apps", json={"name": "limited"}).status_code == 201
    big = {"K": "x" * (2**20 + 1)}
    declared = client.patch("/apps/limited/config-vars", json=big)
    assert declared.status_code == 413 and declared.json()["id"] == "request_too_large"

    # No Content-Length: counted as it streams (straight through ASGI, as a chunked upload comes).
    parts = [b'{"K": "'] + [b"x" * 1024] * 1100 + [b'"}']
    sent = []

    async def receive():
        return {"type": "http.request", "body": parts.pop(0), "more_body": bool(parts)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "PATCH", "path": "/apps/limited/config-vars", "raw_path": b"/apps/limited/config-vars",
             "query_string": b"", "headers": [(b"authorization", client.headers["Authorization"].encode()),
                                              (b"content-type", b"application/json")],
             "http_version": "1.1", "scheme": "http", "server": ("test", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    asyncio.run(platform_app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert client.get("/apps/limited/config-vars").json() == {}
    assert len(client.get("/apps/limited/releases").json()) == 1


def test_config_vars_over_32_kB_all_together_are_refused(client):
    assert client.post("/apps", json={"name": "roomy"}).status_code == 201
    assert client.patch("/apps/roomy/config-vars", json={"A": "x" * 20000}).status_code == 200
    refused = client.patch("/apps/roomy/config-vars", json={"B": "x" * 13000})
    assert refused.status_code == 422 and "32 kB" in refused.json()["message"]
    assert set(client.get("/apps/roomy/config-vars").json()) == {"A"}
    assert len(client.get("/apps/roomy/releases").json()) == 2
