"""How a backend replaces the formation's processes, which the reconciler follows without
knowing which backend it has: what goes as one unit, which states are the engine's to settle,
what starts over whole, and what becomes of a process that fails its boot (pure logic)."""

from paas.runner.backend import Process


class EachProcess:
    """Each process is replaced on its own (a container each: the docker backend)."""

    live = ("running", "restarting")  # a process in another state is replaced

    @staticmethod
    def unit(process: Process) -> str:
        return process.id

    @staticmethod
    def started_over(mine: list[Process], current: dict[str, Process]) -> set[str]:
        return set()

    @staticmethod
    def failed_boot(process: Process, started: list[Process], mine: list[Process],
                    renewed: set[str]) -> tuple[list[Process], list[Process]] | None:
        """It goes; the one it was to replace (a restart, a new size) keeps serving."""
        return [process], [p for p in mine if p.name == process.name and p.running]


class WholeTypes:
    """A type's processes are one set, replaced whole (a swarm service's replicas): scaled down,
    resized or restarted, a type starts as a new set while the old one serves; scaled up, its
    set grows."""

    live = ("running", "restarting", "created")  # a set's process the engine is still placing is its to bring up

    @staticmethod
    def unit(process: Process) -> str:
        return process.group

    @staticmethod
    def started_over(mine: list[Process], current: dict[str, Process]) -> set[str]:
        """Types with a process that is not current, or whose current ones are in more than one set."""
        renewed = {p.process_type for p in mine if current.get(p.name) is not p}
        return renewed | {t for t in {p.process_type for p in current.values()}
                          if len({p.group for p in current.values() if p.process_type == t}) > 1}

    @staticmethod
    def failed_boot(process: Process, started: list[Process], mine: list[Process],
                    renewed: set[str]) -> tuple[list[Process], list[Process]] | None:
        """None when it was added to a serving set: a crashed dyno, which the engine brings back.
        Otherwise the new set goes, and its type's old sets stay, whole."""
        if process.process_type not in renewed:
            return None
        return [p for p in started if p.group == process.group], [p for p in mine if p.process_type == process.process_type]
