"""Who may do what: every endpoint family x {admin, owner, collaborator, team admin, team member
with each permission, stranger, no token, revoked token, disabled user}, against the API in-process
(real Postgres, real Redis)."""

import pytest
from fastapi.testclient import TestClient

from paas.domain import accounts

ALL = {"view", "deploy", "operate", "manage"}
# (method, path, body, the permission it needs); {app} is filled in.
CASES = [
    ("GET", "/apps/{app}", None, "view"),
    ("GET", "/apps/{app}/releases", None, "view"),
    ("GET", "/apps/{app}/formation", None, "view"),
    ("GET", "/apps/{app}/dynos", None, "view"),
    ("GET", "/apps/{app}/builds", None, "view"),
    ("GET", "/apps/{app}/addons", None, "view"),
    ("GET", "/apps/{app}/domains", None, "view"),
    ("GET", "/apps/{app}/collaborators", None, "view"),
    ("GET", "/apps/{app}/sni-endpoints", None, "view"),
    ("POST", "/apps/{app}/log-sessions", {}, "view"),
    ("GET", "/apps/{app}/config-vars", None, "deploy"),
    ("PATCH", "/apps/{app}/config-vars", {"K": "v"}, "deploy"),
    ("POST", "/apps/{app}/releases", {"release": 1}, "deploy"),
    ("POST", "/apps/{app}/builds", {}, "deploy"),
    ("POST", "/apps/{app}/dynos", {"command": "true"}, "deploy"),
    ("PATCH", "/apps/{app}/formation", {"updates": [{"type": "web", "quantity": 1}]}, "operate"),
    ("PATCH", "/apps/{app}", {"health_check_path": "/"}, "operate"),
    ("DELETE", "/apps/{app}/dynos", None, "operate"),
    ("POST", "/apps/{app}/domains", {"hostname": "www.{app}.test"}, "manage"),
    ("POST", "/apps/{app}/addons", {"plan": "external", "attachment": {"name": "X{n}"}, "config": {"url": "https://x.example"}}, "manage"),
    ("POST", "/apps/{app}/links", {"app": "{app}"}, "manage"),
]


@pytest.fixture
def people(client, platform_app, test_sessionmaker):
    """Tokens of everyone, a personal app with a collaborator, a team app with members."""
    def user(email: str, admin: bool = False) -> str:
        with test_sessionmaker() as db:
            found = accounts.ensure_user(db, email)
            found.is_admin = admin
            token = accounts.issue_token(db, found)
            db.commit()
        return token

    tokens = {"owner": client.headers["Authorization"].split()[1], "admin": user("root@example.com", admin=True)}
    for name in ("collaborator", "stranger", "revoked", "disabled", "team-admin", *(f"member-{p}" for p in sorted(ALL))):
        tokens[name] = user(f"{name}@example.com")
    as_ = {name: TestClient(platform_app, headers={"Authorization": f"Bearer {token}"}) for name, token in tokens.items()}
    as_["no token"] = TestClient(platform_app)
    assert client.post("/apps", json={"name": "personal"}).status_code == 201
    assert client.post("/apps/personal/collaborators", json={"user": "collaborator@example.com"}).status_code == 201
    assert as_["team-admin"].post("/teams", json={"name": "crew"}).status_code == 201
    assert as_["team-admin"].post("/teams/apps", json={"team": "crew", "name": "teamed"}).status_code == 201
    for permission in sorted(ALL):
        email = f"member-{permission}@example.com"
        assert as_["team-admin"].put("/teams/crew/members", json={"email": email, "role": "member"}).status_code == 200
        made = as_["team-admin"].post("/teams/apps/teamed/collaborators", json={"user": email, "permissions": [permission]})
        assert made.status_code == 201, made.text
    [revoked] = [a for a in as_["revoked"].get("/oauth/authorizations").json()]
    assert as_["revoked"].delete(f"/oauth/authorizations/{revoked['id']}").status_code == 200
    disabled = as_["admin"].delete("/accounts/disabled@example.com")
    assert disabled.status_code == 200, disabled.text
    return as_


GRANTS = {
    "personal": {"owner": ALL, "admin": ALL, "collaborator": {"view", "deploy", "operate"}},
    "teamed": {"team-admin": ALL, "admin": ALL, **{f"member-{p}": {"view", p} for p in ALL}},
}


@pytest.mark.parametrize("app", sorted(GRANTS))
def test_every_endpoint_family_answers_as_the_callers_permissions_allow(people, app):
    for n, (method, path, body, needs) in enumerate(CASES):
        url = path.format(app=app)
        sent = None if body is None else {k: v.format(app=app, n=n) if isinstance(v, str) else v for k, v in body.items()}
        if sent and "attachment" in sent:
            sent["attachment"] = {"name": f"X{n}{len(people)}"}
        for who, client in people.items():
            granted = GRANTS[app].get(who, set())
            response = client.request(method, url, json=sent)
            if who in ("no token", "revoked", "disabled"):
                expected = {401}
            elif "view" not in granted:
                expected = {404}  # as for no such app: names do not leak
            elif needs not in granted:
                expected = {403}
            else:
                expected = None
            if expected is None:  # allowed: whatever the endpoint answers, it is not about access
                assert response.status_code not in (401, 403), (who, method, url, response.text)
                assert "find that app" not in response.text, (who, method, url, response.text)
            else:
                assert response.status_code in expected, (who, method, url, response.status_code, response.text)
                assert set(response.json()) == {"id", "message"}


def test_a_stranger_sees_the_same_404_as_for_no_app_and_lists_only_their_apps(people):
    hidden = people["stranger"].get("/apps/personal").json()
    missing = people["stranger"].get("/apps/no-such-app").json()
    assert hidden["id"] == missing["id"] == "not_found" and hidden["message"].replace("personal", "X") == missing["message"].replace("no-such-app", "X")
    assert people["stranger"].get("/apps").json() == []
    assert [a["name"] for a in people["collaborator"].get("/apps").json()] == ["personal"]
    assert [a["name"] for a in people["member-view"].get("/apps").json()] == ["teamed"]
    assert sorted(a["name"] for a in people["admin"].get("/apps").json()) == ["personal", "teamed"]


def test_only_owners_and_managers_delete_apps(people):
    assert people["collaborator"].delete("/apps/personal").status_code == 403
    assert people["member-operate"].delete("/apps/teamed").status_code == 403
    assert people["member-manage"].delete("/apps/teamed").status_code == 200
    assert people["owner"].delete("/apps/personal").status_code == 200


def test_accounts_and_tokens(people, client):
    made = people["admin"].post("/accounts", json={"email": "New@Example.com", "name": "New"})
    assert made.status_code == 201 and made.json()["email"] == "new@example.com"
    token = made.json()["token"]
    newcomer = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    assert newcomer.get("/account").json()["email"] == "new@example.com"
    assert people["admin"].post("/accounts", json={"email": "new@example.com"}).status_code == 422  # taken
    assert people["owner"].post("/accounts", json={"email": "x@example.com"}).status_code == 403  # admins only
    assert people["admin"].post("/accounts", json={"email": "not an email"}).status_code == 422
    assert newcomer.patch("/account", json={"name": "Renamed"}).json()["name"] == "Renamed"
    second = newcomer.post("/oauth/authorizations", json={"description": "laptop"}).json()
    assert second["access_token"]["token"] and second["description"] == "laptop"
    listed = newcomer.get("/oauth/authorizations").json()
    assert len(listed) == 2 and all(a["access_token"]["token"] is None for a in listed)  # shown once only
    assert people["stranger"].get(f"/oauth/authorizations/{second['id']}").status_code == 404  # not theirs
    assert newcomer.delete(f"/oauth/authorizations/{second['id']}").status_code == 200
    assert TestClient(client.app, headers={"Authorization": f"Bearer {second['access_token']['token']}"}).get("/account").status_code == 401
    assert people["admin"].delete("/accounts/new@example.com").status_code == 200
    assert newcomer.get("/account").status_code == 401
    events = people["admin"].get("/audit-events").json()
    assert any(e["action"] == "DELETE /accounts/new@example.com" and e["actor"] == "root@example.com" for e in events)
    assert people["owner"].get("/audit-events").status_code == 403


def test_teams_keep_an_admin_and_only_admins_change_members(people):
    crew = people["team-admin"]
    assert people["member-manage"].put("/teams/crew/members", json={"email": "stranger@example.com"}).status_code == 403
    assert people["stranger"].get("/teams/crew").status_code == 404
    assert crew.put("/teams/crew/members", json={"email": "team-admin@example.com", "role": "member"}).status_code == 422
    members = {m["email"]: m["role"] for m in crew.get("/teams/crew/members").json()}
    assert members["team-admin@example.com"] == "admin" and members["member-view@example.com"] == "member"
    refused = crew.post("/teams/apps/teamed/collaborators", json={"user": "stranger@example.com", "permissions": ["view"]})
    assert refused.status_code == 422 and "not a member" in refused.json()["message"]
    assert crew.delete("/teams/crew/members/member-view@example.com").status_code == 200
    assert [t["name"] for t in people["member-deploy"].get("/teams").json()] == ["crew"]


def test_seeing_an_addon_is_not_enough_to_share_or_rotate_it(people):
    made = people["team-admin"].post("/apps/teamed/addons", json={"plan": "external", "attachment": {"name": "SECRET"},
                                                                  "config": {"url": "postgres://u:pw@db.example/x"}})
    assert made.status_code == 201, made.text
    addon = made.json()["name"]
    viewer = people["member-view"]
    assert viewer.get(f"/apps/teamed/addons/{addon}").status_code == 200
    assert viewer.post("/apps", json={"name": "viewers-own"}).status_code == 201
    stolen = viewer.post("/addon-attachments", json={"addon": addon, "app": "viewers-own"})
    assert stolen.status_code == 403, stolen.text
    assert viewer.get("/apps/viewers-own/config-vars").json() == {}
    assert viewer.post(f"/apps/viewers-own/addons/{addon}/actions/credentials-rotate").status_code == 404  # not that app's
    assert viewer.post(f"/apps/teamed/addons/{addon}/actions/credentials-rotate").status_code == 403
    assert viewer.get(f"/apps/viewers-own/addons/{addon}").status_code == 404
    # One who manages the owning app may share it (with an app of their own they manage).
    manager = people["member-manage"]
    assert manager.post("/apps", json={"name": "managers-own"}).status_code == 201
    nameless = manager.post("/addon-attachments", json={"addon": addon, "app": "managers-own"})
    assert nameless.status_code == 422 and "Name the attachment" in nameless.json()["message"]  # an external one
    shared = manager.post("/addon-attachments", json={"addon": addon, "app": "managers-own", "name": "SECRET"})
    assert shared.status_code == 201, shared.text
    attachment = shared.json()["id"]
    assert people["stranger"].get(f"/addon-attachments/{attachment}").json()["message"] == f"Couldn't find that add-on attachment: {attachment}"


def test_a_member_who_leaves_the_team_loses_its_apps(people):
    crew = people["team-admin"]
    assert [a["name"] for a in people["member-deploy"].get("/apps").json()] == ["teamed"]
    assert crew.delete("/teams/crew/members/member-deploy@example.com").status_code == 200
    assert people["member-deploy"].get("/apps").json() == []
    assert people["member-deploy"].get("/apps/teamed").status_code == 404
    assert "member-deploy@example.com" not in {c["user"]["email"] for c in crew.get("/apps/teamed/collaborators").json()}
    # Back in the team, they start from nothing: no old grants come back.
    assert crew.put("/teams/crew/members", json={"email": "member-deploy@example.com", "role": "member"}).status_code == 200
    assert people["member-deploy"].get("/apps/teamed").status_code == 404


def test_changes_that_commit_nothing_else_are_in_the_audit_log_too(people):
    assert people["member-operate"].delete("/apps/teamed/dynos").status_code == 202
    assert people["member-deploy"].post("/apps/teamed/dynos", json={"command": "true"}).status_code in (201, 422)
    events = {(e["actor"], e["action"]) for e in people["admin"].get("/audit-events", params={"app": "teamed"}).json()}
    assert ("member-operate@example.com", "DELETE /apps/teamed/dynos") in events
