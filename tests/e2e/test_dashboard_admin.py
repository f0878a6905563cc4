"""The account and admin pages in a real browser (Playwright driving Debian's chromium) against the
platform `make up` started: an admin makes a user, who sets a password through the one-time link,
makes and revokes an API token, and is then disabled; found by role and label."""

import secrets
import string

import httpx
from playwright.sync_api import expect
import pytest

from paas.platform.bootstrap import ADMIN_EMAIL
from tests.e2e.test_dashboard import chromium, signed_in

pytestmark = pytest.mark.e2e
__all__ = ["chromium"]  # a fixture, used by name


def bearer(settings, token: str) -> httpx.Client:
    return httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_an_admin_makes_a_user_who_makes_and_revokes_a_token_until_disabled(chromium, api, settings):
    email = f"made-{''.join(secrets.choice(string.ascii_lowercase) for _ in range(8))}@example.com"
    password = secrets.token_urlsafe(16)
    try:
        admin = signed_in(chromium, settings, ADMIN_EMAIL, settings.admin_password_file.read_text().strip())
        admin.get_by_role("link", name="Users", exact=True).click()
        expect(admin.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        admin.get_by_label("Email", exact=True).fill(email)
        admin.get_by_label("Name", exact=True).fill("Made In The Browser")
        admin.get_by_role("button", name="Create account").click()
        link = admin.get_by_label("One-time password link").input_value()
        first_token = admin.get_by_label("First API token").input_value()
        expect(admin.get_by_role("cell", name=email, exact=True)).to_be_visible()
        assert bearer(settings, first_token).get("/account").json()["email"] == email

        # The new user opens the link in a page of their own, sets a password, signs in.
        newcomer = chromium.new_context(base_url=settings.api_url).new_page()
        newcomer.goto(link)
        newcomer.get_by_label("New password").fill(password)
        newcomer.get_by_role("button", name="Set password").click()
        expect(newcomer.get_by_role("heading", name="Sign in to paas")).to_be_visible()
        newcomer.context.close()
        user = signed_in(chromium, settings, email, password)

        # Not an admin: no admin links, and the admin pages are refused.
        header = user.get_by_role("navigation", name="Account")
        expect(header.get_by_role("link", name="Apps", exact=True)).to_be_visible()
        for admin_link in ("Users", "Audit log"):
            expect(header.get_by_role("link", name=admin_link)).to_have_count(0)
        refused = user.goto("/dashboard/admin/users")
        assert refused.status == 403
        expect(user.get_by_role("heading", name="Not allowed")).to_be_visible()

        # A token made on the account page works against the API until it is revoked.
        user.get_by_role("link", name="Account", exact=True).click()
        expect(user.get_by_role("heading", name="API tokens")).to_be_visible()
        user.get_by_label("Description").fill("made in the browser")
        user.get_by_role("button", name="Create token").click()
        token = user.get_by_label("New API token").input_value()
        token_api = bearer(settings, token)
        assert token_api.get("/account").json()["email"] == email
        revoke = user.get_by_role("button", name="Revoke made in the browser", exact=True)
        revoke.click()
        expect(revoke).to_have_count(0)
        assert token not in user.content()
        assert token_api.get("/account").status_code == 401

        # The admin sees it all in the audit log, then disables the user: their open page signs them out.
        admin.get_by_role("link", name="Audit log", exact=True).click()
        expect(admin.get_by_role("cell", name="POST /dashboard/admin/users", exact=True).first).to_be_visible()
        admin.get_by_role("link", name="Users", exact=True).click()
        admin.get_by_role("button", name=f"Disable {email}", exact=True).click()
        expect(admin.get_by_role("cell", name=email, exact=True)).to_have_count(0)
        user.reload()
        expect(user.get_by_role("heading", name="Sign in to paas")).to_be_visible()
        assert bearer(settings, first_token).get("/account").status_code == 401
    finally:
        api.delete(f"/accounts/{email}")  # if the test stopped before disabling them
