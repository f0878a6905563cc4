"""GET /apps/{app}/metrics in-process: the points the collector wrote (paas.metrics.store), in the
API's shape, with its rules for ranges and steps and the app's access rules."""

import time

from fastapi.testclient import TestClient

from paas.domain import accounts
from paas.metrics.points import Point
from paas.metrics.store import Store


def point(start: int, requests=(8, 1, 1, 0), p50=12.0) -> Point:
    return Point(start=start, requests=requests, p50_ms=p50, p95_ms=40.0, p99_ms=90.0, cpu_mean=0.25, cpu_max=0.5,
                 memory_mean=100 * 2**20, memory_max=120 * 2**20, over_quota_seconds=0.0, restarts=0, markers=(0, 1, 0, 0))


def test_the_last_hour_at_ten_seconds_with_gaps_as_nulls(client, api_settings):
    app = client.post("/apps", json={"name": "metered"}).json()
    now = int(time.time()) // 10 * 10
    store = Store(api_settings.metrics_dir)
    store.write(app["id"], "web", 10, point(now - 60))
    store.write(app["id"], "web", 10, point(now - 40, requests=(20, 0, 0, 0), p50=3.0))
    answer = client.get("/apps/metered/metrics", params={"from": now - 60, "to": now - 30})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"] == "web" and body["step"] == 10 and len(body["points"]) == 3
    first, gap, third = body["points"]
    assert first["requests"] == {"2xx": 8, "3xx": 1, "4xx": 1, "5xx": 0} and first["throughput"] == 1.0
    assert first["response_time_ms"] == {"p50": 12.0, "p95": 40.0, "p99": 90.0} and first["events"]["R14"] == 1
    assert first["cpu"] == {"mean": 0.25, "max": 0.5} and first["memory_bytes"]["max"] == 120 * 2**20
    assert gap["requests"] is None and gap["time"].endswith("Z")
    assert third["requests"]["2xx"] == 20
    # The default: the last hour, every 10 s.
    assert len(client.get("/apps/metered/metrics").json()["points"]) in (360, 361)


def test_a_coarser_step_combines_points(client, api_settings):
    app = client.post("/apps", json={"name": "metered"}).json()
    start = int(time.time()) // 30 * 30 - 600
    store = Store(api_settings.metrics_dir)
    for offset in (0, 10, 20):
        store.write(app["id"], "web", 10, point(start + offset))
    [combined] = client.get("/apps/metered/metrics", params={"from": start, "to": start + 30, "step": 30}).json()["points"]
    assert combined["requests"]["2xx"] == 24 and combined["throughput"] == 1.0  # 30 requests over 30 s


def test_bad_ranges_steps_and_types_are_refused(client):
    client.post("/apps", json={"name": "metered"})
    now = int(time.time())
    for params, words in (({"from": "yesterday"}, "ISO 8601"), ({"from": now, "to": now - 60}, "before"),
                          ({"from": now - 10 * 86400}, "8 days"), ({"step": 15}, "multiple"),
                          ({"type": "../etc"}, "process type"), ({"from": now - 7200, "step": 30}, "multiple of 60")):
        answer = client.get("/apps/metered/metrics", params=params)
        assert answer.status_code == 422 and words in answer.json()["message"], (params, answer.text)
    ok = client.get("/apps/metered/metrics", params={"from": "2026-12-07T10:00:00Z", "to": "2026-12-07T11:00:00Z", "step": 60})
    assert ok.status_code == 200 and len(ok.json()["points"]) == 60


def test_only_who_may_view_the_app_reads_its_metrics(client, platform_app, test_sessionmaker):
    client.post("/apps", json={"name": "metered"})
    with test_sessionmaker() as db:
        stranger = accounts.issue_token(db, accounts.ensure_user(db, "stranger@example.com"))
        db.commit()
    as_stranger = TestClient(platform_app, headers={"Authorization": f"Bearer {stranger}"})
    assert as_stranger.get("/apps/metered/metrics").status_code == 404
    assert client.get("/apps/metered/metrics").status_code == 200
    assert TestClient(platform_app).get("/apps/metered/metrics").status_code == 401
