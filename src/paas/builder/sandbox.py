"""Where a Dockerfile build runs: the network namespace and cgroups of a small holder container.
The holder sits on the builds' bridge (a way out to package registries; no connection to the
host, so none to its loopback services, and none to other builds), and its cgroups carry the
build's memory, CPU and process limits. The build's buildah processes join both: each build is
alone in its network, whatever it runs. A holder serves one build at a time; once everything
that build started is gone from its cgroups it waits for the next build, so a push never waits
on the Docker engine to start or remove a container."""

import atexit
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from paas.networks import LABEL_INSTANCE, ensure_isolated_bridge
from paas.builder.containers import remove_container
from paas.settings import Settings

log = logging.getLogger(__name__)
# Moves the shell into each cgroup named before `--` (or fails: a build never runs without its
# limits), then becomes the command after it, so every process of the build is inside them.
JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
# Seconds after a build before a holder that cannot serve again goes: right after a build the
# Docker engine is busy starting the new release, which should not wait.
QUIET = 10.0
OWNER = "paas.build-sandbox"  # label: the worker (host:pid) a sandbox belongs to


@dataclass(frozen=True)
class Sandbox:
    net_fd: int  # the holder's network namespace, held open: it cannot be another process's
    cgroup_procs: list[Path]
    deadline: int  # seconds: buildah is killed after them even if the worker that watches it died
    holder_pids: frozenset[int] = frozenset()  # its own (init, sleep): they go with the container

    def wrap(self, command: list[str]) -> list[str]:
        return ["sh", "-c", JOIN_CGROUPS, "sh", *map(str, self.cgroup_procs), "--",
                "timeout", "--signal=KILL", str(self.deadline),
                "nsenter", f"--net=/proc/self/fd/{self.net_fd}", *command]

    def kill_all(self) -> bool:
        """Whatever the build left running in the holder's cgroups (a RUN step outlives buildah
        when the build is stopped), killed; whether they are all gone."""
        for _ in range(20):
            pids = {int(pid) for path in self.cgroup_procs for pid in _read(path).split()} - self.holder_pids
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        return False


def cgroup_mounts(mountinfo: str) -> list[tuple[frozenset[str], Path]]:
    """Where each cgroup hierarchy is mounted, with its super options (v1: `rw,cpu`,
    `rw,xattr,name=systemd`...; the v2 hierarchy: an empty set)."""
    mounts = []
    for line in mountinfo.splitlines():
        head, _, tail = line.partition(" - ")
        fields, extra = head.split(), tail.split()
        if len(fields) >= 5 and len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
            options = frozenset(extra[2].split(",")) if extra[0] == "cgroup" else frozenset()
            mounts.append((options, Path(fields[4])))
    return mounts


def cgroup_procs_files(proc_cgroup: str, mounts: list[tuple[frozenset[str], Path]]) -> list[Path]:
    """The `cgroup.procs` files of a process's cgroups (from its /proc/<pid>/cgroup)."""
    files = []
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        wanted = frozenset(controllers.split(",")) if controllers else frozenset()
        for options, mount in mounts:
            if (wanted <= options) if wanted else not options:
                files.append(mount / path.lstrip("/") / "cgroup.procs")
                break
    return files


class Sandboxes:
    """Hands out sandboxes, one build at a time each, and keeps one started for the next build
    (starting a container is most of what a sandbox would cost a push): the one the last build
    left empty, or one started ahead. A holder serves for at most `SPARE_LIFETIME`; one left by a
    worker that died goes by itself soon after."""

    SPARE_LIFETIME = 600.0

    def __init__(self, settings: Settings, client: docker.DockerClient):
        self.settings, self.client = settings, client
        self._lock = threading.Lock()
        self._spare: tuple[float, Container] | None = None
        self._network_ready = False
        self._used: list[str] = []  # holders of finished builds, to remove when nothing waits on the engine
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        atexit.register(self._drop_spare)
        self._soon(self._sweep)
        self._soon(self._make_spare)

    def _sweep(self) -> None:
        """Sandboxes left by this host's workers that are gone (a stopped worker's spare)."""
        host = socket.gethostname()
        found = self.client.containers.list(all=True, filters={"label": [OWNER, f"{LABEL_INSTANCE}={self.settings.instance}"]}, ignore_removed=True)
        for container in found:
            owner_host, _, pid = container.labels.get(OWNER, "").rpartition(":")
            if owner_host == host and pid.isdecimal() and not _alive(int(pid)):
                remove_container(self.client, container.id)

    def _drop_spare(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            remove_container(self.client, spare[1].id)
        self._remove_used()

    @contextmanager
    def sandbox(self) -> Iterator[Sandbox]:
        made, container = self._take()
        try:
            sandbox = self._enter(container)
        except BaseException:
            self._later_remove(container)
            raise
        try:
            yield sandbox
        finally:
            os.close(sandbox.net_fd)
            # A stopped build's RUN step must not go on for a moment more; a holder that still
            # has a process of its build in it never serves another.
            if sandbox.kill_all():
                self._keep(made, container)
            else:
                self._later_remove(container)

    def _keep(self, made: float, container: Container) -> None:
        """The holder of a finished build, kept for the next one (one kept at most)."""
        with self._lock:
            if self._spare is None:
                self._spare = (made, container)
                return
        self._later_remove(container)

    def _later_remove(self, container: Container) -> None:
        with self._lock:
            self._used.append(container.id)
        timer = threading.Timer(QUIET, self._soon, args=(self._remove_used,))
        timer.daemon = True
        timer.start()

    def _remove_used(self) -> None:
        with self._lock:
            used, self._used = self._used, []
        for container_id in used:
            remove_container(self.client, container_id)

    def _soon(self, work, *args) -> None:
        def run():
            try:
                work(*args)
            except Exception:  # noqa: BLE001 -- a thread's failure would go unseen: log it
                log.exception("build sandbox upkeep failed")

        threading.Thread(target=run, daemon=True).start()

    def _enter(self, container: Container) -> Sandbox:
        """The holder's namespaces and cgroups, checked to be the holder's own."""
        pid = container.attrs["State"]["Pid"]
        net_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        procs = cgroup_procs_files(_read(Path(f"/proc/{pid}/cgroup")), cgroup_mounts(_read(Path("/proc/self/mountinfo"))))
        if not self._running(container) or not procs or any(container.id not in str(p) for p in procs):
            os.close(net_fd)  # it ended (its pid may be another process's now), or is not in cgroups of its own
            raise RuntimeError(f"the build sandbox {container.name} is not running in cgroups of its own")
        holder_pids = frozenset(int(p) for p in _read(procs[0]).split())
        return Sandbox(net_fd, procs, int(self.settings.build_timeout) + 60, holder_pids)

    def _take(self) -> tuple[float, Container]:
        """A started holder and when it was made: the spare, if it is young and running."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            made, container = spare
            if time.monotonic() - made < self.SPARE_LIFETIME and self._running(container):
                return spare
            self._later_remove(container)
            self._soon(self._make_spare)  # the build after this one should not wait either
        return time.monotonic(), self._start()

    def _make_spare(self) -> None:
        with self._lock:
            if self._spare is not None:
                return
        container = self._start()
        self._keep(time.monotonic(), container)

    def _running(self, container: Container) -> bool:
        try:
            container.reload()
        except docker.errors.NotFound:
            return False
        return container.status == "running"

    def network(self) -> str:
        """The builds' bridge, made (and fenced in) once per worker: buildpack builds' containers
        sit on it too."""
        if not self._network_ready:
            ensure_isolated_bridge(self.client, self.settings.build_network, {LABEL_INSTANCE: self.settings.instance},
                                   self.settings.outbound_allow)
            self._network_ready = True
        return self.settings.build_network

    def _start(self) -> Container:
        network = self.network()
        lifetime = int(self.SPARE_LIFETIME + self.settings.build_timeout + 120)
        try:
            container = self.client.containers.run(
                # It ends (and goes) by itself once no build can still be using it, should this worker die.
                self.settings.stack_image, command=["sleep", str(lifetime)],
                name=f"paas-build-sandbox-{uuid.uuid4().hex[:12]}", detach=True, auto_remove=True, init=True,
                network=network,
                mem_limit=self.settings.build_memory, memswap_limit=self.settings.build_memory,
                nano_cpus=int(self.settings.build_cpus * 1e9), pids_limit=self.settings.build_pids,
                cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True,
                labels={OWNER: self.owner, LABEL_INSTANCE: self.settings.instance},
            )
        except docker.errors.ImageNotFound:
            raise RuntimeError(f"the build sandbox's image {self.settings.stack_image} is missing (`make up` makes it)") from None
        container.reload()
        return container


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""
