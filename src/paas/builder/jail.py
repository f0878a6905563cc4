"""The filesystem a Dockerfile build's buildah sees (and so every RUN step, and any host path a
flaw of buildah's mounts into one): the system's read-only parts, its own /proc, /dev and /sys,
a private /tmp, and the build's own directories, nothing else. The build user owns every app's
image store and every build's context; without this, a host-path mount (CVE-2024-1753,
CVE-2024-9675, or the next one) would reach other tenants' layer caches and sources, and the
platform's home.

How: `unshare` makes a mount namespace, and a pid namespace so that its /proc shows only the
build's own processes (not another build's `/proc/<pid>/root`). A short script mounts a tmpfs as
the new root, mounts into it, in one `mount --all`, what the build needs at the same paths,
`pivot_root`s into it and drops the old root, then execs the command (setpriv ... buildah).
Every step is a process started (a few ms each here), so the steps are as few as can be."""

import os
from pathlib import Path

# Where each jail's root is made: an empty directory of the host's, on which each build mounts
# a tmpfs of its own, in its own mount namespace (the host never sees it).
ROOT = Path("/run/paas-build-root")
# The system buildah runs on, read-only: programs and libraries (newuidmap/newgidmap, setuid;
# runc), and /etc (users, /etc/subuid, resolv.conf for RUN steps). A link (a merged /usr's /bin)
# gets its target's directory.
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The rest of the view: /proc of the jail's pid namespace; the host's devices (opened only as
# their modes allow) with a /dev/shm of its own; /sys read-only (its cgroup mounts, which RUN
# steps read their limits from, are the host's: their files are root's); a private /tmp (where
# contexts are mounted; /var/tmp, where buildah keeps big files, is given by the caller).
SPECIAL = (
    "proc /proc proc nosuid,nodev,noexec,X-mount.mkdir",
    "/dev /dev none rbind,X-mount.mkdir",
    "shm /dev/shm tmpfs nosuid,nodev,noexec,mode=1777",
    "/sys /sys none rbind,ro,X-mount.mkdir",
    "tmp /tmp tmpfs nosuid,nodev,mode=1777,X-mount.mkdir",
)
# $1: the root's mount point; $2: the mounts (an fstab: `mount --all` reads only a regular file,
# so it is written into the new root); then the command.
SCRIPT = r"""set -eu
# The mount points it makes must be passable by the build user, and buildah works as it did,
# whatever the platform's own umask (077: its home is private).
umask 022
root=$1 here=$PWD
mount -t tmpfs -o mode=755,nosuid paas-build-root "$root"
printf '%s\n' "$2" > "$root/.fstab"
shift 2
mount --no-mtab --all --fstab "$root/.fstab" --target-prefix "$root"
# One command a line: under `set -e` a failure inside an `a && b` list would not stop the script.
cd "$root"
pivot_root . .
umount -l .
cd "$here"
exec "$@"
"""


def jailed(command: list[str], writable: list[Path], read_only: list[Path], var_tmp: Path) -> list[str]:
    """`command` in a jail that holds, besides the system, only the directories `writable` and
    `read_only` (absolute, at their own paths), and `var_tmp` as /var/tmp; the working directory
    must be one of them."""
    ROOT.mkdir(mode=0o755, exist_ok=True)
    return [
        # --kill-child: if unshare is killed (the build's deadline), so is the jail's first
        # process, and with it every process of its pid namespace.
        "unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
        "sh", "-c", SCRIPT, "jail", str(ROOT), fstab(writable, read_only, var_tmp), *command,
    ]


def fstab(writable: list[Path], read_only: list[Path], var_tmp: Path) -> str:
    given = [Path(path) for path in (*writable, *read_only)]
    for path in given:
        # A mount point made inside another bound directory would be made in the host's.
        if any(other != path and other in (path, *path.parents) for other in given) or given.count(path) > 1:
            raise ValueError(f"directories of the build's jail may not be inside one another: {path}")
    system = [f"{escape(path)} {escape(path)} none rbind,ro,X-mount.mkdir" for path in SYSTEM if os.path.isdir(path)]
    binds = [f"{escape(path)} {escape(path)} none bind,{mode},X-mount.mkdir"
             for mode, paths in (("rw", writable), ("ro", read_only)) for path in paths]
    return "\n".join([*system, *SPECIAL, f"{escape(var_tmp)} /var/tmp none bind,rw,X-mount.mkdir", *binds])


def escape(path: str | Path) -> str:
    """A path as an fstab field (its ASCII whitespace and backslashes as octal escapes)."""
    path = str(path)
    if not path.startswith("/"):
        raise ValueError(f"not an absolute path for the build's jail: {path!r}")
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\r\v\f\\" else c for c in path)
