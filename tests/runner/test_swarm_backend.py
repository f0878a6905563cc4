"""The swarm backend's reading of services and tasks (pure logic: the engine's own answers, as
dicts): which process state and address a service's newest task means, and image addresses."""

from paas.runner.swarm_backend import SwarmBackend
from paas.settings import Settings

APP_ID = "0b5c0a3e-0000-4000-8000-000000000001"


def backend(**settings) -> SwarmBackend:
    made = object.__new__(SwarmBackend)  # no engine: only the reading of its answers is tested
    made.settings = Settings(**settings)
    made.instance, made._names_by_id = made.settings.instance, {}
    return made


def service() -> dict:
    labels = {"paas.app": "shop", "paas.app-id": APP_ID, "paas.name": "web.1", "paas.process": "web", "paas.version": "7",
              "paas.port": "5000", "paas.started": "1700000000.5"}
    return {"ID": "svc1", "Spec": {"Labels": labels, "TaskTemplate": {"Networks": []}}}


def task(state: str, created: str, desired: str = "running", address: str = "10.0.3.7/24") -> dict:
    return {"ID": f"t-{created}", "CreatedAt": created, "DesiredState": desired, "Status": {"State": state},
            "NetworksAttachments": [{"Network": {"Spec": {"Name": f"paas-app-{APP_ID}"}}, "Addresses": [address]}]}


def test_a_running_task_is_a_running_process_at_its_overlay_address():
    process = backend()._service_process(service(), [task("running", "2")])
    assert process.running and process.state == "running" and process.address == "10.0.3.7:5000"
    assert (process.name, process.version, process.app_id) == ("web.1", 7, APP_ID)


def test_a_first_task_on_its_way_is_starting():
    for state in ("new", "pending", "assigned", "preparing", "starting"):
        process = backend()._service_process(service(), [task(state, "1")])
        assert not process.running and process.state == "created" and process.address is None


def test_a_crashed_or_moved_task_is_one_the_swarm_brings_back():
    crashed = backend()._service_process(service(), [task("failed", "1", desired="shutdown"), task("pending", "2")])
    assert crashed.state == "restarting" and not crashed.running
    moved = backend()._service_process(service(), [task("shutdown", "1", desired="shutdown"), task("assigned", "2")])
    assert moved.state == "restarting"
    failing = backend()._service_process(service(), [task("failed", "1", desired="shutdown")])
    assert failing.state == "restarting" and not failing.running  # a boot that failed: not up


def test_a_task_that_is_to_stop_is_not_running():
    assert not backend()._service_process(service(), [task("running", "1", desired="shutdown")]).running


def test_nodes_pull_from_the_swarm_wide_registry_by_the_same_digest():
    swarm = backend(registry="127.0.0.1:5000", swarm_registry="10.0.0.1:5000")
    assert swarm.node_image("127.0.0.1:5000/shop@sha256:" + "a" * 64) == "10.0.0.1:5000/shop@sha256:" + "a" * 64
    assert swarm.node_image("elsewhere.example/x:1") == "elsewhere.example/x:1"
    assert backend(registry="127.0.0.1:5000").node_image("127.0.0.1:5000/shop:1") == "127.0.0.1:5000/shop:1"
