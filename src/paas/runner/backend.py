"""What the runner needs from a container engine. Backends are chosen by `settings.runner_backend`."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from paas.lines import Emit
from paas.settings import DYNO_SIZES, DynoSize, Settings


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


class RunnerBackend(Protocol):
    # True: the processes of a type are one set (a swarm service, its replicas), started together
    # and stopped together; the runner never replaces or stops only some of them.
    whole_types: bool

    def processes(self, app: str | None = None) -> list[Process]:
        """What runs now (all apps when `app` is None), read from the engine itself."""

    def start(self, specs: list[ProcessSpec]) -> list[Process]:
        """Start processes from their release's image, side by side; returns once each is
        created and running (or has failed once), in the order of `specs`. On a `whole_types`
        backend the specs of a type that begin at index 1 are a new set; the others add to
        the newest set of their release and type."""

    def refresh(self, process: Process) -> Process | None:
        """The process as it is now, or None when it is gone."""

    def stop(self, process: Process, grace: int) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; then remove it. Gone already is fine.
        On a `whole_types` backend its whole set goes with it."""

    def logs(self, process: Process, tail: int) -> list[str]:
        """The last lines the process wrote."""

    def one_offs(self, app: str) -> list[Process]:
        """The app's one-off processes that run now (runs and release commands)."""

    def private_networks(self) -> set[str]:
        """The private networks that exist (made by the add-on worker)."""

    def set_networks(self, process: Process, networks: dict[str, tuple[str, ...]]) -> None:
        """Put a running process on exactly these private networks (with these names there)."""

    def exits(self) -> Iterator[ProcessExit]:
        """Every process of the formation that exits from now on, as it happens (blocks; ends
        only if the engine goes away, and the caller starts it again)."""

    def remove_one_offs(self, app: str, name: str | None = None) -> None:
        """Stop and remove the app's one-off processes (all of them, or the one named run.N)."""

    def remove_stray_one_offs(self) -> None:
        """Remove one-off processes this backend did not start (their runner stopped while they
        ran: nobody relays their output or waits for them)."""

    def run_once(self, spec: ProcessSpec, timeout: float, emit: Emit) -> int:
        """Run `spec` to its end in a one-off process of its own (never listed by `processes`),
        streaming its output to `emit`; its exit code. Killed after `timeout` s: OneOffTimeout."""


    def run_attached(self, spec: ProcessSpec, tty: bool, inputs: Iterator[bytes | str | None],
                     output: Callable[[bytes], None], timeout: float) -> int:
        """Run `spec` in a one-off process attached to a client: `inputs` gives its stdin bytes,
        "eof" (close stdin) and "hangup" (kill it), None when there is nothing new; its output
        bytes go to `output` as they come (with a terminal when `tty`). Its exit code; killed
        after `timeout` seconds. The process is removed when it ends."""

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
