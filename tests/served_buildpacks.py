"""A buildpack directory as test servers hand it out: a tarball, and a bare git repository for
git's "dumb" HTTP protocol (plain files: any static file server serves it)."""

import functools
import subprocess
import tarfile
from pathlib import Path

IDENTITY = ["-c", "user.email=t@t", "-c", "user.name=t"]


def publish(source: Path, root: Path, name: str) -> None:
    """`root/<name>.tgz` (one top-level directory, `<name>-main`) and `root/<name>.git`."""
    with tarfile.open(root / f"{name}.tgz", "w:gz") as archive:
        archive.add(source, arcname=f"{name}-main")
    git = functools.partial(subprocess.run, check=True, capture_output=True)
    git(["git", "init", "-q", "-b", "main", str(source)])
    git(["git", "-C", str(source), *IDENTITY, "add", "-A"])
    git(["git", "-C", str(source), *IDENTITY, "commit", "-qm", name])
    git(["git", "clone", "-q", "--bare", str(source), str(root / f"{name}.git")])
    git(["git", "-C", str(root / f"{name}.git"), "update-server-info"])
