"""The formation's processes as containers on one Docker engine, each a container of its own
(replaced one by one). The containers' labels are the truth about what runs."""

from collections.abc import Iterator

import docker
import docker.errors

from paas.runner.backend import Process, ProcessExit, ProcessSpec
from paas.runner.containers import LABEL_APP, LABEL_APP_ID, LABEL_INSTANCE, LABEL_NAME, LABEL_ONE_OFF, Containers
from paas.runner.rollout import EachProcess
from paas.settings import Settings


class DockerBackend:
    rollout = EachProcess()

    def __init__(self, containers: Containers):
        self.containers, self.client, self.instance = containers, containers.client, containers.instance

    @classmethod
    def from_settings(cls, settings: Settings) -> "DockerBackend":
        return cls(Containers.from_settings(settings))

    def processes(self, app: str | None = None) -> list[Process]:
        return self.containers.listed(app, one_offs=False)

    def start(self, specs: list[ProcessSpec]) -> list[Process]:
        return [self._start_one(spec) for spec in specs]

    def _start_one(self, spec: ProcessSpec) -> Process:
        container = self.containers.run(spec, restart_policy={"Name": "unless-stopped"})
        container.reload()
        return self.containers.of_container(container)

    def refresh(self, process: Process) -> Process | None:
        try:
            return self.containers.of_container(self.client.containers.get(process.id))
        except docker.errors.NotFound:
            return None

    def stop(self, process: Process, grace: int) -> None:
        try:
            container = self.client.containers.get(process.id)
            container.stop(timeout=grace)
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if "is already in progress" not in str(error):  # another stop of the same container
                raise

    def logs(self, process: Process, tail: int) -> list[str]:
        try:
            raw = self.client.containers.get(process.id).logs(tail=tail)
        except docker.errors.APIError:  # gone, or dead and being removed: nothing to show
            return []
        return raw.decode("utf-8", "replace").splitlines()

    def set_networks(self, process: Process, wanted: dict[str, tuple[str, ...]]) -> None:
        self.containers.set_networks(process, wanted)

    def exits(self) -> Iterator[ProcessExit]:
        filters = {"type": "container", "event": ["oom", "die"], "label": [f"{LABEL_INSTANCE}={self.instance}"]}
        out_of_memory: set[str] = set()  # Docker reports "oom" just before that process's "die"
        for event in self.client.events(filters=filters, decode=True):
            actor = event.get("Actor") or {}
            attributes = actor.get("Attributes") or {}
            if LABEL_APP not in attributes or LABEL_ONE_OFF in attributes:
                continue
            if event.get("Action") == "oom":
                out_of_memory.add(actor.get("ID", ""))
                continue
            status = attributes.get("exitCode", "")
            yield ProcessExit(
                id=actor.get("ID", ""), app=attributes[LABEL_APP], app_id=attributes.get(LABEL_APP_ID, ""),
                name=attributes.get(LABEL_NAME, ""),
                status=int(status) if status.lstrip("-").isdigit() else -1,
                out_of_memory=actor.get("ID", "") in out_of_memory,
            )
            out_of_memory.discard(actor.get("ID", ""))

    def join_command(self) -> str | None:
        return None  # one host: nothing joins it

    def nodes(self) -> list[dict]:
        """One node: this engine's host."""
        info = self.client.info()
        return [{"id": info.get("ID", ""), "hostname": info.get("Name", ""), "address": "", "state": "ready",
                 "availability": "active", "role": "manager", "leader": True, "dynos": len(self.processes()),
                 "engine": info.get("ServerVersion", "")}]
