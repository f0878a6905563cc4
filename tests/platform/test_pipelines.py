"""Pipelines in-process (real Postgres and Redis): couplings, promotions that copy a release into
the next stage with the target's own config and no build, and who may see and do what."""

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from paas.domain import accounts, apps, models, pipelines, releases
from paas.domain.errors import InvalidParams
from tests.platform.conftest import deploy

IMAGE = "127.0.0.1:5000/shop-staging@sha256:" + "5" * 64


def other_client(platform_app, test_sessionmaker, email: str) -> TestClient:
    with test_sessionmaker() as db:
        token = accounts.issue_token(db, accounts.ensure_user(db, email))
        db.commit()
    return TestClient(platform_app, headers={"Authorization": f"Bearer {token}"})


def shop(client, test_sessionmaker) -> dict:
    """A pipeline `shop` with a deployed staging app and a production app of its own config."""
    for name in ("shop-staging", "shop-prod"):
        assert client.post("/apps", json={"name": name}).status_code == 201
    client.patch("/apps/shop-staging/config-vars", json={"GREETING": "staging"})
    deploy(test_sessionmaker, "shop-staging", IMAGE, {"web": "serve", "release": "migrate"})
    client.patch("/apps/shop-prod/config-vars", json={"GREETING": "production"})
    pipeline = client.post("/pipelines", json={"name": "shop", "owner": {"id": client.get("/users/~").json()["id"], "type": "user"},
                                               "generation": {"name": "cedar"}})
    assert pipeline.status_code == 201, pipeline.text
    for app, stage in (("shop-staging", "staging"), ("shop-prod", "production")):
        coupled = client.post("/pipeline-couplings", json={"app": app, "pipeline": pipeline.json()["id"], "stage": stage})
        assert coupled.status_code == 201, coupled.text
    return pipeline.json()


def test_a_pipeline_couples_apps_by_stage_and_lists_them_as_the_official_cli_reads_them(client, test_sessionmaker):
    pipeline = shop(client, test_sessionmaker)
    assert pipeline["name"] == "shop" and pipeline["owner"]["type"] == "user" and pipeline["generation"] == {"name": "cedar"}
    assert [p["id"] for p in client.get("/pipelines", params={"eq[name]": "shop"}).json()] == [pipeline["id"]]
    assert client.get("/pipelines", params={"eq[name]": "other"}).json() == []
    assert client.get("/pipelines/shop").json()["id"] == pipeline["id"] == client.get(f"/pipelines/{pipeline['id']}").json()["id"]
    coupling = client.get("/apps/shop-prod/pipeline-couplings").json()
    assert "stage" in coupling, coupling
    assert coupling["stage"] == "production" and coupling["pipeline"] == {"id": pipeline["id"], "name": "shop"}
    listed = client.get(f"/pipelines/{pipeline['id']}/pipeline-couplings").json()
    assert [(c["app"]["name"], c["stage"]) for c in listed] == [("shop-staging", "staging"), ("shop-prod", "production")]
    ids = [c["app"]["id"] for c in listed]
    found = client.post("/filters/apps", json={"in": {"id": ids + ["not-an-id"]}}, headers={"Range": "id ..; max=1000;"})
    assert [a["name"] for a in found.json()] == ["shop-prod", "shop-staging"]

    refused = client.post("/pipeline-couplings", json={"app": "shop-prod", "pipeline": pipeline["id"], "stage": "staging"})
    assert refused.status_code == 422 and "already in pipeline shop" in refused.json()["message"]
    client.post("/apps", json={"name": "loose"})
    bad_stage = client.post("/pipeline-couplings", json={"app": "loose", "pipeline": "shop", "stage": "qa"})
    assert bad_stage.status_code == 422 and "Stage must be one of test, review" in bad_stage.json()["message"]
    assert client.get("/apps/loose/pipeline-couplings").status_code == 404

    moved = client.patch(f"/pipeline-couplings/{coupling['id']}", json={"stage": "development"})
    assert moved.status_code == 200 and moved.json()["stage"] == "development"
    assert client.patch(f"/pipelines/{pipeline['id']}", json={"name": "store"}).json()["name"] == "store"
    assert client.delete(f"/pipeline-couplings/{coupling['id']}").status_code == 200
    assert client.get("/apps/shop-prod/pipeline-couplings").status_code == 404
    assert client.delete("/pipelines/store").status_code == 200
    assert client.get("/apps/shop-staging/pipeline-couplings").status_code == 404  # its couplings went with it
    assert client.get("/apps/shop-staging").status_code == 200  # its apps did not


def test_promotion_copies_the_release_into_the_target_with_its_own_config_and_no_build(client, test_sessionmaker):
    pipeline = shop(client, test_sessionmaker)
    staging = client.get("/apps/shop-staging").json()
    production = client.get("/apps/shop-prod").json()
    builds_before = len(client.get("/apps/shop-prod/builds").json())
    promoted = client.post("/pipeline-promotions", json={
        "pipeline": {"id": pipeline["id"]}, "source": {"app": {"id": staging["id"]}}, "targets": [{"app": {"id": production["id"]}}]})
    assert promoted.status_code == 201, promoted.text
    promotion = promoted.json()
    assert promotion["status"] == "pending" and promotion["source"]["app"]["id"] == staging["id"]
    [target] = client.get(f"/pipeline-promotions/{promotion['id']}/promotion-targets").json()
    assert target["app"]["id"] == production["id"] and target["status"] == "pending" and target["error_message"] is None
    release = client.get(f"/apps/{production['id']}/releases/{target['release']['id']}").json()  # as the CLI asks
    assert release["description"] == "Promote shop-staging v3 (aaaaaaa)" and release["status"] == "pending"
    with test_sessionmaker() as db:
        made = releases.get_release(db, apps.get_app(db, "shop-prod"), release["version"])
        assert made.image == IMAGE and made.process_types == {"web": "serve", "release": "migrate"}  # its release phase runs
        source = releases.current_release(db, apps.get_app(db, "shop-staging"))
        assert made.build_id == source.build_id
        releases.settle_release(db, made, models.Status.succeeded)
        db.commit()
    assert client.get("/apps/shop-prod/config-vars").json() == {"GREETING": "production"}  # its own
    assert len(client.get("/apps/shop-prod/builds").json()) == builds_before  # nothing was built
    assert client.get(f"/pipeline-promotions/{promotion['id']}").json()["status"] == "completed"
    assert client.get(f"/pipeline-promotions/{promotion['id']}/promotion-targets").json()[0]["status"] == "succeeded"

    # A target whose release fails says so.
    again = client.post("/pipeline-promotions", json={"pipeline": {"id": pipeline["id"]}, "source": {"app": {"id": staging["id"]}},
                                                      "targets": [{"app": {"id": "shop-prod"}}]}).json()
    with test_sessionmaker() as db:
        newest = releases.latest_release(db, apps.get_app(db, "shop-prod"))
        releases.settle_release(db, newest, models.Status.failed)
        db.commit()
    [failed] = client.get(f"/pipeline-promotions/{again['id']}/promotion-targets").json()
    assert failed["status"] == "failed" and "did not come up" in failed["error_message"]


def test_promotions_that_cannot_be_made_are_refused_whole(client, test_sessionmaker):
    pipeline = shop(client, test_sessionmaker)
    client.post("/apps", json={"name": "shop-qa"})
    client.post("/pipeline-couplings", json={"app": "shop-qa", "pipeline": "shop", "stage": "production"})
    client.post("/apps", json={"name": "elsewhere"})

    def promote(source: str, *targets: str):
        return client.post("/pipeline-promotions", json={"pipeline": {"id": pipeline["id"]}, "source": {"app": {"id": source}},
                                                         "targets": [{"app": {"id": t}} for t in targets]})

    def releases_of(app: str) -> int:
        return len(client.get(f"/apps/{app}/releases").json())

    before = {app: releases_of(app) for app in ("shop-prod", "shop-qa", "elsewhere")}
    for answer, message in ((promote("shop-staging", "shop-prod", "elsewhere"), "elsewhere is not in pipeline shop"),
                            (promote("shop-staging", "shop-staging"), "Cannot promote from an app to itself"),
                            (promote("shop-prod", "shop-qa"), "shop-prod has no release with code"),
                            (promote("shop-staging"), "at least one target"),
                            (promote("shop-staging", "no-such-app"), "Couldn't find that app")):
        assert answer.status_code in (404, 422) and message in answer.json()["message"], answer.text
    assert {app: releases_of(app) for app in before} == before  # nothing half-made
    assert promote("shop-staging", "shop-prod", "shop-qa").status_code == 201  # the positive control: both get it
    assert {app: releases_of(app) for app in ("shop-prod", "shop-qa")} == {"shop-prod": before["shop-prod"] + 1, "shop-qa": before["shop-qa"] + 1}


def test_strangers_see_no_pipeline_and_a_viewer_cannot_promote_into_an_app(client, platform_app, test_sessionmaker):
    pipeline = shop(client, test_sessionmaker)
    stranger = other_client(platform_app, test_sessionmaker, "stranger@example.com")
    for path in ("/pipelines/shop", f"/pipelines/{pipeline['id']}", f"/pipelines/{pipeline['id']}/pipeline-couplings",
                 "/apps/shop-prod/pipeline-couplings"):
        assert stranger.get(path).status_code == 404, path
    assert stranger.get("/pipelines").json() == [] and stranger.get("/pipeline-couplings").json() == []
    assert stranger.post("/filters/apps", json={"in": {"id": [client.get("/apps/shop-prod").json()["id"]]}}).json() == []
    assert stranger.delete(f"/pipelines/{pipeline['id']}").status_code == 404
    refused = stranger.post("/pipeline-promotions", json={"pipeline": {"id": pipeline["id"]}, "source": {"app": {"id": "shop-staging"}},
                                                          "targets": [{"app": {"id": "shop-prod"}}]})
    assert refused.status_code == 404
    # A team member who may only view the team's production app sees the pipeline but cannot promote into it.
    viewer = other_client(platform_app, test_sessionmaker, "viewer@example.com")
    team = client.post("/teams", json={"name": "shop-team"}).json()
    assert client.put("/teams/shop-team/members", json={"email": "viewer@example.com", "role": "member"}).status_code == 200
    teamed = client.post("/pipelines", json={"name": "shop2", "owner": {"id": team["id"], "type": "team"}}).json()
    assert viewer.get(f"/pipelines/{teamed['id']}").status_code == 200 and teamed["owner"] == {"id": team["id"], "type": "team"}
    assert stranger.get(f"/pipelines/{teamed['id']}").status_code == 404
    for app, stage in (("team-staging", "staging"), ("team-prod", "production")):
        assert client.post("/teams/apps", json={"team": "shop-team", "name": app}).status_code == 201
        client.post("/pipeline-couplings", json={"app": app, "pipeline": teamed["id"], "stage": stage})
        added = client.post(f"/apps/{app}/collaborators", json={"user": "viewer@example.com", "permissions": ["view"]})
        assert added.status_code == 201, added.text
    deploy(test_sessionmaker, "team-staging", IMAGE)
    body = {"pipeline": {"id": teamed["id"]}, "source": {"app": {"id": "team-staging"}}, "targets": [{"app": {"id": "team-prod"}}]}
    count = len(client.get("/apps/team-prod/releases").json())
    forbidden = viewer.post("/pipeline-promotions", json=body)
    assert forbidden.status_code == 403 and "deploy access to team-prod" in forbidden.json()["message"]
    assert len(client.get("/apps/team-prod/releases").json()) == count
    assert client.post("/pipeline-promotions", json=body).status_code == 201  # the positive control
    assert len(client.get("/apps/team-prod/releases").json()) == count + 1
    moved = viewer.post("/pipeline-couplings", json={"app": "team-prod", "pipeline": teamed["id"], "stage": "staging"})
    assert moved.status_code == 403  # manage access to the app is needed


@given(st.text(max_size=40))
def test_pipeline_names_are_checked(name):
    try:
        assert pipelines.validate_name(name) == name and pipelines.NAME.fullmatch(name)
    except InvalidParams as refused:
        assert "starts with a letter" in refused.message and not pipelines.NAME.fullmatch(name)
