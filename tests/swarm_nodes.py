"""A two-node Docker Swarm on this one machine, for the swarm backend's tests and benchmark.

The host's Docker engine is the manager. The second node is a Docker engine of its own in a
network namespace made here, on a veth pair with a private /24 chosen here: every address these
tests send traffic to is one of these two. The registry is reached from both at the host's side
of the pair (a forwarder to the registry on the host's loopback); its token realm, the API on the
host's loopback, is reached from the second engine at the same address on its own loopback (a
forwarder in its namespace to one at the host's side of the pair). `down()` takes it all away:
the swarm, the engine, the namespace. The second engine's images are kept in the cache
directory, so a later run does not pull the stack again.
"""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from paas import certificates
from paas.channels import connect
from paas.channels.dynos import NODES_KEY, read_nodes

NAMESPACE = "paas-node2"
SUBNET = "10.213.7"  # private, and used by nothing else here
HOST_ADDR, NODE_ADDR = f"{SUBNET}.1", f"{SUBNET}.2"
HOST_LINK, NODE_LINK = "paas-n2-host", "paas-n2-node"
REALM_PORT = 5100  # the API's, where the registry sends clients for a token (127.0.0.1:5100)
REALM_RELAY_PORT = 5172  # the host's side of the pair, for the second engine's token requests
CERTS_D = Path(f"/etc/docker/certs.d/{HOST_ADDR}:5000")
RELAY_PID = Path(f"/run/{NAMESPACE}/realm-relay.pid")


def sh(*args: str, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


@dataclass
class Forwarder:
    """TLS (or plain TCP, without `tls`) at `listen` to plain TCP at `target`: the registry, at an
    address every node reaches, with a certificate that every node's engine trusts (as a registry
    on a real network has); the registry's token realm."""

    listen: tuple[str, int]
    target: tuple[str, int]
    tls: ssl.SSLContext | None = None

    def start(self) -> "Forwarder":
        server = socket.create_server(self.listen)
        self.server = self.tls.wrap_socket(server, server_side=True) if self.tls else server
        self.server.settimeout(0.5)
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except ssl.SSLError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        source.settimeout(None)
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LocalSwarm:
    def __init__(self, cache_dir: Path, registry_port: int = 5000):
        self.root = cache_dir / "swarm-node2"
        self.socket = f"/run/{NAMESPACE}/docker.sock"
        self.registry_port = registry_port
        self.forwarder: Forwarder | None = None
        self.realm_relay: Forwarder | None = None
        self.node_process: subprocess.Popen | None = None

    @property
    def node_docker(self) -> list[str]:
        return ["docker", "-H", f"unix://{self.socket}"]

    def up(self) -> "LocalSwarm":
        self.down()  # whatever an earlier run left
        sh("ip", "netns", "add", NAMESPACE)
        sh("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", NODE_LINK)
        sh("ip", "link", "set", NODE_LINK, "netns", NAMESPACE)
        sh("ip", "addr", "add", f"{HOST_ADDR}/24", "dev", HOST_LINK)
        sh("ip", "link", "set", HOST_LINK, "up")
        for command in (("ip", "addr", "add", f"{NODE_ADDR}/24", "dev", NODE_LINK), ("ip", "link", "set", NODE_LINK, "up"),
                        ("ip", "link", "set", "lo", "up")):
            sh("ip", "netns", "exec", NAMESPACE, *command)
        self.forwarder = Forwarder((HOST_ADDR, self.registry_port), ("127.0.0.1", self.registry_port), self.registry_tls()).start()
        self.realm_relay = Forwarder((HOST_ADDR, REALM_RELAY_PORT), ("127.0.0.1", REALM_PORT)).start()
        self.start_relay_in_namespace()
        self.start_node()
        sh("docker", "swarm", "init", "--advertise-addr", HOST_ADDR, "--listen-addr", f"{HOST_ADDR}:2377")
        token = sh("docker", "swarm", "join-token", "-q", "worker").stdout.strip()
        sh(*self.node_docker, "swarm", "join", "--token", token, "--advertise-addr", NODE_ADDR, f"{HOST_ADDR}:2377")
        return self

    @property
    def registry(self) -> str:
        """Where every node pulls the platform's images from."""
        return f"{HOST_ADDR}:{self.registry_port}"

    def registry_tls(self) -> ssl.SSLContext:
        """A certificate for the registry's address, by a CA of this harness's that both engines
        trust (Docker reads /etc/docker/certs.d/<registry>/ca.crt at each pull)."""
        ca_file = self.root / "registry-tls" / "ca.crt"
        cert, key = certificates.server_certificate(self.root / "registry-tls", ca_file, [HOST_ADDR])
        CERTS_D.mkdir(parents=True, exist_ok=True)
        shutil.copy(ca_file, CERTS_D / "ca.crt")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    def start_node(self) -> None:
        """The second engine, in the namespace (`nsenter --net`: `ip netns exec` remounts /sys)."""
        for folder in (self.root / "data", Path(f"/run/{NAMESPACE}")):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root / "data" / "swarm", ignore_errors=True)  # it joins this run's swarm, not an old one
        log = open(self.root / "dockerd.log", "ab")
        self.node_process = subprocess.Popen(
            ["nsenter", f"--net=/var/run/netns/{NAMESPACE}", "dockerd", "--data-root", str(self.root / "data"),
             "--exec-root", f"/run/{NAMESPACE}/exec", "--pidfile", f"/run/{NAMESPACE}/docker.pid",
             "-H", f"unix://{self.socket}", "--bip", "172.31.213.1/24"],
            stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while sh(*self.node_docker, "info", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the second Docker engine did not start: see {self.root / 'dockerd.log'}")
            time.sleep(0.5)

    def start_relay_in_namespace(self) -> None:
        """127.0.0.1:REALM_PORT in the second engine's namespace, to the relay at the host's side."""
        log = open(self.root / "realm-relay.log", "ab")
        relay = subprocess.Popen(
            ["nsenter", f"--net=/var/run/netns/{NAMESPACE}", sys.executable, "-m", "tests.swarm_nodes", "relay",
             "127.0.0.1", str(REALM_PORT), HOST_ADDR, str(REALM_RELAY_PORT)],
            cwd=Path(__file__).resolve().parents[1], stdout=log, stderr=log, start_new_session=True,
        )
        Path(f"/run/{NAMESPACE}").mkdir(parents=True, exist_ok=True)
        RELAY_PID.write_text(str(relay.pid))

    def node_id(self) -> str:
        """The second node's id in the swarm."""
        return sh(*self.node_docker, "info", "--format", "{{.Swarm.NodeID}}").stdout.strip()

    def host_node_id(self) -> str:
        return sh("docker", "info", "--format", "{{.Swarm.NodeID}}").stdout.strip()

    def stop_node(self) -> None:
        """The second engine goes away (as a host that is switched off)."""
        pid_file = Path(f"/run/{NAMESPACE}/docker.pid")
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        if self.node_process is not None and self.node_process.pid == pid:
            self.node_process.wait(30)  # ours: reaped here (a zombie would look alive)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid_file.unlink(missing_ok=True)
        # Its containers' shims outlive it: they are its node's processes, which went with it.
        sh("pkill", "-9", "-f", f"/run/{NAMESPACE}/exec", check=False)

    def down(self) -> None:
        if sh("docker", "info", "--format", "{{.Swarm.LocalNodeState}}", check=False).stdout.strip() != "inactive":
            sh("docker", "swarm", "leave", "--force", check=False)
        self.stop_node()
        for forwarder in (self.forwarder, self.realm_relay):
            if forwarder is not None:
                forwarder.stop()
        self.forwarder = self.realm_relay = None
        try:
            os.kill(int(RELAY_PID.read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        RELAY_PID.unlink(missing_ok=True)
        shutil.rmtree(CERTS_D, ignore_errors=True)
        sh("ip", "link", "del", HOST_LINK, check=False)
        sh("ip", "netns", "del", NAMESPACE, check=False)


COLLECTOR_PORT = 5171  # the swarm runner's log collector, at the host's side of the veth


@contextmanager
def swarm_runner(settings, cluster: LocalSwarm, reconcile_interval: float = 2.0) -> Iterator[None]:
    """The platform's runner (started by `make up`) swapped for one on the swarm backend, and
    put back after, with every service, overlay and the gateway it made removed."""
    from paas.runner.swarm_backend import SwarmBackend

    home = settings.home.resolve()
    stop_process(home / "run" / "runner.pid")
    env = {**os.environ, "PAAS_HOME": str(home), "PAAS_RUNNER_BACKEND": "swarm", "PAAS_SWARM_REGISTRY": cluster.registry,
           "PAAS_LOG_COLLECTOR": f"{HOST_ADDR}:{COLLECTOR_PORT}", "PAAS_RECONCILE_INTERVAL": str(reconcile_interval)}
    log = open(home / "logs" / "runner-swarm.log", "ab")
    runner = subprocess.Popen([sys.executable, "-m", "paas.runner"], env=env, stdout=log, stderr=log, start_new_session=True)
    redis = connect(settings)
    redis.delete(NODES_KEY)
    try:
        deadline = time.monotonic() + 60
        while len(read_nodes(redis).nodes) != 2:
            if time.monotonic() > deadline or runner.poll() is not None:
                raise RuntimeError(f"the swarm runner did not see both nodes: see {home / 'logs' / 'runner-swarm.log'}")
            time.sleep(0.3)
        yield
    finally:
        os.killpg(runner.pid, signal.SIGTERM)
        runner.wait(30)
        SwarmBackend.from_settings(settings.model_copy(update={"runner_backend": "swarm", "swarm_registry": cluster.registry})).remove_all()
        redis.delete(NODES_KEY)
        sh(str(Path(__file__).resolve().parents[1] / "scripts" / "platform.sh"), "up", env={**os.environ, "PAAS_HOME": str(home)})


def _alive(pid: int) -> bool:
    """Running, and not a zombie left for its parent to reap."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_process(pid_file: Path) -> None:
    """A platform process started by `make up` (its process group), by its pid file."""
    try:
        pid = int(pid_file.read_text())
        os.killpg(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    pid_file.unlink(missing_ok=True)


if __name__ == "__main__" and sys.argv[1:2] == ["relay"]:  # in the second engine's namespace
    listen_host, listen_port, target_host, target_port = sys.argv[2:6]
    relay = Forwarder((listen_host, int(listen_port)), (target_host, int(target_port))).start()
    while True:  # until SIGTERM (down())
        time.sleep(3600)
