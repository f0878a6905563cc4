"""Custom buildpacks: fetched on the build host and cached.

A URL whose path ends in `.tgz` / `.tar.gz` is a tarball, anything else a git repository, with
an optional `#ref` (branch, tag or commit); only http(s) either way. Both go through the outbound
rule (paas.outbound): no loopback, private or link-local address unless `PAAS_OUTBOUND_ALLOW`
allows it. Under `cache_dir/<hash of the URL>/`:

- `repo.git`: a mirror of the repository; every build fetches it again (cheap when nothing
  changed), so a branch always builds its newest commit;
- `meta.json`: the tarball's ETag / Last-Modified; the next build asks the server and reuses the
  copy on `304 Not Modified`, otherwise downloads it again;
- `v-<commit or sha256 of the tarball>/`: the buildpack itself, never changed once made (a build may
  be copying it into its container meanwhile). It is extracted aside and renamed into place, and
  a lock file keeps two workers from fetching the same URL at once.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import httpx

from paas import outbound
from paas.builder import source
from paas.builder.buildpacks import BUILTIN, BuildError, Buildpack, builtin
from paas.builder.errors import BuildFailed
from paas.builder.locks import file_lock
from paas.lines import Emit
from paas.settings import Settings

TARBALL_SUFFIXES = (".tgz", ".tar.gz")
MAX_TARBALL = 200 * 2**20
UNPACKED = source.Limits(size=2**30, members=50_000)  # a buildpack unpacked
GIT_TIMEOUT = 300.0
STALE_AFTER = 3600.0  # old versions are removed once no build can still be copying them


def resolve_buildpack(settings: Settings, name_or_url: str, cache_dir: Path, emit: Emit) -> Buildpack:
    """A built-in's name (`python`, `heroku/python`, ...) or a URL to fetch."""
    entry = name_or_url.strip()
    short = entry.removeprefix("heroku/")
    if short in BUILTIN:
        return builtin(short)
    # Named (in messages and in the build's record) without any password the URL carries.
    return Buildpack(redact(entry), fetch_buildpack(settings, entry, cache_dir, emit))


def fetch_buildpack(settings: Settings, url: str, cache_dir: Path, emit: Emit) -> Path:
    shown = redact(url)
    emit(f"-----> Fetching buildpack {shown}")
    started = time.monotonic()
    root = cache_dir / hashlib.sha256(url.encode()).hexdigest()[:24]
    root.mkdir(parents=True, exist_ok=True)
    try:
        with file_lock(root / "lock"):
            base = url.split("#", 1)[0]
            if urlsplit(base).path.endswith(TARBALL_SUFFIXES):
                path, what = _fetch_tarball(settings, url, root)
            else:
                path, what = _fetch_git(settings, url, root)
            _validate(path)
            _drop_stale(root, keep=path)
    except (BuildError, outbound.OutboundError) as error:
        raise BuildError(f"could not fetch buildpack {shown}: {error}") from None
    except OSError as error:
        raise BuildError(f"could not fetch buildpack {shown}: {error}") from None
    emit(f"       {what} ({time.monotonic() - started:.1f} s)")
    return path


def redact(url: str) -> str:
    """The URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


# --- git -----------------------------------------------------------------------------------

PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {
        **{name: value for name, value in os.environ.items() if name not in PROXY_VARIABLES},
        "GIT_TERMINAL_PROMPT": "0",  # a private repository fails instead of waiting for a password
        "GIT_ASKPASS": "/bin/false",
        "GIT_ALLOW_PROTOCOL": "http:https",  # never `ext::`, ssh or `file://` (the host's own files)
    }
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"git {args[0]} took over {GIT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        raise BuildError(redact(lines[-1]) if lines else f"git {args[0]} exited with {done.returncode}")
    return done.stdout


def _pinned(settings: Settings, remote: str) -> tuple[str, list[str]]:
    """The remote as git is given it (as httpx spelled it when it was checked, so that git reads
    the same host) and git's options: to the checked address only, no redirect."""
    destination = outbound.check_url(settings, remote)
    options = ["-c", "http.followRedirects=false"]  # redirects and http-alternates both
    if destination.host != destination.address:  # a name: curl would look it up again
        address = f"[{destination.address}]" if ":" in destination.address else destination.address
        options += ["-c", f"http.curloptResolve={destination.host}:{destination.port}:{address}"]
    return str(httpx.URL(remote)), options


def _fetch_git(settings: Settings, url: str, root: Path) -> tuple[Path, str]:
    remote, _, ref = url.partition("#")
    repo = root / "repo.git"
    remote, network = _pinned(settings, remote)
    if (repo / "HEAD").exists():
        _git("remote", "set-url", "origin", remote, cwd=repo)
        _git(*network, "fetch", "--prune", "--quiet", "origin", cwd=repo)
    else:
        shutil.rmtree(repo, ignore_errors=True)  # a clone cut off half way
        partial = root / f"repo.{os.getpid()}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _git(*network, "clone", "--mirror", "--quiet", "--", remote, str(partial))
        partial.rename(repo)
    wanted = ref or "HEAD"
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}", cwd=repo).strip()
    except BuildError:
        raise BuildError(f"no branch, tag or commit {wanted!r} in the repository") from None
    target = root / f"v-{commit}"
    if not target.is_dir():
        with subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=repo, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as archive:
            assert archive.stdout is not None
            _install(archive.stdout, target, strip_top=False)  # streamed: never whole in memory
            if archive.wait(GIT_TIMEOUT) != 0:
                raise BuildError(f"git archive failed: {archive.stderr.read().decode(errors='replace').strip()}")
    return target, f"{ref or 'default branch'} at commit {commit[:12]}"


# --- tarballs ------------------------------------------------------------------------------

def _fetch_tarball(settings: Settings, url: str, root: Path) -> tuple[Path, str]:
    meta_path = root / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    current = root / meta["version"] if meta.get("version") else None
    headers = {}
    if current is not None and current.is_dir():
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    with outbound.stream(settings, url, timeout=60, headers=headers) as response:
        if response.status_code == 304 and current is not None:
            return current, "not modified since the last build; using the cached copy"
        if response.status_code != 200:
            raise BuildError(f"HTTP {response.status_code} {response.reason_phrase}")
        digest, size = hashlib.sha256(), 0
        with tempfile.TemporaryFile(dir=root) as data:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_TARBALL:
                    raise BuildError(f"the tarball is over {MAX_TARBALL // 2**20} MB")
                digest.update(chunk)
                data.write(chunk)
            etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
            version = f"v-{digest.hexdigest()[:32]}"
            target = root / version
            if not target.is_dir():
                data.seek(0)
                _install(data, target, strip_top=True)
    _write_atomically(meta_path, json.dumps({"version": version, "etag": etag, "last_modified": last_modified}))
    return target, f"downloaded {size / 1024:.0f} KB"


# --- unpacking and checking ----------------------------------------------------------------

def _install(archive: BinaryIO, target: Path, strip_top: bool) -> None:
    """Unpack (as safely as a build's source) into a fresh directory beside `target`, then rename
    it into place."""
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        try:
            source.from_tarball(archive, scratch, UNPACKED, "the buildpack", strip_top=strip_top)
        except BuildFailed as error:
            raise BuildError(str(error)) from None
        try:
            scratch.rename(target)
        except OSError:
            if not target.is_dir():  # else another worker made the same version first: use theirs
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _validate(path: Path) -> None:
    for script in ("detect", "compile"):
        if not (path / "bin" / script).is_file():
            raise BuildError(f"it has no bin/{script} (a buildpack has bin/detect, bin/compile and bin/release)")
    for script in (path / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            script.chmod(script.stat().st_mode | 0o755)  # tarballs made on other systems lose the bits


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.rename(path)


def _drop_stale(root: Path, keep: Path) -> None:
    now = time.time()
    for old in root.glob("v-*"):
        if old != keep and now - old.stat().st_mtime > STALE_AFTER:
            shutil.rmtree(old, ignore_errors=True)
