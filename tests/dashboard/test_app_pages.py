"""The domains, access and settings pages in-process: each form does what the API does, with the
same permissions (add-ons, which need the runner, are created and destroyed end to end in
tests/e2e/test_dashboard.py)."""

import pytest
from fastapi.testclient import TestClient

from paas.domain.models import Collaborator
from tests.dashboard.conftest import csrf_of, signed_in


@pytest.fixture
def owner(browser, client, person):
    assert client.post("/apps", json={"name": "site"}).status_code == 201
    signed_in(browser, person("dev@example.com"))
    return browser


def post(browser, path: str, **form):
    csrf = csrf_of(browser.get("/dashboard/apps"))
    return browser.post(f"/dashboard/apps/{path}", data={"csrf": csrf, **form})


def test_domains_are_added_and_removed(owner, client):
    added = post(owner, "site/domains", hostname="www.example.com")
    assert added.status_code == 303, added.text
    page = owner.get("/dashboard/apps/site/domains").text
    assert "www.example.com" in page and "site.localhost" in page and 'aria-label="Remove www.example.com"' in page
    assert [d["hostname"] for d in client.get("/apps/site/domains").json()] == ["site.localhost", "www.example.com"]
    bad = post(owner, "site/domains", hostname="not a host")
    assert bad.status_code == 422 and "role=\"alert\"" in bad.text
    assert post(owner, "site/domains/remove", hostname="www.example.com").status_code == 303
    assert [d["hostname"] for d in client.get("/apps/site/domains").json()] == ["site.localhost"]


def test_collaborators_are_added_and_removed(owner, client, person):
    person("friend@example.com")
    assert post(owner, "site/access", email="friend@example.com").status_code == 303
    assert "friend@example.com" in owner.get("/dashboard/apps/site/access").text
    assert [c["user"]["email"] for c in client.get("/apps/site/collaborators").json()][-1] == "friend@example.com"
    assert post(owner, "site/access/remove", email="friend@example.com").status_code == 303
    assert "friend@example.com" not in owner.get("/dashboard/apps/site/access").text


def test_settings_rename_set_the_stack_and_buildpacks(owner, client):
    renamed = post(owner, "site/settings", new_name="renamed-site")
    assert renamed.status_code == 303 and renamed.headers["location"] == "/dashboard/apps/renamed-site/settings"
    assert client.get("/apps/renamed-site").status_code == 200
    assert post(owner, "renamed-site/settings", stack="trixie").status_code == 303
    assert client.get("/apps/renamed-site").json()["build_stack"]["name"] == "trixie"
    assert post(owner, "renamed-site/buildpacks", buildpacks="heroku/python\n\nheroku/nodejs\n").status_code == 303
    installed = [b["buildpack"]["name"] for b in client.get("/apps/renamed-site/buildpack-installations").json()]
    assert installed == ["heroku/python", "heroku/nodejs"]
    assert ">python\nnodejs</textarea>" in owner.get("/dashboard/apps/renamed-site/settings").text  # as stored


def test_maintenance_is_switched_on_and_off_from_settings(owner, client):
    page = owner.get("/dashboard/apps/site/settings").text
    assert "Maintenance mode is <strong>off</strong>" in page and "Turn maintenance on</button>" in page
    assert post(owner, "site/settings", maintenance="on").status_code == 303
    assert client.get("/apps/site").json()["maintenance"] is True
    page = owner.get("/dashboard/apps/site/settings").text
    assert "Maintenance mode is <strong>on</strong>" in page and "Turn maintenance off</button>" in page
    assert "Maintenance mode is on" in owner.get("/dashboard/apps/site").text  # the overview says so
    assert post(owner, "site/settings", maintenance="maybe").status_code == 422
    assert post(owner, "site/settings", maintenance="off").status_code == 303
    assert client.get("/apps/site").json()["maintenance"] is False


def test_deleting_needs_the_name_typed(owner, client):
    wrong = post(owner, "site/delete", confirm="sit")
    assert wrong.status_code == 422 and "nothing was deleted" in wrong.text
    assert client.get("/apps/site").status_code == 200
    assert post(owner, "site/delete", confirm="site").status_code == 303
    assert client.get("/apps/site").status_code == 404


def test_a_viewer_sees_none_of_these_controls_and_cannot_post_them(owner, client, person, test_sessionmaker):
    with test_sessionmaker() as db:
        from paas.domain import accounts
        viewer = accounts.find_user(db, person("viewer@example.com"))
        db.add(Collaborator(app_id=client.get("/apps/site").json()["id"], user_id=viewer.id, permissions=["view"]))
        db.commit()
    as_viewer = TestClient(owner.app, follow_redirects=False)
    signed_in(as_viewer, "viewer@example.com")
    for tab in ("domains", "access", "settings", "resources"):
        page = as_viewer.get(f"/dashboard/apps/site/{tab}")
        assert page.status_code == 200 and page.text.count("<button") == 1, tab  # the sign-out button only
    for path, form in (("site/domains", {"hostname": "www.example.com"}), ("site/access", {"email": "viewer@example.com"}),
                       ("site/settings", {"new_name": "taken-over"}), ("site/settings", {"maintenance": "on"}),
                       ("site/delete", {"confirm": "site"}),
                       ("site/addons", {"plan": "redis:mini"}), ("site/buildpacks", {"buildpacks": "heroku/python"})):
        assert post(as_viewer, path, **form).status_code == 403, path
    assert client.get("/apps/site").json()["name"] == "site" and client.get("/apps/site").json()["maintenance"] is False
    assert len(client.get("/apps/site/domains").json()) == 1
