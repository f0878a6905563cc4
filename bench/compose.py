"""The compose stack (docker-compose.yml) beside the `make up` platform, in one run
(tests/compose_stack.py: its own project, ports and instance, on the same home):

1. until the API answers: `docker compose build --no-cache` then `up -d` (every image built
   from the stack image, none of Docker's cache used), then, after a `down`, `up -d --build`
   with every image in Docker's cache (an operator's restart, or an upgrade without changes);
2. push to live of the sample app (push_to_live.py, no-change redeploys) on the `make up`
   platform, then on the compose stack.

`make up` and `make stack` first. Usage: python bench/compose.py [--runs N]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import platform_clients  # beside this script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from paas.settings import Settings  # noqa: E402
from tests import compose_stack  # noqa: E402


def push_to_live(runs: int, env: dict[str, str]) -> float:
    median, lines = platform_clients.push_to_live(runs, env=env)
    print("   ", next(line for line in lines if line.startswith("rollback median")))
    return median


def output(file) -> str:
    file.seek(0)
    return file.read()[-3000:]


def up_until_the_api_answers(home: Path, api_url: str, fresh: bool = False) -> float:
    started = time.monotonic()
    if fresh:
        built = compose_stack.compose(home, "build", "--no-cache", timeout=1800)
        if built.returncode != 0:
            raise SystemExit(f"docker compose build failed:\n{built.stderr[-3000:]}")
    errors = tempfile.TemporaryFile("w+")  # a file, not a pipe: a build's output could fill a pipe and stop it
    argv, env = compose_stack.command(home, "up", "-d", "--build")
    compose = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True)
    while time.monotonic() - started < 900:
        try:
            if httpx.get(f"{api_url}/docs", timeout=1).status_code == 200:
                answered = time.monotonic() - started
                if compose.wait(600) != 0:
                    raise SystemExit(f"docker compose up failed:\n{output(errors)}")
                return answered
        except httpx.TransportError:
            pass
        if compose.poll() not in (None, 0):
            raise SystemExit(f"docker compose up failed:\n{output(errors)}")
        time.sleep(0.1)
    raise SystemExit("the compose stack's API did not answer within 15 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    home = Settings().home.resolve()
    stack = compose_stack.settings(home)
    try:
        built = up_until_the_api_answers(home, stack.api_url, fresh=True)
        print(f"docker compose build --no-cache && up -d (every image built): API answering after {built:.1f} s", flush=True)
        compose_stack.up(home)  # every service healthy before the restart
        compose_stack.compose(home, "down")
        cached = up_until_the_api_answers(home, stack.api_url)
        print(f"docker compose up -d --build, every image cached: API answering after {cached:.1f} s", flush=True)
        compose_stack.up(home)
        print("make up platform:")
        make_up = push_to_live(options.runs, {})
        print("compose stack:")
        ours = push_to_live(options.runs, {"PAAS_API_PORT": str(compose_stack.PORTS["API"]),
                                           "PAAS_ROUTER_PORT": str(compose_stack.PORTS["ROUTER"]),
                                           "PAAS_INSTANCE": compose_stack.INSTANCE})
    finally:
        compose_stack.remove(home)
    print(f"\npush-to-live median (no-change redeploy), make up platform: {make_up:.2f} s")
    print(f"push-to-live median (no-change redeploy), compose stack:    {ours:.2f} s ({ours / make_up:.2f}x)")


if __name__ == "__main__":
    main()
