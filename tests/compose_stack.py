"""A compose stack (docker-compose.yml) of the tests' and benchmarks' own, beside the `make up`
platform: its own project, instance, ports and networks, on the same home (so the same token)."""

import os
import subprocess
from pathlib import Path

import docker

from paas.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PROJECT = INSTANCE = "paas-compose-test"
# Ports of its own, beside make up's (5100, 5432, 6379, 5000, 8080, ...).
PORTS = {"API": 5290, "RENDEZVOUS": 5291, "POSTGRES": 5592, "REDIS": 6492, "REGISTRY": 5092, "ROUTER": 8190,
         "ROUTER_TLS": 8590, "ROUTER_DNS": 5492, "LOG_COLLECTOR": 5292}
ENVIRONMENT = {"PAAS_INSTANCE": INSTANCE, "PAAS_BUILD_NETWORK": f"{INSTANCE}-builds", "PAAS_PRIVATE_NETWORK_POOL": "10.214.0.0/16",
               **{f"PAAS_{name}_PORT": str(port) for name, port in PORTS.items()}}


def settings(home: Path) -> Settings:
    """The stack's settings as its containers have them (its API, router and instance)."""
    return Settings(home=home, instance=INSTANCE, api_port=PORTS["API"], router_port=PORTS["ROUTER"])


def command(home: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """`docker compose ARGS` for this stack, and its environment."""
    return (["docker", "compose", "-p", PROJECT, "-f", str(ROOT / "docker-compose.yml"), *args],
            {**os.environ, "PAAS_HOME": str(home), **ENVIRONMENT})


def compose(home: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    argv, env = command(home, *args)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def up(home: Path, *args: str) -> None:
    started = compose(home, "up", "-d", *args, "--wait", "--wait-timeout", "600")
    if started.returncode != 0:
        logs = compose(home, "logs", "--tail", "30").stdout
        raise RuntimeError(f"docker compose up failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}\n{logs[-6000:]}")


def remove(home: Path) -> None:
    """The stack, its volumes, and what its platform left on the engine (its apps must be gone:
    their containers and add-on servers are the platform's to remove)."""
    compose(home, "down", "--volumes", "--remove-orphans")
    engine = docker.from_env()
    for container in engine.containers.list(all=True, filters={"label": f"paas.instance={INSTANCE}"}, ignore_removed=True):
        try:
            container.remove(force=True)  # a build sandbox its worker had no time to remove
        except docker.errors.NotFound:
            pass  # its worker removed it meanwhile
    for network in engine.networks.list(filters={"label": f"paas.instance={INSTANCE}"}):
        network.remove()
