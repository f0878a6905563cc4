"""Per-user quotas through the API in-process (real Postgres, real Redis): each one lets the user
reach it and refuses one more with its own error, and an admin sets them."""

import time

import pytest
from fastapi.testclient import TestClient

from paas.channels.dynos import publish_run, runs_key
from paas.channels.runner import RUN_QUEUE
from paas.channels.runs import RunChannel
from paas.domain import accounts
from paas.platform.api import dynos
from tests.platform.conftest import deploy

IMAGE = "127.0.0.1:5000/q@sha256:" + "5" * 64


@pytest.fixture
def admin(platform_app, test_sessionmaker):
    with test_sessionmaker() as db:
        user = accounts.ensure_user(db, "root@example.com")
        user.is_admin = True
        token = accounts.issue_token(db, user)
        db.commit()
    with TestClient(platform_app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def set_quota(admin, **quotas) -> dict:
    answer = admin.patch("/accounts/dev@example.com/quotas", json=quotas)
    assert answer.status_code == 200, answer.text
    return answer.json()


def refused(answer, quota: str, status: int = 422) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["id"] == "quota_exceeded" and f"{quota}: " in body["message"], body
    assert "PATCH /accounts/dev@example.com/quotas" in body["message"], body


def test_an_admin_sets_quotas_and_everyone_sees_their_own(client, admin, api_settings):
    mine = client.get("/account/quotas").json()
    assert mine["apps"] == {"limit": api_settings.quota_apps, "used": 0}
    assert set(mine) == {"apps", "addons", "dynos", "one_off_dynos", "authorizations"}
    assert mine["authorizations"]["used"] == 1  # the fixture's token
    assert set_quota(admin, apps=3, dynos=0)["apps"] == {"limit": 3, "used": 0}
    assert client.get("/account/quotas").json()["dynos"]["limit"] == 0
    assert admin.get("/accounts/dev@example.com/quotas").json()["apps"]["limit"] == 3
    assert set_quota(admin, apps=None)["apps"]["limit"] == api_settings.quota_apps  # null: the default again
    assert admin.get("/account/quotas").json()["apps"]["limit"] is None  # admins have none

    # Only admins set or read others' quotas; bad values are refused and change nothing.
    assert client.patch("/accounts/dev@example.com/quotas", json={"apps": 1000}).status_code == 403
    assert client.get("/accounts/root@example.com/quotas").status_code == 403
    for bad in ({"apps": -1}, {"apps": "9"}, {"apps": True}, {"apps": 10**7}, {"tokens": 1}, {}, [1]):
        answer = admin.patch("/accounts/dev@example.com/quotas", json=bad)
        assert answer.status_code == 422 and answer.json()["id"] == "invalid_params", (bad, answer.text)
    assert client.get("/account/quotas").json()["dynos"]["limit"] == 0
    assert admin.patch("/accounts/nobody@example.com/quotas", json={"apps": 1}).status_code == 404


def test_apps_up_to_the_quota_then_refused_personal_and_team_alike(client, admin):
    set_quota(admin, apps=2)
    assert client.post("/apps", json={"name": "q-one"}).status_code == 201
    assert client.post("/apps", json={"name": "q-two"}).status_code == 201  # one under the quota: works
    refused(client.post("/apps", json={"name": "q-three"}), "apps")
    assert client.post("/teams", json={"name": "q-crew"}).status_code == 201
    refused(client.post("/teams/apps", json={"team": "q-crew", "name": "q-team"}), "apps")
    assert client.get("/apps/q-three").status_code == 404
    assert client.delete("/apps/q-two").status_code == 200
    assert client.post("/teams/apps", json={"team": "q-crew", "name": "q-team"}).status_code == 201
    refused(client.post("/apps", json={"name": "q-three"}), "apps")
    set_quota(admin, apps=3)
    assert client.post("/apps", json={"name": "q-three"}).status_code == 201


def test_addons_up_to_the_quota_then_refused(client, admin):
    set_quota(admin, addons=2)
    client.post("/apps", json={"name": "q-addons"})

    def add(name: str):
        return client.post("/apps/q-addons/addons", json={"plan": "external", "attachment": {"name": name},
                                                          "config": {"url": "https://mail.example"}})

    assert add("ONE").status_code == 201
    assert add("TWO").status_code == 201
    refused(add("THREE"), "addons")
    assert len(client.get("/apps/q-addons/addons").json()) == 2
    client.delete("/apps/q-addons/addons/" + client.get("/apps/q-addons/addons").json()[0]["name"])
    assert add("THREE").status_code == 201


def test_dynos_count_over_every_app_and_only_growth_is_refused(client, admin, test_sessionmaker):
    set_quota(admin, dynos=3)
    client.post("/apps", json={"name": "q-dynos"})
    deploy(test_sessionmaker, "q-dynos", IMAGE, {"web": "", "worker": ""})  # web=1, worker=0

    def scale(app: str, **quantities):
        return client.patch(f"/apps/{app}/formation", json={"updates": [{"type": t, "quantity": q} for t, q in quantities.items()]})

    assert scale("q-dynos", web=2).status_code == 200
    assert scale("q-dynos", worker=1).status_code == 200  # 3: at the quota
    refused(scale("q-dynos", web="+1"), "dynos")
    assert {f["type"]: f["quantity"] for f in client.get("/apps/q-dynos/formation").json()} == {"web": 2, "worker": 1}
    # Another app's first deploy starts its web process at 0: the owner has no dyno left.
    client.post("/apps", json={"name": "q-second"})
    deploy(test_sessionmaker, "q-second", IMAGE, {"web": ""})
    assert [f["quantity"] for f in client.get("/apps/q-second/formation").json()] == [0]
    refused(scale("q-second", web=1), "dynos")
    assert scale("q-dynos", worker=0).status_code == 200
    assert scale("q-second", web=1).status_code == 200
    # A quota lowered below what runs: shrinking is let through, growing is not.
    set_quota(admin, dynos=1)
    assert scale("q-dynos", web=1).status_code == 200
    refused(scale("q-dynos", worker=1), "dynos")


def test_a_collaborator_spends_the_owners_dynos_and_is_told_whose(client, admin, platform_app, test_sessionmaker):
    with test_sessionmaker() as db:
        token = accounts.issue_token(db, accounts.ensure_user(db, "helper@example.com"))
        db.commit()
    set_quota(admin, dynos=1)
    client.post("/apps", json={"name": "q-shared"})
    client.post("/apps/q-shared/collaborators", json={"user": "helper@example.com"})
    deploy(test_sessionmaker, "q-shared", IMAGE, {"web": ""})
    with TestClient(platform_app, headers={"Authorization": f"Bearer {token}"}) as helper:
        answer = helper.patch("/apps/q-shared/formation/web", json={"quantity": 2})
        refused(answer, "dynos")
        assert answer.json()["message"].startswith("dev@example.com's quota of dynos is 1")
        assert helper.patch("/apps/q-shared/formation/web", json={"quantity": 0}).status_code == 200


def test_authorizations_up_to_the_quota_then_refused(client, admin):
    set_quota(admin, authorizations=3)
    made = [client.post("/oauth/authorizations", json={"description": f"t{i}"}) for i in range(2)]
    assert [m.status_code for m in made] == [201, 201]  # with the fixture's token: 3
    refused(client.post("/oauth/authorizations", json={}), "authorizations")
    assert len(client.get("/oauth/authorizations").json()) == 3
    assert client.delete(f"/oauth/authorizations/{made[0].json()['id']}").status_code == 200
    assert client.post("/oauth/authorizations", json={}).status_code == 201


def test_one_off_dynos_at_once_up_to_the_quota_then_429_until_one_ends(client, admin, platform_app, test_sessionmaker, publish):
    redis = platform_app.api.state.platform.redis
    set_quota(admin, one_off_dynos=2)
    client.post("/apps", json={"name": "q-runs"})
    deploy(test_sessionmaker, "q-runs", IMAGE, {"web": ""})
    redis.delete(RUN_QUEUE)
    try:
        runs = [client.post("/apps/q-runs/dynos", json={"command": "sleep 60"}) for _ in range(2)]
        assert [r.status_code for r in runs] == [201, 201]
        assert redis.lrange(RUN_QUEUE, 0, -1) == []  # the API does not tell the runner: the runs' events do
        publish()
        assert redis.lrange(RUN_QUEUE, 0, -1) == [r.json()["id"] for r in runs]
        refused(client.post("/apps/q-runs/dynos", json={"command": "true"}), "one_off_dynos", status=429)
        assert client.get("/account/quotas").json()["one_off_dynos"] == {"limit": 2, "used": 2}
        # The runner takes one and it ends: there is room again.
        channel = RunChannel(redis, runs[0].json()["id"])
        assert channel.take() is not None
        channel.exited(0)
        assert client.post("/apps/q-runs/dynos", json={"command": "true"}).status_code == 201
        refused(client.post("/apps/q-runs/dynos", json={"command": "true"}), "one_off_dynos", status=429)
    finally:
        redis.delete(RUN_QUEUE)


def test_a_run_counts_while_waiting_for_a_runner_starting_or_listed_up(platform_app, test_sessionmaker):
    redis = platform_app.api.state.platform.redis
    with test_sessionmaker() as db:
        user = accounts.ensure_user(db, "counted@example.com")
        db.commit()
    redis.delete(dynos.runs_of(user))
    now = time.time()
    long_ago = now - dynos.STARTING_FOR - 60

    def ask(run_id: str, asked: float) -> RunChannel:
        redis.zadd(dynos.runs_of(user), {f"q-app/{run_id}": asked})
        channel = RunChannel(redis, run_id)
        redis.delete(channel.request_key, channel.output_key)
        channel.client.set(channel.request_key, "{}", ex=60)
        return channel

    waiting = ask("r-waiting", long_ago)  # not taken yet, however long ago it was asked
    starting = ask("r-starting", now)
    starting.take()
    up = ask("r-up", long_ago)
    up.take()
    publish_run(redis, "q-app", "run.3", {"id": "r-up", "name": "run.3"})
    forgotten = ask("r-forgotten", long_ago)  # taken by a runner that has restarted since
    forgotten.take()
    ended = ask("r-ended", now)
    ended.take()
    ended.exited(0)
    try:
        assert dynos.one_off_dynos_running(redis, user, 3600) == 3
        assert sorted(m.split("/")[1] for m in redis.zrange(dynos.runs_of(user), 0, -1)) == ["r-starting", "r-up", "r-waiting"]
        waiting.take()  # now one taken long ago and never listed: no longer counted
        assert dynos.one_off_dynos_running(redis, user, 3600) == 2
    finally:
        redis.delete(dynos.runs_of(user), runs_key("q-app"))
        for channel in (waiting, starting, up, forgotten, ended):
            redis.delete(channel.request_key, channel.output_key)
