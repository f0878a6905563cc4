"""Files a build could have written (or swapped for a link), read and made by the platform as root."""

import os
import stat
from pathlib import Path

from paas.builder.errors import BuildFailed

UNTRUSTED_READ_LIMIT = 2**20


def read_untrusted(path: Path, limit: int = UNTRUSTED_READ_LIMIT) -> str | None:
    """A file the build could have written, read on the host (as root): never through a symlink
    (it could point at the platform's secrets), only a regular file, at most `limit` bytes.
    None when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:  # ELOOP: a symlink
        raise BuildFailed(f"{path.name} must be a regular file, not a link") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BuildFailed(f"{path.name} must be a regular file")
        return handle.read(limit).decode(errors="replace")


def private_dirs(parent: Path, relative: str, uid: int, gid: int, mode: int = 0o700) -> Path:
    """`parent/relative` made (where missing) as directories of the build user's. `parent` is the
    platform's; each directory below is opened relative to the one above, never through a link,
    so no link the build user planted on the way is followed (it would hand them what it points at)."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in Path(relative).parts:
            try:
                os.mkdir(name, mode, dir_fd=fd)
            except FileExistsError:
                pass
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return parent / relative


def write_private(path: Path, text: str, uid: int, gid: int) -> None:
    """A new file only the build user may read, in a directory it owns: made exclusively (never
    an existing file or link) and handed over through its descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchown(handle.fileno(), uid, gid)
        handle.write(text)
