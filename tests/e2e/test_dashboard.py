"""The dashboard in a real browser (Playwright driving Debian's chromium, headless) against the
platform `make up` started: found by role and label, as a screen reader finds them."""

import re
import secrets
import string
import subprocess
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import SAMPLE_APP, Checkout, eventually

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"  # Debian's (scripts/services.sh tools): Playwright's own cannot be fetched here


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield browser
        browser.close()


@pytest.fixture
def person(api, settings):
    """A new user: (email, API token, their dashboard password, set through their one-time link)."""
    made_users = []

    def make(chromium, kind: str):
        email = f"{kind}-{''.join(secrets.choice(string.ascii_lowercase) for _ in range(8))}@example.com"
        made = api.post("/accounts", json={"email": email})
        assert made.status_code == 201, made.text
        made_users.append(email)
        password = secrets.token_urlsafe(16)
        page = chromium.new_page()
        page.goto(made.json()["password_url"])
        page.get_by_label("New password").fill(password)
        page.get_by_role("button", name="Set password").click()
        expect(page.get_by_role("heading", name="Sign in to paas")).to_be_visible()
        page.close()
        return email, made.json()["token"], password

    yield make
    for email in made_users:
        api.delete(f"/accounts/{email}")


@dataclass
class Owner:
    email: str
    token: str
    password: str
    app: str  # theirs, made empty; deleted at the end (under the name it has then)
    api: httpx.Client  # with their token


@pytest.fixture
def owner(chromium, person, settings):
    email, token, password = person(chromium, "dev")
    found = Owner(email, token, password, "t-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)),
                  httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60))
    assert found.api.post("/apps", json={"name": found.app}).status_code == 201
    yield found
    found.api.delete(f"/apps/{found.app}")


def pushed(owner: Owner, settings, tmp_path) -> Checkout:
    host = settings.api_url.removeprefix("http://")
    checkout = Checkout(tmp_path / "app", f"http://paas:{owner.token}@{host}/{owner.app}.git", source=SAMPLE_APP)
    done = checkout.push()
    assert done.returncode == 0, done.stderr
    return checkout


def signed_in(chromium, settings, email: str, password: str):
    page = chromium.new_context(base_url=settings.api_url).new_page()
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    return page


def test_a_user_signs_in_and_configures_rolls_back_and_scales(chromium, owner, settings, router, tmp_path):
    app, user_api = owner.app, owner.api
    pushed(owner, settings, tmp_path)
    page = signed_in(chromium, settings, owner.email, owner.password)
    page.get_by_role("link", name=app, exact=True).click()
    expect(page.get_by_text("v2: Deploy")).to_be_visible()

    page.get_by_role("link", name="Config").click()
    page.get_by_label("Key").fill("GREETING")
    page.get_by_label("Value").fill("hello from the dashboard")
    with page.expect_response(lambda answer: answer.url.endswith("/config") and answer.request.method == "POST"):
        page.get_by_role("button", name="Set").click()
    expect(page.get_by_role("cell", name="GREETING", exact=True)).to_be_visible()
    assert user_api.get(f"/apps/{app}/config-vars").json()["GREETING"] == "hello from the dashboard"
    expect(page.get_by_text("hello from the dashboard")).to_be_hidden()  # hidden until revealed
    page.get_by_text("Reveal").click()
    expect(page.get_by_text("hello from the dashboard")).to_be_visible()

    page.get_by_role("link", name="Deploys").click()
    expect(page.get_by_role("heading", name="Releases")).to_be_visible()
    # v2 is offered once v3 (the config change) is live: while v3 deploys, v2 still serves.
    rollback = page.get_by_role("button", name="Roll back to v2")
    eventually(lambda: (page.reload(), rollback.count())[1], 60, "v3 live, so v2 may be rolled back to")
    rollback.click()
    expect(page.get_by_role("cell", name="Rollback to v2", exact=True)).to_be_visible()
    assert user_api.get(f"/apps/{app}/releases").json()[-1]["description"] == "Rollback to v2"
    assert "GREETING" not in user_api.get(f"/apps/{app}/config-vars").json()

    page.get_by_role("link", name="Resources").click()
    page.get_by_role("spinbutton", name="web", exact=True).fill("2")
    with page.expect_response(lambda answer: answer.url.endswith("/formation") and answer.request.method == "POST"):
        page.get_by_role("button", name="Scale").click()  # then the page again, with htmx (boosted)
    expect(page.get_by_role("spinbutton", name="web", exact=True)).to_have_value("2")
    assert user_api.get(f"/apps/{app}/formation/web").json()["quantity"] == 2
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Dynos")).to_be_visible()
    eventually(lambda: (page.reload(), page.get_by_role("cell", name="web.2").count())[1], 60, "web.2 on the overview")
    expect(page.get_by_role("row").filter(has_text="web.2")).to_contain_text("up")

    # Traffic, then its points on the plots (drawn by the page's script, fetched every 10 s).
    for _ in range(30):
        assert router.get(app).status_code == 200
    page.get_by_role("link", name="Metrics").click()
    for plot in ("Response time", "Requests", "Memory", "CPU"):
        expect(page.get_by_role("figure", name=plot)).to_be_visible()
    requests = page.get_by_role("figure", name="Requests")
    eventually(lambda: int(requests.get_attribute("data-points") or 0) > 0, 40, "requests plotted")
    assert int(page.get_by_role("figure", name="Response time").get_attribute("data-points")) > 0
    eventually(lambda: int(page.get_by_role("figure", name="Memory").get_attribute("data-points") or 0) > 0, 40,
               "memory plotted")
    page.reload()  # the same numbers without a script: the table of the last minutes
    expect(page.get_by_role("cell", name=re.compile(r"^[1-9]\d*\/0\/0\/0$")).first).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Turn maintenance on").click()
    expect(page.get_by_text("Maintenance mode is on")).to_be_visible()
    assert user_api.get(f"/apps/{app}").json()["maintenance"] is True
    closed = router.wait_for(app, lambda answer: answer.status_code == 503)
    assert closed.status_code == 503 and "Offline for maintenance" in closed.text
    page.get_by_role("button", name="Turn maintenance off").click()
    expect(page.get_by_text("Maintenance mode is off")).to_be_visible()
    assert router.wait_for(app, lambda answer: answer.status_code == 200).status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to paas")).to_be_visible()
    page.goto(f"/dashboard/apps/{app}")
    assert page.url.endswith("/dashboard/sign-in")


def test_a_viewer_sees_no_controls_and_a_forged_post_is_refused(chromium, person, api, settings):
    email, _token, password = person(chromium, "viewer")
    suffix = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    team, viewed = f"team-{suffix}", f"t-{suffix}"
    assert api.post("/teams", json={"name": team}).status_code == 201
    try:
        made = api.post("/teams/apps", json={"team": team, "name": viewed})
        assert made.status_code == 201, made.text
        assert api.put(f"/teams/{team}/members", json={"email": email, "role": "member"}).status_code == 200
        assert api.post(f"/teams/apps/{viewed}/collaborators", json={"user": email, "permissions": ["view"]}).status_code == 201
        assert api.patch(f"/apps/{viewed}/config-vars", json={"SECRET": "kept-from-viewers"}).status_code == 200
        page = signed_in(chromium, settings, email, password)
        page.get_by_role("link", name=viewed, exact=True).click()
        for tab in ("Deploys", "Config", "Resources"):
            page.get_by_role("link", name=tab).click()
            expect(page.get_by_role("heading", level=1, name=viewed)).to_be_visible()
            assert page.get_by_role("button").all_inner_texts() == ["Sign out"], tab  # no control that changes things
        assert "kept-from-viewers" not in page.content()
        # A forged POST, with this session's own valid CSRF token (from the sign-out form).
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        forged = page.request.post(f"/dashboard/apps/{viewed}/config", form={"csrf": csrf, "key": "X", "value": "1"},
                                   max_redirects=0)
        assert forged.status == 403 and "You do not have deploy access" in forged.text()
        assert "X" not in api.get(f"/apps/{viewed}/config-vars").json()
        # Without the token, even the owner's session is refused (the admin: a positive control with it).
        admin = signed_in(chromium, settings, "admin@paas.localhost", settings.admin_password_file.read_text().strip())
        no_token = admin.request.post(f"/dashboard/apps/{viewed}/config", form={"key": "X", "value": "1"}, max_redirects=0)
        assert no_token.status == 403 and "CSRF" in no_token.text()
        admin_csrf = admin.locator("input[name=csrf]").first.get_attribute("value")
        allowed = admin.request.post(f"/dashboard/apps/{viewed}/config", form={"csrf": admin_csrf, "key": "X", "value": "1"},
                                     max_redirects=0)
        assert allowed.status == 303 and api.get(f"/apps/{viewed}/config-vars").json()["X"] == "1"
    finally:
        api.delete(f"/apps/{viewed}")
        api.delete(f"/teams/{team}")


def test_a_session_ends_when_its_user_is_disabled(chromium, person, api, settings):
    email, _token, password = person(chromium, "leaver")
    page = signed_in(chromium, settings, email, password)
    assert api.delete(f"/accounts/{email}").status_code == 200
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to paas")).to_be_visible()
    assert re.search(r"/dashboard/sign-in$", page.url)


def test_a_push_streams_into_the_open_page_and_the_log_tail_shows_requests(chromium, owner, settings, router, tmp_path):
    app = owner.app
    page = signed_in(chromium, settings, owner.email, owner.password)
    page.goto(f"/dashboard/apps/{app}/deploys")
    expect(page.get_by_role("cell", name="v1 (current)", exact=True)).to_be_visible()
    host = settings.api_url.removeprefix("http://")
    checkout = Checkout(tmp_path / "app", f"http://paas:{owner.token}@{host}/{app}.git", source=SAMPLE_APP)
    push = subprocess.Popen(["git", "push", "-q", checkout.remote, "main"], cwd=checkout.path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        # Without a reload: the build's output streams in, then its release shows up.
        expect(page.get_by_role("log", name="Build output")).to_contain_text("-----> ", timeout=30_000)
        expect(page.get_by_role("cell", name="v2 (current)", exact=True)).to_be_visible(timeout=60_000)
    finally:
        assert push.wait(timeout=120) == 0, push.stdout.read()
    page.get_by_role("link", name="Logs").click()
    logs = page.get_by_role("log", name="Logs")
    expect(logs).to_be_visible()
    marker = "/seen-in-the-dashboard-" + secrets.token_hex(4)
    router.get(app, marker)
    expect(logs).to_contain_text(f'path="{marker}"', timeout=5_000)  # a request's router line, within 5 s
    # The filter: only the app's own output (the router line is heroku's).
    page.get_by_label("Source").select_option("app")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"source=app"))
    expect(page.get_by_role("log", name="Logs")).to_contain_text("app[web.1]", timeout=10_000)
    assert "heroku[router]" not in page.get_by_role("log", name="Logs").inner_text()


def test_add_ons_domains_and_settings_from_the_browser(chromium, owner, settings):
    app, user_api = owner.app, owner.api
    page = signed_in(chromium, settings, owner.email, owner.password)
    page.goto(f"/dashboard/apps/{app}/resources")
    page.get_by_label("Plan").select_option("redis:mini")
    page.get_by_role("button", name="Create add-on").click()  # answers once the server is up
    expect(page.get_by_role("cell", name="provisioned", exact=True)).to_be_visible(timeout=90_000)
    assert "REDIS_URL" in user_api.get(f"/apps/{app}/config-vars").json()
    [addon] = user_api.get(f"/apps/{app}/addons").json()
    page.get_by_role("button", name=f"Destroy {addon['name']}").click()
    expect(page.get_by_text("No add-ons.")).to_be_visible(timeout=30_000)
    assert user_api.get(f"/apps/{app}/addons").json() == []

    page.get_by_role("link", name="Domains").click()
    hostname = f"www.{app}.example.test"
    page.get_by_label("Hostname").fill(hostname)
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("cell", name=hostname, exact=True)).to_be_visible()
    assert hostname in [d["hostname"] for d in user_api.get(f"/apps/{app}/domains").json()]
    page.get_by_role("button", name=f"Remove {hostname}").click()
    expect(page.get_by_role("cell", name=hostname, exact=True)).to_be_hidden()

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("New name").fill(app + "x")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", level=1, name=app + "x")).to_be_visible()
    app = owner.app = app + "x"
    page.get_by_role("button", name="Delete app").click()  # nothing typed: the browser asks for it
    assert user_api.get(f"/apps/{app}").status_code == 200
    page.get_by_label(f"Type {app} to confirm").fill(app)
    page.get_by_role("button", name="Delete app").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    assert user_api.get(f"/apps/{app}").status_code == 404


def test_pages_that_show_things_work_without_javascript(chromium, owner, settings, tmp_path):
    app, user_api = owner.app, owner.api
    pushed(owner, settings, tmp_path)
    page = chromium.new_context(base_url=settings.api_url, java_script_enabled=False).new_page()
    page.goto("/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=app, exact=True).click()
    expect(page.get_by_text("v2: Deploy")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="web.1")).to_contain_text("up")
    page.get_by_role("link", name="Deploys").click()
    expect(page.get_by_role("cell", name="v2 (current)", exact=True)).to_be_visible()
    page.get_by_role("link", name="Config").click()
    page.get_by_label("Key").fill("PLAIN")
    page.get_by_label("Value").fill("forms post without a script")
    page.get_by_role("button", name="Set").click()
    expect(page.get_by_role("cell", name="PLAIN", exact=True)).to_be_visible()
    assert user_api.get(f"/apps/{app}/config-vars").json()["PLAIN"] == "forms post without a script"
    page.get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", name="The last minutes")).to_be_visible()