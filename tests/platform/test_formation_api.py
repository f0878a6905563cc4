"""The formation endpoints in-process (real Postgres, real Redis)."""

from tests.platform.conftest import deploy
from paas.channels.dynos import dynos_key, publish_dynos, restart_requests


def test_formation_lists_scales_and_sizes_each_type(client, test_sessionmaker, woken):
    client.post("/apps", json={"name": "scaled"})
    assert client.get("/apps/scaled/formation").json() == []
    deploy(test_sessionmaker, "scaled", "127.0.0.1:5000/scaled@sha256:" + "3" * 64, {"web": "gunicorn app", "worker": "celery"})
    listed = client.get("/apps/scaled/formation").json()
    assert [(f["type"], f["quantity"], f["size"], f["command"]) for f in listed] == [
        ("web", 1, "basic", "gunicorn app"), ("worker", 0, "basic", "celery")]
    assert listed[0]["app"]["name"] == "scaled"

    woken_before = len(woken())
    batch = client.patch("/apps/scaled/formation", json={"updates": [
        {"type": "web", "quantity": "+2"}, {"type": "worker", "quantity": 1, "size": "Standard-2X"}]})
    assert batch.status_code == 200, batch.text
    assert [(f["type"], f["quantity"], f["size"]) for f in batch.json()] == [("web", 3, "basic"), ("worker", 1, "standard-2x")]
    assert len(woken()) == woken_before + 1

    one = client.patch("/apps/scaled/formation/web", json={"quantity": "-1"})
    assert one.json()["quantity"] == 2
    assert client.patch("/apps/scaled/formation/web", json={"quantity": 0}).json()["quantity"] == 0
    assert client.get("/apps/scaled/formation/worker").json()["size"] == "standard-2x"
    # Scaling is not a release.
    assert [r["version"] for r in client.get("/apps/scaled/releases").json()] == [1, 2]


def test_bad_changes_are_refused_and_change_nothing(client, test_sessionmaker):
    client.post("/apps", json={"name": "refused"})
    deploy(test_sessionmaker, "refused", "127.0.0.1:5000/refused@sha256:" + "4" * 64, {"web": ""})
    assert client.patch("/apps/refused/formation/clock", json={"quantity": 1}).status_code == 404
    assert client.get("/apps/refused/formation/clock").json()["id"] == "not_found"
    for body in ({"quantity": -1}, {"quantity": "many"}, {"size": "huge"}, {"quantity": 1, "command": "x"}, [1]):
        answer = client.patch("/apps/refused/formation/web", json=body)
        assert answer.status_code == 422 and set(answer.json()) == {"id", "message"}, (body, answer.text)
    # All or nothing: a bad second update leaves the first undone.
    answer = client.patch("/apps/refused/formation", json={"updates": [{"type": "web", "quantity": 5}, {"type": "web", "size": "x"}]})
    assert answer.status_code == 422
    assert client.get("/apps/refused/formation/web").json()["quantity"] == 1
    assert client.patch("/apps/refused/formation", json={"updates": []}).status_code == 422


def test_dynos_come_from_what_the_runner_published_and_restarts_are_requests(client, platform_app, woken):

    client.post("/apps", json={"name": "dynoed"})
    redis = platform_app.api.state.platform.redis
    publish_dynos(redis, "dynoed", [{"id": "c1", "name": "web.1", "type": "web", "state": "up", "size": "basic",
                                             "release_id": "r1", "version": 3, "created_at": 1796000000.5}])
    try:
        [dyno] = client.get("/apps/dynoed/dynos").json()
        assert (dyno["name"], dyno["state"], dyno["release"], dyno["created_at"]) == (
            "web.1", "up", {"id": "r1", "version": 3}, "2026-11-30T00:53:20.500000Z")
        assert client.get("/apps/dynoed/dynos/web.2").status_code == 404
        assert client.delete("/apps/dynoed/dynos/web.1").status_code == 202
        assert client.delete("/apps/dynoed/dynos/web").status_code == 202
        assert client.delete("/apps/dynoed/dynos/clock").status_code == 404
        assert client.delete("/apps/dynoed/dynos").status_code == 202
        assert "dynoed" in woken()  # the restarts' events delivered: the runner is told
        assert set(restart_requests(redis, "dynoed")) == {"web.1", "web", "all"}
    finally:
        redis.delete(dynos_key("dynoed"), "paas:restart:dynoed")


def test_odd_process_types_are_clear_errors(client, test_sessionmaker):
    client.post("/apps", json={"name": "oddtypes"})
    deploy(test_sessionmaker, "oddtypes", "127.0.0.1:5000/oddtypes@sha256:" + "5" * 64, {"web": ""})
    assert client.get("/apps/oddtypes/formation/we%00b").status_code == 404
    answer = client.patch("/apps/oddtypes/formation", json={"updates": [{"type": "we\u0000b", "quantity": 1}]})
    assert answer.status_code == 422 and answer.json()["id"] == "invalid_params"
