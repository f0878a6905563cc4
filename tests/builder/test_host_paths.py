"""Where the worker's files are on the Docker host (pure logic): the container a process is in,
from its mount table, and its paths turned into its mounts' sources."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from paas.builder.host_paths import HostPaths, own_container_id

CONTAINER = "3f" * 32
MOUNTINFO = f"""\
1201 1100 0:59 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
1210 1201 254:1 /var/lib/docker/containers/{CONTAINER}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
1211 1201 254:1 /var/lib/docker/containers/{CONTAINER}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
"""


def test_the_container_is_named_by_its_own_files_in_the_mount_table():
    assert own_container_id(MOUNTINFO) == CONTAINER
    host = "22 27 0:21 / /proc rw,relatime - proc proc rw\n27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
    assert own_container_id(host) is None


def test_paths_become_their_mounts_sources_and_image_files_none():
    paths = HostPaths([("/var/lib/paas", "/srv/home"), ("/var/lib/paas/build-cache", "/var/lib/docker/volumes/c/_data"),
                       ("/tmp", "/var/lib/docker/volumes/t/_data")])
    assert paths.find(Path("/var/lib/paas/build-cache/app/x")) == "/var/lib/docker/volumes/c/_data/app/x"  # the deepest mount
    assert paths.find(Path("/var/lib/paas/admin-token")) == "/srv/home/admin-token"
    assert paths.find(Path("/tmp")) == "/var/lib/docker/volumes/t/_data"
    assert paths.find(Path("/tmpfoo/x")) is None  # a prefix of a name is not a parent
    assert paths.find(Path("/opt/paas/lib/driver.sh")) is None


@given(st.lists(st.text(alphabet="abc.-_", min_size=1, max_size=5).filter(lambda p: p not in (".", "..")), max_size=4))
def test_on_the_host_every_path_is_itself(parts):
    path = Path("/", *parts)
    assert HostPaths(None).find(path) == str(path)
    assert HostPaths([("/", "/host")]).find(path) == str(Path("/host", *parts))
