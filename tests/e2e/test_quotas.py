"""Quotas, the per-user rate limit and the removal of used sources, on the running platform, as a
user who is no admin."""

import secrets

import httpx
import pytest

from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def user(api, settings):
    email = f"quota-{secrets.token_hex(4)}@example.com"
    made = api.post("/accounts", json={"email": email})
    assert made.status_code == 201, made.text
    client = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {made.json()['token']}"}, timeout=30)
    apps = []
    yield email, client, apps
    for name in apps:
        api.delete(f"/apps/{name}")
    client.close()
    api.delete(f"/accounts/{email}")


def test_an_admin_sets_a_users_app_quota_and_the_user_meets_it(api, user):
    email, client, apps = user
    assert api.patch(f"/accounts/{email}/quotas", json={"apps": 1}).status_code == 200
    apps += [f"q-{secrets.token_hex(4)}" for _ in range(2)]
    assert client.post("/apps", json={"name": apps[0]}).status_code == 201
    refused = client.post("/apps", json={"name": apps[1]})
    assert refused.status_code == 422 and refused.json()["id"] == "quota_exceeded", refused.text
    assert f"PATCH /accounts/{email}/quotas" in refused.json()["message"]
    assert client.get("/account/quotas").json()["apps"] == {"limit": 1, "used": 1}
    assert api.patch(f"/accounts/{email}/quotas", json={"apps": 2}).status_code == 200
    assert client.post("/apps", json={"name": apps[1]}).status_code == 201


def test_the_rate_limit_counts_the_users_requests_over_all_their_tokens(user, settings):
    _email, client, _apps = user
    made = client.post("/oauth/authorizations", json={"description": "second"})
    assert made.status_code == 201, made.text
    second = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {made.json()['access_token']['token']}"})
    with second:
        left = [int(c.get("/account").headers["RateLimit-Remaining"]) for c in (client, second, client, second)]
    assert left == [left[0] - i for i in range(4)], left


def test_a_source_goes_once_its_build_has_ended_and_an_unused_one_stays(api, settings):
    name = f"q-{secrets.token_hex(4)}"
    assert api.post("/apps", json={"name": name}).status_code == 201
    try:
        used, unused = (api.post("/sources").json()["source_blob"] for _ in range(2))
        for blob in (used, unused):
            httpx.put(blob["put_url"], content=b"not a tarball").raise_for_status()
        assert httpx.get(used["get_url"]).content == b"not a tarball"
        build = api.post(f"/apps/{name}/builds", json={"source_blob": {"url": used["get_url"], "version": "v1"}}).json()
        eventually(lambda: api.get(f"/apps/{name}/builds/{build['id']}").json()["status"] != "pending", 60, "the build to end")
        # The runner's next sweep removes it.
        eventually(lambda: httpx.get(used["get_url"]).status_code == 404, 2 * settings.reconcile_interval + 10, "the used source to go")
        assert httpx.get(unused["get_url"]).status_code == 200
    finally:
        api.delete(f"/apps/{name}")
