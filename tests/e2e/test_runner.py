"""The runner serves apps side by side: one app's release that never boots does not hold up
another app's deploy."""

import os
import subprocess
import time

import pytest

from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


def test_an_app_that_never_boots_does_not_delay_another_apps_deploy(new_app, router, settings):
    from tests.e2e.conftest import SAMPLE_APP

    stuck, stuck_checkout = new_app(SAMPLE_APP)
    stuck_checkout.write("Procfile", "web: exec sleep 600\n")  # never answers on $PORT
    stuck_checkout.commit("never listens")
    push = subprocess.Popen(["git", "push", stuck_checkout.remote, "main"], cwd=stuck_checkout.path,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    try:
        for line in push.stderr:  # until the runner is waiting for it to boot
            if "Launching" in line:
                break
        name, checkout = new_app(SAMPLE_APP)
        started = time.monotonic()
        result = checkout.push()
        took = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert router.get(name).text == "sample-app version=1 greeting=\n"
        assert took < settings.boot_timeout / 4, f"the deploy waited {took:.1f} s behind the stuck one"
        assert push.poll() is None  # the stuck one is still booting meanwhile
    finally:
        push.kill()  # the pusher hangs up; the app is deleted at the end of the test
        push.wait()
    eventually(lambda: router.get(stuck).status_code == 503, what="the stuck app still on its 503 page")
