"""The add-ons' servers: one container per add-on, its data in a volume of its own.

Each provider says how its image is told the add-on's credentials, how to see it is ready
and how to change its password; making, joining and removing servers is the same for all.
"""

import time
from dataclasses import dataclass, field
from typing import Protocol

import docker
import docker.errors
from docker.types import EndpointConfig

from paas import networks
from paas.domain.addon_services import Plan
from paas.settings import Settings

LABEL_INSTANCE, LABEL_ADDON, LABEL_SERVICE = "paas.instance", "paas.addon", "paas.addon-service"
READY_POLL = 0.1  # seconds between readiness checks of a new server


class ServerFailed(Exception):
    """The server could not be made or changed; the message says why."""


@dataclass(frozen=True)
class Step:
    """A command run in the server's container (as `user`, with `env`)."""

    command: list[str]
    user: str
    env: dict[str, str] = field(default_factory=dict)
    expect: str = ""  # text its output must hold (some tools exit 0 on an error reply)


class Provider(Protocol):
    data_dir: str  # where its image keeps its data (the volume is mounted there)
    user: str  # who the server runs as: its image's own user, which owns data_dir
    stop_signal: str

    def environment(self, credentials: dict[str, str]) -> dict[str, str]: ...

    def ready(self, credentials: dict[str, str]) -> Step: ...

    def set_password(self, credentials: dict[str, str], password: str) -> list[Step]: ...


class Postgres:
    data_dir = "/var/lib/paas-postgresql"
    user = "postgres"
    stop_signal = "SIGINT"  # a fast shutdown: on SIGTERM Postgres waits for every client to leave

    def environment(self, credentials: dict[str, str]) -> dict[str, str]:
        # The official image's names (PGDATA too), so its data lands in the add-on's volume.
        return {"POSTGRES_USER": credentials["user"], "POSTGRES_PASSWORD": credentials["password"],
                "POSTGRES_DB": credentials["database"], "POSTGRES_HOST": credentials["host"], "PGDATA": f"{self.data_dir}/data"}

    def ready(self, credentials: dict[str, str]) -> Step:
        # As the app will connect: its role, its database, its password, over TLS.
        return Step(["psql", "-q", "-h", "127.0.0.1", "-U", credentials["user"], "-d", credentials["database"], "-c", "SELECT 1"],
                    "postgres", {"PGPASSWORD": credentials["password"], "PGSSLMODE": "require", "PGCONNECT_TIMEOUT": "2"})

    def set_password(self, credentials: dict[str, str], password: str) -> list[Step]:
        role = credentials["user"]  # ours: letters and digits only, like the password
        return [Step(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres",
                      "-c", f"ALTER ROLE \"{role}\" PASSWORD '{password}'",
                      # sessions opened with the old password end too, as on Heroku
                      "-c", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"], "postgres")]


class Redis:
    data_dir = "/var/lib/paas-redis"
    user = "redis"
    stop_signal = "SIGTERM"  # Redis saves, then exits

    def environment(self, credentials: dict[str, str]) -> dict[str, str]:
        return {"REDIS_PASSWORD": credentials["password"], "REDIS_HOST": credentials["host"],
                **({"REDIS_TLS": "1"} if credentials.get("tls") else {})}

    def cli(self, credentials: dict[str, str], *args: str) -> list[str]:
        # Its certificate is its own (as Heroku Redis'): the client inside does not check it.
        return ["redis-cli", *(["--tls", "--insecure"] if credentials.get("tls") else []), *args]

    def ready(self, credentials: dict[str, str]) -> Step:
        return Step(self.cli(credentials, "ping"), "redis", {"REDISCLI_AUTH": credentials["password"]}, expect="PONG")

    def set_password(self, credentials: dict[str, str], password: str) -> list[Step]:
        new = {"REDISCLI_AUTH": password}
        return [
            Step(self.cli(credentials, "CONFIG", "SET", "requirepass", password), "redis", {"REDISCLI_AUTH": credentials["password"]}, "OK"),
            Step(self.cli(credentials, "CONFIG", "REWRITE"), "redis", new, "OK"),  # into its config file: it outlives restarts
            Step(self.cli(credentials, "CLIENT", "KILL", "TYPE", "normal"), "redis", new),  # connections made with the old one
        ]


PROVIDERS: dict[str, Provider] = {"postgresql": Postgres(), "redis": Redis()}


class Servers:
    def __init__(self, client: docker.DockerClient, settings: Settings):
        self.client, self.settings = client, settings

    def name(self, addon_name: str) -> str:
        return f"{self.settings.instance}-addon-{addon_name}"

    def create(self, addon_id: str, addon_name: str, service: str, plan: Plan, credentials: dict[str, str],
               network: str, timeout: float = 60.0) -> None:
        """Start the server on its first private network (reachable there as its host name)
        and return once it accepts connections."""
        provider = PROVIDERS[service]
        image = self.settings.addon_images[service]
        labels = {LABEL_INSTANCE: self.settings.instance, LABEL_ADDON: addon_id, LABEL_SERVICE: service}
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            self.client.images.pull(image)  # an operator's own image
        volume = self.client.volumes.create(self.name(addon_name), labels=labels)
        container = self.client.containers.create(
            image, name=self.name(addon_name), hostname=addon_name, labels=labels,
            environment={**provider.environment(credentials), **plan.env},
            volumes={volume.name: {"bind": provider.data_dir, "mode": "rw"}},
            restart_policy={"Name": "unless-stopped"}, stop_signal=provider.stop_signal,
            mem_limit=f"{plan.memory_mb}m", memswap_limit=f"{plan.memory_mb}m", pids_limit=512,
            # Never root, no capabilities at all (the server owns its files from the image on,
            # so nothing is chowned or switched), nothing gained through setuid programs.
            user=provider.user, cap_drop=["ALL"], security_opt=["no-new-privileges"],
            # The alias is the host name in the add-on's URL, on every network it joins.
            network=network, networking_config={network: EndpointConfig("1.41", aliases=[credentials["host"]])},
            init=True,
        )
        try:
            container.start()
        except docker.errors.APIError as error:  # e.g. an operator's image without the service's user
            raise ServerFailed(f"the {service} server exited on start: {error.explanation or error}") from None
        deadline = time.monotonic() + timeout
        while not self._passes(container.id, provider.ready(credentials)):
            container.reload()
            if container.status not in ("running", "created"):
                raise ServerFailed(f"the {service} server exited on start: {self._tail(container)}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"the {service} server did not accept connections within {timeout:.0f} s: {self._tail(container)}")
            time.sleep(READY_POLL)

    def join(self, addon_name: str, network: str, host: str) -> None:
        networks.connect(self.client, network, self.name(addon_name), [host])

    def set_password(self, addon_name: str, service: str, credentials: dict[str, str], password: str) -> None:
        """Idempotent: a server that has the new password already (a rotation cut short) is
        talked to with it."""
        for known in (credentials, {**credentials, "password": password}):
            steps = PROVIDERS[service].set_password(known, password)
            if all(self._exec(self.name(addon_name), step) is not None for step in steps):
                return
        raise ServerFailed(f"changing the password of {addon_name} failed")

    def destroy(self, addon_id: str) -> None:
        """Its container and its data (by label: also what a failed provisioning left)."""
        labels = [f"{LABEL_INSTANCE}={self.settings.instance}", f"{LABEL_ADDON}={addon_id}"]
        for summary in self.client.api.containers(all=True, filters={"label": labels}):
            try:
                self.client.api.remove_container(summary["Id"], force=True)
            except docker.errors.NotFound:
                pass
        for volume in self.client.volumes.list(filters={"label": labels}):
            try:
                volume.remove(force=True)
            except docker.errors.NotFound:
                pass

    def _passes(self, container_id: str, step: Step) -> bool:
        return self._exec(container_id, step) is not None

    def _exec(self, container_id: str, step: Step) -> str | None:
        """The step's output if it succeeded, else None."""
        try:
            result = self.client.containers.get(container_id).exec_run(step.command, user=step.user, environment=step.env)
        except docker.errors.APIError:  # not running (yet)
            return None
        output = result.output.decode("utf-8", "replace")
        return output if result.exit_code == 0 and step.expect in output else None

    def _tail(self, container) -> str:
        try:
            lines = container.logs(tail=5).decode("utf-8", "replace").strip().splitlines()
        except docker.errors.APIError:
            return "(no output)"
        return " / ".join(lines) or "(no output)"
