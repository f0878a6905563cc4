"""Swarm's own start-first rolling update, measured for the choice the swarm backend made (the
runner drives deploys instead: see README, "Several hosts").

On a one-node swarm made for the run (advertised on 127.0.0.1), a service of the sample app
with a health check inside the image (python3 fetching / every 0.25 s), `order: start-first`,
`failure_action: rollback` and a 1 s monitor, is updated to new environment three times; prints
the median time until the swarm calls the update completed, for 1 and 4 replicas (one at a time,
and all at once). Compare with `bench/swarm.py`'s push to live, which includes the build.

Usage: python bench/swarm_native_update.py   (the host must not be in a swarm already)
"""

import io
import statistics
import subprocess
import tarfile
import time
from pathlib import Path

import docker
from docker.types import (
    ContainerSpec,
    EndpointSpec,
    Healthcheck,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
    UpdateConfig,
)

from paas.settings import Settings

SAMPLE_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "sample_app"
IMAGE, NETWORK, SERVICE = "paas-bench/native-update:1", "paas-bench-native", "paas-bench-native"
CHECK = Healthcheck(test=["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/', timeout=1)"],
                    interval=int(0.25e9), timeout=int(1e9), retries=3, start_period=int(10e9))


def image(client: docker.DockerClient) -> None:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name in ("server.py", "VERSION"):
            tar.add(SAMPLE_APP / name, arcname=name)
        dockerfile = f"FROM {Settings().stack_image}\nCOPY server.py VERSION /app/\nWORKDIR /app\nCMD [\"python3\", \"-u\", \"server.py\"]\n".encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    client.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, tag=IMAGE, rm=True)


def template(greeting: str) -> TaskTemplate:
    return TaskTemplate(ContainerSpec(IMAGE, env={"PORT": "5000", "GREETING": greeting}, healthcheck=CHECK, stop_grace_period=int(1e9)),
                        restart_policy=RestartPolicy(condition="any", delay=int(1e9)), networks=[{"Target": NETWORK}])


def measure(client: docker.DockerClient, replicas: int, parallelism: int) -> list[float]:
    update = UpdateConfig(parallelism=parallelism, order="start-first", failure_action="rollback", monitor=int(1e9), delay=0)
    service = client.api.create_service(template("v0"), name=SERVICE, mode=ServiceMode("replicated", replicas),
                                        endpoint_spec=EndpointSpec(mode="dnsrr"), update_config=update)["ID"]
    try:
        deadline = time.monotonic() + 60
        while sum(t["Status"]["State"] == "running" for t in client.api.tasks(filters={"service": service, "desired-state": "running"})) < replicas:
            if time.monotonic() > deadline:
                raise SystemExit("the service's tasks did not start")
            time.sleep(0.1)
        times = []
        for run in range(1, 4):
            version = client.api.inspect_service(service)["Version"]["Index"]
            started = time.monotonic()
            client.api.update_service(service, version, task_template=template(f"v{run}"), name=SERVICE, update_config=update,
                                      mode=ServiceMode("replicated", replicas), endpoint_spec=EndpointSpec(mode="dnsrr"),
                                      networks=[{"Target": NETWORK}])
            while (state := (client.api.inspect_service(service).get("UpdateStatus") or {}).get("State")) != "completed":
                if state in ("rollback_completed", "rollback_paused", "paused") or time.monotonic() - started > 60:
                    raise SystemExit(f"the update did not complete: {state}")
                time.sleep(0.05)
            times.append(time.monotonic() - started)
        return times
    finally:
        client.api.remove_service(service)
        time.sleep(3)  # its tasks leave the network


def main() -> None:
    client = docker.from_env()
    if client.info()["Swarm"]["LocalNodeState"] != "inactive":
        raise SystemExit("this host is in a swarm already")
    subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    try:
        image(client)
        network = client.networks.create(NETWORK, driver="overlay", attachable=True)
        try:
            for replicas, parallelism in ((1, 1), (4, 1), (4, 4)):
                times = measure(client, replicas, parallelism)
                print(f"replicas {replicas}, {parallelism} at a time: start-first update completed after "
                      f"{statistics.median(times):.2f} s (median of 3: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
        finally:
            network.remove()
    finally:
        subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True)


if __name__ == "__main__":
    main()
