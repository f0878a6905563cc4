"""The Docker engine's containers, as both backends (docker, swarm) use them: the labels that say
what a container is (the truth about what runs), the apps' bridge and private networks, images
pulled by digest and what they run as, the logs' way to the collector, and one-off runs, which are
containers on the runner's own engine on every backend."""

import secrets
import shlex
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import docker
import docker.errors
from docker.models.containers import Container
from docker.types import LogConfig

from paas import networks
from paas.lines import output_lines, Emit
from paas.runner.backend import BootFailed, OneOffTimeout, Process, ProcessSpec
from paas.settings import Settings

LABEL_INSTANCE, LABEL_APP, LABEL_RELEASE, LABEL_VERSION, LABEL_PROCESS, LABEL_NAME, LABEL_SIZE = (
    "paas.instance", "paas.app", "paas.release", "paas.version", "paas.process", "paas.name", "paas.size",
)
LABEL_ONE_OFF, LABEL_STARTED, LABEL_APP_ID, LABEL_COMMAND = "paas.one-off", "paas.started", "paas.app-id", "paas.command"
# The platform's labels an app's image may carry: the stacks' revision (builder.stack.REVISION_LABEL).
IMAGE_LABELS = frozenset({"paas.stack.revision"})


class Containers:
    """One engine's containers of this installation (its instance label)."""

    def __init__(self, client: docker.DockerClient, instance: str, log_collector: str | None = None,
                 dyno_user: str = "10000:10000", registry_auth: tuple[str, str] | None = None,
                 outbound_allow: tuple = ()):
        self.client, self.instance = client, instance
        self.outbound_allow = outbound_allow  # private networks its processes may reach (PAAS_OUTBOUND_ALLOW)
        self.registry_auth = {"username": registry_auth[0], "password": registry_auth[1]} if registry_auth else None
        self.dyno_user = dyno_user
        self._image_configs: dict[str, tuple[str, str]] = {}
        self.log_collector = log_collector
        # One-off processes carry the runner that runs them: any other one is a leftover of a
        # runner that stopped while it ran (nobody relays or waits for it any more).
        self.one_off_label = secrets.token_hex(8)
        self.network = f"{instance}-apps"
        self._network_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "Containers":
        return cls(docker.DockerClient(base_url=settings.docker_url, timeout=120), settings.instance, settings.log_collector,
                   settings.dyno_user, settings.registry_auth("runner"), settings.outbound_allow)

    def one_offs(self, app: str) -> list[Process]:
        """The app's one-off processes that run now (runs and release commands)."""
        return self.listed(app, one_offs=True)

    def listed(self, app: str | None, one_offs: bool) -> list[Process]:
        labels = [f"{LABEL_INSTANCE}={self.instance}", f"{LABEL_APP}={app}" if app else LABEL_APP]
        # One list call (no inspect per container): a container removed meanwhile cannot break it.
        summaries = self.client.api.containers(all=True, filters={"label": labels})
        return [
            self.process_of(s["Id"], s["Labels"], s["State"], s.get("NetworkSettings"))
            for s in summaries if (LABEL_ONE_OFF in s["Labels"]) == one_offs  # one-off runs are not the formation's
        ]

    def ensure_network(self) -> None:
        """Apps share one bridge with container-to-container traffic off: an app is reached only
        through the router, never straight from another app's container (nor the host's, nor a
        private network's)."""
        if self._network_ready:
            return
        networks.ensure_isolated_bridge(self.client, self.network, {LABEL_INSTANCE: self.instance}, self.outbound_allow)
        self._network_ready = True

    def private_networks(self) -> set[str]:
        """The private networks that exist (made by the add-on jobs)."""
        found = self.client.api.networks(filters={"label": [f"{networks.LABEL_INSTANCE}={self.instance}", networks.LABEL_KIND]})
        return {n["Name"] for n in found}

    def set_networks(self, process: Process, wanted: dict[str, tuple[str, ...]]) -> None:
        for name in sorted(set(wanted) - process.networks):
            self.join(process.id, name, wanted[name])
        for name in sorted(process.networks - set(wanted)):
            try:
                self.client.api.disconnect_container_from_network(process.id, name, force=True)
            except docker.errors.APIError:  # gone meanwhile (the network or the container)
                pass

    def join(self, container_id: str, network: str, aliases: tuple[str, ...]) -> None:
        try:
            networks.connect(self.client, network, container_id, list(aliases))
        except docker.errors.NotFound:  # removed meanwhile: access ended
            pass

    def remove_one_offs(self, app: str, name: str | None = None) -> None:
        """Stop and remove the app's one-off processes (all of them, or the one named run.N)."""
        labels = [f"{LABEL_INSTANCE}={self.instance}", f"{LABEL_APP}={app}", LABEL_ONE_OFF]
        for summary in self.client.api.containers(all=True, filters={"label": labels + ([f"{LABEL_NAME}={name}"] if name else [])}):
            try:
                self.client.api.remove_container(summary["Id"], force=True)
            except docker.errors.NotFound:
                pass

    def remove_stray_one_offs(self) -> None:
        """Remove one-off processes this runner did not start (their runner stopped while they
        ran: nobody relays their output or waits for them)."""
        labels = [f"{LABEL_INSTANCE}={self.instance}", LABEL_ONE_OFF]
        for summary in self.client.api.containers(all=True, filters={"label": labels}):
            if summary["Labels"].get(LABEL_ONE_OFF) == self.one_off_label:
                continue  # this backend's own, running
            try:
                self.client.api.remove_container(summary["Id"], force=True)
            except docker.errors.NotFound:
                pass

    def run_once(self, spec: ProcessSpec, timeout: float, emit: Emit) -> int:
        """Run `spec` to its end in a one-off process of its own (never one of the formation's),
        streaming its output to `emit`; its exit code. Killed after `timeout` s: OneOffTimeout."""
        container = self.run(spec, labels={LABEL_ONE_OFF: self.one_off_label})
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()  # before the kill: the wait below may return while kill() is under way
            _kill(container)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            for line in output_lines(container.logs(stream=True, follow=True)):
                emit(line)
            exit_code = container.wait(timeout=60).get("StatusCode", -1)
            if timed_out.is_set():
                raise OneOffTimeout(f"{spec.name} ran longer than {timeout:.0f} s and was stopped")
            return exit_code
        finally:
            timer.cancel()
            container.remove(force=True)

    def run_attached(self, spec: ProcessSpec, tty: bool, inputs: Iterator[bytes | str | None],
                     output: Callable[[bytes], None], timeout: float) -> int:
        """Run `spec` in a one-off process attached to a client: `inputs` gives its stdin bytes,
        "eof" (close stdin) and "hangup" (kill it), None when there is nothing new; its output
        bytes go to `output` as they come (with a terminal when `tty`). Its exit code; killed
        after `timeout` seconds. The process is removed when it ends."""
        # Attached output is the user's terminal, not the app's logs (as on Heroku).
        # Not detached with stdin open: Docker closes the process's stdin when the client's input ends.
        container = self.create(spec, labels={LABEL_ONE_OFF: self.one_off_label}, detach=False, stdin_open=True, tty=tty,
                                 log_config=LogConfig(type="none"))
        raw = None
        try:
            # Attached before it starts, so not a byte of its output is missed.
            raw = self.client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})._sock
            container.start()
            done = threading.Event()
            reader = threading.Thread(target=_relay_output, args=(raw, tty, output), daemon=True)
            reader.start()
            threading.Thread(target=_relay_input, args=(raw, inputs, container, done), daemon=True).start()
            timer = threading.Timer(timeout, _kill, args=(container,))
            timer.start()
            try:
                status = container.wait().get("StatusCode", -1)
            finally:
                timer.cancel()
                done.set()
            reader.join(10)
            return status
        finally:
            if raw is not None:
                raw.close()
            container.remove(force=True)

    def run(self, spec: ProcessSpec, labels: dict[str, str] | None = None, **options) -> Container:
        container = self.create(spec, labels, detach=True, **options)
        container.start()
        return container

    def create(self, spec: ProcessSpec, labels: dict[str, str] | None = None, **options) -> Container:
        self.ensure_network()
        self.pull(spec.image)
        options.setdefault("log_config", self.log_config())
        container = self.client.containers.create(
            spec.image,
            # A Procfile command is a shell line ($PORT, &&, quotes), as on Heroku.
            command=["/bin/sh", "-c", spec.command] if spec.command else None,
            # Unique per attempt: a retry must not collide with a leftover that is still stopping.
            name=f"{self.instance}-{spec.app}-{spec.name}-v{spec.version}-{secrets.token_hex(3)}",
            # Heroku's dyno identity beside the release's environment; PORT for web processes.
            environment={
                **spec.env, "DYNO": spec.name, "HEROKU_DYNO_ID": str(uuid.uuid4()),
                **({"PORT": str(spec.port)} if spec.process_type == "web" else {}),
            },
            labels={
                LABEL_INSTANCE: self.instance,
                LABEL_APP: spec.app,
                LABEL_APP_ID: spec.app_id,
                LABEL_RELEASE: spec.release_id,
                LABEL_VERSION: str(spec.version),
                LABEL_PROCESS: spec.process_type,
                LABEL_NAME: spec.name,
                "paas.port": str(spec.port),
                LABEL_SIZE: spec.size,
                LABEL_STARTED: f"{time.time():.6f}",  # to the microsecond: restarts asked compare with it
                LABEL_COMMAND: spec.command or self.image_config(spec.image)[1],  # what `ps` shows
                **(labels or {}),
            },
            # The size's limits: over its memory the kernel kills the process and Docker restarts
            # it, as a crash (swap counts against the same limit).
            mem_limit=f"{spec.limits.memory_mb}m",
            memswap_limit=f"{spec.limits.memory_mb}m",
            cpu_shares=spec.limits.cpu_shares,
            pids_limit=spec.limits.pids,
            # As on Heroku: never root (an image's own non-root USER is kept), no capabilities
            # but binding a port, and nothing gained through setuid programs.
            user=self.run_as(spec.image),
            cap_drop=["ALL"], cap_add=["NET_BIND_SERVICE"], security_opt=["no-new-privileges"],
            network=self.network,
            init=True,  # a real PID 1, so SIGTERM reaches apps that do not handle it themselves
            **options,
        )
        for network, aliases in spec.networks.items():  # before it starts: its add-ons are there from the first moment
            self.join(container.id, network, aliases)
        return container

    def pull(self, image: str) -> None:
        """Pulled from the registry by digest: what runs is exactly what was built and pushed. An
        image the engine already holds by that digest is that very image (a rollback, a restart,
        a scale): asking the registry again would only cost the deploy its round trips."""
        if "@sha256:" in image:
            try:
                self.client.api.inspect_image(image)
                return
            except docker.errors.ImageNotFound:
                pass
        self.client.api.pull(image, auth_config=self.registry_auth)

    def run_as(self, image: str) -> str:
        """The image's own user if it names a numeric uid (and gid) other than 0; anything else
        (root, a name, which the image's own /etc/passwd could map to 0) runs as the dyno user."""
        user = self.image_config(image)[0]
        uid, _, gid = user.partition(":")
        unprivileged = uid.isdigit() and int(uid) != 0 and (not gid or (gid.isdigit() and int(gid) != 0))
        return user if unprivileged else self.dyno_user

    def image_config(self, image: str) -> tuple[str, str]:
        """The image's USER and the command it runs, as a shell line: its CMD (an ENTRYPOINT is
        most often a wrapper, as the stacks' launcher is), else its ENTRYPOINT."""
        if image not in self._image_configs:
            config = self.client.api.inspect_image(image).get("Config") or {}
            # An image's labels are its containers' too: one of the platform's own would make an
            # app's process pass for something else (a one-off run, an add-on's server, a build).
            taken = sorted(key for key in config.get("Labels") or {} if key.startswith("paas.") and key not in IMAGE_LABELS)
            if taken:
                raise BootFailed(f"the image carries labels of paas's own, which an app's image may not have: {', '.join(taken)}")
            self._image_configs[image] = (config.get("User") or "", shlex.join(config.get("Cmd") or config.get("Entrypoint") or []))
        return self._image_configs[image]

    def log_config(self) -> LogConfig | None:
        """Docker forwards the process's output to the runner's log collector, asynchronously:
        the app never waits for the collector, and while it is away Docker keeps a bounded
        number of lines and sends them once it is back. `docker logs` keeps working (Docker's
        local cache), which the boot failure messages use."""
        if self.log_collector is None:
            return None
        return LogConfig(type="fluentd", config={
            "fluentd-address": f"tcp://{self.log_collector}",
            "fluentd-async": "true",
            "fluentd-retry-wait": "100ms",  # doubling up to a minute while the collector is away
            "fluentd-sub-second-precision": "true",
            "fluentd-buffer-limit": "10000",
            # What Docker keeps for `docker logs` (its local cache) is capped too.
            "cache-max-size": "10m", "cache-max-file": "2",
            # Its dyno name from its environment: a swarm task's (web.3) is known only there.
            "labels": f"{LABEL_INSTANCE},{LABEL_APP_ID},{LABEL_NAME}", "env": "DYNO",
            "tag": "paas",
        })

    def of_container(self, container: Container) -> Process:
        return self.process_of(container.id, container.labels, container.status, container.attrs.get("NetworkSettings"))

    def process_of(self, container_id: str, labels: dict[str, str], state: str, network_settings: dict | None) -> Process:
        running = state == "running"
        # The process's own address on the apps' network: the router and the health check reach
        # every instance of an app on the same port ($PORT), each at its own address.
        on = (network_settings or {}).get("Networks") or {}
        network = on.get(self.network) or {}
        ip = network.get("IPAddress")
        address = f"{ip}:{labels.get('paas.port', '5000')}" if running and ip else None
        return Process(
            id=container_id,
            app=labels[LABEL_APP],
            app_id=labels.get(LABEL_APP_ID, ""),
            release_id=labels.get(LABEL_RELEASE, ""),
            version=int(labels.get(LABEL_VERSION, "0")),
            process_type=labels.get(LABEL_PROCESS, ""),
            name=labels.get(LABEL_NAME, ""),
            running=running,
            address=address,
            size=labels.get(LABEL_SIZE, "basic"),
            state=state,
            created_at=float(labels.get(LABEL_STARTED, "0")),
            command=labels.get(LABEL_COMMAND, ""),
            networks=frozenset(n for n in on if networks.is_private(self.instance, n)),
        )


def _kill(container: Container) -> None:
    try:
        container.kill()
    except docker.errors.APIError:
        pass  # it ended meanwhile


def _relay_output(raw: socket.socket, tty: bool, output: Callable[[bytes], None]) -> None:
    """The attach stream to `output`: raw bytes with a terminal; otherwise Docker's frames (an
    8-byte header: stream, 3 zero bytes, payload length) around stdout's and stderr's bytes."""
    buffered = b""
    while data := _receive(raw):
        if tty:
            output(data)
            continue
        buffered += data
        while len(buffered) >= 8 and len(buffered) >= 8 + (size := struct.unpack(">I", buffered[4:8])[0]):
            output(buffered[8:8 + size])
            buffered = buffered[8 + size:]


def _receive(raw: socket.socket) -> bytes:
    try:
        return raw.recv(65536)
    except OSError:  # closed under us: the process ended
        return b""


def _relay_input(raw: socket.socket, inputs: Iterator[bytes | str | None], container: Container, done: threading.Event) -> None:
    """The client's stdin to the process; its end of input closes the process's stdin; a
    hang-up (the client went away) kills the process."""
    try:
        for item in inputs:
            if done.is_set():
                return
            if isinstance(item, bytes):
                raw.sendall(item)
            elif item == "eof":
                raw.shutdown(socket.SHUT_WR)
            elif item == "hangup":
                _kill(container)
                return
    except OSError:
        pass  # the process ended and its stdin went with it
