"""Maintenance mode end to end, through the official Heroku CLI: the router answers every request
with 503 and the app's own page (MAINTENANCE_PAGE_URL, served by a server of the test's own on
127.0.0.1), the app's logs get Heroku's H80 lines, its dyno keeps running, and turning it on and
off under a steady client loses no request."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.conftest import Checkout, Load, app_containers, eventually
from tests.e2e.test_heroku_cli import heroku, name, ok  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e
PAGE = b"<!doctype html><title>Back soon</title><h1>Upgrading the database</h1>"


@pytest.fixture
def page_url():
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/down.html"
    server.shutdown()
    server.server_close()


def test_maintenance_on_and_off_with_the_heroku_cli_serves_the_page_and_loses_no_request(
        heroku, api, name, settings, token, tmp_path, router, engine, page_url):
    ok(heroku("apps:create", name))
    host = settings.api_url.removeprefix("http://")
    pushed = Checkout(tmp_path / "app", f"http://paas:{token}@{host}/{name}.git").push()
    assert pushed.returncode == 0, pushed.stderr
    ok(heroku("config:set", f"MAINTENANCE_PAGE_URL={page_url}", "-a", name))
    eventually(lambda: api.get(f"/apps/{name}/releases", headers={"Range": "version ..; max=1, order=desc"}).json()[0]["status"] == "succeeded",
               what="the config's release live")
    assert heroku("maintenance", "-a", name).stdout.strip() == "off"
    [dyno] = eventually(lambda: len(found := app_containers(engine, settings, name, "web")) == 1 and found,
                        what="the old release's dyno stopped")

    with Load(settings, name, keep_alive=True, allowed=(200, 503)) as load:
        eventually(lambda: load.sent >= 10, what="the client under way")
        turned_on = ok(heroku("maintenance:on", "-a", name))
        assert "Enabling maintenance mode for" in turned_on and "done" in turned_on
        assert heroku("maintenance", "-a", name).stdout.strip() == "on"
        answer = eventually(lambda: (r := router.get(name, "/orders?page=2")).status_code == 503 and r, what="the maintenance page")
        assert answer.content == PAGE and answer.headers["cache-control"] == "no-store"
        logged = eventually(lambda: [line for line in ok(heroku("logs", "-a", name, "-n", "200")).splitlines() if "code=H80" in line],
                            what="an H80 line in the app's logs")
        assert 'heroku[router]: at=info code=H80 desc="Maintenance mode" method=GET path="/orders?page=2"' in "\n".join(logged)
        assert "status=503" in logged[-1]
        assert [c.id for c in app_containers(engine, settings, name, "web")] == [dyno.id]  # it kept running
        sent = load.sent
        eventually(lambda: load.sent >= sent + 20, what="more requests in maintenance")
        turned_off = ok(heroku("maintenance:off", "-a", name))
        assert "Disabling maintenance mode for" in turned_off and "done" in turned_off
        eventually(lambda: router.get(name).status_code == 200, what="the app answering again")
        sent = load.sent
        eventually(lambda: load.sent >= sent + 20, what="more requests after maintenance")
    assert load.failures == [], load.failures
    statuses = {status for status, _body in load.answers}
    assert statuses == {200, 503} and {body for status, body in load.answers if status == 503} == {PAGE}, load.answers.keys()
    assert load.connections == 1  # one keep-alive connection throughout: the router's configuration never changed
    assert heroku("maintenance", "-a", name).stdout.strip() == "off"
