"""The dashboard in-process, against real Postgres and Redis: sign-in, sessions, CSRF, and a
user seeing and doing exactly what the API allows them (the browser drives it end to end in
tests/e2e/test_dashboard.py)."""

import logging
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from paas.dashboard.limits import SignInLimits
from paas.dashboard.web import COOKIE, HideLinkTokens
from paas.domain import accounts, sign_in
from paas.domain.errors import TooManyRequests
from paas.domain.models import Collaborator
from tests.dashboard.conftest import PASSWORD, csrf_of, signed_in
from tests.platform.conftest import deploy

def test_a_browser_at_the_root_gets_the_dashboard_and_an_api_client_does_not(browser):
    assert browser.get("/", headers={"Accept": "text/html,application/xhtml+xml"}).headers["location"] == "/dashboard/apps"
    api = browser.get("/", headers={"Accept": "application/vnd.heroku+json; version=3"})
    assert api.status_code == 404 and api.json()["id"] == "not_found"


def test_pages_need_a_session(browser):
    for path in ("/dashboard/apps", "/dashboard/apps/x/config"):
        answer = browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/sign-in"
    assert browser.get("/dashboard/sign-in").status_code == 200


def test_signing_in_sets_a_private_cookie_that_shows_the_users_apps(browser, client, person):
    assert client.post("/apps", json={"name": "mine"}).status_code == 201
    wrong = browser.post("/dashboard/sign-in", data={"email": person("dev@example.com"), "password": "not it at all"})
    assert wrong.status_code == 401 and COOKIE not in wrong.cookies and "do not match" in wrong.text
    cookie = signed_in(browser, "DEV@example.com ").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here; over HTTPS it is Secure
    apps = browser.get("/dashboard/apps")
    assert apps.status_code == 200 and '<a href="/dashboard/apps/mine">mine</a>' in apps.text
    assert "mine" not in browser.get("/dashboard/apps", params={"q": "other"}).text


def test_pages_have_a_policy_with_no_inline_script(browser, person):
    signed_in(browser, person("dev@example.com"))
    page = browser.get("/dashboard/apps")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts and all('src="/dashboard/static/' in s and 'integrity="sha384-' in s for s in scripts)
    assert not re.search(r"\son[a-z]+=", page.text)  # no inline event handlers either
    src = re.search(r'<script src="([^"]+)"', page.text).group(1)
    assert browser.get(src).status_code == 200


def test_a_form_without_its_csrf_token_changes_nothing(browser, client, person):
    assert client.post("/apps", json={"name": "mine"}).status_code == 201
    signed_in(browser, person("dev@example.com"))
    csrf = csrf_of(browser.get("/dashboard/apps/mine/config"))
    for forged in ({}, {"csrf": "0" * 64}, {"csrf": csrf[:-1] + ("0" if csrf[-1] != "0" else "1")}):
        answer = browser.post("/dashboard/apps/mine/config", data={**forged, "key": "FORGED", "value": "1"})
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert "FORGED" not in client.get("/apps/mine/config-vars").json()
    answer = browser.post("/dashboard/apps/mine/config", data={"csrf": csrf, "key": "REAL", "value": "yes"})
    assert answer.status_code == 303 and client.get("/apps/mine/config-vars").json()["REAL"] == "yes"


def test_a_viewer_sees_no_controls_and_a_forged_post_is_refused(browser, client, person, test_sessionmaker):
    assert client.post("/apps", json={"name": "shared"}).status_code == 201
    deploy(test_sessionmaker, "shared", "registry.test/shared@sha256:" + "1" * 64)
    deploy(test_sessionmaker, "shared", "registry.test/shared@sha256:" + "2" * 64)
    assert client.patch("/apps/shared/config-vars", json={"SECRET": "s3cret"}).status_code == 200
    with test_sessionmaker() as db:
        viewer = accounts.find_user(db, person("viewer@example.com"))
        owner_app = client.get("/apps/shared").json()
        db.add(Collaborator(app_id=owner_app["id"], user_id=viewer.id, permissions=["view"]))
        db.commit()
    signed_in(browser, "viewer@example.com")
    overview = browser.get("/dashboard/apps/shared")
    assert overview.status_code == 200 and "Deploys" in overview.text
    deploys = browser.get("/dashboard/apps/shared/deploys")
    assert "v2" in deploys.text and "Roll back to" not in deploys.text
    config = browser.get("/dashboard/apps/shared/config")
    assert "s3cret" not in config.text and ">Set<" not in config.text
    assert ">Scale<" not in browser.get("/dashboard/apps/shared/resources").text
    csrf = csrf_of(overview)  # the sign-out form's: a valid token of this session
    for path, form in (("rollback", {"version": "2"}), ("config", {"key": "X", "value": "1"}),
                       ("formation", {"process_type": "web", "quantity": "3"})):
        refused = browser.post(f"/dashboard/apps/shared/{path}", data={"csrf": csrf, **form})
        assert refused.status_code == 403, (path, refused.text)
    assert [r["version"] for r in client.get("/apps/shared/releases").json()][-1] == 4  # v4: the config change
    assert "X" not in client.get("/apps/shared/config-vars").json()
    assert client.get("/apps/shared/formation/web").json()["quantity"] == 1
    # The positive control: the owner's same posts do it.
    owner = TestClient(browser.app, follow_redirects=False)
    signed_in(owner, person("dev@example.com"))
    csrf = csrf_of(owner.get("/dashboard/apps/shared/deploys"))
    assert "Roll back to v2" in owner.get("/dashboard/apps/shared/deploys").text
    assert owner.post("/dashboard/apps/shared/rollback", data={"csrf": csrf, "version": "2"}).status_code == 303
    assert client.get("/apps/shared/releases").json()[-1]["description"] == "Rollback to v2"
    assert owner.post("/dashboard/apps/shared/formation", data={"csrf": csrf, "process_type": "web", "quantity": "2"}).status_code == 303
    assert client.get("/apps/shared/formation/web").json()["quantity"] == 2


def test_a_stranger_gets_the_same_not_found_as_for_no_app(browser, client, person):
    assert client.post("/apps", json={"name": "private"}).status_code == 201
    signed_in(browser, person("stranger@example.com"))
    assert "private" not in browser.get("/dashboard/apps").text
    for path in ("/dashboard/apps/private", "/dashboard/apps/nosuch"):
        answer = browser.get(path)
        assert answer.status_code == 404 and "Couldn&#39;t find that app" in answer.text


def test_signing_out_ends_the_session(browser, person):
    signed_in(browser, person("dev@example.com"))
    page = browser.get("/dashboard/apps")
    cookie = browser.cookies.get(COOKIE)
    out = browser.post("/dashboard/sign-out", data={"csrf": csrf_of(page)})
    assert out.status_code == 303 and out.headers["clear-site-data"] == '"cache", "storage"'
    again = TestClient(browser.app, follow_redirects=False, cookies={COOKIE: cookie})  # the old cookie, kept
    assert again.get("/dashboard/apps").headers["location"] == "/dashboard/sign-in"


def test_disabling_a_user_ends_their_sessions(browser, client, person, test_sessionmaker):
    signed_in(browser, person("leaver@example.com"))
    assert browser.get("/dashboard/apps").status_code == 200
    with test_sessionmaker() as db:
        accounts.disable(db, accounts.find_user(db, "leaver@example.com"))
        db.commit()
    assert browser.get("/dashboard/apps").headers["location"] == "/dashboard/sign-in"
    assert browser.post("/dashboard/sign-in", data={"email": "leaver@example.com", "password": PASSWORD}).status_code == 401


def test_failed_sign_ins_are_limited_per_guesser_not_per_victim(browser, person, platform_app):
    platform_app.api.state.platform.settings.sign_in_attempts = 3
    email = person("target@example.com")
    for _ in range(3):
        assert browser.post("/dashboard/sign-in", data={"email": email, "password": "a wrong guess"}).status_code == 401
    limited = browser.post("/dashboard/sign-in", data={"email": " TARGET@example.com", "password": PASSWORD})
    assert limited.status_code == 429 and "Too many failed sign-ins" in limited.text
    # The user, from their own address, is not locked out by the guesser.
    elsewhere = TestClient(browser.app, follow_redirects=False, client=("192.0.2.7", 50000))
    signed_in(elsewhere, email)


def test_each_attempt_counts_before_its_password_is_checked(browser, platform_app):
    """So concurrent guesses cannot all slip in before the first failure is counted."""
    platform = platform_app.api.state.platform
    limits = SignInLimits(platform.redis, b"key", 2)
    limits.attempt("a@example.com", "10.0.0.1")
    limits.attempt("a@example.com", "10.0.0.1")
    with pytest.raises(TooManyRequests):
        limits.attempt("a@example.com", "10.0.0.1")
    limits.attempt("a@example.com", "10.0.0.2")  # another address: its own count
    limits.succeeded("a@example.com", "10.0.0.2")  # a success is not counted against anyone
    for n in range(10):  # one address trying many accounts: 5 x 2 in all
        limits.attempt(f"{n}@example.com", "10.0.0.9")
    with pytest.raises(TooManyRequests):
        limits.attempt("another@example.com", "10.0.0.9")


def test_password_checks_are_few_at_a_time(browser, person, monkeypatch):
    email = person("dev@example.com")
    monkeypatch.setattr(sign_in, "WAIT", 0.1)
    held = [sign_in.HASHING.acquire(timeout=5) for _ in range(2)]
    try:
        busy = browser.post("/dashboard/sign-in", data={"email": email, "password": PASSWORD})
        assert all(held) and busy.status_code == 503 and "Too many sign-ins at once" in busy.text
    finally:
        for _ in held:
            sign_in.HASHING.release()
    signed_in(browser, email)


def test_forms_from_another_site_are_refused(browser, person):
    email = person("dev@example.com")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        refused = browser.post("/dashboard/sign-in", data={"email": email, "password": PASSWORD}, headers=headers)
        assert refused.status_code == 403 and COOKIE not in refused.cookies, headers
    own = browser.post("/dashboard/sign-in", data={"email": email, "password": PASSWORD},
                       headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 303


def test_signing_in_is_in_the_audit_log(browser, person, client):
    accounts_admin = TestClient(browser.app, headers=dict(client.headers))
    with browser.app.api.state.platform.sessionmaker() as db:
        accounts.find_user(db, "dev@example.com").is_admin = True
        db.commit()
    browser.post("/dashboard/sign-in", data={"email": person("someone@example.com"), "password": "a wrong guess"})
    signed_in(browser, "someone@example.com")
    actions = [(e["actor"], e["action"]) for e in accounts_admin.get("/audit-events").json()]
    assert ("someone@example.com", "POST /dashboard/sign-in (failed)") in actions
    assert ("someone@example.com", "POST /dashboard/sign-in") in actions


def test_a_one_time_link_sets_the_password_once(client, browser):
    admin = TestClient(browser.app, headers=dict(client.headers))
    with admin.app.api.state.platform.sessionmaker() as db:
        accounts.find_user(db, "dev@example.com").is_admin = True
        db.commit()
    made = admin.post("/accounts", json={"email": "new@example.com"}).json()
    link = made["password_url"].removeprefix(str(made["password_url"]).split("/dashboard")[0])
    assert browser.get(link).status_code == 200
    token = link.split("token=")[1]
    short = browser.post("/dashboard/set-password", data={"token": token, "password": "short"})
    assert short.status_code == 422  # refused, and the link still works
    assert browser.post("/dashboard/set-password", data={"token": token, "password": "a long new password"}).status_code == 303
    assert browser.post("/dashboard/set-password", data={"token": token, "password": "another new password"}).status_code == 404
    signed_in(browser, "new@example.com", "a long new password")
    assert browser.get("/dashboard/apps").status_code == 200
    # A lost password: an admin makes a new link; using it ends the sessions the old one opened.
    again = admin.post("/accounts/new@example.com/password-link").json()["password_url"]
    assert "token=" in again and admin.post("/accounts/new@example.com/password-link", headers={"Authorization": "Bearer x"}).status_code == 401
    token = again.split("token=")[1]
    assert browser.post("/dashboard/set-password", data={"token": token, "password": "the newest password"}).status_code == 303
    assert browser.get("/dashboard/apps").headers["location"] == "/dashboard/sign-in"
    signed_in(browser, "new@example.com", "the newest password")


def test_a_cookie_never_authorizes_the_api(browser, person):
    signed_in(browser, person("dev@example.com"))
    assert browser.get("/account").status_code == 401
    assert browser.post("/apps", json={"name": "via-cookie"}).status_code == 401


@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(email=st.text(max_size=300), password=st.text(max_size=300))
def test_any_sign_in_form_gets_an_answer_never_a_crash(browser, email, password):
    browser.cookies.clear()
    answer = browser.post("/dashboard/sign-in", data={"email": email, "password": password})
    assert answer.status_code in (401, 429, 422), answer.text


def test_the_access_log_never_holds_a_links_token():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/dashboard/set-password?token=s3cretTok_en-1", "1.1", 200), None)
    HideLinkTokens().filter(record)
    assert "s3cret" not in record.getMessage() and "/dashboard/set-password?token=(hidden)" in record.getMessage()
