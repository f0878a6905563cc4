"""A build's source as a directory: from a pushed commit, or from a source tarball's URL.

Both are a tenant's input, unpacked by the worker as root. So every file is written through
descriptors opened one directory at a time beneath the build's directory, never through a link
(a link planted by an earlier member cannot redirect a later one); a link may only point inside
the tree (checked by the kernel once the whole tree is there: a later link can change where an
earlier one leads); and the members and bytes are counted against limits while they stream in,
never inflated whole in memory. Python's own `tarfile` filter is not relied on: before 3.11.13
(and 3.12.11, 3.13.4) a chain of links passed it."""

import contextlib
import errno
import gzip
import os
import posixpath
import stat
import subprocess
import tarfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from paas import outbound
from paas.builder.errors import BuildFailed
from paas.builder.files import open_beneath
from paas.settings import Settings

CHUNK = 2**20
# A path in a source: longer or deeper is refused (well within PATH_MAX once under the build's
# directory, and shallow enough for every recursive walk of the tree).
MAX_NAME, MAX_DEPTH = 2048, 128
MAX_LINK = 4096  # bytes of a link's target (Linux's own limit)
MAX_HEADER = 2**16  # bytes of a tar member's extended header


@dataclass(frozen=True)
class Limits:
    size: int  # bytes of all files, unpacked
    members: int  # files, directories and links


class Tree:
    """Writes a tree beneath `root` (an empty directory of the platform's) from members named by
    relative paths, counting them against `limits`."""

    def __init__(self, root: Path, limits: Limits, what: str):
        self.root, self.limits, self.what = root, limits, what
        self.size = self.members = 0

    def _count(self, size: int = 0) -> None:
        self.members += 1
        self.size += size
        if self.members > self.limits.members:
            raise BuildFailed(f"{self.what} has more than {self.limits.members:,} files (the limit)")
        if self.size > self.limits.size:
            raise BuildFailed(f"{self.what} is over the limit of {self.limits.size // 2**20} MB unpacked")

    def _parts(self, name: str) -> list[str]:
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts or name.startswith("/") or ".." in parts or "\0" in name:
            raise BuildFailed(f"{self.what} has a file named {shown(name)}, outside the source")
        if len(os.fsencode(name)) > MAX_NAME or len(parts) > MAX_DEPTH:
            raise BuildFailed(f"{self.what} has a file named {shown(name)}: names are at most {MAX_NAME:,} bytes "
                              f"and {MAX_DEPTH} directories deep")
        return parts

    def _parent(self, parts: list[str]) -> int:
        """The open directory that will hold the last of `parts`, made where missing, reached
        without following any link."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for part in parts[:-1]:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    made = True
                except FileExistsError:
                    made = False
                try:
                    child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as error:
                    if error.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise BuildFailed(f"{self.what} writes {shown('/'.join(parts))} through a link or a file") from None
                    raise
                os.close(fd)
                fd = child
                if made:  # 0755 whatever the worker's umask (077), as git and tar make them
                    os.fchmod(fd, 0o755)
                    self._count()  # a directory is a member too, named or not
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _replace(self, fd: int, name: str) -> None:
        """A later member of the same name replaces the earlier (as tar does), a directory excepted."""
        try:
            if stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                raise BuildFailed(f"{self.what} has {shown(name)} both as a directory and as a file")
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass

    def directory(self, name: str) -> None:
        os.close(self._parent(self._parts(name) + ["."]))  # counted where it is made

    def file(self, name: str, chunks: Iterable[bytes], size: int, executable: bool, mtime: int | None = None) -> None:
        """A regular file of `size` bytes (counted before it is written: a bomb stops at its header)."""
        self._count(size)
        parts = self._parts(name)
        fd = self._parent(parts)
        try:
            self._replace(fd, parts[-1])
            out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
        finally:
            os.close(fd)
        # The mode is the file's own (an image copies it), whatever the worker's umask (077).
        os.fchmod(out, 0o755 if executable else 0o644)
        with os.fdopen(out, "wb") as handle:
            written = 0
            for chunk in chunks:
                written += len(chunk)
                if written > size:
                    raise BuildFailed(f"{self.what}: {shown(name)} is larger than it said")
                handle.write(chunk)
            if mtime is not None:
                handle.flush()  # or closing it would write, and so stamp, it again
                os.utime(handle.fileno(), (mtime, mtime))

    def link(self, name: str, target: str) -> None:
        self._count()
        parts = self._parts(name)
        if not target or target.startswith("/") or "\0" in target or \
                posixpath.normpath(posixpath.join(*parts[:-1], target)).split("/")[0] == "..":
            raise BuildFailed(f"{self.what}: the link {shown(name)} points outside the source")
        fd = self._parent(parts)
        try:
            self._replace(fd, parts[-1])
            os.symlink(target, parts[-1], dir_fd=fd)
        finally:
            os.close(fd)

    def copy(self, name: str, existing: str, mtime: int | None = None) -> None:
        """A hard link, made a copy of the file it names, which must be in the tree already."""
        self._parts(existing)
        try:
            fd = open_beneath(self.root, existing, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            raise BuildFailed(f"{self.what}: the hard link {shown(name)} names no file of the source before it") from None
        with os.fdopen(fd, "rb") as source:
            info = os.fstat(source.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise BuildFailed(f"{self.what}: the hard link {shown(name)} names no regular file")
            self.file(name, iter(lambda: source.read(CHUNK), b""), info.st_size, bool(info.st_mode & 0o111), mtime)

    def check_links(self) -> None:
        """Every link in the tree leads to a place inside it (or nowhere yet): asked of the kernel,
        which resolves each through all the others."""
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for directory, dirs, files in os.walk(self.root):
                for name in dirs + files:
                    path = os.path.join(directory, name)
                    if not os.path.islink(path):
                        continue
                    relative = os.path.relpath(path, self.root)
                    try:
                        os.close(open_beneath(root_fd, relative, os.O_PATH))
                    except FileNotFoundError:
                        pass  # dangling, but inside
                    except OSError:  # EXDEV: it leads out; ELOOP: round in circles
                        raise BuildFailed(f"{self.what}: the link {shown(relative)} points outside the source") from None
        finally:
            os.close(root_fd)


def shown(name: str) -> str:
    """A member's name for a message: printable, and short."""
    text = name.encode("unicode_escape").decode("ascii")
    return repr(text if len(text) <= 100 else text[:97] + "...")


def from_commit(git_dir: Path, commit: str, dest: Path, limits: Limits) -> str:
    """Unpack the commit's tree into `dest`; returns the tree's id (the same for the same files).
    Git itself lists the tree with every blob's size (read from the object's header, before
    anything is inflated), then streams the blobs one after another: limits are checked first."""
    what = f"commit {commit[:7]}"
    git = ["git", f"--git-dir={git_dir}", "-c", "core.quotePath=false"]
    tree = subprocess.run([*git, "rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}"], capture_output=True, text=True)
    if tree.returncode != 0:
        raise BuildFailed(f"commit {commit[:7]} is not in the app's repository")
    entries = []
    total = 0
    # Read as git lists it, and stopped at the limits: a tree that names one subtree many times
    # over lists billions of paths from a few objects.
    with subprocess.Popen([*git, "ls-tree", "-r", "-l", "-z", "--full-tree", commit], stdout=subprocess.PIPE) as listing:
        assert listing.stdout is not None
        try:
            for record in _records(listing.stdout, MAX_NAME + 100):
                meta, _, raw_path = record.partition(b"\t")
                raw_mode, kind, sha, raw_size = meta.split()
                if kind != b"blob":  # a submodule's commit: not in this repository (Heroku skips them too)
                    continue
                mode, size, path = int(raw_mode, 8), int(raw_size), os.fsdecode(raw_path)
                if stat.S_ISLNK(mode) and size > MAX_LINK:
                    raise BuildFailed(f"{what}: the link {shown(path)} is longer than any link can be")
                total += size
                entries.append((mode, sha.decode(), size, path))
                if len(entries) > limits.members or total > limits.size:
                    raise BuildFailed(f"{what} is over the limits of {limits.members:,} files and "
                                      f"{limits.size // 2**20} MB unpacked")
        finally:
            listing.kill()
    out = Tree(dest, limits, what)
    with subprocess.Popen([*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as cat:
        assert cat.stdin is not None and cat.stdout is not None
        # One object asked for, then read whole, at a time: neither side's pipe can fill up.
        for mode, sha, size, path in entries:
            cat.stdin.write(f"{sha}\n".encode())
            cat.stdin.flush()
            header = cat.stdout.readline().split()
            if len(header) != 3 or int(header[2]) != size:
                raise BuildFailed(f"{what}: git could not read {shown(path)}")
            if stat.S_ISLNK(mode):
                out.link(path, os.fsdecode(b"".join(_chunks(cat.stdout, size))))
            else:
                out.file(path, _chunks(cat.stdout, size), size, bool(mode & 0o111), mtime=0)
            cat.stdout.read(1)  # the newline after each object
        cat.stdin.close()
    out.check_links()
    return tree.stdout.strip()


def _records(stream: BinaryIO, longest: int) -> Iterator[bytes]:
    """NUL-terminated records, read a chunk at a time; one longer than `longest` is refused."""
    pending = b""
    while chunk := stream.read(2**16):
        *records, pending = (pending + chunk).split(b"\0")
        yield from records
        if len(pending) > longest:
            raise BuildFailed("the source has a file name that is too long")
    if pending:
        yield pending


def _chunks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    left = size
    while left:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            raise BuildFailed("the source ended early")
        left -= len(chunk)
        yield chunk


class _Bounded:
    """A stream that fails once more than `limit` bytes came out of it (the unpacked tar, headers
    included: a bomb stops here whatever its headers say)."""

    def __init__(self, stream: BinaryIO, limit: int, what: str):
        self.stream, self.limit, self.what, self.seen = stream, limit, what, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.seen += len(data)
        if self.seen > self.limit:
            raise BuildFailed(f"{self.what} is over the limit of {self.limit // 2**20} MB unpacked")
        return data


def from_url(settings: Settings, url: str, dest: Path, download_limit: int, limits: Limits) -> None:
    """Download a source tarball (at most `download_limit` bytes, from an address the outbound rule
    allows) and unpack it into `dest`."""
    archive = dest.parent / f"{dest.name}.source"
    try:
        with outbound.stream(settings, url, timeout=60) as response:
            if response.status_code != 200:
                raise BuildFailed(f"could not download the source from {url}: HTTP {response.status_code}")
            size = 0
            with archive.open("wb") as f:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > download_limit:
                        raise BuildFailed(f"the source at {url} is over the {download_limit // 2**20} MB limit")
                    f.write(chunk)
        from_tarball(archive, dest, limits, f"the source at {url}")
    except (outbound.OutboundError, httpx.HTTPError) as error:
        raise BuildFailed(f"could not download the source from {url}: {error}") from None
    finally:
        archive.unlink(missing_ok=True)


def from_tarball(archive: Path | BinaryIO, dest: Path, limits: Limits, what: str, strip_top: bool = True) -> None:
    """Unpack a .tar.gz or plain tar (a file, or a stream read once) member by member. With
    `strip_top`, a single top-level directory is stripped, as Heroku does for source blobs
    (GitHub's tarballs have one)."""
    out = Tree(dest, limits, what)
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(archive.open("rb")) if isinstance(archive, Path) else archive
        magic = raw.read(2)
        head: BinaryIO = _Prefixed(magic, raw)
        stream: BinaryIO = gzip.GzipFile(fileobj=head) if magic == b"\x1f\x8b" else head  # type: ignore[assignment]
        # Headers take space too: a tar of many empty files is still counted in members.
        bounded = _Bounded(stream, limits.size + 1024 * limits.members, what)
        try:
            with tarfile.open(fileobj=bounded, mode="r|", tarinfo=_Member) as tar:  # type: ignore[call-overload]
                for member in tar:
                    _unpack(out, tar, member)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError) as error:
            raise BuildFailed(f"{what} is not a readable tarball: {error}") from None
    if strip_top:
        _strip_top(dest)
    out.check_links()


class _Member(tarfile.TarInfo):
    """A member whose extended header (pax, or a GNU long name) is small: `tarfile` reads one
    whole into memory, whatever size it says."""

    def _proc_pax(self, tarfile):
        return super()._proc_pax(tarfile) if self._small() else None

    def _proc_gnulong(self, tarfile):
        return super()._proc_gnulong(tarfile) if self._small() else None

    def _small(self) -> bool:
        if self.size > MAX_HEADER:
            raise BuildFailed(f"the tarball has a header of {self.size:,} bytes (at most {MAX_HEADER:,})")
        return True


class _Prefixed:
    """A stream with the bytes already read from it put back in front (it may be a pipe)."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        self.prefix, self.stream = prefix, stream

    def read(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.stream.read(size)
        if size < 0:
            data, self.prefix = self.prefix + self.stream.read(), b""
            return data
        data, self.prefix = self.prefix[:size], self.prefix[size:]
        return data + (self.stream.read(size - len(data)) if size > len(data) else b"")


def _unpack(out: Tree, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    if member.isdir():
        out.directory(member.name)
    elif member.issym():
        out.link(member.name, member.linkname)
    elif member.islnk():
        out.copy(member.name, member.linkname, mtime=int(member.mtime))
    elif member.isreg() and not member.issparse():
        data = tar.extractfile(member)
        assert data is not None
        out.file(member.name, iter(lambda: data.read(CHUNK), b""), member.size, bool(member.mode & 0o111), mtime=int(member.mtime))
    else:  # devices, fifos, sparse files: nothing an app's source needs
        raise BuildFailed(f"{out.what}: {shown(member.name)} is not a file, directory or link")


def _strip_top(dest: Path) -> None:
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        top = entries[0].rename(dest / f".paas-top-{uuid.uuid4().hex}")  # a child may share its name
        for child in list(top.iterdir()):
            child.rename(dest / child.name)
        top.rmdir()
