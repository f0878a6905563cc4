"""Processes as Docker Swarm services, spread over the swarm's nodes (`PAAS_RUNNER_BACKEND=swarm`).

Each process type of a release is a service (<app>-<type>), its replicas the formation's
quantity: web.3 is the task in its slot 3. Swarm places the tasks on nodes, brings a task back
when it crashes, and moves it when its node is drained or lost. The runner still drives deploys,
so they stay health-gated across nodes as on one host: a release's services start beside the
old ones, are routed to once every task answers its health check, and only then do the old
services go. A type scales up by growing its service; scaled down, resized or restarted, it
starts over as a new service the same way (a service cannot be told which tasks to drop, and
the router must stop sending them traffic first).

Each app has an overlay network of its own (its processes see no other app's), in endpoint
mode dnsrr (the swarm's virtual IPs do not work everywhere). The router and the health checks
reach the tasks at their overlay addresses, as they reach containers on one host: through a
small gateway container on this node, attached to every app's overlay, which this host routes
the overlays' subnets to (masqueraded, so the tasks answer the gateway). Nothing of an app is
published on any node's ports.

An app's add-on and link networks are overlays too (`paas.networks`), so its processes
reach its add-ons' servers (containers on this node) from any node. One-off runs and release
commands run on this node, as the docker backend runs them.
"""

import logging
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from ipaddress import ip_network

import docker
import docker.errors
from docker.types import (
    ContainerSpec,
    EndpointSpec,
    NetworkAttachmentConfig,
    Resources,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
    UpdateConfig,
)

from paas import networks
from paas.runner.backend import Process, ProcessExit, ProcessSpec
from paas.runner.containers import (
    LABEL_APP,
    LABEL_APP_ID,
    LABEL_COMMAND,
    LABEL_INSTANCE,
    LABEL_PROCESS,
    LABEL_RELEASE,
    LABEL_SIZE,
    LABEL_STARTED,
    LABEL_VERSION,
    Containers,
)
from paas.runner.rollout import WholeTypes
from paas.settings import Settings

log = logging.getLogger(__name__)

LABEL_GATEWAY = "paas.swarm-gateway"
SWARM_EXIT_BRIDGE = "docker_gwbridge"  # each node's bridge by which its tasks go out (and reach the node)
START_TIMEOUT = 120.0  # seconds for a new task to be placed, pulled and running
EXITS_POLL = 1.0  # seconds between looks for tasks that ended


class SwarmBackend:
    rollout = WholeTypes()  # a type's processes are one service's replicas

    def __init__(self, client: docker.DockerClient, settings: Settings):
        # One-off runs are containers on this (the manager's) engine, as on the docker backend.
        self.containers = Containers(client, settings.instance, settings.log_collector, settings.dyno_user,
                                     settings.registry_auth("runner"), settings.outbound_allow)
        self.client, self.instance, self.settings = client, settings.instance, settings
        self.gateway_name, self.gateway_bridge = f"{settings.instance}-swarm-gateway", f"{settings.instance}-swarm-gw"
        self._app_networks: dict[str, str] = {}  # app id -> its overlay's name, once made and routed
        self._names_by_id: dict[str, str] = {}  # network ids (as services' specs hold them) -> names
        self._networking = threading.Lock()  # apps deploy side by side: one gateway, each overlay made once
        if self.containers.registry_auth:  # every node pulls with the runner's credentials (sent along with each service)
            try:
                # reauth: credentials a docker login left in ~/.docker/config.json would be taken unchecked
                client.login(registry=settings.swarm_registry or settings.registry, reauth=True, **self.containers.registry_auth)
            except docker.errors.APIError as error:  # the registry is down: nodes pull once it is back
                log.error("logging in to the registry for the swarm's nodes failed: %s", error)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SwarmBackend":
        return cls(docker.DockerClient(base_url=settings.docker_url, timeout=120), settings)

    # --- the formation's processes ---------------------------------------------------------

    def processes(self, app: str | None = None) -> list[Process]:
        labels = [f"{LABEL_INSTANCE}={self.instance}", f"{LABEL_APP}={app}" if app else LABEL_APP]
        services = self.client.api.services(filters={"label": labels})
        tasks = self._tasks({"label": labels}) if services else []
        by_service: dict[str, list[dict]] = {}
        for task in tasks:
            by_service.setdefault(task["ServiceID"], []).append(task)
        return [p for s in services for p in self._service_processes(s, by_service.get(s["ID"], []))]

    def start(self, specs: list[ProcessSpec]) -> list[Process]:
        """Each type's specs that begin at web.1 are a new service of that many replicas; others
        scale their release's newest service of the type up to them. Returns once each of their
        tasks runs (or has failed once)."""
        by_type: dict[str, list[ProcessSpec]] = {}
        for spec in specs:
            by_type.setdefault(spec.process_type, []).append(spec)
        service_of: dict[str, str] = {}  # process type -> the service its specs are tasks of
        for process_type, group in by_type.items():
            group.sort(key=lambda spec: spec.index)
            service_of[process_type] = self._create_service(group) if group[0].index == 1 else self._grow(group)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = {p.id: p for service_id in set(service_of.values()) for p in self._processes_of(service_id)}
            started = [found.get(f"{service_of[spec.process_type]}.{spec.index}") for spec in specs]
            # up, or already failed once (a boot that fails, an image no node could pull)
            if all(p is not None and (p.running or p.state == "restarting") for p in started) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if any(p is None for p in started):
            raise RuntimeError(f"the services of {', '.join(s.name for s in specs)} went away while they started")
        return started

    def _create_service(self, specs: list[ProcessSpec]) -> str:
        spec = specs[0]  # a type's processes differ only in their slot
        self.app_network(spec.app_id)  # made, and routed to, before anything is on it
        image = self._pulled(spec.image)
        labels = self._labels(spec, self.containers.image_config(image)[1])
        resources = Resources(cpu_limit=int(spec.limits.cpu_shares / 1024 * 1e9), mem_limit=spec.limits.memory_mb * 2**20,
                              mem_reservation=spec.limits.memory_mb * 2**20)
        resources["Limits"]["Pids"] = spec.limits.pids
        container = ContainerSpec(
            self.node_image(spec.image),
            # As `docker run`'s command: the image's entrypoint (a buildpack's launcher) stays.
            args=["/bin/sh", "-c", spec.command] if spec.command else None,
            # Each task's own dyno name and id: the swarm fills in its slot (web.3) and task id.
            env={**spec.env, "DYNO": f"{spec.process_type}.{{{{.Task.Slot}}}}", "HEROKU_DYNO_ID": "{{.Task.ID}}",
                 **({"PORT": str(spec.port)} if spec.process_type == "web" else {})},
            labels=labels, user=self.containers.run_as(image), init=True,
            cap_drop=["ALL"], cap_add=["NET_BIND_SERVICE"], stop_grace_period=int(self.settings.stop_grace * 1e9),
        )
        log_config = self.containers.log_config()
        template = TaskTemplate(
            container, resources=resources, restart_policy=RestartPolicy(condition="any", delay=int(1e9)),
            log_driver={"Name": log_config.type, "Options": log_config.config} if log_config else None,
            networks=self._attachments(spec.app_id, spec.networks),
        )
        # <app>-<type>, at most 63 characters as a service name must be (a long name is cut),
        # and unique: a type's new set starts while its old one still serves.
        name = f"{self.instance}-{spec.app}-{spec.process_type}"[:44] + f"-v{spec.version}-{secrets.token_hex(3)}"
        created = self.client.api.create_service(
            template, name=name, labels=labels, mode=ServiceMode("replicated", len(specs)),
            endpoint_spec=EndpointSpec(mode="dnsrr"),
            # A change of its networks replaces its tasks one by one, each new one first.
            update_config=UpdateConfig(parallelism=1, order="start-first", failure_action="continue"),
        )
        return created["ID"]

    def _grow(self, specs: list[ProcessSpec]) -> str:
        spec = specs[0]
        labels = [f"{LABEL_INSTANCE}={self.instance}", f"{LABEL_APP_ID}={spec.app_id}", f"{LABEL_RELEASE}={spec.release_id}",
                  f"{LABEL_PROCESS}={spec.process_type}"]
        services = self.client.api.services(filters={"label": labels})
        if not services:
            raise RuntimeError(f"{spec.name} has no service of {spec.process_type} processes of v{spec.version} to join")
        newest = max(services, key=lambda s: float((s["Spec"].get("Labels") or {}).get(LABEL_STARTED, "0")))
        if _replicas(newest) < specs[-1].index:
            self._scale(newest["ID"], specs[-1].index)
        return newest["ID"]

    def _scale(self, service_id: str, replicas: int) -> None:
        """Its spec exactly as the swarm holds it, with more replicas. (docker-py's scale fills in
        empty defaults, which the swarm takes for a new task spec: it would replace every task.)"""
        api = self.client.api
        service = api.inspect_service(service_id)
        spec = service["Spec"] | {"Mode": {"Replicated": {"Replicas": replicas}}}
        api._result(api._post_json(api._url("/services/{0}/update", service_id), data=spec,
                                   params={"version": service["Version"]["Index"], "registryAuthFrom": "spec"}), json=True)

    def refresh(self, process: Process) -> Process | None:
        return next((p for p in self._processes_of(process.group) if p.id == process.id), None)

    def _processes_of(self, service_id: str) -> list[Process]:
        try:
            service = self.client.api.inspect_service(service_id)
        except docker.errors.NotFound:
            return []
        return self._service_processes(service, self._tasks({"service": service_id}))

    def stop(self, process: Process, grace: int) -> None:
        """Its service goes, with every task of it: SIGTERM, then SIGKILL after the service's
        grace period. The runner stops a type's processes only all together."""
        try:
            self.client.api.remove_service(process.group)
        except docker.errors.NotFound:
            pass

    def logs(self, process: Process, tail: int) -> list[str]:
        """Its last lines; and why the swarm could not run its tasks, if it could not (an image
        no node could pull, say), which no log holds."""
        tasks = [t for t in self._tasks({"service": process.group}) if f"{process.group}.{t.get('Slot')}" == process.id]
        ids = {t["ID"] for t in tasks}
        try:
            raw = self.client.api.service_logs(process.group, stdout=True, stderr=True, tail=tail * 4, follow=False, details=True)
            lines = b"".join(raw).decode("utf-8", "replace").splitlines()
        except docker.errors.APIError:
            lines = []
        # With details, each line begins with its task's attributes: only this process's are kept.
        mine = [line.split(" ", 1)[1] if " " in line else "" for line in lines if _task_of(line) in ids][-tail:]
        errors = [f"(swarm) task {t['Status'].get('State')}: {t['Status']['Err']}" for t in tasks if t.get("Status", {}).get("Err")]
        return mine + errors[-3:]

    def set_networks(self, process: Process, wanted: dict[str, tuple[str, ...]]) -> None:
        """Its add-ons' and links' overlays: a service's networks change only with its tasks,
        which the swarm then replaces one by one (the router's retries cover the moment).
        One-off runs are containers on this node, as on the docker backend."""
        if not process.group:
            return self.containers.set_networks(process, wanted)
        try:
            service = self.client.services.get(process.group)
        except docker.errors.NotFound:
            return
        if set(self._private_names(service.attrs)) == set(wanted):  # its set's other process asked already
            return
        try:
            service.update(networks=self._attachments(process.app_id, wanted))
        except docker.errors.NotFound:
            pass

    def _attachments(self, app_id: str, private: dict[str, tuple[str, ...]]) -> list[NetworkAttachmentConfig]:
        """A service's networks: its app's overlay, and its add-ons' and links' (with its names there)."""
        return [NetworkAttachmentConfig(self.app_network_name(app_id))] + [
            NetworkAttachmentConfig(name, aliases=list(aliases)) for name, aliases in sorted(private.items())]

    def exits(self) -> Iterator[ProcessExit]:
        """Tasks of the formation that ended by themselves (a crash, an exit) or that the swarm
        stopped to run elsewhere (a node drained or lost), as they are seen: polled, since the
        swarm's events do not carry other nodes' containers. A task the runner stopped goes
        with its service and is not reported."""
        labels = {"label": [f"{LABEL_INSTANCE}={self.instance}"]}
        seen: set[str] = {t["ID"] for t in self._tasks(labels) if _state(t) in ENDED | MOVED}
        while True:
            time.sleep(EXITS_POLL)
            services = {s["ID"] for s in self.client.api.services(filters=labels)}
            for task in self._tasks(labels):
                state = _state(task)
                if task["ID"] in seen or state not in ENDED | MOVED or task["ServiceID"] not in services:
                    continue
                seen.add(task["ID"])
                found = task["Spec"]["ContainerSpec"].get("Labels") or {}
                if LABEL_APP not in found:
                    continue
                status = (task["Status"].get("ContainerStatus") or {}).get("ExitCode", -1)
                yield ProcessExit(id=f"{task['ServiceID']}.{task.get('Slot')}", app=found[LABEL_APP],
                                  app_id=found.get(LABEL_APP_ID, ""), name=f"{found.get(LABEL_PROCESS, '')}.{task.get('Slot')}",
                                  status=int(status), out_of_memory=False, moved=state in MOVED)

    def _tasks(self, filters: dict) -> list[dict]:
        try:
            return self.client.api.tasks(filters=filters)
        except docker.errors.NotFound:
            return []

    def _service_processes(self, service: dict, tasks: list[dict]) -> list[Process]:
        """A service's processes: one per slot (web.1 … web.N for N replicas), each as its
        slot's newest task is."""
        labels = service["Spec"].get("Labels") or {}
        private = frozenset(self._private_names(service))
        by_slot: dict[int, list[dict]] = {}
        for task in tasks:
            by_slot.setdefault(task.get("Slot", 0), []).append(task)
        found = []
        for slot in range(1, _replicas(service) + 1):
            slot_tasks = by_slot.get(slot, [])
            current = max(slot_tasks, key=lambda t: t.get("CreatedAt", ""), default=None)
            state = (current or {}).get("Status", {}).get("State", "new")
            running = state == "running" and current.get("DesiredState") == "running"
            address = None
            if running:
                for attachment in current.get("NetworksAttachments") or []:
                    if attachment["Network"]["Spec"]["Name"] == self.app_network_name(labels.get(LABEL_APP_ID, "")):
                        address = f"{attachment['Addresses'][0].split('/')[0]}:{labels.get('paas.port', self.settings.web_port)}"
            # A task before the slot's current one ended (a crash) or was stopped to run elsewhere
            # (its node drained or lost): the swarm is bringing the process back, as an engine
            # restarts a crash. A slot's task that ended is brought back.
            replaced = any(t is not current and _state(t) in ENDED | MOVED | {"rejected"} for t in slot_tasks)
            engine_state = "running" if running else "restarting" if replaced or state in ENDED | MOVED | {"rejected"} else "created"
            found.append(Process(
                id=f"{service['ID']}.{slot}", app=labels.get(LABEL_APP, ""), app_id=labels.get(LABEL_APP_ID, ""),
                release_id=labels.get(LABEL_RELEASE, ""), version=int(labels.get(LABEL_VERSION, "0")),
                process_type=labels.get(LABEL_PROCESS, ""), name=f"{labels.get(LABEL_PROCESS, '')}.{slot}", running=running,
                address=address, size=labels.get(LABEL_SIZE, "basic"), state=engine_state,
                created_at=float(labels.get(LABEL_STARTED, "0")), command=labels.get(LABEL_COMMAND, ""),
                networks=private, group=service["ID"],
            ))
        return found

    def _private_names(self, service: dict) -> list[str]:
        """The add-on and link networks a service's task is on (the spec names them by id)."""
        targets = [n["Target"] for n in service["Spec"]["TaskTemplate"].get("Networks") or []]
        names = self._network_names(targets)
        return [name for name in names if networks.is_private(self.instance, name)]

    def _network_names(self, targets: list[str]) -> list[str]:
        missing = [t for t in targets if t not in self._names_by_id]
        if missing:
            self._names_by_id.update({n["Id"]: n["Name"] for n in self.client.api.networks()})
        return [self._names_by_id.get(t, t) for t in targets]

    def _labels(self, spec: ProcessSpec, image_command: str) -> dict[str, str]:
        return {
            LABEL_INSTANCE: self.instance, LABEL_APP: spec.app, LABEL_APP_ID: spec.app_id, LABEL_RELEASE: spec.release_id,
            LABEL_VERSION: str(spec.version), LABEL_PROCESS: spec.process_type,
            "paas.port": str(spec.port), LABEL_SIZE: spec.size, LABEL_STARTED: f"{time.time():.6f}",
            LABEL_COMMAND: spec.command or image_command,
        }

    def _pulled(self, image: str) -> str:
        """The image on this node too, to read its user and command (it also runs here)."""
        self.client.api.pull(image, auth_config=self.containers.registry_auth)
        return image

    def node_image(self, image: str) -> str:
        """The image as every node pulls it: from the registry's swarm-wide address."""
        registry = self.settings.registry
        if self.settings.swarm_registry and image.startswith(registry + "/"):
            return self.settings.swarm_registry + image.removeprefix(registry)
        return image

    # --- networks: an overlay per app, and the gateway this host reaches them through ----------

    def app_network_name(self, app_id: str) -> str:
        return f"{self.instance}-app-{app_id}"

    def app_network(self, app_id: str) -> str:
        name = self.app_network_name(app_id)
        if self._app_networks.get(app_id) == name:
            return name
        with self._networking:
            return self._make_app_network(app_id, name)

    def _make_app_network(self, app_id: str, name: str) -> str:
        try:
            self.client.api.inspect_network(name)
        except docker.errors.NotFound:
            self.client.api.create_network(name, driver="overlay", attachable=True,
                                           labels={LABEL_INSTANCE: self.instance, LABEL_APP_ID: app_id})
        gateway = self.ensure_gateway()
        if name not in (gateway["NetworkSettings"]["Networks"] or {}):
            self.client.api.connect_container_to_network(gateway["Id"], name)
        self._route(name, self.client.api.inspect_container(gateway["Id"]))
        self._app_networks[app_id] = name
        return name

    def ensure_gateway(self) -> dict:
        """The gateway container: on a bridge of its own (this host's way in) and, once apps
        run, on their overlays; it forwards and masquerades what this host sends them, and
        nothing the other way."""
        bridge = self.gateway_bridge
        if not self.client.api.networks(names=[bridge]):
            self.client.api.create_network(bridge, driver="bridge", labels={LABEL_INSTANCE: self.instance})
        # Tasks are kept out of this host's services as on one host: a task on this node reaches
        # the host through the swarm's bridge for ways out, and only the gateway sits on its bridge.
        networks.shield_interface(SWARM_EXIT_BRIDGE)
        networks.shield_host(self.client, bridge)
        try:
            found = self.client.api.inspect_container(self.gateway_name)
            if found["State"]["Running"]:
                return found
            self.client.api.remove_container(found["Id"], force=True)
        except docker.errors.NotFound:
            pass
        created = self.client.api.create_container(
            self.settings.stack_image, command=["sleep", "infinity"], name=self.gateway_name,
            labels={LABEL_INSTANCE: self.instance, LABEL_GATEWAY: "1"},
            host_config=self.client.api.create_host_config(
                network_mode=bridge, sysctls={"net.ipv4.ip_forward": "1"}, restart_policy={"Name": "unless-stopped"},
                init=True, cap_drop=["ALL"],
            ),
        )
        self.client.api.start(created["Id"])
        self._app_networks.clear()  # a new gateway is on no overlay yet
        gateway = self.client.api.inspect_container(created["Id"])
        # What this host sends through it leaves with the gateway's own overlay address; it
        # forwards only connections this host opens (eth0: its bridge), never a task's to the
        # host or to another app's overlay.
        _in_netns(gateway, "iptables", "-t", "nat", "-A", "POSTROUTING", "!", "-o", "eth0", "-j", "MASQUERADE")
        _in_netns(gateway, "iptables", "-A", "FORWARD", "-i", "eth0", "-j", "ACCEPT")
        _in_netns(gateway, "iptables", "-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
        _in_netns(gateway, "iptables", "-P", "FORWARD", "DROP")
        return gateway

    def _route(self, name: str, gateway: dict) -> None:
        """This host's way to the overlay `name`: through the gateway, to the subnet of the
        gateway's own address there. (Not the network's IPAM: a new overlay has none until the
        manager allocates it, a moment later, and without a route this host's requests to its
        tasks would leave by the default route.)"""
        endpoint = (gateway["NetworkSettings"]["Networks"] or {}).get(name) or {}
        if not endpoint.get("IPAddress"):
            raise RuntimeError(f"the swarm gateway has no address on {name}")
        subnet = ip_network(f"{endpoint['IPAddress']}/{endpoint['IPPrefixLen']}", strict=False)
        via = gateway["NetworkSettings"]["Networks"][self.gateway_bridge]["IPAddress"]
        subprocess.run(["ip", "route", "replace", str(subnet), "via", via], check=True, capture_output=True)

    def remove_all(self) -> None:
        """Every service, overlay and the gateway of this instance (an installation leaving swarm mode)."""
        for service in self.client.api.services(filters={"label": [f"{LABEL_INSTANCE}={self.instance}"]}):
            self.client.api.remove_service(service["ID"])
        try:
            self.client.api.remove_container(self.gateway_name, force=True)
        except docker.errors.NotFound:
            pass
        deadline = time.monotonic() + 30
        for network in self.client.api.networks(filters={"label": [f"{LABEL_INSTANCE}={self.instance}"]}):
            if network["Name"] == self.gateway_bridge:
                networks.shield_interface(networks.interface(network), remove=True)
            if network["Name"].startswith(f"{self.instance}-app-") or network["Name"] == self.gateway_bridge:
                for config in network.get("IPAM", {}).get("Config") or []:
                    subprocess.run(["ip", "route", "del", config["Subnet"]], capture_output=True)
                while time.monotonic() < deadline:
                    try:
                        self.client.api.remove_network(network["Id"])
                        break
                    except docker.errors.NotFound:
                        break
                    except docker.errors.APIError:  # tasks still leaving it
                        time.sleep(0.5)
        self._app_networks.clear()

    def log_sources(self) -> tuple[str, dict[str, tuple[str, str]]]:
        """This node's address, and where each container of this instance's apps runs: container
        id -> (its app's id, its node's address), as the swarm tells (the log collector takes a
        container's lines only from its own node). One-off runs and release commands are
        containers on this node."""
        info = self.client.info()["Swarm"]
        here = info.get("NodeAddr", "")
        addresses = {n["ID"]: n["Status"].get("Addr", "") for n in self.client.api.nodes()} | {info.get("NodeID"): here}
        found = {}
        for task in self._tasks({"label": [f"{LABEL_INSTANCE}={self.instance}"]}):
            container = (task["Status"].get("ContainerStatus") or {}).get("ContainerID")
            app_id = (task["Spec"]["ContainerSpec"].get("Labels") or {}).get(LABEL_APP_ID)
            if container and app_id and task.get("NodeID") in addresses:
                found[container] = (app_id, addresses[task["NodeID"]])
        for container in self.client.api.containers(filters={"label": [f"{LABEL_INSTANCE}={self.instance}", LABEL_APP_ID]}):
            found.setdefault(container["Id"], (container["Labels"][LABEL_APP_ID], here))
        return here, found

    def join_command(self) -> str | None:
        """What a new host runs to join the swarm as a worker node."""
        swarm = self.client.api.inspect_swarm()
        managers = [n["ManagerStatus"]["Addr"] for n in self.client.api.nodes() if (n.get("ManagerStatus") or {}).get("Leader")]
        return f"docker swarm join --token {swarm['JoinTokens']['Worker']} {managers[0]}" if managers else None

    def nodes(self) -> list[dict]:
        """The swarm's nodes and how many of this instance's processes run on each."""
        counts: dict[str, int] = {}
        for task in self._tasks({"label": [f"{LABEL_INSTANCE}={self.instance}"], "desired-state": "running"}):
            if task.get("Status", {}).get("State") == "running":
                counts[task.get("NodeID", "")] = counts.get(task.get("NodeID", ""), 0) + 1
        return [
            {"id": n["ID"], "hostname": n["Description"]["Hostname"], "address": n["Status"].get("Addr", ""),
             "state": n["Status"]["State"], "availability": n["Spec"].get("Availability", ""),
             "role": n["Spec"].get("Role", ""), "leader": bool((n.get("ManagerStatus") or {}).get("Leader")),
             "dynos": counts.get(n["ID"], 0), "engine": n["Description"].get("Engine", {}).get("EngineVersion", "")}
            for n in self.client.api.nodes()
        ]


ENDED = frozenset({"failed", "complete"})  # by itself: a crash, or its process exited
MOVED = frozenset({"shutdown", "orphaned"})  # by the swarm, its service still there: drained or lost node


def _state(task: dict) -> str:
    return task.get("Status", {}).get("State", "")


def _replicas(service: dict) -> int:
    return int(service["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas", 0))


def _task_of(line: str) -> str:
    """The task id in a service log line's details (`com.docker.swarm.task.id=…,… message`)."""
    details = line.split(" ", 1)[0]
    for pair in details.split(","):
        key, _, value = pair.partition("=")
        if key == "com.docker.swarm.task.id":
            return value
    return ""


def _in_netns(container: dict, *command: str) -> None:
    """A command of this host's (iptables) in the container's network namespace only."""
    subprocess.run(["nsenter", f"--net=/proc/{container['State']['Pid']}/ns/net", *command], check=True, capture_output=True)
