"""Scheduled jobs through the API in-process (real Postgres and Redis): made, read, changed and
removed with the app's permissions; runs listed newest first."""

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from paas.domain import accounts, apps, scheduled_jobs


def test_jobs_are_made_read_changed_and_removed(client, test_sessionmaker):
    client.post("/apps", json={"name": "reports"})
    made = client.post("/apps/reports/scheduled-jobs", json={"command": "python report.py", "schedule": "*/10 * * * *"})
    assert made.status_code == 201, made.text
    job = made.json()
    assert (job["command"], job["schedule"], job["size"], job["concurrency_policy"], job["last_run"]) == (
        "python report.py", "*/10 * * * *", "basic", "forbid", None)
    next_run = datetime.fromisoformat(job["next_run_at"].replace("Z", "+00:00"))
    assert next_run > datetime.now(timezone.utc) and next_run.minute % 10 == 0 and next_run.second == 0
    assert [j["id"] for j in client.get("/apps/reports/scheduled-jobs").json()] == [job["id"]]
    changed = client.patch(f"/apps/reports/scheduled-jobs/{job['id']}", json={"schedule": "@daily", "size": "standard-1x"})
    assert changed.status_code == 200 and (changed.json()["schedule"], changed.json()["size"]) == ("@daily", "standard-1x")
    refused = client.patch(f"/apps/reports/scheduled-jobs/{job['id']}", json={"schedule": "every day"})
    assert refused.status_code == 422 and "five cron fields" in refused.json()["message"]
    assert client.patch(f"/apps/reports/scheduled-jobs/{job['id']}", json={"owner": "x"}).status_code == 422
    assert client.get("/apps/reports/scheduled-jobs/not-a-job").status_code == 404

    with test_sessionmaker() as db:
        row = scheduled_jobs.job_of(db, apps.get_app(db, "reports"), job["id"])
        scheduled_jobs.claim(db, row, datetime(2026, 12, 8, 6, 0, tzinfo=timezone.utc), "scheduler.4", "running", 2)
        run = scheduled_jobs.claim(db, row, datetime(2026, 12, 8, 7, 0, tzinfo=timezone.utc), "scheduler.5", "running", 2)
        scheduled_jobs.finish(db, run.id, 0)
        db.commit()
    listed = client.get(f"/apps/reports/scheduled-jobs/{job['id']}/runs").json()
    assert [(r["name"], r["status"], r["exit_code"]) for r in listed] == [("scheduler.5", "succeeded", 0), ("scheduler.4", "running", None)]
    assert listed[0]["release"] == {"version": 2} and listed[0]["duration_seconds"] >= 0
    assert client.get(f"/apps/reports/scheduled-jobs/{job['id']}").json()["last_run"]["name"] == "scheduler.5"
    assert client.delete(f"/apps/reports/scheduled-jobs/{job['id']}").status_code == 200
    assert client.get("/apps/reports/scheduled-jobs").json() == []


def test_a_viewer_reads_jobs_but_cannot_change_them_and_a_stranger_sees_none(client, platform_app, test_sessionmaker):
    with test_sessionmaker() as db:
        viewer = accounts.issue_token(db, accounts.ensure_user(db, "viewer@example.com"))
        stranger = accounts.issue_token(db, accounts.ensure_user(db, "stranger@example.com"))
        db.commit()
    client.post("/teams", json={"name": "ops"})
    client.put("/teams/ops/members", json={"email": "viewer@example.com", "role": "member"})
    client.post("/teams/apps", json={"team": "ops", "name": "nightly"})
    client.post("/apps/nightly/collaborators", json={"user": "viewer@example.com", "permissions": ["view"]})
    job = client.post("/apps/nightly/scheduled-jobs", json={"command": "backup", "schedule": "@daily"}).json()
    as_viewer = TestClient(platform_app, headers={"Authorization": f"Bearer {viewer}"})
    as_stranger = TestClient(platform_app, headers={"Authorization": f"Bearer {stranger}"})
    assert [j["id"] for j in as_viewer.get("/apps/nightly/scheduled-jobs").json()] == [job["id"]]
    for method, path, body in (("POST", "/apps/nightly/scheduled-jobs", {"command": "rm -rf /app", "schedule": "* * * * *"}),
                               ("PATCH", f"/apps/nightly/scheduled-jobs/{job['id']}", {"command": "evil"}),
                               ("DELETE", f"/apps/nightly/scheduled-jobs/{job['id']}", None)):
        assert as_viewer.request(method, path, json=body).status_code == 403, (method, path)
        assert as_stranger.request(method, path, json=body).status_code == 404, (method, path)
    assert as_stranger.get("/apps/nightly/scheduled-jobs").status_code == 404
    assert client.get("/apps/nightly/scheduled-jobs").json()[0]["command"] == "backup"
    # The positive control: a member given deploy may change them.
    client.patch("/teams/apps/nightly/collaborators/viewer@example.com", json={"permissions": ["view", "deploy"]})
    assert as_viewer.patch(f"/apps/nightly/scheduled-jobs/{job['id']}", json={"command": "backup --full"}).status_code == 200
