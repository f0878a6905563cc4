"""What the runner needs from a container engine. Backends are chosen by `settings.runner_backend`."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from paas.settings import DYNO_SIZES, DynoSize, Settings

if TYPE_CHECKING:
    from paas.runner.containers import Containers


@dataclass(frozen=True)
class ProcessSpec:
    app: str
    app_id: str  # the app's logs are kept by id: a later app of the same name never sees them
    release_id: str
    version: int
    process_type: str
    index: int
    image: str
    command: str  # "" runs the image's own command
    env: dict[str, str] = field(default_factory=dict)
    port: int = 5000
    size: str = "basic"
    limits: DynoSize = field(default_factory=lambda: DYNO_SIZES["basic"])
    # The private networks it joins (its add-ons', its links'), each with its names there.
    networks: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.process_type}.{self.index}"


@dataclass(frozen=True)
class Process:
    id: str
    app: str
    app_id: str
    release_id: str
    version: int
    process_type: str
    name: str  # web.1
    running: bool
    address: str | None  # host:port the router can reach, when running
    size: str = "basic"
    state: str = "running"  # the engine's: running, restarting (crashed, coming back), exited, created
    created_at: float = 0.0  # epoch seconds
    networks: frozenset[str] = frozenset()  # the private networks it is on
    command: str = ""  # what it runs (its Procfile line, or its image's command)
    group: str = ""  # the set it belongs to, on a backend that runs a type's processes as one (a swarm service)


@dataclass(frozen=True)
class ProcessExit:
    id: str
    app: str
    app_id: str
    name: str  # web.1
    status: int  # exit code; 137 when killed
    out_of_memory: bool  # the kernel killed it over its size's memory
    moved: bool = False  # its engine stopped it to run it elsewhere (its node drained or lost)


class BootFailed(Exception):
    """A new process did not come up: the message says why, for the pusher."""

    def __init__(self, message: str, process: "Process | None" = None):
        super().__init__(message)
        self.process = process  # the one that failed, whose last lines the pusher is shown


class OneOffTimeout(Exception):
    """A one-off process ran past its time and was killed."""


class Rollout(Protocol):
    """How a backend's formation is replaced (paas.runner.rollout): the reconciler's one way to
    know what goes as one unit."""

    live: tuple[str, ...]  # states in which a process is left to its engine (not replaced)

    def unit(self, process: Process) -> str:
        """What goes with it, as one (itself, or its set)."""

    def started_over(self, mine: list[Process], current: dict[str, Process]) -> set[str]:
        """The process types of a release that start again as a whole, given its processes
        and those of them that are current."""

    def failed_boot(self, process: Process, started: list[Process], mine: list[Process],
                    renewed: set[str]) -> tuple[list[Process], list[Process]] | None:
        """A process started now failed its boot: None when it stays (its engine brings it
        back); else what goes with it, and what keeps serving instead."""


class RunnerBackend(Protocol):
    """The formation's processes on an engine. One-off runs, the apps' bridge and private
    networks are containers on the runner's own engine on every backend (`containers`)."""

    rollout: Rollout
    containers: "Containers"

    def processes(self, app: str | None = None) -> list[Process]:
        """What runs now (all apps when `app` is None), read from the engine itself."""

    def start(self, specs: list[ProcessSpec]) -> list[Process]:
        """Start processes from their release's image, side by side; returns once each is
        created and running (or has failed once), in the order of `specs`. On a backend that
        runs a type as one set, the specs of a type that begin at index 1 are a new set; the
        others add to the newest set of their release and type."""

    def refresh(self, process: Process) -> Process | None:
        """The process as it is now, or None when it is gone."""

    def stop(self, process: Process, grace: int) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; then remove it (with its unit). Gone
        already is fine."""

    def logs(self, process: Process, tail: int) -> list[str]:
        """The last lines the process wrote."""

    def set_networks(self, process: Process, networks: dict[str, tuple[str, ...]]) -> None:
        """Put a running process (of the formation, or a one-off) on exactly these private
        networks (with these names there)."""

    def exits(self) -> Iterator[ProcessExit]:
        """Every process of the formation that exits from now on, as it happens (blocks; ends
        only if the engine goes away, and the caller starts it again)."""

    def join_command(self) -> str | None:
        """The command a new host runs to join as a node (None: this backend takes no nodes)."""

    def nodes(self) -> list[dict]:
        """The hosts processes run on: id, hostname, address, state, availability, role, leader,
        dynos (how many of the formation's processes run there), engine (its version)."""


def make_backend(settings: Settings) -> RunnerBackend:
    if settings.runner_backend == "docker":
        from paas.runner.docker_backend import DockerBackend

        return DockerBackend.from_settings(settings)
    if settings.runner_backend == "swarm":
        from paas.runner.swarm_backend import SwarmBackend

        return SwarmBackend.from_settings(settings)
    raise ValueError(f"unknown runner backend {settings.runner_backend!r} (known: docker, swarm)")
