"""An attached one-off run ends within seconds once the token that started it may no longer run
commands on the app: its user removed as a collaborator (the API's WebSocket), or the token
revoked (Heroku's rendezvous). Another user's run on the same app goes on."""

import json
import threading
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import eventually
from tests.e2e.test_one_off import deployed, one_offs, rendezvous  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

SLEEPER = {"command": "sleep 600", "attach": True, "force_no_tty": True}


@pytest.fixture
def collaborator(api, settings, deployed):  # noqa: F811 (the fixture imported above)
    """A user of their own who may deploy to (and run commands on) the app; their API client."""
    made = api.post("/accounts", json={"email": f"runner-{int(time.time() * 1000)}@example.com"}).json()
    assert api.post(f"/apps/{deployed}/collaborators", json={"user": made["email"]}).status_code == 201
    client = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {made['token']}"}, timeout=30)
    yield made, client
    client.close()
    api.delete(f"/accounts/{made['id']}")


def test_a_websocket_run_ends_when_its_user_is_no_longer_a_collaborator(api, deployed, collaborator, engine):  # noqa: F811
    user, as_user = collaborator
    theirs = as_user.post(f"/apps/{deployed}/dynos", json={**SLEEPER, "attach_transport": "websocket"}).json()
    mine = api.post(f"/apps/{deployed}/dynos", json={**SLEEPER, "attach_transport": "websocket"}).json()
    with connect(theirs["attach_url"]) as their_socket, connect(mine["attach_url"]) as my_socket:
        eventually(lambda: len(one_offs(engine, deployed)) == 2, timeout=30, what="both runs up")
        assert api.delete(f"/apps/{deployed}/collaborators/{user['email']}").status_code == 200
        removed = time.monotonic()
        last = json.loads(their_socket.recv(timeout=20))  # no output: the first frame is the last
        assert last["exit"] == -1 and "may no longer run commands" in last["message"], last
        assert time.monotonic() - removed < 15
        eventually(lambda: len(one_offs(engine, deployed)) == 1, timeout=30, what="their run stopped")
        # Mine goes on: still attached, still running (the positive control).
        with pytest.raises(TimeoutError):
            my_socket.recv(timeout=1)
        assert len(one_offs(engine, deployed)) == 1
    eventually(lambda: one_offs(engine, deployed) == [], timeout=30, what="my run hung up")
    # Their run's URL (signed for a minute) attaches no more.
    with pytest.raises(InvalidStatus) as refused:
        connect(theirs["attach_url"])
    assert refused.value.response.status_code == 403


def test_a_rendezvous_run_ends_when_its_token_is_revoked(api, settings, deployed, collaborator, engine):  # noqa: F811
    user, as_user = collaborator
    theirs = as_user.post(f"/apps/{deployed}/dynos", json=SLEEPER).json()
    ended: dict = {}

    def attached() -> None:
        ended["first"], ended["rest"] = rendezvous(theirs["attach_url"], settings)
        ended["at"] = time.monotonic()

    reader = threading.Thread(target=attached, daemon=True)
    reader.start()
    eventually(lambda: len(one_offs(engine, deployed)) == 1, timeout=30, what="the run up")
    assert "first" not in ended  # attached and running: the positive control
    [token] = as_user.get("/oauth/authorizations").json()
    assert as_user.delete(f"/oauth/authorizations/{token['id']}").status_code == 200
    revoked = time.monotonic()
    reader.join(20)
    assert not reader.is_alive(), "the rendezvous was not ended"
    assert ended["first"] == b"rendezvous" and ended["at"] - revoked < 15
    assert ended["rest"].endswith(b"\xef\xbf\xbf heroku-command-exit-status: -1\n"), ended["rest"]
    assert b"may no longer run commands" in ended["rest"]
    eventually(lambda: one_offs(engine, deployed) == [], timeout=30, what="the run stopped")
    # Its URL attaches no more.
    assert rendezvous(theirs["attach_url"], settings)[0].startswith(b"no such run")
