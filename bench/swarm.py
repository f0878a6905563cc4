"""The swarm backend against the docker backend, on a two-node swarm made on this machine
(tests/swarm_nodes.py: a second Docker engine in a network namespace of its own).

1. push to live of the sample app (push_to_live.py, a one-file change each deploy): on the docker
   backend, then on the swarm backend, in the same run (target: swarm within 2x of docker);
2. scaling web from 1 to 10 over both nodes, until all ten answer through the router (target: < 10 s);
3. an app on both nodes whose second node stops: time until every request is answered again and
   until all its dynos are back, on the first node (target: < 30 s).

`make up` first. Usage: python bench/swarm.py [--runs N]
"""

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
import platform_clients  # beside this script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.swarm_nodes import LocalSwarm, swarm_runner  # noqa: E402

SAMPLE_APP = ROOT / "tests" / "e2e" / "sample_app"


def push_to_live(runs: int) -> float:
    median, lines = platform_clients.push_to_live(runs, "--change")
    print("   ", next(line for line in lines if line.startswith("failed requests")))
    return median


def until(check, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def serving(platform, host: str, containers: int | None = None, requests: int = 40) -> bool:
    """Every one of `requests` answered 200 (and, if given, from `containers` distinct containers)."""
    seen = set()
    for _ in range(requests):
        try:
            answer = platform.router.get(platform.router_url, headers={"Host": host})
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            return False
        seen.add(answer.headers.get("X-Container"))
    return containers is None or len(seen) >= containers


def tasks_on(app: str, node_id: str) -> list[dict]:
    """The app's running tasks on one node, by the swarm's own account."""
    import docker

    tasks = docker.from_env().api.tasks(filters={"label": [f"paas.app={app}"], "desired-state": "running"})
    return [t for t in tasks if t.get("NodeID") == node_id and t["Status"]["State"] == "running"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    platform = platform_clients.connect()
    print("docker backend:")
    docker_push = push_to_live(options.runs)
    cluster = LocalSwarm(platform.settings.cache_dir).up()
    try:
        with swarm_runner(platform.settings, cluster):
            print("swarm backend (two nodes):")
            swarm_push = push_to_live(options.runs)
            name = f"bench-swarm-{secrets.token_hex(3)}"
            host = platform.settings.app_host(name)
            platform.api.post("/apps", json={"name": name}).raise_for_status()
            try:
                app = platform_clients.checkout(SAMPLE_APP, Path(tempfile.mkdtemp()) / "app")
                if platform_clients.git(app, "push", platform.remote(name), "main", timeout=300).returncode != 0:
                    raise SystemExit("the push to the swarm failed")

                def scale(quantity: int) -> None:
                    platform.api.patch(f"/apps/{name}/formation",
                                       json={"updates": [{"type": "web", "quantity": quantity}]}).raise_for_status()

                scale(10)
                scaled = until(lambda: serving(platform, host, containers=10, requests=80), 120, "ten dynos answering")
                on_second = len(tasks_on(name, cluster.node_id()))
                if not on_second:
                    raise SystemExit("no dyno runs on the second node: nothing to measure")
                stopping = time.monotonic()
                cluster.stop_node()
                stopped = time.monotonic() - stopping
                answering = stopped + until(lambda: serving(platform, host), 120, "every request answered without the node")
                back = until(lambda: len(tasks_on(name, cluster.host_node_id())) == 10
                             and serving(platform, host, containers=10, requests=100), 120, "ten dynos back")
            finally:
                platform.api.delete(f"/apps/{name}")
    finally:
        cluster.down()
    print(f"\npush-to-live median, docker backend: {docker_push:.2f} s")
    print(f"push-to-live median, swarm backend:  {swarm_push:.2f} s ({swarm_push / docker_push:.1f}x; target within 2x)")
    print(f"scale web 1 -> 10 over two nodes, all answering: {scaled:.1f} s (target < 10 s)")
    print(f"second node stopped (it ran {on_second} of the 10 dynos; stopping it took {stopped:.1f} s): "
          f"every request answered again after "
          f"{answering:.1f} s, all ten dynos back on the first node after {answering + back:.1f} s (target < 30 s)")


if __name__ == "__main__":
    main()
