"""A build's source as a directory: from a pushed commit, or from a source tarball's URL."""

import io
import tarfile
from pathlib import Path

import httpx
from dulwich.archive import tar_stream
from dulwich.repo import Repo

from paas.builder.errors import BuildFailed


def from_commit(repo: Repo, commit: str, dest: Path) -> str:
    """Unpack the commit's tree into `dest`; returns the tree's id (the same for the same files)."""
    try:
        tree = repo.object_store[repo.object_store[commit.encode()].tree]
    except KeyError:
        raise BuildFailed(f"commit {commit[:7]} is not in the app's repository") from None
    data = b"".join(tar_stream(repo.object_store, tree, mtime=0, format=""))
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            archive.extractall(dest, filter="data")
    except tarfile.TarError as error:  # e.g. a symlink to an absolute path or out of the tree
        raise BuildFailed(f"commit {commit[:7]} cannot be built: {error}") from None
    return tree.id.decode()


def from_url(url: str, dest: Path, size_limit: int) -> None:
    """Download a .tar.gz (or plain tar) and unpack it; a single top-level directory is stripped,
    as Heroku does for source blobs (GitHub's tarballs have one)."""
    archive_path = dest.parent / f"{dest.name}.source"
    try:
        with httpx.stream("GET", url, timeout=60, follow_redirects=True) as response:
            if response.status_code != 200:
                raise BuildFailed(f"could not download the source from {url}: HTTP {response.status_code}")
            size = 0
            with archive_path.open("wb") as f:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > size_limit:
                        raise BuildFailed(f"the source at {url} is over the {size_limit // 2**20} MB limit")
                    f.write(chunk)
        try:
            with tarfile.open(archive_path) as archive:
                archive.extractall(dest, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise BuildFailed(f"the source at {url} is not a readable tarball: {error}") from None
    except httpx.HTTPError as error:
        raise BuildFailed(f"could not download the source from {url}: {error}") from None
    finally:
        archive_path.unlink(missing_ok=True)
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        top = entries[0]
        for child in list(top.iterdir()):
            child.rename(dest / child.name)
        top.rmdir()
