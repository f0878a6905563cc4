"""Slugs: real GNU tar, gzip and sha256sum check what make_slug writes."""

import gzip
import hashlib
import io
import os
import subprocess
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paas.builder import slug as slug_module
from paas.builder.slug import LocalSlugStore, SlugStore, SlugTooLarge, make_slug

LIMIT = 500 * 2**20
MTIME = 1_700_000_000
LONG_NAME = "d" * 60 + "/" + "f" * 90 + ".py"  # over tar's 100-byte name field


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    root = tmp_path / "build"
    root.mkdir(mode=0o700)  # like a temporary directory: the slug's app/ must still be 0755
    (root / "app.py").write_text("print('hi')\n")
    (root / "bin").mkdir()
    (root / "bin" / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "bin" / "run.sh").chmod(0o750)
    (root / "current.py").symlink_to("app.py")
    (root / "venv-python").symlink_to("/usr/bin/python3")  # absolute: kept as written
    os.link(root / "app.py", root / "hardlink.py")
    (root / "ünïcode.txt").write_text("u\n")
    (root / LONG_NAME).parent.mkdir()
    (root / LONG_NAME).write_text("long\n")
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "vendor" / "lib" / ".git").mkdir(parents=True)  # only the top-level .git is dropped
    (root / "vendor" / "lib" / ".git" / "HEAD").write_text("x\n")
    for path in [*root.rglob("*"), root]:
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    return root


def members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as archive:
        return {m.name: m for m in archive.getmembers()}


def test_entries_live_under_app_owned_by_the_dyno_user(build_dir, tmp_path):
    slug = make_slug(build_dir, tmp_path / "slug.tgz", size_limit=LIMIT, owner=(10000, 10001))
    with tarfile.open(slug.path) as archive:
        ordered = archive.getmembers()
    assert ordered[0].name == "app" and ordered[0].isdir() and ordered[0].mode == 0o755
    entries = {m.name: m for m in ordered}
    assert all(name == "app" or name.startswith("app/") for name in entries)
    assert all(m.uid == 10000 and m.gid == 10001 for m in ordered)  # /app is the app's to write, as on Heroku
    assert set(entries) >= {
        "app/app.py", "app/bin", "app/bin/run.sh", "app/current.py", "app/venv-python", "app/hardlink.py",
        "app/ünïcode.txt", f"app/{LONG_NAME}", "app/vendor/lib/.git/HEAD",
    }
    assert not any(name.startswith("app/.git") for name in entries)
    assert entries["app/bin/run.sh"].mode == 0o750
    assert entries["app/app.py"].mode == 0o644
    assert entries["app/app.py"].mtime == MTIME and entries["app/bin"].mtime == MTIME
    assert entries["app/current.py"].issym() and entries["app/current.py"].linkname == "app.py"
    assert entries["app/venv-python"].linkname == "/usr/bin/python3"
    # GNU tar stores the second name of a hard link as a link, to the renamed first one.
    linked = [entries["app/app.py"], entries["app/hardlink.py"]]
    assert any(m.islnk() and m.linkname in ("app/app.py", "app/hardlink.py") for m in linked)


def test_extracted_slug_is_the_build_dir(build_dir, tmp_path):
    slug = make_slug(build_dir, tmp_path / "slug.tgz", size_limit=LIMIT)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "-xzf", str(slug.path), "-C", str(out)], check=True)
    assert (out / "app" / "app.py").read_text() == "print('hi')\n"
    assert (out / "app" / "hardlink.py").read_text() == "print('hi')\n"
    assert os.readlink(out / "app" / "current.py") == "app.py"
    assert (out / "app" / LONG_NAME).read_text() == "long\n"
    assert not (out / "app" / ".git").exists()


def test_digests_match_sha256sum_and_gunzip(build_dir, tmp_path):
    big = build_dir / "data.bin"
    # Several blocks, part incompressible, so that the parallel deflate really runs.
    big.write_bytes(os.urandom(3 * 2**20) + b"abc" * 2**20)
    slug = make_slug(build_dir, tmp_path / "slug.tgz", size_limit=LIMIT)
    assert slug.size == slug.path.stat().st_size
    sha = subprocess.run(["sha256sum", str(slug.path)], capture_output=True, text=True, check=True).stdout
    assert slug.digest == "sha256:" + sha.split()[0]
    unzipped = subprocess.run(
        f"gunzip -c {slug.path} | sha256sum", shell=True, capture_output=True, text=True, check=True,
    ).stdout
    assert slug.diff_id == "sha256:" + unzipped.split()[0]
    subprocess.run(["gzip", "-t", str(slug.path)], check=True)


def test_same_tree_gives_the_same_layer(build_dir, tmp_path):
    (build_dir / "data.bin").write_bytes(os.urandom(2**20 + 12345))
    first = make_slug(build_dir, tmp_path / "a.tgz", size_limit=LIMIT)
    second = make_slug(build_dir, tmp_path / "b.tgz", size_limit=LIMIT)
    assert (first.digest, first.diff_id, first.size) == (second.digest, second.diff_id, second.size)
    (build_dir / "app.py").write_text("print('changed')\n")
    os.utime(build_dir / "app.py", (MTIME, MTIME))
    third = make_slug(build_dir, tmp_path / "c.tgz", size_limit=LIMIT)
    assert third.digest != first.digest and third.diff_id != first.diff_id


def test_empty_build_dir_gives_just_app(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    slug = make_slug(empty, tmp_path / "slug.tgz", size_limit=LIMIT)
    assert list(members(slug.path)) == ["app"]


def test_over_the_limit_raises_and_leaves_nothing(build_dir, tmp_path):
    (build_dir / "data.bin").write_bytes(os.urandom(3 * 2**20))
    dest = tmp_path / "slug.tgz"
    with pytest.raises(SlugTooLarge) as raised:
        make_slug(build_dir, dest, size_limit=2 * 2**20)
    message = str(raised.value)
    assert "over the 2.0 MB limit" in message and "3.0 MB" in message
    assert not dest.exists() and list(tmp_path.glob("*.partial")) == []
    make_slug(build_dir, dest, size_limit=4 * 2**20)  # the same tree fits a larger limit


def test_tar_failure_is_a_clear_error(build_dir, tmp_path, monkeypatch):
    missing = tmp_path / "vanished"  # as if a file went away between listing and tar
    monkeypatch.setattr(slug_module, "_tar_command", lambda _dir, _owner, _directory: ["tar", "--create", "--file=-", str(missing)])
    with pytest.raises(slug_module.SlugError, match="(?s)tar of .* failed: .*vanished: Cannot stat"):
        make_slug(build_dir, tmp_path / "slug.tgz", size_limit=LIMIT)
    assert list(tmp_path.glob("slug.tgz*")) == []


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(st.binary(max_size=3000), max_size=12), block=st.integers(16, 2048))
def test_block_deflate_is_one_valid_gzip(pieces, block):
    """Any split of any stream into any block size joins into a gzip that gunzip reads back."""
    data = b"".join(pieces)
    old = slug_module.BLOCK
    slug_module.BLOCK = block
    try:
        out = io.BytesIO()
        with ThreadPoolExecutor(2) as pool:
            writer = slug_module._LayerWriter(out, pool, 2, LIMIT)
            for piece in pieces:
                writer.write(piece)
            writer.finish()
    finally:
        slug_module.BLOCK = old
    compressed = out.getvalue()
    assert gzip.decompress(compressed) == data
    assert zlib.decompress(compressed, 31) == data
    assert writer.tar_hash.hexdigest() == hashlib.sha256(data).hexdigest()
    assert writer.gz_hash.hexdigest() == hashlib.sha256(compressed).hexdigest()
    assert writer.size == len(compressed)


def test_local_store_round_trip(build_dir, tmp_path):
    slug = make_slug(build_dir, tmp_path / "slug.tgz", size_limit=LIMIT)
    store: SlugStore = LocalSlugStore(tmp_path / "slugs")
    key = store.put("myapp", "0b4e-build", slug.path)
    assert key == "myapp/0b4e-build.tgz"
    assert store.path_of(key) == tmp_path / "slugs" / "myapp" / "0b4e-build.tgz"
    with store.open(key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == slug.digest.removeprefix("sha256:")
    assert slug.path.exists()  # the caller still uploads it as a layer
    assert [p.name for p in (tmp_path / "slugs" / "myapp").iterdir()] == ["0b4e-build.tgz"]

    other = tmp_path / "other.tgz"
    other.write_bytes(b"second")
    assert store.put("myapp", "0b4e-build", other) == key  # a retried build replaces it whole
    with store.open(key) as f:
        assert f.read() == b"second"

    store.delete(key)
    store.delete(key)  # gone already: fine
    with pytest.raises(FileNotFoundError):
        store.open(key)
    store.put("myapp", "b2", other)
    store.delete_app("myapp")
    assert not (tmp_path / "slugs" / "myapp").exists()


@pytest.mark.parametrize("app,build_id", [("..", "b"), ("a/b", "b"), ("app", "../x"), ("", "b"), ("app", "")])
def test_local_store_refuses_paths_outside_its_root(tmp_path, app, build_id):
    source = tmp_path / "s.tgz"
    source.write_bytes(b"x")
    with pytest.raises(ValueError):
        LocalSlugStore(tmp_path / "slugs").put(app, build_id, source)
    with pytest.raises(ValueError):
        LocalSlugStore(tmp_path / "slugs").open("../../etc/passwd")
