"""A container's CPU and memory, read from its cgroup's files: a few small reads, no Docker API.

Docker's cgroup directories, by version and driver (both are in use on hosts):
- v1: <root>/cpuacct/<dir>/cpuacct.usage (ns) and <root>/memory/<dir>/memory.{usage,limit}_in_bytes
- v2 (<root>/cgroup.controllers exists): <root>/<dir>/cpu.stat (usage_usec), memory.{current,max}
where <dir> is docker/<id> (cgroupfs driver) or system.slice/docker-<id>.scope (systemd driver).

Memory is the usage less the inactive file cache, as `docker stats` shows it: the kernel takes
that cache back before it would kill the container, so it should not count toward a quota.
"""

import errno
import os
import re
from pathlib import Path
from typing import NamedTuple

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
DIRECTORIES = ("docker/{id}", "system.slice/docker-{id}.scope")
# v1 answers a number near 2**63 for no limit.
NO_LIMIT_V1 = 2**60
# Errors of a cgroup that is gone, or going while it is read.
GONE = (errno.ENOENT, errno.ENODEV, errno.ESRCH)


class Usage(NamedTuple):
    cpu_seconds_total: float
    memory_bytes: int
    limit_bytes: int | None  # None: no limit


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # os-level: half the cost of open()
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _field(text: bytes, name: bytes) -> int:
    """A value of a `name value` per line file (cpu.stat, memory.stat); 0 if it has none."""
    for line in text.splitlines():
        key, _, value = line.partition(b" ")
        if key == name:
            return int(value)
    return 0


def _v1(root: str, directory: str) -> Usage:
    cpu_ns = int(_read(f"{root}/cpuacct/{directory}/cpuacct.usage"))
    memory = f"{root}/memory/{directory}"
    usage = int(_read(f"{memory}/memory.usage_in_bytes"))
    limit = int(_read(f"{memory}/memory.limit_in_bytes"))
    inactive = _field(_read(f"{memory}/memory.stat"), b"total_inactive_file")
    return Usage(cpu_ns / 1e9, max(usage - inactive, 0), None if limit >= NO_LIMIT_V1 else limit)


def _v2(root: str, directory: str) -> Usage:
    group = f"{root}/{directory}"
    cpu_us = _field(_read(f"{group}/cpu.stat"), b"usage_usec")
    usage = int(_read(f"{group}/memory.current"))
    limit = _read(f"{group}/memory.max").strip()
    inactive = _field(_read(f"{group}/memory.stat"), b"inactive_file")
    return Usage(cpu_us / 1e6, max(usage - inactive, 0), None if limit == b"max" else int(limit))


def container_usage(container_id: str, root: Path = CGROUP_ROOT) -> Usage | None:
    """The container's CPU seconds since it started, memory and memory limit; None if it is gone.
    `container_id` is the full 64-hex id."""
    if not CONTAINER_ID.fullmatch(container_id):
        raise ValueError(f"not a full container id: {container_id!r}")
    base = str(root)
    read = _v2 if os.path.exists(f"{base}/cgroup.controllers") else _v1
    for directory in DIRECTORIES:
        try:
            return read(base, directory.format(id=container_id))
        except OSError as error:
            if error.errno not in GONE:
                raise
    return None
