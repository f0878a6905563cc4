"""App-to-app links: a linked app reaches the target's web process at http://<target>.internal
over a private network; an unlinked app reaches it neither by that name nor by its address."""

import pytest

from tests.e2e.conftest import app_containers, eventually
from tests.e2e.test_addons import answer, reaches
from tests.e2e.test_logs import logged, read_logs

pytestmark = pytest.mark.e2e


def test_linked_apps_talk_internally_and_unlinked_ones_cannot(api, router, new_app, engine, settings):
    (source, source_checkout), (target, target_checkout), (stranger, stranger_checkout) = (new_app("backing") for _ in range(3))
    for checkout in (source_checkout, target_checkout, stranger_checkout):
        assert checkout.push().returncode == 0
    internal = f"http://{target}.internal:{settings.web_port}/"
    [web] = app_containers(engine, settings, target, "web")
    address = f"http://{web.attrs['NetworkSettings']['Networks'][f'{settings.instance}-apps']['IPAddress']}:{settings.web_port}/"
    assert reaches(router, source, internal)["reached"] is False

    made = api.post(f"/apps/{source}/links", json={"app": target})
    assert made.status_code == 201, made.text
    assert made.json()["url"] == internal.rstrip("/")
    assert [link["target"]["name"] for link in api.get(f"/apps/{source}/links").json()] == [target]
    eventually(lambda: reaches(router, source, internal)["reached"], what="the linked app reaching its target")
    assert answer(router, source, f"/probe?url={internal}")["reached"] is True
    for url in (internal, address):
        assert reaches(router, stranger, url)["reached"] is False, url
    assert reaches(router, source, address)["reached"] is False  # only over the link, not the apps' network
    assert api.post(f"/apps/{source}/links", json={"app": target}).status_code == 422
    assert api.post(f"/apps/{source}/links", json={"app": source}).status_code == 422

    # The target redeploys: its new process is reachable under the same name.
    target_checkout.write("VERSION", "2\n")
    target_checkout.commit("v2")
    assert target_checkout.push().returncode == 0
    eventually(lambda: reaches(router, source, internal)["reached"], what="the new target process reached")

    # A one-off run of the source reaches it too, until the link goes.
    probe = ("import time, urllib.request\nfor _ in range(120):\n    try:\n"
             f"        urllib.request.urlopen('{internal}', timeout=1); print('probe: reached', flush=True)\n"
             "    except Exception: print('probe: unreachable', flush=True)\n    time.sleep(0.5)\n")
    run = api.post(f"/apps/{source}/dynos", json={"command": f"python3 -c \"{probe}\"", "attach": False})
    assert run.status_code == 201, run.text
    dyno = run.json()["name"]
    logged(api, source, f"app[{dyno}]: probe: reached")

    assert api.delete(f"/apps/{source}/links/{target}").status_code == 200
    eventually(lambda: not reaches(router, source, internal)["reached"], what="the link gone")
    def latest_probe() -> str:
        said = [line for line in read_logs(api, source) if f"app[{dyno}]: probe:" in line]
        return said[-1] if said else ""

    eventually(lambda: latest_probe().endswith("probe: unreachable"), timeout=20, what="the run cut off")
    assert api.get(f"/apps/{source}/links").json() == []
