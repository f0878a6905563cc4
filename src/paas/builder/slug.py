"""The slug: the built app directory as a tar.gz with every entry under `app/`.

The same bytes are the app image's top layer (see registry.py), so the tarball is made to be a
good layer: entries owned by root, modes and mtimes kept, symlinks kept, a stable entry order,
and a gzip header without a timestamp, so that the same tree gives the same layer digest.

Speed matters (it is on every push's path). Measured on a Flask + gunicorn virtualenv (30 MB,
2,200 files, 2 cores): GNU tar writes the stream in ~10 ms, Python's tarfile needed ~250 ms, and
zlib level 1 on one core ~430 ms. So GNU tar makes the stream and this module cuts it into 1 MiB
blocks deflated on all cores, pigz-style: each block is primed with the previous block's last
32 KiB and ends on a byte boundary (a sync flush), so the blocks join into one ordinary deflate
stream. Block boundaries are fixed, so the output never depends on the number of threads.
"""

import hashlib
import os
import shutil
import stat
import struct
import subprocess
import tarfile
import tempfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from paas.builder.errors import BuildFailed

LEVEL = 1  # measured: level 6 makes the slug 12% smaller and takes twice as long
BLOCK = 1 << 20
WINDOW = 32 * 1024  # deflate's window: what the previous block can lend the next
# Gzip member header: magic, deflate, no flags, mtime 0 (reproducible), no extra flags, Unix.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
FINAL_EMPTY_BLOCK = b"\x03\x00"  # a final fixed-Huffman block with only end-of-block
MB = 2**20


class SlugError(BuildFailed):
    """The slug could not be made (the app's to fix: the message is for the pusher)."""


class SlugTooLarge(SlugError):
    """The compressed slug is over the limit (Heroku counts the compressed slug, too)."""

    def __init__(self, limit: int, uncompressed: int):
        self.limit = limit
        self.uncompressed = uncompressed
        super().__init__(
            f"Compiled slug size is over the {limit / MB:.1f} MB limit "
            f"(the app directory holds {uncompressed / MB:.1f} MB of files before compression). "
            "Remove what the app does not need at run time."
        )


@dataclass(frozen=True)
class Slug:
    path: Path
    size: int  # compressed bytes
    digest: str  # sha256 of the .tgz: the layer's blob digest
    diff_id: str  # sha256 of the uncompressed tar: the layer's diff_id


class _OverLimit(Exception):
    pass


def _deflate(block: bytes, primer: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, zdict=primer) if primer else \
        zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)


class _LayerWriter:
    """Takes the tar stream: hashes it, deflates it in parallel, hashes and writes the gzip,
    all while the tar is being made: one pass."""

    def __init__(self, out: BinaryIO, pool: ThreadPoolExecutor, workers: int, limit: int):
        self.out, self.pool, self.limit = out, pool, limit
        self.tar_hash, self.gz_hash = hashlib.sha256(), hashlib.sha256()
        self.crc, self.tar_size, self.size = 0, 0, 0
        self.buffer = bytearray()
        self.primer = b""
        self.pending: deque[Future[bytes]] = deque()
        self.max_pending = 2 * workers  # bounds memory to a few MiB whatever the slug's size
        self._emit(GZIP_HEADER)

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= BLOCK:  # exact cuts: the output must not depend on read sizes
            self._submit(bytes(self.buffer[:BLOCK]))
            del self.buffer[:BLOCK]

    def _submit(self, block: bytes) -> None:
        self.tar_hash.update(block)
        self.crc = zlib.crc32(block, self.crc)
        self.tar_size += len(block)
        self.pending.append(self.pool.submit(_deflate, block, self.primer))
        self.primer = block[-WINDOW:]
        while len(self.pending) > self.max_pending:
            self._emit(self.pending.popleft().result())

    def _emit(self, chunk: bytes) -> None:
        self.gz_hash.update(chunk)
        self.out.write(chunk)
        self.size += len(chunk)
        if self.size > self.limit:
            raise _OverLimit

    def finish(self) -> None:
        if self.buffer:
            self._submit(bytes(self.buffer))
            self.buffer.clear()
        while self.pending:
            self._emit(self.pending.popleft().result())
        self._emit(FINAL_EMPTY_BLOCK + struct.pack("<II", self.crc, self.tar_size & 0xFFFFFFFF))

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()


def _root_entry(build_dir: Path, owner: tuple[int, int], directory: str) -> bytes:
    """The `app/` directory itself; 0755 whatever the build dir's mode (often a 0700 temp dir)."""
    member = tarfile.TarInfo(f"{directory}/")
    member.type = tarfile.DIRTYPE
    member.mode = 0o755
    member.uid, member.gid = owner
    member.mtime = int(build_dir.stat().st_mtime)
    return member.tobuf(tarfile.GNU_FORMAT)


def _tar_command(build_dir: Path, owner: tuple[int, int], directory: str) -> list[str] | None:
    """GNU tar for the contents: in C it takes ~10 ms where Python's tarfile takes ~250 ms for a
    2,000-file virtualenv. Only the top-level .git is left out (Heroku does the same)."""
    names = sorted(name for name in os.listdir(build_dir) if name != ".git")
    if not names:
        return None
    return [
        "tar", "--create", "--file=-", f"--directory={build_dir}", "--format=gnu", "--sort=name",
        # Owned by the user the app's processes run as: /app is theirs to write, as on Heroku.
        f"--owner={owner[0]}", f"--group={owner[1]}", "--numeric-owner",
        # ./x -> app/x for names and hard link targets; symlink targets (S) stay as they are.
        rf"--transform=s,^\./,{directory}/,S", "--",
        *(f"./{name}" for name in names),  # ./ also keeps a name like "-x" from being an option
    ]


def make_slug(build_dir: Path, dest: Path, *, size_limit: int, owner: tuple[int, int] = (0, 0), directory: str = "app") -> Slug:
    """Tar and gzip build_dir's contents under `app/` (or another top-level `directory`) into
    dest; raise SlugTooLarge when the compressed slug would be over size_limit bytes."""
    partial = dest.with_name(dest.name + ".partial")
    workers = os.cpu_count() or 1
    command = _tar_command(build_dir, owner, directory)
    # tar's complaints go to a file: a full stderr pipe nobody reads would stall it.
    with tempfile.TemporaryFile() as errors, partial.open("wb") as out, ThreadPoolExecutor(workers) as pool:
        tar = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, bufsize=0) if command else None
        writer = _LayerWriter(out, pool, workers, size_limit)
        try:
            writer.write(_root_entry(build_dir, owner, directory))
            if tar is None:
                writer.write(bytes(2 * tarfile.BLOCKSIZE))  # an empty app: just the end of archive
            else:
                while chunk := tar.stdout.read(BLOCK):
                    writer.write(chunk)
                if tar.wait() != 0:
                    errors.seek(0)
                    raise SlugError(f"tar of {build_dir} failed: {errors.read().decode(errors='replace').strip()}")
            writer.finish()
        except BaseException as error:
            writer.cancel()  # do not deflate what is thrown away
            partial.unlink(missing_ok=True)
            if isinstance(error, _OverLimit):
                raise SlugTooLarge(size_limit, _tree_size(build_dir)) from None
            raise
        finally:
            if tar is not None:
                if tar.poll() is None:
                    tar.kill()
                    tar.wait()
                tar.stdout.close()
    partial.rename(dest)
    return Slug(dest, writer.size, f"sha256:{writer.gz_hash.hexdigest()}", f"sha256:{writer.tar_hash.hexdigest()}")


def _tree_size(build_dir: Path) -> int:
    """Bytes of regular files under build_dir: for the message of a slug that is too large."""
    total = 0
    for directory, subdirs, files in os.walk(build_dir):
        if directory == str(build_dir) and ".git" in subdirs:
            subdirs.remove(".git")
        for name in files:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


class SlugStore(Protocol):
    """Where slugs are kept once built (for rollbacks that rebuild nothing, and for download)."""

    def put(self, app: str, build_id: str, path: Path) -> str:
        """Store a copy of the slug at path; return its key."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored slug for reading; FileNotFoundError when there is none."""
        ...

    def delete(self, key: str) -> None:
        """Forget one slug (no error when it is gone already)."""
        ...

    def delete_app(self, app: str) -> None:
        """Forget every slug of an app."""
        ...


def _safe(part: str) -> str:
    if not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part:
        raise ValueError(f"not a valid slug store name: {part!r}")
    return part


class LocalSlugStore:
    """Slugs as files under root/<app>/<build id>.tgz; the key is that relative path."""

    def __init__(self, root: Path):
        self.root = root

    def path_of(self, key: str) -> Path:
        app, _, name = key.partition("/")
        if not name.endswith(".tgz"):
            raise ValueError(f"not a slug key: {key!r}")
        return self.root / _safe(app) / _safe(name)

    def put(self, app: str, build_id: str, path: Path) -> str:
        key = f"{_safe(app)}/{_safe(build_id)}.tgz"
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        try:
            try:
                os.link(path, partial)  # same file system: no copy at all
            except OSError:
                shutil.copyfile(path, partial)
            partial.rename(target)  # readers see the whole slug or none
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        return self.path_of(key).open("rb")

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def delete_app(self, app: str) -> None:
        shutil.rmtree(self.root / _safe(app), ignore_errors=True)
