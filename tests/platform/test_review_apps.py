"""Review apps in-process (real Postgres and Redis): their settings as the official CLI sends
them, names made from branches (hypothesis), who may see them, and their teardown's bookkeeping."""

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paas.domain import accounts, review_apps
from paas.domain.models import Pipeline, ReviewAppConfig
from paas.domain.names import APP_NAME


def test_review_apps_are_turned_on_changed_and_off_as_the_cli_does_it(client, platform_app, test_sessionmaker):
    client.post("/apps", json={"name": "shop"})
    pipeline = client.post("/pipelines", json={"name": "shop"}).json()
    client.post("/pipeline-couplings", json={"app": "shop", "pipeline": "shop", "stage": "production"})
    assert client.get("/account/features/dashboard-repositories-api").json()["enabled"] is True
    assert client.get(f"/pipelines/{pipeline['id']}/repo").json()["full_name"] == "paas/shop"
    assert client.get("/pipelines/shop/review-app-config").status_code == 404
    unset = {"automatic_review_apps": None, "destroy_stale_apps": None, "pipeline": pipeline["id"], "repo": "paas/shop", "wait_for_ci": None}
    on = client.post(f"/pipelines/{pipeline['id']}/review-app-config", json=unset)
    assert on.status_code == 200 and on.json()["automatic_review_apps"] is True and on.json()["repo"] == {"name": "paas/shop"}
    changed = client.patch(f"/pipelines/{pipeline['id']}/review-app-config", json={**unset, "destroy_stale_apps": True, "stale_days": 3})
    assert (changed.json()["destroy_stale_apps"], changed.json()["stale_days"]) == (True, 3)
    for body, words in (({"stale_days": 0}, "from 1 to 30"), ({"stale_days": True}, "a number"), ({"base_name": "Bad!"}, "base_name"),
                        ({"owner": "x"}, "not a review app setting")):
        refused = client.patch(f"/pipelines/{pipeline['id']}/review-app-config", json=body)
        assert refused.status_code == 422 and words in refused.json()["message"], body
    with test_sessionmaker() as db:
        other = accounts.issue_token(db, accounts.ensure_user(db, "other@example.com"))
        db.commit()
    stranger = TestClient(platform_app, headers={"Authorization": f"Bearer {other}"})
    assert stranger.get(f"/pipelines/{pipeline['id']}/review-app-config").status_code == 404
    assert stranger.delete(f"/pipelines/{pipeline['id']}/review-app-config").status_code == 404
    assert stranger.post("/review-apps", json={"pipeline": pipeline["id"], "branch": "x",
                                               "source_blob": {"url": "http://127.0.0.1/x.tgz"}}).status_code == 404
    assert client.delete(f"/pipelines/{pipeline['id']}/review-app-config").status_code == 200
    assert client.get(f"/pipelines/{pipeline['id']}/review-app-config").status_code == 404


def test_a_review_app_through_the_api_is_checked(client):
    pipeline = client.post("/pipelines", json={"name": "store"}).json()
    for body, words in (({"branch": "../x"}, "git branch name"), ({"branch": "ok", "pr_number": -1}, "pr_number"),
                        ({"branch": "ok", "source_blob": {"url": "file:///etc/passwd"}}, "source_blob")):
        answer = client.post("/review-apps", json={"pipeline": pipeline["id"], "source_blob": {"url": "http://127.0.0.1/s.tgz"}, **body})
        assert answer.status_code == 422 and words in answer.json()["message"], (body, answer.text)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # it only reads: examples need no fresh database
@given(st.text(min_size=1, max_size=80))
def test_any_branch_gives_a_valid_app_name(test_sessionmaker, branch):
    with test_sessionmaker() as db:
        name = review_apps.name_for(db, Pipeline(name="shop"), ReviewAppConfig(base_name=None), branch)
        assert APP_NAME.fullmatch(name) and not name.endswith("-") and len(name) <= 30, name


def test_a_stale_review_app_is_marked_for_deletion_and_its_teardown_leaves_nothing(client, test_sessionmaker, api_settings):
    from datetime import datetime, timedelta, timezone

    from cryptography.fernet import Fernet

    from paas.domain import apps, pipelines
    from paas.domain.crypto import ConfigCipher

    cipher = ConfigCipher(Fernet.generate_key())
    pipeline_id = client.post("/pipelines", json={"name": "stale"}).json()["id"]
    client.post(f"/pipelines/{pipeline_id}/review-app-config", json={"destroy_stale_apps": True, "stale_days": 2})
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "dev@example.com")
        pipeline = pipelines.pipeline_for(db, pipeline_id, owner)
        fresh = review_apps.create(db, cipher, api_settings, owner, pipeline, "fresh", "http://127.0.0.1/s.tgz", "v1")
        old = review_apps.create(db, cipher, api_settings, owner, pipeline, "old", "http://127.0.0.1/s.tgz", "v1", pr_number=7)
        assert cipher.decrypt(old.setup.overrides)["env"] == {"HEROKU_APP_NAME": old.app.name, "HEROKU_BRANCH": "old", "HEROKU_PR_NUMBER": "7"}
        now = datetime.now(timezone.utc)
        old.updated_at = now - timedelta(days=3)
        db.flush()
        assert review_apps.mark_stale(db, now) == 1 and (old.status, fresh.status) == ("deleting", "creating")
        assert old.message == "stale: no push for 2 days" and review_apps.deleting(db) == [old]
        name = old.app.name
        review_apps.destroy(db, cipher, old)
        assert (old.status, old.app_id) == ("deleted", None) and apps.find_app_by_name(db, name) is None
        again = review_apps.create(db, cipher, api_settings, owner, pipeline, "old", "http://127.0.0.1/s.tgz", "v2")  # the branch comes back
        assert again.status == "creating" and again.branch == "old"
        db.rollback()
