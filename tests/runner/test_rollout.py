"""How each backend's formation is replaced (pure logic): a container each, or a type as one set."""

from paas.runner.backend import Process
from paas.runner.rollout import EachProcess, WholeTypes


def process(name: str, group: str = "", running: bool = True) -> Process:
    kind, _, index = name.partition(".")
    return Process(id=f"{name}-{group}", app="a", app_id="a", release_id="r", version=1, process_type=kind,
                   name=name, running=running, address=None, size="basic", state="running" if running else "exited",
                   group=group)


def test_each_process_goes_alone_and_what_it_replaces_keeps_serving():
    old, new = process("web.1", "x"), process("web.1", "y")
    rollout = EachProcess()
    assert rollout.unit(old) != rollout.unit(process("web.2", "x"))
    assert rollout.started_over([old], {}) == set()
    assert rollout.failed_boot(new, [new], [old], set()) == ([new], [old])
    assert "created" not in rollout.live


def test_a_type_is_one_set_started_over_whole_or_grown():
    a1, a2, b3 = process("web.1", "a"), process("web.2", "a"), process("web.3", "b")
    rollout = WholeTypes()
    assert rollout.unit(a1) == rollout.unit(a2) == "a"
    assert rollout.started_over([a1, a2], {"web.1": a1, "web.2": a2}) == set()  # all current: it stays
    assert rollout.started_over([a1, a2], {"web.1": a1}) == {"web"}  # one is not: the type starts over
    assert rollout.started_over([a1, a2, b3], {"web.1": a1, "web.2": a2, "web.3": b3}) == {"web"}  # two sets
    # Added to a serving set (scaled up): it stays, the engine brings it back; in a new set: that set goes.
    assert rollout.failed_boot(b3, [b3], [a1, a2], set()) is None
    assert rollout.failed_boot(b3, [b3], [a1, a2], {"web"}) == ([b3], [a1, a2])
    assert "created" in rollout.live
