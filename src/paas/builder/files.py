"""Files a build's tenant could have written (or swapped for a link), read and made by the
platform as root: never through a link that leads out of the directory they belong to."""

import ctypes
import errno
import os
import stat
from pathlib import Path

from paas.builder.errors import BuildFailed

UNTRUSTED_READ_LIMIT = 2**20
# openat2(2) (Linux 5.6): RESOLVE_BENEATH makes the kernel refuse (EXDEV) any step of the path,
# `..` or a link's target, that leaves the starting directory; NO_MAGICLINKS refuses /proc's
# links (/proc/self/cwd...). The same syscall number on every architecture.
SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS, RESOLVE_BENEATH = 0x02, 0x08
_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def open_beneath(root: int | Path, relative: str, flags: int = os.O_RDONLY) -> int:
    """A descriptor of `relative` resolved strictly inside `root` (a path or an open directory):
    OSError(EXDEV) if the path or any link on the way leads out of it."""
    root_fd = root if isinstance(root, int) else os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
        fd = _libc.syscall(SYS_OPENAT2, root_fd, os.fsencode(relative), ctypes.byref(how), ctypes.sizeof(how))
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), relative)
        return fd
    finally:
        if not isinstance(root, int):
            os.close(root_fd)


def read_beneath(root: Path, relative: str, limit: int = UNTRUSTED_READ_LIMIT) -> str | None:
    """A regular file inside `root` (a build's source or output), whole; None when there is
    none. A file over `limit` bytes is refused (never read in part: what is checked must be all
    there is). A path that leads out of `root` is refused with the name alone: what it points at
    is never read, so never shown."""
    try:
        fd = open_beneath(root, relative, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno in (errno.EXDEV, errno.ELOOP):
            raise BuildFailed(f"{relative} leads out of the build's files (a link)") from None
        if error.errno in (errno.ENOTDIR, errno.ENXIO):
            return None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BuildFailed(f"{relative} must be a regular file")
        data = handle.read(limit + 1)
        if len(data) > limit:
            raise BuildFailed(f"{relative} is over the limit of {limit:,} bytes")
        return data.decode(errors="replace")


def is_file_beneath(root: Path, relative: str) -> bool:
    """`relative` is a regular file inside `root` (through links that stay inside it)."""
    try:
        fd = open_beneath(root, relative, os.O_PATH)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def read_untrusted(path: Path, limit: int = UNTRUSTED_READ_LIMIT) -> str | None:
    """A file of a directory the build could write to, read without leaving that directory."""
    return read_beneath(path.parent, path.name, limit)


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


def hand_over(top: Path, owner: tuple[int, int]) -> None:
    """`top` and everything under it to the build user, links themselves and never what they
    point at. A file with more than one name keeps its owner: another name of it could be
    outside `top` (a host file), which must never become the build's to write."""
    os.lchown(top, *owner)
    for directory, dirs, files in os.walk(top):  # does not descend into links to directories
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode) or info.st_nlink == 1:
                os.lchown(path, *owner)
