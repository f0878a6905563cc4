"""Docker network plumbing that the builder, the runner and the add-on worker share: the
isolated bridges of apps and builds (shut out of the host and of private networks), and private
networks: one between an app and each add-on attached to it, one per link of two apps. Each of
those is an internal network of its own (no way out, no other app on it), with addresses from
`private_network_pool`: a bridge, or on the swarm backend an attachable overlay (the app's
processes run on any node; the add-on's server is a container on this one). The add-on worker
makes and removes them; the runner puts the apps' processes on them."""

import ipaddress
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

import docker
import docker.errors
from docker.types import IPAMConfig, IPAMPool

from paas.settings import Settings

LABEL_INSTANCE, LABEL_KIND = "paas.instance", "paas.private-network"
# Where no app process or build goes through the host's NAT (shut_private_networks): the site's
# private networks (RFC 1918), carrier-grade NAT, and link-local addresses (a cloud's metadata
# service at 169.254.169.254). Public addresses stay open: package registries, APIs.
PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
RESOLV_CONF = ("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf")
_allocating = threading.Lock()


def attachment_network(instance: str, attachment_id: uuid.UUID | str) -> str:
    return f"{instance}-att-{uuid.UUID(str(attachment_id)).hex[:12]}"


def link_network(instance: str, link_id: uuid.UUID | str) -> str:
    return f"{instance}-link-{uuid.UUID(str(link_id)).hex[:12]}"


def is_private(instance: str, network: str) -> bool:
    return network.startswith((f"{instance}-att-", f"{instance}-link-"))


def free_subnet(pool: str, prefix: int, used: list[str]) -> str:
    """The first subnet of `pool` of that size that overlaps none of `used`."""
    taken = [ipaddress.ip_network(u, strict=False) for u in used]
    for subnet in ipaddress.ip_network(pool).subnets(new_prefix=prefix):
        if not any(subnet.overlaps(t) for t in taken):
            return str(subnet)
    raise RuntimeError(f"no free /{prefix} left in {pool} for another private network (PAAS_PRIVATE_NETWORK_POOL)")


def create(client: docker.DockerClient, settings: Settings, name: str, kind: str) -> None:
    """Make the network if it is missing (a retried job finds it made)."""
    swarm = settings.runner_backend == "swarm"
    with _allocating:
        if client.networks.list(names=[name]):
            return
        used = [c["Subnet"] for n in client.api.networks() for c in ((n.get("IPAM") or {}).get("Config") or []) if "Subnet" in c]
        subnet = free_subnet(settings.private_network_pool, settings.private_network_prefix, used)
        client.networks.create(
            name, driver="overlay" if swarm else "bridge", internal=True, ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]),
            labels={LABEL_INSTANCE: settings.instance, LABEL_KIND: kind}, **({"attachable": True} if swarm else {}),
        )
    if not swarm:  # an overlay has no interface on this host to shield
        shield_host(client, name)


def ensure_isolated_bridge(client: docker.DockerClient, name: str, labels: dict[str, str],
                           allow: Sequence[IPv4Network | IPv6Network] = ()) -> None:
    """A bridge with a way out (NAT) but with container-to-container traffic off, no connection
    to the host, and none to private networks but those `allow` names (see shut_private_networks):
    what app processes and builds sit on."""
    if not client.networks.list(names=[name]):
        try:
            client.networks.create(
                name, driver="bridge", options={"com.docker.network.bridge.enable_icc": "false"}, labels=labels,
            )
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: another process created it meanwhile
                raise
    shield_host(client, name)
    shut_private_networks(interface(client.networks.get(name).attrs), allow)


def shut_private_networks(bridge: str, allow: Sequence[IPv4Network | IPv6Network]) -> None:
    """Containers on `bridge` open no connection through the host's NAT to a private network
    (PRIVATE) but those in `allow` (PAAS_OUTBOUND_ALLOW) and the host's name servers. The bridge's
    chain of its own is rewritten whole, at once; the bridge jumps to it from DOCKER-USER, which
    Docker keeps first in FORWARD and never rewrites."""
    chain = egress_chain(bridge)
    rules = "\n".join(["*filter", f":{chain} - [0:0]", *egress_rules(chain, allow, name_servers()), "COMMIT", ""])
    subprocess.run(["iptables-restore", "--noflush", "--wait"], input=rules, text=True, check=True, capture_output=True)
    jump = ["DOCKER-USER", "-i", bridge, "-j", chain]
    if subprocess.run(["iptables", "--wait", "-C", *jump], capture_output=True).returncode != 0:
        subprocess.run(["iptables", "--wait", "-I", *jump], check=True, capture_output=True)


def open_private_networks(bridge: str) -> None:
    """The bridge is gone: its jump and chain go too (if it had them)."""
    chain = egress_chain(bridge)
    for _ in range(10):  # two workers starting at once may each have added the jump
        if subprocess.run(["iptables", "--wait", "-D", "DOCKER-USER", "-i", bridge, "-j", chain], capture_output=True).returncode:
            break
    for action in ("-F", "-X"):
        subprocess.run(["iptables", "--wait", action, chain], capture_output=True)


def egress_chain(bridge: str) -> str:
    return f"PAAS-{bridge}"[:28]  # iptables' limit on a chain's name


def egress_rules(chain: str, allow: Sequence[IPv4Network | IPv6Network], servers: Sequence[str]) -> list[str]:
    """The chain's rules: what is allowed returns (Docker's own rules then let it out), a private
    network is refused ("No route to host": the same answer whether anything is there), the
    rest returns."""
    return [
        *(f"-A {chain} -d {network} -j RETURN" for network in allow if network.version == 4),
        *(f"-A {chain} -d {server}/32 -p {protocol} --dport 53 -j RETURN" for server in servers for protocol in ("udp", "tcp")),
        *(f"-A {chain} -d {network} -j REJECT --reject-with icmp-host-prohibited" for network in PRIVATE),
    ]


def name_servers(files: Sequence[str] = RESOLV_CONF, daemon_json: str = "/etc/docker/daemon.json") -> list[str]:
    """The name servers the host and its engine ask, IPv4 and not loopback (the engine asks a
    loopback one itself, from the host): a build's RUN steps ask them, and so does the engine for
    processes. systemd-resolved's own file lists the servers behind its stub at 127.0.0.53."""
    found = []
    for path in files:
        try:
            found += [fields[1] for fields in map(str.split, open(path).read().splitlines())
                      if len(fields) >= 2 and fields[0] == "nameserver"]
        except OSError:
            continue
    try:
        found += [str(server) for server in json.loads(open(daemon_json).read()).get("dns") or []]
    except (OSError, ValueError, AttributeError):
        pass
    usable = []
    for server in found:
        try:
            address = ip_address(server)
        except ValueError:
            continue
        if address.version == 4 and not address.is_loopback and server not in usable:
            usable.append(server)
    return usable


def shield_host(client: docker.DockerClient, name: str) -> None:
    """Containers on this network open no connection to the host itself (its services on any
    address, sshd say); the host's own connections to them (the router, health checks) and their
    answers still pass. Idempotent; needs root, as the platform runs."""
    shield_interface(interface(client.networks.get(name).attrs))


def interface(network: dict) -> str:
    """The host's interface of a bridge network (as the engine describes it)."""
    return (network.get("Options") or {}).get("com.docker.network.bridge.name") or f"br-{network['Id'][:12]}"


def shield_interface(interface: str, *, remove: bool = False) -> None:
    """What arrives on this host's `interface` opens no connection to the host itself (see
    shield_host); `remove` takes the rule away again (its interface is gone)."""
    rule = ["INPUT", "-i", interface, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]
    present = subprocess.run(["iptables", "--wait", "-C", *rule], capture_output=True).returncode == 0
    if present == remove:
        subprocess.run(["iptables", "--wait", "-D" if remove else "-I", *rule], check=True, capture_output=True)


def connect(client: docker.DockerClient, name: str, container_id: str, aliases: list[str] | None = None) -> None:
    try:
        client.api.connect_container_to_network(container_id, name, aliases=aliases or None)
    except docker.errors.APIError as error:
        if "already exists" not in str(error):
            raise


def remove(client: docker.DockerClient, name: str, attempts: int = 20) -> None:
    """Cut everything off it, then remove it: access ends now, not when the containers go. A
    process that a deploy was starting may join meanwhile: then cut again."""
    for _ in range(attempts):
        try:
            network = client.networks.get(name)
        except docker.errors.NotFound:
            return
        for container_id in (network.attrs.get("Containers") or {}):
            try:
                client.api.disconnect_container_from_network(container_id, name, force=True)
            except docker.errors.APIError:
                pass
        try:
            network.remove()
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as error:
            if "active endpoints" not in str(error):
                raise
        else:
            # Its rules would outlive it (an overlay has none).
            shield_interface(interface(network.attrs), remove=True)
            open_private_networks(interface(network.attrs))
            return
        time.sleep(0.25)
    raise RuntimeError(f"network {name} kept gaining endpoints; not removed")
