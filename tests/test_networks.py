"""Private networks' addresses and who joins which, the rules that keep containers off private
networks (pure logic); a network's host rules, made and removed with it (the real engine and
iptables)."""

import ipaddress
import subprocess
import uuid

import docker

from hypothesis import given
from hypothesis import strategies as st

from paas import networks
from paas.domain.links import Membership
from paas.runner.reconcile import wanted_networks


@given(st.lists(st.integers(0, 511), max_size=40))
def test_a_free_subnet_overlaps_none_in_use(taken):
    used = [str(list(ipaddress.ip_network("10.213.0.0/16").subnets(new_prefix=25))[i]) for i in taken] + ["172.17.0.0/16"]
    subnet = ipaddress.ip_network(networks.free_subnet("10.213.0.0/16", 25, used))
    assert subnet.prefixlen == 25 and not any(subnet.overlaps(ipaddress.ip_network(u)) for u in used)


def test_web_processes_join_the_links_to_their_app_under_its_internal_name():
    m = Membership(attachments=["0" * 32], links_out=["1" * 32], links_in=["2" * 32])
    names = {networks.attachment_network("paas", "0" * 32), networks.link_network("paas", "1" * 32), networks.link_network("paas", "2" * 32)}
    web = wanted_networks("paas", "shop", "web", m, names)
    assert web[networks.link_network("paas", "2" * 32)] == ("shop.internal",) and len(web) == 3
    worker = wanted_networks("paas", "shop", "worker", m, names)
    assert networks.link_network("paas", "2" * 32) not in worker and len(worker) == 2
    # A network not made yet (or removed) is not joined.
    assert wanted_networks("paas", "shop", "web", m, set()) == {}
    assert all(networks.is_private("paas", n) for n in names) and not networks.is_private("paas", "paas-apps")


def test_the_egress_rules_let_out_what_is_allowed_and_refuse_private_networks(tmp_path):
    resolv, resolved, daemon = tmp_path / "resolv.conf", tmp_path / "resolved.conf", tmp_path / "daemon.json"
    # systemd-resolved's stub in the host's file, the servers behind it in its own; the engine's own.
    resolv.write_text("# a comment\nnameserver 127.0.0.53\nnameserver fd00::53\nnameserver nonsense\nsearch x\n")
    resolved.write_text("nameserver 10.255.255.53\nnameserver 10.255.255.54\n")
    daemon.write_text('{"dns": ["10.255.255.54", "192.168.1.1"]}')
    servers = networks.name_servers([str(resolv), str(resolved), str(tmp_path / "none")], str(daemon))
    assert servers == ["10.255.255.53", "10.255.255.54", "192.168.1.1"]
    assert networks.name_servers([str(tmp_path / "none")], str(tmp_path / "none")) == []
    servers = servers[:1]
    allow = (ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00:1::/64"))
    rules = networks.egress_rules("PAAS-br-x", allow, servers)
    # What is allowed returns first (IPv6 has no rule here: the bridges are IPv4), then the name
    # servers' DNS, then every private network is refused.
    assert rules[:3] == ["-A PAAS-br-x -d 10.20.0.0/16 -j RETURN", "-A PAAS-br-x -d 10.255.255.53/32 -p udp --dport 53 -j RETURN",
                         "-A PAAS-br-x -d 10.255.255.53/32 -p tcp --dport 53 -j RETURN"]
    assert [rule.split()[3] for rule in rules[3:]] == list(networks.PRIVATE)
    assert all(rule.endswith("-j REJECT --reject-with icmp-host-prohibited") for rule in rules[3:])
    assert "169.254.0.0/16" in networks.PRIVATE  # a cloud's metadata service


def shielded(bridge: str) -> bool:
    rule = ["INPUT", "-i", bridge, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]
    return subprocess.run(["iptables", "-C", *rule], capture_output=True).returncode == 0


def test_a_private_network_takes_its_host_rule_with_it(api_settings):
    """Each private network shuts its bridge out of the host's services with an INPUT rule; once
    the network goes, so does the rule (they piled up, one per attachment or link ever made)."""
    client = docker.DockerClient(base_url=api_settings.docker_url)
    name = networks.attachment_network(api_settings.instance, uuid.uuid4())
    try:
        networks.create(client, api_settings, name, "attachment")
        bridge = networks.interface(client.networks.get(name).attrs)
        assert shielded(bridge)
        networks.remove(client, name)
        assert not client.networks.list(names=[name])
        assert not shielded(bridge)
    finally:
        networks.remove(client, name)
        client.close()


def iptables_has(*rule: str) -> bool:
    return subprocess.run(["iptables", "-C", *rule], capture_output=True).returncode == 0


def test_an_isolated_bridge_takes_its_egress_rules_with_it(api_settings):
    client = docker.DockerClient(base_url=api_settings.docker_url)
    name = f"paas-test-egress-{uuid.uuid4().hex[:8]}"
    try:
        networks.ensure_isolated_bridge(client, name, {networks.LABEL_INSTANCE: "paas-test"}, (ipaddress.ip_network("10.253.77.2/32"),))
        bridge = networks.interface(client.networks.get(name).attrs)
        chain = networks.egress_chain(bridge)
        assert shielded(bridge) and iptables_has("DOCKER-USER", "-i", bridge, "-j", chain)
        assert iptables_has(chain, "-d", "10.253.77.2/32", "-j", "RETURN")
        networks.ensure_isolated_bridge(client, name, {networks.LABEL_INSTANCE: "paas-test"})  # again, allowing nothing
        assert not iptables_has(chain, "-d", "10.253.77.2/32", "-j", "RETURN")  # the chain is rewritten whole
        listed = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True, text=True).stdout
        assert listed.count(f"-i {bridge} ") == 1
        networks.remove(client, name)
        assert not shielded(bridge) and not iptables_has("DOCKER-USER", "-i", bridge, "-j", chain)
        assert subprocess.run(["iptables", "-S", chain], capture_output=True).returncode != 0  # the chain is gone
    finally:
        networks.remove(client, name)
        client.close()
