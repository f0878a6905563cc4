"""Private networks' addresses and who joins which (pure logic); a network's host rule, made and
removed with it (the real engine and iptables)."""

import ipaddress
import subprocess
import uuid

import docker

from hypothesis import given
from hypothesis import strategies as st

from paas.addons import networks
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
