"""The account page in-process: a user's API tokens, made (shown once), listed and revoked through
the dashboard, with the API's own rules (the browser drives it in tests/e2e/test_dashboard_admin.py)."""

import re

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings, strategies as st

from paas.domain import accounts
from tests.dashboard.conftest import csrf_of, signed_in


def new_token_of(page) -> str:
    return re.search(r'id="new-token" readonly size="50" value="([^"]+)"', page.text).group(1)


def revoke_path_of(page, label: str) -> str:
    return re.search(rf'action="(/dashboard/account/tokens/[0-9a-f-]+/revoke)">\s*<input[^>]+>\s*<button type="submit" '
                     rf'aria-label="{re.escape(label)}"', page.text).group(1)


def api_as(app, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_the_page_shows_the_users_tokens_but_never_their_values(browser, person, test_sessionmaker):
    email = person("dev@example.com")
    with test_sessionmaker() as db:
        user = accounts.find_user(db, email)
        user.name = "Dev Eloper"
        cli = accounts.issue_token(db, user, "laptop cli")
        db.commit()
    signed_in(browser, email)
    page = browser.get("/dashboard/account")
    assert page.status_code == 200
    for shown in ("<h1>Account</h1>", "API tokens", "dev@example.com", "Dev Eloper", "laptop cli", 'aria-label="Revoke laptop cli"'):
        assert shown in page.text, shown
    assert cli not in page.text and "New API token" not in page.text
    assert '<th scope="col">Description</th>' in page.text and '<label for="description">Description</label>' in page.text
    assert not re.search(r"\son[a-z]+=|<script>|style=", page.text)  # the policy allows no inline script or style


def test_a_made_token_is_shown_once_works_and_ends_when_revoked(browser, person):
    signed_in(browser, person("dev@example.com"))
    csrf = csrf_of(browser.get("/dashboard/account"))
    made = browser.post("/dashboard/account/tokens", data={"csrf": csrf, "description": "deploy bot"})
    assert made.status_code == 201 and "location" not in made.headers and "set-cookie" not in made.headers
    token = new_token_of(made)
    api = api_as(browser.app, token)
    assert api.get("/account").json()["email"] == "dev@example.com"
    page = browser.get("/dashboard/account")
    assert token not in page.text and "deploy bot" in page.text  # listed, its value never again
    revoked = browser.post(revoke_path_of(page, "Revoke deploy bot"), data={"csrf": csrf})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/dashboard/account"
    assert api.get("/account").status_code == 401
    assert "deploy bot" not in browser.get("/dashboard/account").text


def test_two_tokens_with_one_description_have_buttons_told_apart(browser, person):
    signed_in(browser, person("dev@example.com"))
    csrf = csrf_of(browser.get("/dashboard/account"))
    for _ in range(2):
        assert browser.post("/dashboard/account/tokens", data={"csrf": csrf, "description": "ci"}).status_code == 201
    browser.post("/dashboard/account/tokens", data={"csrf": csrf, "description": ""})
    labels = re.findall(r'aria-label="(Revoke [^"]*)"', browser.get("/dashboard/account").text)
    assert len(labels) == len(set(labels)) == 3 and all(label.startswith(("Revoke ci (", "Revoke token (")) for label in labels)


def test_a_user_cannot_revoke_another_users_token(browser, person, test_sessionmaker):
    with test_sessionmaker() as db:
        other = accounts.find_user(db, person("other@example.com"))
        theirs, row = accounts.new_authorization(db, other, "theirs")
        db.commit()
    signed_in(browser, person("dev@example.com"))
    csrf = csrf_of(browser.get("/dashboard/account"))
    refused = browser.post(f"/dashboard/account/tokens/{row.id}/revoke", data={"csrf": csrf})
    assert refused.status_code == 404 and "Couldn&#39;t find that authorization" in refused.text
    assert api_as(browser.app, theirs).get("/account").status_code == 200


def test_a_form_without_its_csrf_token_makes_or_revokes_nothing(browser, person, test_sessionmaker):
    email = person("dev@example.com")
    with test_sessionmaker() as db:
        kept, row = accounts.new_authorization(db, accounts.find_user(db, email), "kept")
        db.commit()
    signed_in(browser, email)
    csrf = csrf_of(browser.get("/dashboard/account"))
    for forged in ({}, {"csrf": "0" * 64}):
        made = browser.post("/dashboard/account/tokens", data={**forged, "description": "forged"})
        assert made.status_code == 403 and "CSRF" in made.text
        revoked = browser.post(f"/dashboard/account/tokens/{row.id}/revoke", data=forged)
        assert revoked.status_code == 403
    page = browser.get("/dashboard/account")
    assert "forged" not in page.text and "kept" in page.text
    assert api_as(browser.app, kept).get("/account").status_code == 200
    assert browser.post("/dashboard/account/tokens", data={"csrf": csrf, "description": "real"}).status_code == 201


def test_the_api_token_quota_holds_here_too(browser, person, platform_app):
    signed_in(browser, person("dev@example.com"))
    platform_app.api.state.platform.settings.quota_authorizations = 0
    csrf = csrf_of(browser.get("/dashboard/account"))
    refused = browser.post("/dashboard/account/tokens", data={"csrf": csrf, "description": "one too many"})
    assert refused.status_code == 422 and "one too many" not in browser.get("/dashboard/account").text


def test_the_page_needs_a_session(browser):
    assert browser.get("/dashboard/account").headers["location"] == "/dashboard/sign-in"
    assert browser.post("/dashboard/account/tokens", data={"description": "x"}).headers["location"] == "/dashboard/sign-in"


@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(description=st.text(max_size=300))
@example(description="nul \x00 byte").via("a value Postgres cannot store")
@example(description="x" * 201)
def test_any_description_gets_an_answer_never_a_crash(browser, person, description):
    if not browser.cookies.get("paas_session"):
        signed_in(browser, person("dev@example.com"))
    csrf = csrf_of(browser.get("/dashboard/account"))
    answer = browser.post("/dashboard/account/tokens", data={"csrf": csrf, "description": description})
    assert answer.status_code in (201, 400, 422), answer.text
