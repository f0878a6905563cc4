"""The admin pages in-process: users made (their secrets shown once), disabled and sent new password
links, and the audit log; admins only, as the API's /accounts and /audit-events (the browser
drives them in tests/e2e/test_dashboard_admin.py)."""

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings, strategies as st

from paas.dashboard.web import COOKIE
from paas.domain import accounts, audit
from tests.dashboard.conftest import csrf_of, signed_in


@pytest.fixture
def admin(browser, person):
    """The browser, signed in as an admin; returns the CSRF token of its session."""
    signed_in(browser, person("admin@example.com", admin=True))
    return csrf_of(browser.get("/dashboard/admin/users"))


def another_browser(browser, email: str) -> tuple[TestClient, str]:
    """A second browser, signed in as `email`: it and its session's CSRF token."""
    other = TestClient(browser.app, follow_redirects=False)
    signed_in(other, email)
    return other, csrf_of(other.get("/dashboard/account"))


def user_id(test_sessionmaker, email: str) -> str:
    with test_sessionmaker() as db:
        return str(accounts.find_user(db, email).id)


def link_path_of(page) -> str:
    """A one-time link shown on the page, as a path of this server's."""
    return "/dashboard" + re.search(r'id="password-link" readonly size="90" value="[^"]*/dashboard(/set-password\?token=[^"]+)"', page.text).group(1)


def test_an_admin_sees_the_users_and_the_admin_links(browser, admin, person):
    person("dev@example.com")
    page = browser.get("/dashboard/admin/users")
    assert page.status_code == 200 and "<h1>Users</h1>" in page.text
    assert 'href="/dashboard/admin/users">Users</a>' in page.text and 'href="/dashboard/admin/audit">Audit log</a>' in page.text
    row = re.search(r"<tr><td>dev@example.com</td>.*?</tr>", page.text, re.S).group(0)
    assert "<td>no</td>" in row and 'aria-label="Disable dev@example.com"' in row and "New password link for dev@example.com" in row
    own = re.search(r"<tr><td>admin@example.com</td>.*?</tr>", page.text, re.S).group(0)
    assert "<td>yes</td>" in own and "Disable" not in own  # an admin cannot be disabled
    for label in ("Email", "Name"):
        assert f">{label}</label>" in page.text
    assert not re.search(r"\son[a-z]+=|<script>|style=", page.text)


def test_a_non_admin_is_refused_every_admin_page_and_form(browser, person, test_sessionmaker):
    target = person("target@example.com")
    signed_in(browser, person("dev@example.com"))
    own = browser.get("/dashboard/account")
    assert "/dashboard/admin/" not in own.text  # no admin links in the header
    csrf = csrf_of(own)  # a valid token of this session
    for path in ("/dashboard/admin/users", "/dashboard/admin/audit"):
        refused = browser.get(path)
        assert refused.status_code == 403 and "Only the platform&#39;s admins" in refused.text, path
    target_id = user_id(test_sessionmaker, target)
    posts = (("/dashboard/admin/users", {"email": "new@example.com"}), (f"/dashboard/admin/users/{target_id}/disable", {}),
             (f"/dashboard/admin/users/{target_id}/password-link", {}))
    with test_sessionmaker() as db:
        before = {u.email for u in accounts.active_users(db)}  # (other modules' committed users too)
    assert {"target@example.com", "dev@example.com"} <= before and "new@example.com" not in before
    for path, form in posts:
        refused = browser.post(path, data={"csrf": csrf, **form})
        assert refused.status_code == 403 and "token=" not in refused.text, path
    with test_sessionmaker() as db:
        assert {u.email for u in accounts.active_users(db)} == before
    # The positive control: an admin's same posts do it.
    admin, admin_csrf = another_browser(browser, person("admin@example.com", admin=True))
    for path, form in reversed(posts):
        assert admin.post(path, data={"csrf": admin_csrf, **form}).status_code in (201, 303), path
    with test_sessionmaker() as db:
        assert {u.email for u in accounts.active_users(db)} == before - {"target@example.com"} | {"admin@example.com", "new@example.com"}


def test_a_form_without_its_csrf_token_changes_nothing(browser, admin, person, test_sessionmaker):
    target_id = user_id(test_sessionmaker, person("target@example.com"))
    for forged in ({}, {"csrf": "0" * 64}):
        for path, form in (("/dashboard/admin/users", {"email": "forged@example.com"}),
                           (f"/dashboard/admin/users/{target_id}/disable", {}),
                           (f"/dashboard/admin/users/{target_id}/password-link", {})):
            refused = browser.post(path, data={**forged, **form})
            assert refused.status_code == 403 and "CSRF" in refused.text and "token=" not in refused.text, path
    page = browser.get("/dashboard/admin/users")
    assert "forged@example.com" not in page.text and "target@example.com" in page.text


def test_a_made_account_gets_a_token_and_a_link_shown_once(browser, admin):
    made = browser.post("/dashboard/admin/users", data={"csrf": admin, "email": " New@Example.com", "name": "New Person"})
    assert made.status_code == 201 and "location" not in made.headers and "set-cookie" not in made.headers
    token = re.search(r'id="first-token" readonly size="50" value="([^"]+)"', made.text).group(1)
    link = link_path_of(made)
    assert TestClient(browser.app, headers={"Authorization": f"Bearer {token}"}).get("/account").json()["email"] == "new@example.com"
    listed = browser.get("/dashboard/admin/users")
    assert "New Person" in listed.text and token not in listed.text and "set-password" not in listed.text
    # The user sets a password through the link, then signs in.
    newcomer = TestClient(browser.app, follow_redirects=False)
    assert newcomer.get(link).status_code == 200
    token_of_link = link.split("token=")[1]
    assert newcomer.post("/dashboard/set-password", data={"token": token_of_link, "password": "a long new password"}).status_code == 303
    signed_in(newcomer, "new@example.com", "a long new password")
    assert newcomer.get("/dashboard/account").status_code == 200
    again = browser.post("/dashboard/admin/users", data={"csrf": admin, "email": "new@example.com"})
    assert again.status_code == 422 and "already has an account" in again.text


def test_a_new_password_link_replaces_a_lost_password(browser, admin, person, test_sessionmaker):
    email = person("forgetful@example.com")
    user, user_csrf = another_browser(browser, email)
    answer = browser.post(f"/dashboard/admin/users/{user_id(test_sessionmaker, email)}/password-link", data={"csrf": admin})
    assert answer.status_code == 201 and "forgetful@example.com" in answer.text
    link = link_path_of(answer)
    assert "set-password" not in browser.get("/dashboard/admin/users").text  # shown once
    token = link.split("token=")[1]
    assert user.post("/dashboard/set-password", data={"token": token, "password": "the newest password"}).status_code == 303
    assert user.get("/dashboard/account").headers["location"] == "/dashboard/sign-in"  # the old session ended
    signed_in(user, email, "the newest password")


def test_disabling_a_user_ends_their_dashboard_session(browser, admin, person, test_sessionmaker):
    email = person("leaver@example.com")
    user, _ = another_browser(browser, email)
    assert user.get("/dashboard/account").status_code == 200
    done = browser.post(f"/dashboard/admin/users/{user_id(test_sessionmaker, email)}/disable", data={"csrf": admin})
    assert done.status_code == 303 and done.headers["location"] == "/dashboard/admin/users"
    assert user.get("/dashboard/account").headers["location"] == "/dashboard/sign-in"
    assert "leaver@example.com" not in browser.get("/dashboard/admin/users").text
    admin_id = user_id(test_sessionmaker, "admin@example.com")
    refused = browser.post(f"/dashboard/admin/users/{admin_id}/disable", data={"csrf": admin})
    assert refused.status_code == 422 and "cannot be disabled" in refused.text


def test_the_audit_log_shows_dashboard_actions_newest_first_and_filters_by_app(browser, admin, client):
    assert client.post("/apps", json={"name": "audited"}).status_code == 201
    assert browser.post("/dashboard/apps/audited/config", data={"csrf": admin, "key": "K", "value": "v"}).status_code == 303
    browser.post("/dashboard/admin/users", data={"csrf": admin, "email": "made@example.com"})
    page = browser.get("/dashboard/admin/audit")
    assert page.status_code == 200 and "<h1>Audit log</h1>" in page.text and '<label for="app">App</label>' in page.text
    made = page.text.index("POST /dashboard/admin/users</code>")
    configured = page.text.index("POST /dashboard/apps/audited/config</code>")
    assert made < configured  # newest first
    assert re.search(r"<td>admin@example.com</td><td><code>POST /dashboard/apps/audited/config</code></td><td>audited</td>", page.text)
    only = browser.get("/dashboard/admin/audit", params={"app": "audited"})
    assert "POST /dashboard/apps/audited/config" in only.text and "POST /dashboard/admin/users" not in only.text
    assert "No events for nosuch" in browser.get("/dashboard/admin/audit", params={"app": "nosuch"}).text


def test_the_audit_log_pages_by_fifty(browser, admin, test_sessionmaker):
    with test_sessionmaker() as db:
        for n in range(60):
            audit.record(db, "someone@example.com", f"POST /apps/paged/thing-{n}", "paged")
        db.commit()
    first = browser.get("/dashboard/admin/audit", params={"app": "paged"})
    shown = re.findall(r"thing-(\d+)<", first.text)
    assert shown == [str(n) for n in range(59, 9, -1)]
    older = re.search(r'href="(/dashboard/admin/audit\?[^"]+)">Older<', first.text).group(1).replace("&amp;", "&")
    assert "app=paged" in older
    second = browser.get(older)
    assert re.findall(r"thing-(\d+)<", second.text) == [str(n) for n in range(9, -1, -1)] and ">Older<" not in second.text


@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(email=st.text(max_size=300), name=st.text(max_size=300))
@example(email="nul\x00@example.com", name="").via("a value Postgres cannot store")
@example(email="fine@example.com", name="x" * 101)
def test_any_email_and_name_get_an_answer_never_a_crash(browser, person, email, name):
    if not browser.cookies.get(COOKIE):
        signed_in(browser, person("admin@example.com", admin=True))
    csrf = csrf_of(browser.get("/dashboard/admin/users"))
    answer = browser.post("/dashboard/admin/users", data={"csrf": csrf, "email": email, "name": name})
    assert answer.status_code in (201, 400, 422), answer.text
