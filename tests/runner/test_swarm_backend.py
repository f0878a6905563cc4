"""The swarm backend's reading of services and tasks (pure logic: the engine's own answers, as
dicts): a service's replicas as processes, which state and address each slot's newest task
means, the task of a log line, and image addresses."""

from paas.runner.backend import Process
from paas.runner.swarm_backend import SwarmBackend, _task_of
from paas.settings import Settings

APP_ID = "0b5c0a3e-0000-4000-8000-000000000001"


def backend(**settings) -> SwarmBackend:
    made = object.__new__(SwarmBackend)  # no engine: only the reading of its answers is tested
    made.settings = Settings(**settings)
    made.instance, made._names_by_id = made.settings.instance, {}
    return made


def service(replicas: int = 1) -> dict:
    labels = {"paas.app": "shop", "paas.app-id": APP_ID, "paas.process": "web", "paas.version": "7",
              "paas.port": "5000", "paas.started": "1700000000.5"}
    return {"ID": "svc1", "Spec": {"Labels": labels, "TaskTemplate": {"Networks": []},
                                   "Mode": {"Replicated": {"Replicas": replicas}}}}


def task(state: str, created: str, desired: str = "running", address: str = "10.0.3.7/24", slot: int = 1) -> dict:
    return {"ID": f"t-{created}", "CreatedAt": created, "DesiredState": desired, "Status": {"State": state}, "Slot": slot,
            "NetworksAttachments": [{"Network": {"Spec": {"Name": f"paas-app-{APP_ID}"}}, "Addresses": [address]}]}


def one(*tasks) -> Process:
    [process] = backend()._service_processes(service(), list(tasks))
    return process


def test_each_slot_of_a_service_is_a_process_named_by_it():
    tasks = [task("running", "1", address="10.0.3.7/24", slot=1), task("running", "2", address="10.0.3.9/24", slot=3),
             task("failed", "0", desired="shutdown", slot=3)]
    processes = backend()._service_processes(service(replicas=3), tasks)
    assert [(p.name, p.id, p.group) for p in processes] == [("web.1", "svc1.1", "svc1"), ("web.2", "svc1.2", "svc1"),
                                                           ("web.3", "svc1.3", "svc1")]
    assert [(p.state, p.address) for p in processes] == [("running", "10.0.3.7:5000"), ("created", None),
                                                         ("running", "10.0.3.9:5000")]


def test_a_running_task_is_a_running_process_at_its_overlay_address():
    process = one(task("running", "2"))
    assert process.running and process.state == "running" and process.address == "10.0.3.7:5000"
    assert (process.name, process.version, process.app_id) == ("web.1", 7, APP_ID)


def test_a_first_task_on_its_way_is_starting():
    for state in ("new", "pending", "assigned", "preparing", "starting"):
        process = one(task(state, "1"))
        assert not process.running and process.state == "created" and process.address is None


def test_a_crashed_or_moved_task_is_one_the_swarm_brings_back():
    crashed = one(task("failed", "1", desired="shutdown"), task("pending", "2"))
    assert crashed.state == "restarting" and not crashed.running
    moved = one(task("shutdown", "1", desired="shutdown"), task("assigned", "2"))
    assert moved.state == "restarting"
    failing = one(task("failed", "1", desired="shutdown"))
    assert failing.state == "restarting" and not failing.running  # a boot that failed: not up


def test_a_task_that_is_to_stop_is_not_running():
    assert not one(task("running", "1", desired="shutdown")).running


def test_nodes_pull_from_the_swarm_wide_registry_by_the_same_digest():
    swarm = backend(registry="127.0.0.1:5000", swarm_registry="10.0.0.1:5000")
    assert swarm.node_image("127.0.0.1:5000/shop@sha256:" + "a" * 64) == "10.0.0.1:5000/shop@sha256:" + "a" * 64
    assert swarm.node_image("elsewhere.example/x:1") == "elsewhere.example/x:1"
    assert backend(registry="127.0.0.1:5000").node_image("127.0.0.1:5000/shop:1") == "127.0.0.1:5000/shop:1"


def test_a_log_line_names_its_task_in_its_details():
    line = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=svc1,com.docker.swarm.task.id=t9 listening on 5000"
    assert _task_of(line) == "t9"
    assert _task_of("no details here") == "" and _task_of("") == ""
