"""A build's source unpacked from a tenant's tarball or commit: nothing lands or is read outside it."""

import gzip
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paas.builder.errors import BuildFailed
from paas.builder.files import read_beneath
from paas.builder.procfile import read_procfile
from paas.builder.source import Limits, from_commit, from_tarball

LIMITS = Limits(size=64 * 2**20, members=1000)
DEPTH = 12


def tarball(path: Path, members: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], compress: bool = True) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for member in members:
            info, data = member if isinstance(member, tuple) else (member, None)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(gzip.compress(raw.getvalue()) if compress else raw.getvalue())
    return path


def file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = (tarfile.LNKTYPE if hard else tarfile.SYMTYPE), target
    return info


@pytest.fixture
def host_secret(tmp_path):
    """A file beside the build's directory: what an escaping link would reach."""
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET\n")
    return secret


def unpack(tmp_path: Path, members, limits: Limits = LIMITS) -> Path:
    dest = tmp_path / "build" / "src"
    dest.mkdir(parents=True)
    from_tarball(tarball(tmp_path / "source.tgz", members), dest, limits, "the source")
    return dest


def test_the_link_chain_that_read_the_admin_token_is_refused(tmp_path, host_secret):
    """The attack seen on main: a chain of links that each look inside, and lead out together."""
    chain = "/".join(f"d{i}" for i in range(DEPTH))
    members = [link(chain, "../" * (DEPTH - 1)),
               link("Procfile", chain + "/.." * DEPTH + f"/{os.path.relpath(host_secret, tmp_path / 'build' / 'src')}")]
    with pytest.raises(BuildFailed, match="points outside the source") as refused:
        unpack(tmp_path, members)
    assert "TOPSECRET" not in str(refused.value)


def test_links_inside_the_source_work(tmp_path):
    """Positive control: links that stay inside are kept, and the platform reads through them."""
    dest = unpack(tmp_path, [file("config/Procfile", b"web: serve\n"), link("Procfile", "config/Procfile"),
                             link("config/self", "../config"), file("bin/run", b"#!/bin/sh\n", 0o755)])
    assert read_procfile(dest) == {"web": "serve"}
    assert read_beneath(dest, "config/self/Procfile") == "web: serve\n"
    assert os.stat(dest / "bin" / "run").st_mode & 0o111


def test_a_link_out_made_after_unpacking_is_never_read_through(tmp_path, host_secret):
    """What a build leaves (or swaps in later) is read by the kernel's rule, not the extractor's."""
    dest = tmp_path / "src"
    dest.mkdir()
    (dest / "up").symlink_to("..")
    (dest / "Procfile").symlink_to("up/secret")
    (dest / "cwd").symlink_to("/proc/self/cwd")
    for name in ("Procfile", "up/secret", "cwd/etc/hostname"):
        with pytest.raises(BuildFailed, match="leads out of the build's files") as refused:
            read_beneath(dest, name)
        assert "TOPSECRET" not in str(refused.value)
    assert read_beneath(tmp_path, "src/up/secret") == "TOPSECRET\n"  # the same path, from where it is inside


@pytest.mark.parametrize("members", [
    [link("x", "/etc/passwd")],
    [link("x", "../secret")],
    [link("a/b", "../../secret")],
    [link("x", "missing/../../secret")],
    [link("up", ".."), link("Procfile", "up/secret")],
    [link("loop", "loop2"), link("loop2", "loop")],
], ids=["absolute", "parent", "nested-parent", "through-a-missing-directory", "through-a-link", "loop"])
def test_links_out_of_the_source_are_refused(tmp_path, host_secret, members):
    with pytest.raises(BuildFailed, match="points outside the source"):
        unpack(tmp_path, members)


@pytest.mark.parametrize("members,why", [
    ([file("../secret", b"x")], "outside the source"),
    ([file("/tmp/x", b"x")], "outside the source"),
    ([link("d", "sub"), file("sub/keep", b""), file("d/x", b"x")], "through a link"),
    ([file("f", b""), file("f/x", b"x")], "through a link or a file"),
], ids=["dot-dot", "absolute", "through-a-link", "through-a-file"])
def test_members_are_never_written_outside_or_through_links(tmp_path, host_secret, members, why):
    with pytest.raises(BuildFailed, match=why):
        unpack(tmp_path, members)
    assert host_secret.read_text() == "TOPSECRET\n"


def test_a_hard_link_is_a_copy_of_a_file_of_the_source_and_nothing_else(tmp_path, host_secret):
    dest = unpack(tmp_path, [file("a", b"mine\n"), link("b", "a", hard=True)])
    assert (dest / "b").read_text() == "mine\n" and os.stat(dest / "a").st_ino != os.stat(dest / "b").st_ino
    for target in ("../secret", "up/secret", str(host_secret)):
        with pytest.raises(BuildFailed, match="hard link 'b' names no file|outside the source|points outside"):
            unpack(tmp_path / target.replace("/", "_"), [link("up", ".."), link("b", target, hard=True)])


def test_a_tarball_that_inflates_past_the_limit_stops_at_the_limit(tmp_path):
    bomb = file("zeros", bytes(16 * 2**20))
    with pytest.raises(BuildFailed, match="over the limit of 8 MB unpacked"):
        unpack(tmp_path / "a", [bomb], Limits(size=8 * 2**20, members=10))
    assert (tmp_path / "a" / "source.tgz").stat().st_size < 100_000  # a real bomb: small packed
    assert (unpack(tmp_path / "b", [bomb], Limits(size=32 * 2**20, members=10)) / "zeros").stat().st_size == 16 * 2**20


@pytest.mark.parametrize("header", ["pax", "gnu"])
def test_a_large_extended_header_is_refused_before_it_is_read(tmp_path, header):
    """tarfile reads a pax header or a GNU long name whole into memory: a large one is refused first."""
    if header == "pax":
        info = tarfile.TarInfo("big")
        info.pax_headers = {"comment": "x" * (4 * 2**20)}
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(info, io.BytesIO(b""))
    else:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
            tar.addfile(tarfile.TarInfo("a" * 100_000), io.BytesIO(b""))
    (tmp_path / "source.tgz").write_bytes(gzip.compress(raw.getvalue()))
    (tmp_path / "src").mkdir()
    with pytest.raises(BuildFailed, match="the tarball has a header of .* bytes"):
        from_tarball(tmp_path / "source.tgz", tmp_path / "src", LIMITS, "the source")
    small = unpack(tmp_path / "ok", [file("b" * 200, b"x")])  # the positive control: a long name that fits
    assert (small / ("b" * 200)).read_bytes() == b"x"


def test_the_directories_a_path_implies_count_as_members_and_depth_is_bounded(tmp_path):
    deep = "/".join(["d"] * 20) + "/f"
    with pytest.raises(BuildFailed, match="more than 10 files"):
        unpack(tmp_path / "a", [file(deep, b"")], Limits(size=2**20, members=10))
    assert unpack(tmp_path / "b", [file(deep, b"")], Limits(size=2**20, members=30))  # 20 directories and a file
    with pytest.raises(BuildFailed, match="128 directories deep"):
        unpack(tmp_path / "c", [file("/".join(["d"] * 200) + "/f", b"")])


def test_too_many_members_are_refused(tmp_path):
    many = [file(f"f{i}", b"") for i in range(30)]
    with pytest.raises(BuildFailed, match="more than 20 files"):
        unpack(tmp_path / "a", many, Limits(size=2**20, members=20))
    assert len(os.listdir(unpack(tmp_path / "b", many, Limits(size=2**20, members=30)))) == 30


def test_devices_and_fifos_are_refused(tmp_path):
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    with pytest.raises(BuildFailed, match="'pipe' is not a file, directory or link"):
        unpack(tmp_path, [fifo])


def test_one_top_level_directory_is_stripped_even_when_a_child_shares_its_name(tmp_path):
    dest = unpack(tmp_path, [file("app/app/x", b"1"), file("app/Procfile", b"web: x\n")])
    assert sorted(os.listdir(dest)) == ["Procfile", "app"] and (dest / "app" / "x").read_text() == "1"


PATHS = st.lists(st.sampled_from(["a", "b", ".", "..", "", "\\", "é", "x\0"]), min_size=1, max_size=5).map("/".join)
NAMES = st.lists(PATHS, min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES, targets=st.lists(PATHS, max_size=4))
def test_whatever_the_names_nothing_lands_outside(tmp_path_factory, names, targets):
    work = tmp_path_factory.mktemp("any")
    members = [file(name, b"data") for name in names] + [link(f"l{i}", t) for i, t in enumerate(targets)]
    try:
        dest = unpack(work, members)
    except BuildFailed:
        dest = work / "build" / "src"
    outside = {str(p) for p in work.rglob("*")} - {str(p) for p in dest.rglob("*")} - {str(dest)}
    assert outside <= {str(work / "build"), str(work / "source.tgz")}
    for entry in dest.rglob("*"):
        if entry.is_symlink():
            real, inside = os.path.realpath(entry), str(dest.resolve())
            assert real == inside or real.startswith(inside + os.sep) or not os.path.exists(entry)


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, input=input).stdout.decode().strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "work"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def commit(repo: Path) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    return git(repo, "rev-parse", "HEAD")


def test_a_commit_unpacks_with_its_modes_and_links_and_names_its_tree(repo, tmp_path):
    (repo / "bin").mkdir()
    (repo / "bin" / "run").write_text("#!/bin/sh\n")
    (repo / "bin" / "run").chmod(0o755)
    (repo / "Procfile").symlink_to("bin/run")
    head = commit(repo)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert from_commit(repo / ".git", head, dest, LIMITS) == git(repo, "rev-parse", "HEAD^{tree}")
    assert os.readlink(dest / "Procfile") == "bin/run" and os.stat(dest / "bin" / "run").st_mode & 0o111
    assert os.stat(dest / "bin" / "run").st_mtime == 0  # the same tree unpacks to the same files


@pytest.mark.parametrize("target", ["../../secret", "/etc/passwd"])
def test_a_commit_with_a_link_out_is_refused(repo, tmp_path, host_secret, target):
    (repo / "Procfile").symlink_to(target)
    head = commit(repo)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(BuildFailed, match="points outside the source"):
        from_commit(repo / ".git", head, dest, LIMITS)


def test_a_commit_that_inflates_past_the_limit_is_refused_before_unpacking(repo, tmp_path):
    (repo / "zeros").write_bytes(bytes(8 * 2**20))
    head = commit(repo)
    assert int(git(repo, "count-objects", "-v").split("size: ")[1].split()[0]) < 100  # KB: a bomb, small packed
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(BuildFailed, match="over the limits"):
        from_commit(repo / ".git", head, dest, Limits(size=2**20, members=10))
    assert os.listdir(dest) == []
    from_commit(repo / ".git", head, dest, Limits(size=16 * 2**20, members=10))
    assert (dest / "zeros").stat().st_size == 8 * 2**20


def test_a_commit_that_is_not_there_is_named(repo, tmp_path):
    commit_ = "0" * 40
    (repo / "x").write_text("x")
    commit(repo)
    with pytest.raises(BuildFailed, match="commit 0000000 is not in the app's repository"):
        from_commit(repo / ".git", commit_, tmp_path, LIMITS)


def test_a_tree_that_names_one_subtree_many_times_stops_at_the_limit(repo, tmp_path):
    """A few objects that list as millions of paths: git's listing is read as it comes and stopped."""
    (repo / "f").write_text("x")
    commit(repo)
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    for _ in range(6):  # 10 ** 6 paths from 7 trees
        tree = git(repo, "mktree", input="".join(f"040000 tree {tree}\td{i}\n" for i in range(10)).encode())
    head = git(repo, "commit-tree", tree, "-m", "bomb")
    dest = tmp_path / "dest"
    dest.mkdir()
    started = time.monotonic()
    with pytest.raises(BuildFailed, match="over the limits of 1,000 files"):
        from_commit(repo / ".git", head, dest, LIMITS)
    assert time.monotonic() - started < 10 and os.listdir(dest) == []


def test_a_link_longer_than_any_link_is_refused_unread(repo, tmp_path):
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"a/" * 5000)
    git(repo, "update-index", "--add", "--cacheinfo", f"120000,{blob},Procfile")
    head = git(repo, "commit-tree", git(repo, "write-tree"), "-m", "a long link")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(BuildFailed, match="longer than any link can be"):
        from_commit(repo / ".git", head, dest, LIMITS)


def test_a_file_over_the_read_limit_is_refused_not_read_in_part(tmp_path):
    """What the platform checks (a Dockerfile) must be all that there is."""
    (tmp_path / "Dockerfile").write_text("# padding\n" * 200 + "RUN --mount=type=cache,target=/h ls\n")
    with pytest.raises(BuildFailed, match="Dockerfile is over the limit of 1,000 bytes"):
        read_beneath(tmp_path, "Dockerfile", limit=1000)
    assert "RUN --mount" in read_beneath(tmp_path, "Dockerfile", limit=10_000)
