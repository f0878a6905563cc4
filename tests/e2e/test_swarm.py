"""The swarm runner backend on a real two-node swarm (tests/swarm_nodes.py): the platform's
runner is swapped for one with PAAS_RUNNER_BACKEND=swarm for this module, and put back after.

Apps spread over both nodes answer through the router; deploys and rollbacks drop nothing under
load; scaling, a drained node and a lost node are followed; a release that never boots leaves
the old one serving; add-on URLs reach the processes; logs come from tasks on both nodes."""

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import docker
import httpx
import msgpack
import pytest

from tests.e2e.conftest import SAMPLE_APP, Load, eventually
from tests.e2e.test_logs import logged, read_logs
from tests.swarm_nodes import COLLECTOR_PORT, HOST_ADDR, NODE_ADDR, LocalSwarm, swarm_runner

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def swarm(settings):
    cluster = LocalSwarm(settings.cache_dir).up()
    try:
        with swarm_runner(settings, cluster):
            yield cluster
    finally:
        cluster.down()


def nodes_of(app: str) -> Counter:
    """How many of the app's processes run on each node (by the engine's own account)."""
    client = docker.from_env()
    tasks = client.api.tasks(filters={"label": [f"paas.app={app}"], "desired-state": "running"})
    return Counter(t.get("NodeID") for t in tasks if t["Status"]["State"] == "running")


def routed_to(router, app: str) -> str:
    """The router's addresses for the app, and where its tasks run (for a failure's message)."""
    try:
        hosts = (Path(router.settings.router_hosts_dir) / app).read_text().split()
    except OSError:
        hosts = []
    tasks = docker.from_env().api.tasks(filters={"label": [f"paas.app={app}"], "desired-state": "running"})
    running = [(t["Status"]["State"], [a for n in t.get("NetworksAttachments") or [] for a in n["Addresses"]]) for t in tasks]
    return f"{hosts}, tasks {running}"


class Serving:
    """What `requests` requests through the router met: the containers that answered and each
    status; true when `containers` answered and every answer was a 200. Its repr is what a
    failed `eventually` prints."""

    def __init__(self, router, app: str, containers: int, requests: int = 60):
        started = time.monotonic()
        answers = [answered(router, app) for _ in range(requests)]
        self.seconds = time.monotonic() - started
        self.containers = {a.headers.get("X-Container") for a in answers} - {None}
        self.statuses = Counter(a.status_code for a in answers)
        self.ok = len(self.containers) == containers and set(self.statuses) == {200}
        self.route = routed_to(router, app)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return (f"{len(self.containers)} containers answered, statuses {dict(self.statuses)} "
                f"in {self.seconds:.1f} s; routed to {self.route}")


def answered(router, app: str) -> httpx.Response:
    """The router's answer, or a 599 for a request that got none (while the route catches up)."""
    try:
        return router.get(app)
    except httpx.HTTPError:
        return httpx.Response(599)


def holding(value, test):
    """`value` when it passes `test`, else None (for `eventually`)."""
    return value if test(value) else None


def scale(api, app: str, quantity: int) -> None:
    answer = api.patch(f"/apps/{app}/formation", json={"updates": [{"type": "web", "quantity": quantity}]})
    assert answer.status_code == 200, answer.text


def up(api, app: str) -> list[dict]:
    return [d for d in api.get(f"/apps/{app}/dynos").json() if d["state"] == "up"]


def test_an_app_spreads_over_both_nodes_and_answers_through_the_router(swarm, api, checkout, app_name, router, settings):
    assert checkout.push().returncode == 0
    scale(api, app_name, 4)
    eventually(lambda: len(up(api, app_name)) == 4, 90, "four web dynos up")
    placed = eventually(lambda: holding(nodes_of(app_name), lambda n: sum(n.values()) == 4 and len(n) == 2),
                        30, "web dynos on both nodes")
    assert sorted(placed.values()) in ([1, 3], [2, 2])
    # One service for the type, its replicas the formation's quantity.
    [web] = docker.from_env().api.services(filters={"label": [f"paas.app={app_name}"]})
    assert web["Spec"]["Name"].startswith(f"{settings.instance}-{app_name}-web-v")
    assert web["Spec"]["Mode"]["Replicated"]["Replicas"] == 4 and web["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"
    assert eventually(lambda: Serving(router, app_name, 4), 30, "the router reaching all four")
    # This host reaches each task through the gateway (a route the runner added), never by its
    # default route: what answers there would be someone else (seen: a new overlay's subnet was
    # read before the swarm allocated it, and a health check counted a proxy's 404).
    gateway = docker.from_env().api.inspect_container(f"{settings.instance}-swarm-gateway")
    via = gateway["NetworkSettings"]["Networks"][f"{settings.instance}-swarm-gw"]["IPAddress"]
    for task in docker.from_env().api.tasks(filters={"label": [f"paas.app={app_name}"], "desired-state": "running"}):
        for address in [a.split("/")[0] for n in task["NetworksAttachments"] for a in n["Addresses"]]:
            assert f" via {via} " in subprocess.run(["ip", "route", "get", address], capture_output=True, text=True).stdout
    nodes = eventually(lambda: holding({n["address"]: n for n in api.get("/nodes").json()},
                                       lambda n: sum(x["dynos"] for x in n.values()) >= 4), 30, "GET /nodes counting the dynos")
    assert set(nodes) == {HOST_ADDR, NODE_ADDR} and all(n["state"] == "ready" for n in nodes.values())
    join = api.get("/nodes/join").json()["command"]
    assert join.startswith("docker swarm join --token SWMTKN-") and join.endswith(f" {HOST_ADDR}:2377")

    # Logs come from the processes on both nodes.
    for dyno in ("web.1", "web.2", "web.3", "web.4"):
        logged(api, app_name, f"app[{dyno}]: sample-app 1 listening on 5000")

    # An add-on's URL reaches every process, wherever it runs.
    made = api.post(f"/apps/{app_name}/addons", json={"plan": "external", "attachment": {"name": "MAILER"},
                                                      "config": {"url": "smtp://mail.example:25"}})
    assert made.status_code == 201, made.text
    client = docker.from_env()

    def environments() -> list[list[str]]:
        services = client.api.services(filters={"label": [f"paas.app={app_name}"]})
        return [s["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env") or [] for s in services]
    eventually(lambda: holding(environments(), lambda envs: len(envs) == 1 and "MAILER_URL=smtp://mail.example:25" in envs[0])
               and len(up(api, app_name)) == 4, 90, "MAILER_URL in the environment of the web service")


def test_deploys_and_rollbacks_drop_nothing_and_a_broken_release_leaves_the_old_one(swarm, api, checkout, app_name, router, settings):
    assert checkout.push().returncode == 0
    scale(api, app_name, 2)
    eventually(lambda: len(up(api, app_name)) == 2, 90, "two web dynos up")
    with Load(settings, app_name, keep_alive=False) as fresh, Load(settings, app_name, keep_alive=True) as kept:
        checkout.write("VERSION", "2\n")
        checkout.commit("version 2")
        pushed = checkout.push()
        assert pushed.returncode == 0, pushed.stderr
        assert "version=2" in router.get(app_name).text
        rolled = api.post(f"/apps/{app_name}/releases", json={"release": 2})
        assert rolled.status_code == 201
        eventually(lambda: "version=1" in router.get(app_name).text, 60, "the rollback to serve")
        time.sleep(1)
    assert fresh.sent > 50 and kept.sent > 50
    assert fresh.failures == [] and kept.failures == [], (fresh.failures[:5], kept.failures[:5])

    checkout.write("Dockerfile", "FROM paas/stack:bookworm\nCMD [\"sh\", \"-c\", \"exit 1\"]\n")
    checkout.commit("never boots")
    broken = checkout.push()
    assert broken.returncode != 0 and "keeps serving" in broken.stderr, broken.stderr
    assert "version=1" in router.get(app_name).text


def test_release_phase_one_off_runs_and_workers_on_the_swarm(swarm, api, checkout, app_name, router, settings, token):
    checkout.write("Procfile", "web: exec python3 -u server.py\nworker: exec sleep infinity\n"
                   'release: echo "migrating $HEROKU_RELEASE_VERSION as $DYNO"\n')
    checkout.commit("a release phase and a worker")
    pushed = checkout.push()
    assert pushed.returncode == 0 and "migrating v2 as release.1" in pushed.stderr, pushed.stderr
    answer = api.patch(f"/apps/{app_name}/formation", json={"updates": [{"type": "worker", "quantity": 2}]})
    assert answer.status_code == 200, answer.text
    eventually(lambda: sorted(d["name"] for d in up(api, app_name)) == ["web.1", "worker.1", "worker.2"], 90,
               "the web and two worker dynos up")
    assert sum(nodes_of(app_name).values()) == 3

    env = {**os.environ, "PAAS_API_URL": settings.api_url, "PAAS_TOKEN": token}
    ran = subprocess.run([str(Path(sys.executable).with_name("paas")), "run", "-a", app_name, "--", 'echo "[$DYNO]"; exit 4'],
                         capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert ran.returncode == 4 and "[run.1]" in ran.stdout, (ran.stdout, ran.stderr)


# A worker that says when it reaches its database's server (the address in DATABASE_URL).
PROBE = """\
import os, socket, time, urllib.parse
url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
while True:
    try:
        socket.create_connection((url.hostname, url.port or 5432), timeout=2).close()
        print("reached the database from", os.environ["DYNO"], flush=True)
        break
    except OSError as error:
        print("not yet:", error, flush=True)
        time.sleep(1)
time.sleep(100000)
"""


def test_processes_on_every_node_reach_their_addons(swarm, api, checkout, app_name):
    checkout.write("probe.py", PROBE)
    checkout.write("Procfile", "web: exec python3 -u server.py\nworker: exec python3 -u probe.py\n")
    checkout.commit("a worker that reaches the database")
    made = api.post(f"/apps/{app_name}/addons", json={"plan": "postgresql"})
    assert made.status_code in (201, 202), made.text
    eventually(lambda: api.get(f"/apps/{app_name}/addons").json()[0]["state"] == "provisioned", 120, "the database")
    assert checkout.push().returncode == 0
    client = docker.from_env()

    def worker_nodes() -> set:
        tasks = client.api.tasks(filters={"label": [f"paas.app={app_name}", "paas.process=worker"], "desired-state": "running"})
        return {t.get("NodeID") for t in tasks if t["Status"]["State"] == "running"}

    def workers(quantity: int) -> None:
        answer = api.patch(f"/apps/{app_name}/formation", json={"updates": [{"type": "worker", "quantity": quantity}]})
        assert answer.status_code == 200, answer.text

    # The second worker goes to the other node: the first one's is paused while it is placed.
    workers(1)
    [first] = eventually(lambda: holding(worker_nodes(), lambda n: len(n) == 1), 90, "the first worker")
    node = client.api.inspect_node(first)
    client.api.update_node(first, node["Version"]["Index"], node["Spec"] | {"Availability": "pause"})
    try:
        workers(2)
        eventually(lambda: len(worker_nodes()) == 2, 90, "a worker on each node")
    finally:
        node = client.api.inspect_node(first)
        client.api.update_node(first, node["Version"]["Index"], node["Spec"] | {"Availability": "active"})
    for dyno in ("worker.1", "worker.2"):
        logged(api, app_name, f"app[{dyno}]: reached the database from {dyno}")


# A worker that tries the manager's host services and sends the collector lines for another app
# (PROBE_CONFIG below fills in the addresses and the victim), then says what it saw.
FORGER = """\
import json, os, re, socket, struct, time
config = json.loads(CONFIG)

def pack(value):  # just enough msgpack for one fluentd forward message
    if isinstance(value, str):
        data = value.encode()
        return b"\\xda" + struct.pack(">H", len(data)) + data
    if isinstance(value, int):
        return b"\\xce" + struct.pack(">I", value)
    if isinstance(value, list):
        return b"\\xdc" + struct.pack(">H", len(value)) + b"".join(map(pack, value))
    return b"\\xde" + struct.pack(">H", len(value)) + b"".join(pack(k) + pack(v) for k, v in value.items())

def connect(host, port):
    try:
        return socket.create_connection((host, port), timeout=3), "connected"
    except socket.timeout:
        return None, "timed out"
    except ConnectionRefusedError:
        return None, "refused"
    except OSError as error:
        return None, f"error {error.errno}"

with open("/proc/net/route") as routes:  # this node's side of its bridge for ways out
    gateway = next(socket.inet_ntoa(struct.pack("<I", int(f[2], 16))) for f in map(str.split, routes) if f[1] == "00000000")
own = (re.findall("[0-9a-f]{64}", open("/proc/self/cgroup").read()) or ["0" * 64])[-1]
me = os.environ["DYNO"]
for host, port in [(h if h != "gateway" else gateway, port) for h, port in config["targets"]]:
    sock, result = connect(host, port)
    print(f"probe {me} {host}:{port} {result}", flush=True)
    if sock:
        sock.close()
for claim, container in (("victim", config["container"]), ("own", own)):
    sock, result = connect(*config["collector"])
    if sock:
        record = dict(config["record"], container_id=container, log=f"forged by {me} as {claim}")
        sock.sendall(pack(["paas", int(time.time()), record]))
        sock.settimeout(15)
        try:
            result = "closed by the collector" if sock.recv(1) == b"" else "answered"
        except socket.timeout:
            result = "kept open"
        except OSError as error:
            result = f"closed ({error.errno})"
    print(f"claim {me} {claim} {result}", flush=True)
print(f"probe done {me}", flush=True)
time.sleep(100000)
"""


@contextmanager
def paused(client, node_id: str):
    """No new task is placed on the node meanwhile (its running ones stay)."""
    node = client.api.inspect_node(node_id)
    client.api.update_node(node_id, node["Version"]["Index"], node["Spec"] | {"Availability": "pause"})
    try:
        yield
    finally:
        node = client.api.inspect_node(node_id)
        client.api.update_node(node_id, node["Version"]["Index"], node["Spec"] | {"Availability": "active"})


def running_tasks(client, app: str, process_type: str) -> list[dict]:
    tasks = client.api.tasks(filters={"label": [f"paas.app={app}", f"paas.process={process_type}"], "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def test_tasks_are_kept_out_of_the_managers_services_and_cannot_forge_another_apps_logs(
        swarm, api, checkout, app_name, new_app, settings):
    client = docker.from_env()
    manager, second = swarm.host_node_id(), swarm.node_id()
    # The victim runs on the manager; the other app's workers run one on each node.
    with paused(client, second):
        assert checkout.push().returncode == 0
        [victim_task] = eventually(lambda: running_tasks(client, app_name, "web"), 90, "the victim's web dyno")
    assert victim_task["NodeID"] == manager
    victim_container = victim_task["Status"]["ContainerStatus"]["ContainerID"]
    record = {"paas.instance": settings.instance, "paas.app-id": api.get(f"/apps/{app_name}").json()["id"], "DYNO": "web.1"}

    listener = socket.create_server((HOST_ADDR, 0))  # a service of the manager's, on its swarm address
    ports = {"api": 5100, "postgres": 5432, "redis": 6379, "collector": COLLECTOR_PORT, "listener": listener.getsockname()[1]}
    config = {"targets": [(HOST_ADDR, port) for port in ports.values()] + [("gateway", ports[s]) for s in ("api", "postgres", "redis")],
              "collector": [HOST_ADDR, COLLECTOR_PORT], "container": victim_container, "record": record}
    attacker, attack = new_app(SAMPLE_APP)
    attack.write("probe.py", f"CONFIG = {json.dumps(json.dumps(config))}\n" + FORGER)
    attack.write("Procfile", "web: exec python3 -u server.py\nworker: exec python3 -u probe.py\n")
    attack.commit("a worker that probes")
    pushed = attack.push()
    assert pushed.returncode == 0, pushed.stderr
    with listener:
        # (Not while the app is made: the gateway's joining its overlay is a task on the manager.)
        with paused(client, manager):
            workers(api, attacker, 1)
            [first] = eventually(lambda: running_tasks(client, attacker, "worker"), 90, "worker.1")
        with paused(client, second):
            workers(api, attacker, 2)
            tasks = eventually(lambda: holding(running_tasks(client, attacker, "worker"), lambda t: len(t) == 2), 90, "worker.2")
        on_node = {t["NodeID"]: f"worker.{t['Slot']}" for t in tasks}
        assert set(on_node) == {manager, second}, tasks
        # The workers' own lines arrive from both nodes (and say they are done).
        for dyno in on_node.values():
            logged_within(api, attacker, f"app[{dyno}]: probe done {dyno}", 90)
        written = read_logs(api, attacker)
        lines = {node: [line.split(": ", 1)[1] for line in written if f" app[{dyno}]: " in line] for node, dyno in on_node.items()}

        # On the manager, a task reaches none of the host's services: every connection is dropped
        # (timed out), the collector's and the test's listener on the swarm address included.
        at_manager = on_node[manager]
        for port in ports.values():
            assert f"probe {at_manager} {HOST_ADDR}:{port} timed out" in lines[manager], lines[manager]
        for service in ("api", "postgres", "redis"):
            assert any(line.startswith(f"probe {at_manager} ") and line.endswith(f":{ports[service]} timed out")
                       and HOST_ADDR not in line for line in lines[manager]), lines[manager]
        assert f"claim {at_manager} victim timed out" in lines[manager]
        # On the other node, the collector answers (the node's engine sends from the same address),
        # but drops a connection claiming another app's container, or another app for its own; the
        # manager's API, Postgres and Redis are on its loopback only: refused.
        at_second = on_node[second]
        assert f"probe {at_second} {HOST_ADDR}:{COLLECTOR_PORT} connected" in lines[second], lines[second]
        for claim in ("victim", "own"):
            assert f"claim {at_second} {claim} closed by the collector" in lines[second], lines[second]
        for service in ("api", "postgres", "redis"):
            assert f"probe {at_second} {HOST_ADDR}:{ports[service]} refused" in lines[second], lines[second]

        # Positive controls, from the manager host itself: the same services and the same
        # collector connection answer, and a line of the victim's own container is taken.
        socket.create_connection((HOST_ADDR, ports["listener"]), timeout=3).close()
        for service in ("api", "postgres", "redis"):
            socket.create_connection(("127.0.0.1", ports[service]), timeout=3).close()
        with socket.create_connection((HOST_ADDR, COLLECTOR_PORT), timeout=3) as sock:
            sock.sendall(msgpack.packb(["paas", int(time.time()), dict(record, container_id=victim_container, log="sent by the host")]))
            logged(api, app_name, "app[web.1]: sent by the host")
    assert not [line for line in read_logs(api, app_name) if "forged by" in line]
    logged(api, app_name, "app[web.1]: sample-app 1 listening on 5000")  # the victim's own line


def workers(api, app: str, quantity: int) -> None:
    answer = api.patch(f"/apps/{app}/formation", json={"updates": [{"type": "worker", "quantity": quantity}]})
    assert answer.status_code == 200, answer.text


def logged_within(api, app: str, text: str, timeout: float) -> list[str]:
    return eventually(lambda: [line for line in read_logs(api, app) if text in line], timeout, f"{text!r} in the logs of {app}")


# Last: it stops the second node, which the tests above need.
def test_scaling_draining_and_losing_a_node(swarm, api, checkout, app_name, router):
    assert checkout.push().returncode == 0
    scale(api, app_name, 4)
    eventually(lambda: len(up(api, app_name)) == 4, 90, "four dynos")
    client = docker.from_env()

    def services() -> list[tuple[str, int]]:
        found = client.api.services(filters={"label": [f"paas.app={app_name}"]})
        return [(s["ID"], s["Spec"]["Mode"]["Replicated"]["Replicas"]) for s in found]
    # Scaled down, the type starts over as a new service of one; scaled up, that service grows.
    [(four, _)] = services()
    scale(api, app_name, 1)
    eventually(lambda: len(up(api, app_name)) == 1 and sum(nodes_of(app_name).values()) == 1, 60, "one dyno left")
    [(one, replicas)] = eventually(lambda: holding(services(), lambda s: len(s) == 1), 30, "the old service gone")
    assert one != four and replicas == 1
    scale(api, app_name, 4)
    eventually(lambda: len(up(api, app_name)) == 4, 90, "four again")  # where: the swarm's choice (other tests' tasks count)
    assert services() == [(one, 4)]

    second = next(n for n in client.api.nodes() if n["Status"]["Addr"] != HOST_ADDR)
    spec = second["Spec"] | {"Availability": "drain"}
    client.api.update_node(second["ID"], second["Version"]["Index"], spec)
    first = client.info()["Swarm"]["NodeID"]
    moved = eventually(lambda: holding(nodes_of(app_name), lambda n: set(n) == {first} and sum(n.values()) == 4),
                       90, "every dyno on the first node")
    assert sum(moved.values()) == 4
    eventually(lambda: Serving(router, app_name, 4), 60, "the app answering from the first node")

    second = client.api.inspect_node(second["ID"])
    client.api.update_node(second["ID"], second["Version"]["Index"], second["Spec"] | {"Availability": "active"})
    scale(api, app_name, 6)
    eventually(lambda: len(nodes_of(app_name)) == 2 and sum(nodes_of(app_name).values()) == 6, 90, "dynos on the second node again")

    swarm.stop_node()  # the second host goes away
    started = time.monotonic()
    eventually(lambda: all(answered(router, app_name).status_code == 200 for _ in range(20)), 90, "the app answering without it")
    eventually(lambda: len(up(api, app_name)) == 6 and Serving(router, app_name, 6, 80), 120, "all six dynos back, on the first node")
    print(f"recovered from the lost node in {time.monotonic() - started:.1f} s")
