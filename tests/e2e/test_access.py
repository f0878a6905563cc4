"""Access through git, with the real git CLI: a team member who may only view an app can fetch
it but not push (403); one who may deploy pushes and the app goes live; a stranger finds nothing."""

import secrets
import string
import subprocess

import httpx
import pytest

from tests.e2e.conftest import SAMPLE_APP, Checkout

pytestmark = pytest.mark.e2e


def git(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_viewers_fetch_deployers_push_strangers_find_nothing(api, settings, router, tmp_path):
    suffix = "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
    tokens = {}
    for who in ("viewer", "deployer", "stranger"):
        made = api.post("/accounts", json={"email": f"{who}-{suffix}@example.com"})
        assert made.status_code == 201, made.text
        tokens[who] = made.json()["token"]
    team, app = f"team-{suffix}", f"t-{suffix}"
    try:
        assert api.post("/teams", json={"name": team}).status_code == 201
        assert api.post("/teams/apps", json={"team": team, "name": app}).status_code == 201
        for who, permission in (("viewer", "view"), ("deployer", "deploy")):
            email = f"{who}-{suffix}@example.com"
            assert api.put(f"/teams/{team}/members", json={"email": email, "role": "member"}).status_code == 200
            granted = api.post(f"/teams/apps/{app}/collaborators", json={"user": email, "permissions": [permission]})
            assert granted.status_code == 201, granted.text
        host = settings.api_url.removeprefix("http://")

        def remote(who: str) -> str:
            return f"http://{who}:{tokens[who]}@{host}/{app}.git"

        stranger = git("ls-remote", remote("stranger"))
        assert stranger.returncode != 0 and "not found" in stranger.stderr, stranger
        assert git("ls-remote", remote("viewer")).returncode == 0
        viewer = Checkout(tmp_path / "viewer", remote("viewer"), source=SAMPLE_APP)
        refused = viewer.push()
        assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
        deployer = Checkout(tmp_path / "deployer", remote("deployer"), source=SAMPLE_APP)
        pushed = deployer.push()
        assert pushed.returncode == 0, pushed.stderr
        assert router.get(app).text.startswith("sample-app")
        # The viewer sees the app but cannot change it through the API either.
        as_viewer = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {tokens['viewer']}"})
        assert as_viewer.get(f"/apps/{app}").status_code == 200
        assert as_viewer.patch(f"/apps/{app}/config-vars", json={"X": "1"}).status_code == 403
        events = api.get("/audit-events", params={"app": app}).json()
        assert any(e["action"].startswith("git push ") and e["actor"] == f"deployer-{suffix}@example.com" for e in events)
    finally:
        api.delete(f"/apps/{app}")
        for who in tokens:
            api.delete(f"/accounts/{who}-{suffix}@example.com")
