"""What a Dockerfile build may not read: the registry's list of every app's images (it asks for
credentials, which builds do not get), and the router's configuration (its admin API is on a
socket, not a port)."""

import pytest

pytestmark = pytest.mark.e2e


def test_a_build_cannot_list_the_registry(checkout, app_name, settings):
    checkout.write("Dockerfile", f"FROM paas/stack:bookworm\nADD http://{settings.registry}/v2/_catalog /catalog\nCMD cat /catalog\n")
    checkout.commit("read the registry")
    pushed = checkout.push()
    assert pushed.returncode != 0, pushed.stderr
    assert "401 Unauthorized" in pushed.stderr and "repositories" not in pushed.stderr


def test_a_build_cannot_read_the_routers_configuration(checkout, app_name):
    checkout.write("Dockerfile", "FROM paas/stack:bookworm\nADD http://127.0.0.1:2019/config/ /config\nCMD cat /config\n")
    checkout.commit("read the router")
    pushed = checkout.push()
    assert pushed.returncode != 0, pushed.stderr
    assert "connection refused" in pushed.stderr.lower() and "paas-tls" not in pushed.stderr
