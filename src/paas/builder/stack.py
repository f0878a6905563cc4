"""Stacks: each stack of the catalogue is a pair of images made here from one Debian suite.

No image can be pulled on these machines, so both are made locally: debootstrap the suite once,
install the runtime libraries apps need (chroot apt-get, host network) and tar that rootfs as the
run image; install compilers, headers and uv into the same rootfs and tar it again as the build
image. Each tarball is cached in `settings.cache_dir`, so a fresh clone on the same machine only
imports them. This host's CA bundle is baked into both (containers reach PyPI and npm only
through it). The run image is pushed to the registry: app images are assembled on top of it
there. The build image stays local (build containers run on this Docker host).

Every image carries the label `paas.stack.revision`; `ensure_stack` remakes images older than
`STACK_REVISION`, so machines holding an image of an older recipe get the new one.

Run as `python -m paas.builder.stack [--local] [NAME ...]` (default: the default stack only).
`--local` makes the images on this engine only, with no registry: what the compose stack builds
its own images from (`make stack`); its worker pushes the run image to its own registry.
"""

import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
from docker.errors import APIError, ImageNotFound

from paas.builder.buildah import base_store, config_dir
from paas.builder.locks import file_lock
from paas.builder.registry import registry_client
from paas.domain.stacks import DEFAULT_STACK, STACKS, Stack
from paas.lines import Emit
from paas.settings import Settings, get_settings


# Bump whenever the package lists, the launcher, the image config or the uv version change:
# images and cached tarballs of an older revision are made again.
STACK_REVISION = 2
REVISION_LABEL = "paas.stack.revision"
UV_VERSION = "0.13.9"

CA_PATH = "/etc/ssl/certs/ca-certificates.crt"
LAUNCHER_PATH = "/usr/local/bin/paas-launch"
# The static buildpack's web server: Debian's `nginx` package is the bare server (nginx-light
# and nginx-core only add modules on top of it), the same binary path on every suite.
NGINX_PATH = "/usr/sbin/nginx"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")
HOST_APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))

# Rough cold times measured on a 2-core machine (seconds), to tell the pusher what to expect.
FIRST_BUILD_SECONDS = {"bookworm": 150, "trixie": 150, "forky": 160}

# Dockerfile instructions applied on import: tools in the image trust the baked-in CA bundle,
# and every process starts through the launcher (which sources the slug's .profile.d).
IMAGE_CHANGES = [
    f"ENV PIP_CERT={CA_PATH}",
    f"ENV SSL_CERT_FILE={CA_PATH}",
    f"ENV REQUESTS_CA_BUNDLE={CA_PATH}",
    f"ENV NODE_EXTRA_CA_CERTS={CA_PATH}",
    "ENV LANG=C.UTF-8",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    f'ENTRYPOINT ["{LAUNCHER_PATH}"]',
    'CMD ["/bin/bash"]',
    f"LABEL {REVISION_LABEL}={STACK_REVISION}",
]

# Documentation is dead weight in every app image; copyright files stay (licences).
DPKG_SLIM = """\
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/groff/*
path-exclude=/usr/share/lintian/*
"""
# Services installed into the image (nginx) must not be started by their postinst, neither in
# the chroot nor later by a Dockerfile app's apt-get.
POLICY_RC_D = "#!/bin/sh\nexit 101\n"


class StackBuildError(RuntimeError):
    """Making a stack's images failed (the message says which step and why)."""


@dataclass(frozen=True)
class StackImages:
    run: str  # local name of the run image, `paas/stack:<name>`
    build: str  # local name of the build image, `paas/stack:<name>-build`
    run_registry_ref: str  # `<registry>/paas/stack:<name>`, what app images are assembled on


def launcher_script(app_dir: str = "/app") -> str:
    """The run image's ENTRYPOINT: the slug's environment, then the command."""
    return f"""#!/bin/sh
# paas-launch COMMAND [ARG...]: every process of an app starts here. With a slug at {app_dir}:
# HOME is {app_dir}, the command runs there, after every readable {app_dir}/.profile.d/*.sh
# (in lexical order) has been sourced, as Heroku does.
if [ -d {app_dir} ]; then
    export HOME={app_dir}
    cd {app_dir} || exit 1
    for script in {app_dir}/.profile.d/*.sh; do
        if [ -f "$script" ] && [ -r "$script" ]; then
            . "$script"
        fi
    done
    unset script
fi
exec "$@"
"""


def _suite_libraries(suite: str) -> list[str]:
    """Library packages whose names differ between suites (soname bumps, the t64 transition)."""
    libssl = "libssl3" if suite == "bookworm" else "libssl3t64"
    libxml2 = "libxml2" if suite in ("bookworm", "trixie") else "libxml2-16"
    return [libssl, libxml2]


def run_packages(stack: Stack) -> list[str]:
    """What the run image installs beyond debootstrap's minbase."""
    packages = ["python3", "python3-venv", "python3-pip"]
    for version in stack.python_versions:
        packages += [f"python{version}", f"python{version}-venv"]
    if stack.node_major is not None:
        packages.append("nodejs")
    packages += [
        "ca-certificates", "tzdata", "curl", "nginx",
        "libpq5", "libjpeg62-turbo", "libxslt1.1", "libffi8", "zlib1g",
        *_suite_libraries(stack.suite),
    ]
    return list(dict.fromkeys(packages))


def build_packages(stack: Stack) -> list[str]:
    """What the build image installs on top of the run image's packages."""
    packages = ["build-essential", "pkg-config", "git", "python3-dev"]
    packages += [f"python{version}-dev" for version in stack.python_versions]
    if stack.node_major is not None:
        packages.append("npm")
    packages += [
        "libpq-dev", "libssl-dev", "libffi-dev", "libjpeg-dev", "zlib1g-dev", "libxml2-dev", "libxslt1-dev",
    ]
    return list(dict.fromkeys(packages))


def apt_sources(suite: str, mirror: str, security_mirror: str) -> str:
    """sources.list of the images: the suite with its point updates and security fixes."""
    return (
        f"deb {mirror} {suite} main\n"
        f"deb {mirror} {suite}-updates main\n"
        f"deb {security_mirror} {suite}-security main\n"
    )


def _source_entries(text: str) -> Iterator[tuple[str, list[str]]]:
    """(URI, suites) of each entry of an apt sources file, one-line or deb822 format."""
    if re.search(r"^\s*(Types|URIs)\s*:", text, re.MULTILINE | re.IGNORECASE):
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.lstrip().startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split()
        return
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()  # drop [options]
        if len(words) >= 3 and words[0] == "deb":
            yield words[1], [words[2]]


def mirrors_from_sources(texts: list[str]) -> tuple[str, str]:
    """The Debian mirror and security mirror these apt sources use (deb.debian.org if none)."""
    mirror = security = None
    for text in texts:
        for uri, suites in _source_entries(text):
            uri = uri.rstrip("/")
            if security is None and any(s.endswith("-security") for s in suites):
                security = uri
            elif mirror is None and uri.endswith("/debian"):
                mirror = uri
    return mirror or DEFAULT_MIRROR, security or DEFAULT_SECURITY_MIRROR


def host_mirrors() -> tuple[str, str]:
    texts = []
    for place in HOST_APT_SOURCES:
        files = sorted(place.glob("*.list")) + sorted(place.glob("*.sources")) if place.is_dir() else [place]
        texts += [f.read_text(errors="replace") for f in files if f.is_file()]
    return mirrors_from_sources(texts)


def debootstrap_command(suite: str, rootdir: Path, mirror: str, scripts: Path = DEBOOTSTRAP_SCRIPTS) -> list[str]:
    """This debootstrap may predate the suite (bookworm's knows no forky): sid's script fits any."""
    command = ["debootstrap", "--variant=minbase", "--include=ca-certificates", suite, str(rootdir), mirror]
    if not (scripts / suite).exists():
        command.append(str(scripts / "sid"))
    return command


def revision_of(labels: dict[str, str] | None) -> int:
    try:
        return int((labels or {}).get(REVISION_LABEL, "0"))
    except ValueError:
        return 0


def is_current(revision: int) -> bool:
    """A newer revision (made by a newer checkout on this machine) is good enough too."""
    return revision >= STACK_REVISION


def in_registry(repo_digests: list[str], registry_ref: str, digest: str | None) -> bool:
    """Is `digest` (what the registry's tag points at) the one this local image was pushed as?"""
    repository = registry_ref.rpartition(":")[0]
    return digest is not None and f"{repository}@{digest}" in repo_digests


def split_image(image: str) -> tuple[str, str]:
    """`paas/stack:bookworm` -> (`paas/stack`, `bookworm`)."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return image, "latest"
    return repository, tag


# --- the cache -------------------------------------------------------------------------------

def tarball_path(cache_dir: Path, name: str, kind: str) -> Path:
    return cache_dir / f"stack-{name}-{kind}.tar"


def _revision_file(tarball: Path) -> Path:
    return tarball.with_name(tarball.name + ".revision")


def tarball_current(tarball: Path) -> bool:
    marker = _revision_file(tarball)
    if not tarball.exists() or not marker.exists():
        return False
    try:
        return is_current(int(marker.read_text().strip()))
    except ValueError:
        return False


# --- making the rootfs -----------------------------------------------------------------------

def _run(what: str, command: list[str], **kwargs) -> None:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise StackBuildError(f"{what} failed (exit code {result.returncode}):\n{tail}")


def _chroot(what: str, rootdir: Path, *command: str) -> None:
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8", "HOME": "/root",
    }
    _run(what, ["chroot", str(rootdir), *command], env=env)


def _unmount_below(rootdir: Path) -> None:
    """An interrupted debootstrap leaves /proc and /sys mounted in its target: never delete through them."""
    prefix = str(rootdir.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mountpoint in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], check=False)


def remove_rootfs(rootdir: Path) -> None:
    if rootdir.exists():
        _unmount_below(rootdir)
        shutil.rmtree(rootdir, ignore_errors=True)


# Testing suites' Release files carry a Valid-Until date a few days out; a mirror snapshot (as
# these machines reach) is older than that, and apt would refuse it. Signatures are still checked.
APT_OPTIONS = ("-o", "Acquire::Check-Valid-Until=false")


def _apt_install(rootdir: Path, packages: list[str]) -> None:
    _chroot("apt-get update", rootdir, "apt-get", *APT_OPTIONS, "-q", "update")
    _chroot("apt-get upgrade", rootdir, "apt-get", *APT_OPTIONS, "-q", "-y", "upgrade")
    _chroot(
        f"apt-get install {' '.join(packages)}", rootdir,
        "apt-get", *APT_OPTIONS, "-q", "-y", "--no-install-recommends", "install", *packages,
    )


def _finish_rootfs(rootdir: Path, ca_bundle: Path) -> None:
    """What both images need after apt has run: this host's CA bundle, no apt lists or caches."""
    # After apt: the ca-certificates postinst regenerates the bundle from Debian's list.
    shutil.copyfile(ca_bundle, rootdir / CA_PATH.lstrip("/"))
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                    "var/cache/debconf/*-old", "var/log/apt/*", "var/log/*.log", "root/.cache"):
        for path in rootdir.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_file() or path.is_symlink():
                path.unlink()
    # Docker provides these at run time; the host's own must not end up in images.
    for name in ("etc/resolv.conf", "etc/hostname"):
        (rootdir / name).unlink(missing_ok=True)
        (rootdir / name).touch()


def make_run_rootfs(stack: Stack, rootdir: Path, ca_bundle: Path, mirrors: tuple[str, str], emit: Emit) -> None:
    """debootstrap the suite and install the run packages and the launcher into `rootdir`."""
    remove_rootfs(rootdir)  # a half-finished one from an interrupted run would make debootstrap fail
    started = time.monotonic()
    _run(f"debootstrap {stack.suite}", debootstrap_command(stack.suite, rootdir, mirrors[0]))
    emit(f"       debootstrap {stack.suite}: {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    (rootdir / "etc/dpkg/dpkg.cfg.d/paas-slim").write_text(DPKG_SLIM)
    policy = rootdir / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    (rootdir / "etc/resolv.conf").unlink(missing_ok=True)  # apt in the chroot uses the host's DNS
    shutil.copyfile("/etc/resolv.conf", rootdir / "etc/resolv.conf")
    (rootdir / "etc/apt/sources.list").write_text(apt_sources(stack.suite, *mirrors))
    _apt_install(rootdir, run_packages(stack))
    launcher = rootdir / LAUNCHER_PATH.lstrip("/")
    launcher.parent.mkdir(parents=True, exist_ok=True)
    launcher.write_text(launcher_script())
    launcher.chmod(0o755)
    emit(f"       runtime packages: {time.monotonic() - started:.0f} s")


def uv_binaries(wheel: Path, bindir: Path) -> list[Path]:
    """Take uv (and uvx) out of the uv wheel from PyPI: static binaries, nothing else needed."""
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if re.fullmatch(r"uv-[^/]+\.data/scripts/uvx?", member):
                target = bindir / Path(member).name
                target.write_bytes(archive.read(member))
                target.chmod(0o755)
                written.append(target)
    if not any(p.name == "uv" for p in written):
        raise StackBuildError(f"{wheel.name} has no uv binary")
    return written


def fetch_uv_wheel(cache_dir: Path) -> Path:
    wheels = cache_dir / "wheels"
    found = sorted(wheels.glob(f"uv-{UV_VERSION}-*.whl"))
    if not found:
        _run(f"pip download uv=={UV_VERSION}", [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary", ":all:", "-d", str(wheels), f"uv=={UV_VERSION}",
        ])
        found = sorted(wheels.glob(f"uv-{UV_VERSION}-*.whl"))
    if not found:
        raise StackBuildError(f"pip download left no uv {UV_VERSION} wheel in {wheels}")
    return found[0]


def make_build_rootfs(stack: Stack, rootdir: Path, uv_wheel: Path, emit: Emit) -> None:
    """Add compilers, headers and uv to a finished run rootfs."""
    started = time.monotonic()
    shutil.copyfile("/etc/resolv.conf", rootdir / "etc/resolv.conf")
    _apt_install(rootdir, build_packages(stack))
    uv_binaries(uv_wheel, rootdir / "usr/local/bin")
    emit(f"       build packages and uv {UV_VERSION}: {time.monotonic() - started:.0f} s")


def write_tarball(rootdir: Path, tarball: Path) -> None:
    """Tar the rootfs under a temporary name, so a cut-off run leaves no bad cache behind."""
    partial = tarball.with_name(tarball.name + ".partial")
    _run(f"tar of {rootdir}", ["tar", "-C", str(rootdir), "--numeric-owner", "-cf", str(partial), "."])
    partial.rename(tarball)
    _revision_file(tarball).write_text(f"{STACK_REVISION}\n")


def make_tarballs(settings: Settings, stack: Stack, emit: Emit, need_run: bool = True) -> None:
    """(Re)make the cached rootfs tarballs of a stack: the run one unless it is current, then the build one."""
    cache = settings.cache_dir
    rootdir = cache / f"stack-{stack.name}.rootfs"
    run_tar, build_tar = tarball_path(cache, stack.name, "run"), tarball_path(cache, stack.name, "build")
    try:
        if need_run or not tarball_current(run_tar):
            make_run_rootfs(stack, rootdir, settings.build_ca_bundle, host_mirrors(), emit)
            _finish_rootfs(rootdir, settings.build_ca_bundle)
            write_tarball(rootdir, run_tar)
        else:
            remove_rootfs(rootdir)
            rootdir.mkdir()
            _run(f"untar {run_tar}", ["tar", "-C", str(rootdir), "--numeric-owner", "-xf", str(run_tar)])
        make_build_rootfs(stack, rootdir, fetch_uv_wheel(cache), emit)
        _finish_rootfs(rootdir, settings.build_ca_bundle)
        write_tarball(rootdir, build_tar)
    finally:
        remove_rootfs(rootdir)
    # The single-image cache of stack revision 1: nothing reads it any more.
    (cache / f"stack-{stack.name}.tar").unlink(missing_ok=True)


# --- images and the registry -----------------------------------------------------------------

def local_revision(client: docker.DockerClient, image: str) -> int | None:
    """The revision label of a local image, None when there is no such image."""
    try:
        return revision_of(client.images.get(image).labels)
    except ImageNotFound:
        return None


def image_current(client: docker.DockerClient, image: str) -> bool:
    revision = local_revision(client, image)
    return revision is not None and is_current(revision)


def import_tarball(client: docker.DockerClient, tarball: Path, image: str, emit: Emit) -> None:
    started = time.monotonic()
    repository, tag = split_image(image)
    client.api.import_image(src=str(tarball), repository=repository, tag=tag, changes=IMAGE_CHANGES)
    if not image_current(client, image):
        raise StackBuildError(f"docker import of {tarball} did not produce {image}")
    size = client.images.get(image).attrs["Size"] / 1e6
    emit(f"       imported {image} ({size:.0f} MB) in {time.monotonic() - started:.0f} s")


def registry_digest(registry: str, registry_ref: str, auth: tuple[str, str] | None = None) -> str | None:
    """The digest the registry's tag points at (None: no such tag)."""
    repository, tag = split_image(registry_ref.removeprefix(f"{registry}/"))
    with registry_client(auth, timeout=10) as client:
        response = client.head(f"http://{registry}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_V2})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.headers.get("Docker-Content-Digest")


def registry_current(client: docker.DockerClient, images: StackImages, registry: str, auth: tuple[str, str] | None = None) -> bool:
    try:
        pushed = client.images.get(images.run).attrs.get("RepoDigests") or []
    except ImageNotFound:
        return False
    return in_registry(pushed, images.run_registry_ref, registry_digest(registry, images.run_registry_ref, auth))


def docker_auth(auth: tuple[str, str] | None) -> dict | None:
    return {"username": auth[0], "password": auth[1]} if auth else None


def push_run_image(client: docker.DockerClient, images: StackImages, registry: str, emit: Emit,
                   auth: tuple[str, str] | None = None) -> None:
    emit(f"-----> Pushing {images.run_registry_ref} (the first push takes about 30 s)")
    started = time.monotonic()
    repository, tag = split_image(images.run_registry_ref)
    client.images.get(images.run).tag(repository, tag)
    for line in client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=docker_auth(auth)):
        if "error" in line:
            raise StackBuildError(f"push of {images.run_registry_ref} failed: {line['error']}")
    if not registry_current(client, images, registry, auth):
        raise StackBuildError(f"push of {images.run_registry_ref} finished but the registry does not have it")
    emit(f"       pushed in {time.monotonic() - started:.0f} s")


def _remove_replaced(client: docker.DockerClient, image_ids: list[str]) -> None:
    """Drop images of an older revision once nothing names them (app images built FROM one keep it)."""
    for image_id in image_ids:
        try:
            client.images.remove(image_id)
        except (APIError, ImageNotFound):
            pass


def stack_images(settings: Settings, stack: Stack) -> StackImages:
    return StackImages(stack.run_image, stack.build_image, f"{settings.registry}/{stack.run_image}")


def _stack(name: str) -> Stack:
    stack = STACKS.get(name)
    if stack is None:
        raise ValueError(f"no such stack: {name!r}; stacks: {', '.join(STACKS)}")
    return stack


def _make_local_images(settings: Settings, client: docker.DockerClient, stack: Stack, images: StackImages,
                       emit: Emit) -> list[str]:
    """Under the stack's lock: (re)make its images that are missing or stale on this engine, from the
    cached tarballs (made first if need be); returns the ids of the images they replace."""
    replaced = []
    stale = [image for image in (images.run, images.build) if not image_current(client, image)]
    if not stale:
        return replaced
    run_tar = tarball_path(settings.cache_dir, stack.name, "run")
    build_tar = tarball_path(settings.cache_dir, stack.name, "build")
    if not (tarball_current(run_tar) and tarball_current(build_tar)):
        old = local_revision(client, images.run)
        why = "first use" if old is None else f"revision {old} -> {STACK_REVISION}"
        emit(f"-----> Building stack {stack.name} ({why}, about {FIRST_BUILD_SECONDS.get(stack.name, 180)} s)")
        make_tarballs(settings, stack, emit, need_run=not tarball_current(run_tar))
    else:
        emit(f"-----> Importing stack {stack.name} from {settings.cache_dir}")
    for image, tarball in ((images.run, run_tar), (images.build, build_tar)):
        if image in stale:
            try:
                replaced.append(client.images.get(image).id)
            except ImageNotFound:
                pass
            import_tarball(client, tarball, image, emit)
    return replaced


def _stack_lock(settings: Settings, name: str, emit: Emit):
    return file_lock(settings.cache_dir / f"stack-{name}.lock",
                     lambda: emit(f"-----> Waiting for stack {name} (another build is making it)"))


def ensure_local_stack(settings: Settings, client: docker.DockerClient, name: str, emit: Emit) -> StackImages:
    """Make sure the stack's run and build images exist on this engine at the current revision;
    no registry is needed (the compose stack's images are built from these)."""
    stack = _stack(name)
    images = stack_images(settings, stack)
    if image_current(client, images.run) and image_current(client, images.build):
        return images
    with _stack_lock(settings, name, emit):
        _remove_replaced(client, _make_local_images(settings, client, stack, images, emit))
    return images


def ensure_stack(settings: Settings, client: docker.DockerClient, name: str, emit: Emit) -> StackImages:
    """Make sure the stack's run and build images exist locally at the current revision and the
    run image is in the registry. Idempotent; concurrent callers wait for each other."""
    stack = _stack(name)
    images = stack_images(settings, stack)
    ready = image_current(client, images.run) and image_current(client, images.build)
    auth = settings.registry_auth("builder")
    if ready and registry_current(client, images, settings.registry, auth):
        return images  # the usual case: no lock, a few milliseconds
    with _stack_lock(settings, name, emit):
        replaced = _make_local_images(settings, client, stack, images, emit)
        if not registry_current(client, images, settings.registry, auth):
            push_run_image(client, images, settings.registry, emit, auth)
        _remove_replaced(client, replaced)
    return images


def ensure_base(settings: Settings, client: docker.DockerClient, name: str, emit: Emit) -> str:
    """The stack's run image in the Dockerfile builds' base store, as in the registry (its layers
    then are the registry's: pushing an app's image sends only the app's own layers); returns its
    digest. An older revision stays there: app stores' cached layers may be built on it."""
    images = stack_images(settings, STACKS[name])
    auth = settings.registry_auth("builder")
    marker = config_dir(settings) / f"base-{name}.digest"  # the platform's: the build user owns the store
    # The usual case, one request: the registry's image, of this revision of the stacks, is the one
    # the base store holds (a stack rebuilt since is pushed again, so differs: then it is redone).
    digest = registry_digest(settings.registry, images.run_registry_ref, auth)
    if digest is not None and marker.is_file() and marker.read_text() == f"{STACK_REVISION} {digest}":
        return digest
    images = ensure_stack(settings, client, name, emit)
    digest = registry_digest(settings.registry, images.run_registry_ref, auth)
    if digest is None:
        raise StackBuildError(f"the registry lost {images.run_registry_ref} just after it was pushed")
    waiting = lambda: emit(f"-----> Waiting for stack {name} (another build is preparing it)")  # noqa: E731
    with file_lock(settings.build_stores / "base.lock", waiting):
        if marker.is_file() and marker.read_text() == f"{STACK_REVISION} {digest}":
            return digest
        emit(f"-----> Preparing stack {name} for Dockerfile builds (once per stack revision)")
        base = base_store(settings)
        base.prepare()
        with base.registry_login() as login:
            base.run("pull", *login, f"docker://{images.run_registry_ref}")
        base.run("tag", images.run_registry_ref, images.run)
        marker.write_text(f"{STACK_REVISION} {digest}")
    return digest


def _print(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    local = "--local" in args
    names = [a for a in args if a != "--local"] or [DEFAULT_STACK]
    unknown = [n for n in names if n not in STACKS]
    if unknown:
        print(f" !     unknown stack(s): {', '.join(unknown)}; stacks: {', '.join(STACKS)}", file=sys.stderr)
        return 2
    settings = get_settings()
    client = docker.DockerClient(base_url=settings.docker_url, timeout=600)
    try:
        for name in names:
            if local:
                images = ensure_local_stack(settings, client, name, _print)
                _print(f"-----> Stack {name} ready on this engine: {images.run}, {images.build}")
                continue
            images = ensure_stack(settings, client, name, _print)
            ensure_base(settings, client, name, _print)
            _print(f"-----> Stack {name} ready: {images.run} ({images.run_registry_ref}), {images.build}")
    except (docker.errors.DockerException, httpx.HTTPError, RuntimeError, OSError) as exc:  # RuntimeError: StackBuildError, buildah
        print(f" !     {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
