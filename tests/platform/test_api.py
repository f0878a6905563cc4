"""The REST API in-process: real Postgres (a transaction per test) and real Redis (its own db)."""

import base64

import sqlalchemy as sa
from fastapi.testclient import TestClient

from paas.channels.dynos import NODES_KEY, app_destroyed, next_run_name, publish_nodes
from paas.channels.output import LogStream
from paas.domain import accounts
from paas.domain.models import Event
from paas.runner.wakes import waker
from tests.platform.conftest import deploy

# --- auth -------------------------------------------------------------------


def test_account_needs_a_token(platform_app, token):
    with TestClient(platform_app) as anonymous:
        missing = anonymous.get("/account")
        assert missing.status_code == 401
        assert missing.json()["id"] == "unauthorized" and missing.json()["message"]
        assert anonymous.get("/account", headers={"Authorization": "Bearer wrong"}).status_code == 401
        basic = base64.b64encode(f"any-user:{token}".encode()).decode()
        account = anonymous.get("/account", headers={"Authorization": f"Basic {basic}"})
        assert account.status_code == 200 and account.json()["email"] == "dev@example.com"


def test_tokens_are_stored_hashed(client, token, db_connection):
    stored = db_connection.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert token not in stored and accounts.hash_token(token) in stored


# --- apps -------------------------------------------------------------------


def test_create_app_answers_the_heroku_shape_and_makes_release_v1(client, woken):
    response = client.post("/apps", json={"name": "my-app", "stack": "bookworm"})
    assert response.status_code == 201
    app = response.json()
    for field in ("id", "name", "owner", "region", "stack", "build_stack", "git_url", "web_url", "created_at"):
        assert field in app
    assert app["owner"]["email"] == "dev@example.com"
    assert app["git_url"] == "http://127.0.0.1:5100/my-app.git"
    assert app["web_url"] == "http://my-app.localhost:8080/"
    assert app["repo_size"] is None and app["slug_size"] is None
    releases = client.get("/apps/my-app/releases").json()
    assert [(r["version"], r["description"], r["status"], r["current"]) for r in releases] == [
        (1, "Initial release", "succeeded", True)
    ]
    assert releases[0]["eligible_for_rollback"] is False
    assert woken() == ["my-app"]


def test_app_names_are_checked_and_unique(client):
    assert client.post("/apps", json={"name": "taken"}).status_code == 201
    duplicate = client.post("/apps", json={"name": "taken"})
    assert duplicate.status_code == 422
    assert duplicate.json() == {"id": "invalid_params", "message": "Name is already taken"}
    for bad in ("Bad_Name", "ab", "-x-", 5):
        invalid = client.post("/apps", json={"name": bad})
        assert invalid.status_code == 422 and invalid.json()["id"] == "invalid_params", bad


def test_app_without_a_name_gets_one(client):
    response = client.post("/apps")
    assert response.status_code == 201
    assert client.get(f"/apps/{response.json()['name']}").status_code == 200


def test_apps_are_found_by_name_or_id_and_listed(client):
    created = client.post("/apps", json={"name": "finder"}).json()
    assert client.get(f"/apps/{created['id']}").json()["name"] == "finder"
    assert [a["name"] for a in client.get("/users/~/apps").json()] == ["finder"]
    assert [a["name"] for a in client.get("/apps").json()] == ["finder"]


def test_unknown_apps_and_paths_are_json_404s(client):
    for path in ("/apps/nope", "/apps/nope/releases", "/apps/nope/config-vars", "/no/such/path"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["id"] == "not_found" and response.json()["message"]


def test_delete_app(client, woken, platform_app, test_sessionmaker):
    redis = platform_app.api.state.platform.redis
    app_destroyed(redis, "short-lived")  # run numbers a run of this test before left (Redis outlives its transaction)
    client.post("/apps", json={"name": "short-lived"})
    assert next_run_name(redis, "short-lived") == "run.1"
    deleted = client.delete("/apps/short-lived")
    assert deleted.status_code == 200 and deleted.json()["name"] == "short-lived"
    assert client.get("/apps/short-lived").status_code == 404
    assert woken() == ["short-lived"]  # once: its destroy is one event
    # Its run numbers went with it; a new app of the name counts from 1, even when the old
    # destroy is delivered again (at least once) after the new app was made.
    client.post("/apps", json={"name": "short-lived"})
    assert next_run_name(redis, "short-lived") == "run.1"
    with test_sessionmaker() as db:
        destroyed = db.scalar(sa.select(Event).where(Event.app_name == "short-lived", Event.action == "destroy"))
        waker(redis)(db, [destroyed])
    assert next_run_name(redis, "short-lived") == "run.2"
    app_destroyed(redis, "short-lived")


def test_pipeline_couplings_is_404_and_addons_empty(client):
    client.post("/apps", json={"name": "solo"})
    assert client.get("/apps/solo/pipeline-couplings").status_code == 404
    assert client.get("/apps/solo/addons").json() == []


# --- config vars --------------------------------------------------------------


def test_config_vars_merge_delete_and_make_releases(client, woken, db_connection):
    client.post("/apps", json={"name": "configured"})
    assert client.patch("/apps/configured/config-vars", json={"A": "1", "SECRET": "s3cr3t-value"}).json() == {
        "A": "1",
        "SECRET": "s3cr3t-value",
    }
    assert client.patch("/apps/configured/config-vars", json={"A": None, "B": "two"}).json() == {
        "SECRET": "s3cr3t-value",
        "B": "two",
    }
    assert client.get("/apps/configured/config-vars").json() == {"SECRET": "s3cr3t-value", "B": "two"}
    releases = client.get("/apps/configured/releases").json()
    assert [r["description"] for r in releases] == [
        "Initial release",
        "Set A, SECRET config vars",
        "Set B config vars; Remove A config vars",
    ]
    assert client.get("/apps/configured/releases/2/config-vars").json() == {"A": "1", "SECRET": "s3cr3t-value"}
    # Encrypted at rest: the value appears in no stored column.
    for table in ("apps", "releases"):
        blobs = db_connection.execute(sa.text(f"SELECT config_vars FROM {table}")).scalars().all()
        assert blobs and not any(b"s3cr3t-value" in bytes(blob) for blob in blobs)
    # Nor in the events, which name the keys only.
    recorded = db_connection.execute(sa.text("SELECT data::text || previous_data::text FROM events WHERE app_name = 'configured'")).scalars().all()
    assert any('"set": ["A", "SECRET"]' in e for e in recorded) and not any("s3cr3t-value" in e for e in recorded)
    assert woken().count("configured") == 1  # the changes so far, delivered together, wake it once
    client.patch("/apps/configured/config-vars", json={"C": "3"})
    assert woken().count("configured") == 2


def test_bad_config_vars_are_refused_and_change_nothing(client):
    client.post("/apps", json={"name": "strict"})
    for body in ({"1BAD": "x"}, {"PORT": "80"}, {"A": {"nested": 1}}, ["A", "B"]):
        response = client.patch("/apps/strict/config-vars", json=body)
        assert response.status_code == 422 and response.json()["id"] == "invalid_params", body
    assert client.get("/apps/strict/config-vars").json() == {}
    assert len(client.get("/apps/strict/releases").json()) == 1


# --- releases and rollback ----------------------------------------------------------


def test_releases_by_version_or_id_and_range_pagination(client):
    client.post("/apps", json={"name": "paged"})
    for i in range(4):
        client.patch("/apps/paged/config-vars", json={"N": str(i)})
    first = client.get("/apps/paged/releases", headers={"Range": "version ..; max=2, order=desc"})
    assert first.status_code == 206
    assert [r["version"] for r in first.json()] == [5, 4]
    rest = client.get("/apps/paged/releases", headers={"Range": first.headers["Next-Range"]})
    assert rest.status_code == 206 and [r["version"] for r in rest.json()] == [3, 2]
    last = client.get("/apps/paged/releases", headers={"Range": rest.headers["Next-Range"]})
    assert last.status_code == 200 and "Next-Range" not in last.headers
    assert [r["version"] for r in last.json()] == [1]
    release = client.get("/apps/paged/releases/3").json()
    assert client.get(f"/apps/paged/releases/{release['id']}").json()["version"] == 3
    assert client.get("/apps/paged/releases/99").status_code == 404
    assert client.get("/apps/paged/releases", headers={"Range": "colour ..;"}).status_code == 416


def test_rollback_adds_a_release_with_the_targets_image_and_config(client, test_sessionmaker, woken):
    client.post("/apps", json={"name": "rolling"})
    client.patch("/apps/rolling/config-vars", json={"MODE": "old"})
    old = deploy(test_sessionmaker, "rolling", "127.0.0.1:5000/rolling@sha256:" + "1" * 64)
    client.patch("/apps/rolling/config-vars", json={"MODE": "new"})
    deploy(test_sessionmaker, "rolling", "127.0.0.1:5000/rolling@sha256:" + "2" * 64)

    rolled = client.post("/apps/rolling/releases", json={"release": old})
    assert rolled.status_code == 201
    body = rolled.json()
    assert body["description"] == f"Rollback to v{old}" and body["version"] == old + 3
    assert body["image"].endswith("1" * 64) and body["status"] == "pending"
    assert client.get("/apps/rolling/config-vars").json() == {"MODE": "old"}
    assert client.get(f"/apps/rolling/releases/{body['version']}/config-vars").json() == {"MODE": "old"}
    assert woken()[-1] == "rolling"


def test_rollback_refuses_releases_without_code_and_bad_bodies(client):
    client.post("/apps", json={"name": "no-code"})
    refused = client.post("/apps/no-code/releases", json={"release": 1})
    assert refused.status_code == 422 and "cannot be rolled back" in refused.json()["message"]
    assert client.post("/apps/no-code/releases", json={}).status_code == 422
    assert client.post("/apps/no-code/releases", json={"release": 42}).status_code == 404
    assert len(client.get("/apps/no-code/releases").json()) == 1


def test_names_with_a_trailing_newline_and_bad_range_starts_are_refused(client):
    assert client.post("/apps", json={"name": "abc\n"}).status_code == 422
    assert client.patch("/apps/abc/config-vars", json={"A\n": "1"}).status_code == 404
    client.post("/apps", json={"name": "ranged"})
    assert client.patch("/apps/ranged/config-vars", json={"A\n": "1"}).status_code == 422
    assert client.get("/apps", headers={"Range": "id zzz.."}).status_code == 416
    assert client.get("/apps/ranged/releases", headers={"Range": "id zzz.."}).status_code == 416
    assert client.get("/apps/ranged/releases", headers={"Range": "version x.."}).status_code == 416


def test_addon_services_and_their_plans(client):
    services = client.get("/addon-services").json()
    assert [s["name"] for s in services] == ["postgresql", "redis", "external"]
    assert client.get("/addon-services/heroku-postgresql").json()["name"] == "postgresql"
    plans = client.get("/addon-services/redis/plans").json()
    assert [(p["name"], p["default"]) for p in plans] == [("redis:mini", True), ("redis:premium", False)]
    assert client.get("/addon-services/mysql").status_code == 404


# --- renaming, release output, Heroku CLI lookups -----------------------------


def test_an_app_is_renamed_with_its_repository_and_run_numbers(client, platform_app, woken, test_sessionmaker):
    platform = platform_app.api.state.platform
    client.post("/apps", json={"name": "old-name"})
    client.post("/apps", json={"name": "taken-name"})
    repository = platform.settings.repos_dir / "old-name.git"
    repository.mkdir(parents=True)
    platform.redis.set("paas:run-counter:old-name", 4)
    renamed = client.patch("/apps/old-name", json={"name": "new-name"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "new-name" and renamed.json()["git_url"].endswith("/new-name.git")
    assert client.get("/apps/old-name").status_code == 404 and client.get("/apps/new-name").status_code == 200
    assert not repository.exists() and (platform.settings.repos_dir / "new-name.git").is_dir()
    assert "new-name" in woken() and "old-name" in woken()  # the runner moves its processes
    assert next_run_name(platform.redis, "new-name") == "run.5"  # run numbers go on

    for body, status, word in (({"name": "taken-name"}, 422, "taken"), ({"name": "Bad_Name"}, 422, "Name must"),
                               ({"name": 7}, 422, "Name must")):
        refused = client.patch("/apps/new-name", json=body)
        assert refused.status_code == status and word in refused.json()["message"], (body, refused.text)
    assert client.get("/apps/new-name").status_code == 200


def test_maintenance_is_turned_on_and_off_by_those_who_operate_the_app(client, platform_app, woken, test_sessionmaker):
    client.post("/apps", json={"name": "closing"})
    assert client.get("/apps/closing").json()["maintenance"] is False
    on = client.patch("/apps/closing", json={"maintenance": True})
    assert on.status_code == 200 and on.json()["maintenance"] is True
    assert client.get("/apps/closing").json()["maintenance"] is True and "closing" in woken()  # the runner routes it
    for value in ("yes", 1, None):
        refused = client.patch("/apps/closing", json={"maintenance": value})
        assert refused.status_code == 422 and refused.json()["message"] == "maintenance must be true or false.", refused.text
    with test_sessionmaker() as db:
        viewer = accounts.issue_token(db, accounts.ensure_user(db, "looker@example.com"))
        db.commit()
    assert client.post("/apps/closing/collaborators", json={"user": "looker@example.com"}).status_code == 201
    helper = TestClient(platform_app, headers={"Authorization": f"Bearer {viewer}"})
    assert helper.patch("/apps/closing", json={"maintenance": False}).json()["maintenance"] is False  # operate: yes
    assert client.get("/apps/closing").json()["maintenance"] is False


def test_only_those_who_manage_an_app_rename_it(client, platform_app, test_sessionmaker):
    client.post("/apps", json={"name": "kept-name"})
    with test_sessionmaker() as db:
        other = accounts.issue_token(db, accounts.ensure_user(db, "helper@example.com"))
        db.commit()
    assert client.post("/apps/kept-name/collaborators", json={"user": "helper@example.com"}).status_code == 201
    helper = TestClient(platform_app, headers={"Authorization": f"Bearer {other}"})
    assert helper.patch("/apps/kept-name", json={"health_check_path": "/up"}).status_code == 200  # operate: yes
    assert helper.patch("/apps/kept-name", json={"name": "stolen-name"}).status_code == 403  # manage: no
    assert client.get("/apps/kept-name").status_code == 200


def test_a_release_that_deploys_code_has_its_output(client, platform_app, test_sessionmaker):
    platform = platform_app.api.state.platform
    client.post("/apps", json={"name": "outputs"})
    assert client.get("/apps/outputs/releases/1").json()["output_stream_url"] is None  # no code: nothing deployed
    version = deploy(test_sessionmaker, "outputs", "127.0.0.1:5000/outputs@sha256:" + "3" * 64)
    release = client.get(f"/apps/outputs/releases/{version}").json()
    url = release["output_stream_url"]
    assert url.startswith(platform.settings.api_url) and "signature=" in url
    path = url.removeprefix(platform.settings.api_url)
    anonymous = TestClient(platform_app)
    assert anonymous.get(path).text == "(this release's output is no longer kept)\n"  # settled, and nothing kept
    stream = LogStream.for_release(platform.redis, release["id"])
    stream.write("-----> Launching v2: starting web.1")
    stream.end(True, version=version)
    try:
        assert anonymous.get(path).text == "-----> Launching v2: starting web.1\n"
        assert anonymous.get(path.partition("?")[0]).status_code == 404  # unsigned
    finally:
        platform.redis.delete(stream.key)


def test_the_heroku_clis_lookups(client, platform_app):
    client.post("/apps", json={"name": "looked-up"})
    assert client.get("/apps/looked-up/sni-endpoints").json() == []
    refused = client.post("/apps/looked-up/domains", json={"hostname": "www.looked.test", "sni_endpoint": "cert-1"})
    assert refused.status_code == 422 and "not uploaded" in refused.json()["message"]

    made = client.post("/apps/looked-up/addons", json={"plan": {"name": "external"}, "attachment": {"name": "MAILER"},
                                                       "config": {"url": "smtp://mail.example"}})
    assert made.status_code == 201, made.text
    addon = made.json()["name"]
    for body in ({"addon": addon}, {"addon": addon, "app": "looked-up"}, {"addon": "MAILER", "app": "looked-up"},
                 {"addon": addon, "addon_service": "external"}):
        resolved = client.post("/actions/addons/resolve", json=body)
        assert resolved.status_code == 200 and [a["name"] for a in resolved.json()] == [addon], (body, resolved.text)
    for body, status in (({"addon": "nothing-here"}, 404), ({"addon": addon, "addon_service": "redis"}, 404),
                         ({"addon": 5}, 422), ({"addon": "MAILER"}, 404)):
        assert client.post("/actions/addons/resolve", json=body).status_code == status, body
    attachment = client.post("/actions/addon-attachments/resolve", json={"addon_attachment": "MAILER", "app": "looked-up"})
    assert [a["name"] for a in attachment.json()] == ["MAILER"]
    assert made.json()["plan"]["price"]["cents"] == 0

    registry = TestClient(platform_app).get("/buildpack-registry/buildpacks/heroku/python")  # public, as Heroku's is
    assert registry.status_code == 200 and registry.json()["blob_url"] == "heroku/python"


def test_log_sessions_answer_server_sent_events_to_who_asks_for_them(client, platform_app):
    platform = platform_app.api.state.platform
    app = client.post("/apps", json={"name": "eventful"}).json()
    platform.logs.event(app["id"], "api", "first line", source="app")
    platform.logs.event(app["id"], "api", "second line", source="app")
    try:
        url = client.post("/apps/eventful/log-sessions", json={"lines": 10}).json()["logplex_url"]
        path = url.removeprefix(platform.settings.api_url)
        # The session's URL needs no token (the client's loop, which the async Redis client is bound to).
        plain = client.get(path, headers={"Authorization": ""})
        assert plain.headers["content-type"].startswith("text/plain")
        assert [line.split(": ", 1)[1] for line in plain.text.splitlines()] == ["first line", "second line"]
        events = client.get(path, headers={"Accept": "text/event-stream", "Authorization": ""})
        assert events.headers["content-type"].startswith("text/event-stream")
        frames = events.text.split("\n\n")
        assert frames[-1] == "" and [f.partition(": ")[2] for f in frames[:-1]] == plain.text.splitlines()
        assert all(f.startswith("data: ") and "\n" not in f for f in frames[:-1])
    finally:
        platform.logs.delete(app["id"])


def test_nodes_are_what_the_runner_last_saw_and_for_admins_only(client, platform_app, test_sessionmaker):
    redis = platform_app.api.state.platform.redis
    node = {"id": "n1", "hostname": "h1", "address": "10.0.0.1", "state": "ready", "availability": "active",
            "role": "manager", "leader": True, "dynos": 3, "engine": "20.10"}
    try:
        publish_nodes(redis, [node], None)
        assert client.get("/nodes").status_code == 403  # the test user is no admin
        with test_sessionmaker() as db:
            admin = accounts.ensure_user(db, "boss@example.com")
            admin.is_admin = True
            admin_token = accounts.issue_token(db, admin)
            db.commit()
        boss = {"Authorization": f"Bearer {admin_token}"}
        [listed] = client.get("/nodes", headers=boss).json()
        assert listed["dynos"] == 3 and listed["address"] == "10.0.0.1" and listed["updated_at"].endswith("Z")
        assert client.get("/nodes/join", headers=boss).status_code == 422  # one engine: nothing joins
        publish_nodes(redis, [node], "docker swarm join --token SWMTKN-1-x 10.0.0.1:2377")
        assert client.get("/nodes/join", headers=boss).json() == {"command": "docker swarm join --token SWMTKN-1-x 10.0.0.1:2377"}
    finally:
        redis.delete(NODES_KEY)


def test_a_nul_byte_in_a_name_is_the_clients_error_not_a_crash(client):
    for path in ("/apps/%00", "/apps/a%00b/domains", "/teams/x%00y"):
        answered = client.get(path)
        assert answered.status_code in (400, 404), (path, answered.text)
        assert set(answered.json()) == {"id", "message"}
