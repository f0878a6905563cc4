"""What an app's process may do, tried from inside one: it runs as an unprivileged user with no
capabilities but binding a port and no way to gain more, its logs are capped, and it reaches
neither the host's services nor another app's processes."""

import http.server
import threading

import httpx
import pytest

from tests.e2e.conftest import app_containers
from tests.e2e.test_addons import answer, reaches

pytestmark = pytest.mark.e2e
NET_BIND_SERVICE = 1 << 10


def test_an_app_process_is_unprivileged_and_fenced_in(new_app, router, engine, settings):
    (name, checkout), (other, other_checkout) = new_app("backing"), new_app("backing")
    for c in (checkout, other_checkout):
        assert c.push().returncode == 0
    me = answer(router, name, "/self")
    assert (me["uid"], me["gid"]) == (10000, 10000)  # the image's user is root: replaced
    # No capability in effect (not root), none to be had but binding a port, none through setuid.
    assert int(me["cap_eff"], 16) == 0 and int(me["cap_bnd"], 16) == NET_BIND_SERVICE and me["no_new_privs"] == "1"
    [container] = app_containers(engine, settings, name, "web")
    host_config = container.attrs["HostConfig"]
    assert host_config["LogConfig"]["Config"]["cache-max-size"] == "10m"
    assert host_config["Memory"] > 0 and host_config["PidsLimit"] > 0

    # The host, seen from the app's network: its gateway address. Nothing there answers, not even
    # a service listening on every address (this test's own, below; sshd would be one).
    network = engine.networks.get(f"{settings.instance}-apps")
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    everywhere = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=everywhere.serve_forever, daemon=True).start()
    assert httpx.get(f"http://{gateway}:{everywhere.server_port}/", timeout=5).status_code == 200  # it does answer the host
    for url in (f"http://{gateway}:{settings.api_port}/", f"http://{gateway}:5000/v2/_catalog", f"http://{gateway}:2019/config/",
                f"http://{gateway}:{settings.router_port}/", f"redis://{gateway}:6379", f"postgres://paas:paas@{gateway}:5432/paas",
                f"http://{gateway}:{everywhere.server_port}/"):
        probe = reaches(router, name, url)
        assert probe["reached"] is False, (url, probe)
    everywhere.shutdown()
    [theirs] = app_containers(engine, settings, other, "web")
    their_address = theirs.attrs["NetworkSettings"]["Networks"][f"{settings.instance}-apps"]["IPAddress"]
    assert reaches(router, name, f"http://{their_address}:{settings.web_port}/")["reached"] is False


def test_an_image_may_not_carry_the_platforms_labels(checkout, router, app_name):
    """An image's labels become its containers': `paas.one-off` would hide an app's process from
    the runner (which would start it again and again), `paas.addon` or `paas.build-sandbox` would
    make it pass for another kind. The release fails, saying why; the same app with a label of
    its own goes live (the control)."""
    sample = checkout.path.joinpath("Dockerfile").read_text()
    for labels in ("paas.one-off=1", "team=core paas.build-sandbox=x"):
        checkout.write("Dockerfile", f"{sample}LABEL {labels}\n")
        checkout.commit(f"labels {labels}")
        pushed = checkout.push()
        assert pushed.returncode != 0, pushed.stderr
        taken = ", ".join(sorted(label.split("=")[0] for label in labels.split() if label.startswith("paas.")))
        assert f"the image carries labels of paas's own, which an app's image may not have: {taken}" in pushed.stderr, pushed.stderr
    checkout.write("Dockerfile", f"{sample}LABEL team=core\n")
    checkout.commit("a label of its own")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "sample-app version=1" in router.get(app_name).text
