"""Where a Dockerfile build runs: the network namespace and cgroups of a small holder container
made for the build and removed after it. The holder sits on the builds' bridge (a way out to
package registries; no connection to the host, so none to its loopback services, and none to
other builds), and its cgroups carry the build's memory, CPU and process limits. The build's
buildah processes join both: each build is alone in its network, whatever it runs."""

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

from paas.addons.networks import LABEL_INSTANCE, ensure_isolated_bridge
from paas.builder.containers import remove_container
from paas.settings import Settings

# Moves the shell into each cgroup named before `--`, then becomes the command after it: every
# process the command starts is then inside the limits, from its first instruction.
JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; exec "$@"'


@dataclass(frozen=True)
class Sandbox:
    pid: int  # the holder's init, whose namespaces the build enters
    cgroup_procs: list[Path]

    def wrap(self, command: list[str]) -> list[str]:
        return ["sh", "-c", JOIN_CGROUPS, "sh", *map(str, self.cgroup_procs), "--",
                "nsenter", f"--net=/proc/{self.pid}/ns/net", *command]


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
    """Hands out sandboxes, one per build, and keeps one started for the next build (starting a
    container is most of what the sandbox costs a push). A spare waits at most `SPARE_LIFETIME`;
    one left by a worker that died goes by itself soon after."""

    SPARE_LIFETIME = 600.0

    def __init__(self, settings: Settings, client: docker.DockerClient):
        self.settings, self.client = settings, client
        self._lock = threading.Lock()
        self._spare: tuple[float, Container] | None = None
        self._network_ready = False

    @contextmanager
    def sandbox(self) -> Iterator[Sandbox]:
        container = self._take()
        threading.Thread(target=self._make_spare, daemon=True).start()
        try:
            pid = container.attrs["State"]["Pid"]
            mounts = cgroup_mounts(Path("/proc/self/mountinfo").read_text())
            yield Sandbox(pid, cgroup_procs_files(Path(f"/proc/{pid}/cgroup").read_text(), mounts))
        finally:
            threading.Thread(target=remove_container, args=(self.client, container.id), daemon=True).start()

    def _take(self) -> Container:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            made, container = spare
            if time.monotonic() - made < self.SPARE_LIFETIME and self._running(container):
                return container
            remove_container(self.client, container.id)
        return self._start()

    def _make_spare(self) -> None:
        try:
            container = self._start()
        except docker.errors.DockerException:
            return  # the next build starts its own
        with self._lock:
            old, self._spare = self._spare, (time.monotonic(), container)
        if old is not None:
            remove_container(self.client, old[1].id)

    def _running(self, container: Container) -> bool:
        try:
            container.reload()
        except docker.errors.NotFound:
            return False
        return container.status == "running"

    def _start(self) -> Container:
        if not self._network_ready:
            ensure_isolated_bridge(self.client, self.settings.build_network, {LABEL_INSTANCE: self.settings.instance})
            self._network_ready = True
        lifetime = int(self.SPARE_LIFETIME + self.settings.build_timeout + 60)
        container = self.client.containers.run(
            # It ends (and goes) by itself once no build can still be using it, should this worker die.
            self.settings.stack_image, command=["sleep", str(lifetime)],
            name=f"paas-build-sandbox-{uuid.uuid4().hex[:12]}", detach=True, auto_remove=True, init=True,
            network=self.settings.build_network,
            mem_limit=self.settings.build_memory, memswap_limit=self.settings.build_memory,
            nano_cpus=int(self.settings.build_cpus * 1e9), pids_limit=self.settings.build_pids,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True,
            labels={"paas.build-sandbox": "1", LABEL_INSTANCE: self.settings.instance},
        )
        container.reload()
        return container
