"""Where the worker's files are on the Docker host, for the bind mounts of build containers.

The engine resolves a bind mount's source on its own host. A worker on the host (`make up`)
names its files as they are; a worker in a container (the compose stack) has them in its own
mounts (named volumes, the platform's home), whose sources the engine knows, and files of its
image the host does not have at all. So paths are turned into their mounts' sources, and
`None` says a file is in the image only (the caller copies it into a mounted place)."""

import re
from pathlib import Path, PurePosixPath

import docker
import docker.errors

# The engine bind-mounts each container's /etc/hostname, /etc/hosts and /etc/resolv.conf from
# its own directory of that container: the mount table names the container's id.
CONTAINER_FILE = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)\b")


def own_container_id(mountinfo: str) -> str | None:
    """The id of the container this process runs in, from its mount table; None on a host."""
    found = CONTAINER_FILE.search(mountinfo)
    return found.group(1) if found else None


class HostPaths:
    def __init__(self, mounts: list[tuple[str, str]] | None):
        # (destination in the container, source on the host), longest destination first; None on the host
        self.mounts = None if mounts is None else sorted(mounts, key=lambda m: -len(m[0]))

    @classmethod
    def of_this_process(cls, client: docker.DockerClient) -> "HostPaths":
        try:
            container_id = own_container_id(Path("/proc/self/mountinfo").read_text())
        except OSError:
            container_id = None
        if container_id is None:
            return cls(None)
        try:
            attrs = client.api.inspect_container(container_id)
        except docker.errors.NotFound:  # another engine's container: its paths are no use here
            return cls(None)
        return cls([(m["Destination"], m["Source"]) for m in attrs.get("Mounts") or [] if m.get("Source")])

    def find(self, path: Path) -> str | None:
        """`path` (absolute, resolved) as the Docker host has it, or None if only the image has it."""
        if self.mounts is None:
            return str(path)
        pure = PurePosixPath(path)
        for destination, source in self.mounts:
            if pure == PurePosixPath(destination) or PurePosixPath(destination) in pure.parents:
                return str(PurePosixPath(source) / pure.relative_to(destination))
        return None
