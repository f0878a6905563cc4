"""The stack: the base image every app image is built FROM.

No image can be pulled on these machines, so the stack is made here: a debootstrap'ed
Debian rootfs with Python, with this host's CA bundle baked in (containers reach PyPI
only through it). The rootfs tarball is cached in `settings.cache_dir` so that a fresh
clone on the same machine skips the 75 s debootstrap. The image is then pushed once to
the local registry, so that app images built FROM it push only their own small layers.

Run as `python -m paas.builder.stack`.
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import httpx
from docker.errors import ImageNotFound

from paas.settings import Settings, get_settings

CA_PATH = "/etc/ssl/certs/ca-certificates.crt"
PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"

# Dockerfile instructions applied on import: tools in the image trust the baked-in CA bundle.
IMAGE_CHANGES = [
    f"ENV PIP_CERT={CA_PATH}",
    f"ENV SSL_CERT_FILE={CA_PATH}",
    f"ENV REQUESTS_CA_BUNDLE={CA_PATH}",
    f"ENV NODE_EXTRA_CA_CERTS={CA_PATH}",
    "ENV LANG=C.UTF-8",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    'CMD ["/bin/bash"]',
]


def step(message: str) -> None:
    print(f"-----> {message}", flush=True)


def detail(message: str) -> None:
    print(f"       {message}", flush=True)


def split_image(image: str) -> tuple[str, str]:
    """`paas/stack:bookworm` -> (`paas/stack`, `bookworm`)."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return image, "latest"
    return repository, tag


def suite(settings: Settings) -> str:
    """The Debian suite is the stack image's tag (bookworm by default)."""
    return split_image(settings.stack_image)[1]


def cache_tarball(settings: Settings) -> Path:
    return settings.cache_dir / f"stack-{suite(settings)}.tar"


def registry_image(settings: Settings) -> str:
    return f"{settings.registry}/{settings.stack_image}"


def image_exists(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except ImageNotFound:
        return False
    return True


def build_rootfs(settings: Settings, rootdir: Path) -> None:
    """debootstrap a minimal Debian with Python, trusting this host's CA bundle."""
    # A half-finished rootfs from an interrupted run would make debootstrap fail.
    shutil.rmtree(rootdir, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", suite(settings), str(rootdir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.copyfile(settings.build_ca_bundle, rootdir / CA_PATH.lstrip("/"))
    # Downloaded .debs and package lists are dead weight in every app image.
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*"):
        for path in rootdir.glob(pattern):
            if path.is_file():
                path.unlink()


def write_tarball(rootdir: Path, tarball: Path) -> None:
    """Tar the rootfs; written under a temporary name so a cut-off run leaves no bad cache."""
    partial = tarball.with_suffix(".tar.partial")
    subprocess.run(["tar", "-C", str(rootdir), "--numeric-owner", "-cf", str(partial), "."], check=True)
    partial.rename(tarball)


def make_tarball(settings: Settings) -> Path:
    tarball = cache_tarball(settings)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    rootdir = settings.cache_dir / f"stack-{suite(settings)}.rootfs"
    step(f"Building stack image {settings.stack_image} (debootstrap, about 75 s)")
    started = time.monotonic()
    build_rootfs(settings, rootdir)
    detail(f"debootstrap done in {time.monotonic() - started:.1f} s")
    write_tarball(rootdir, tarball)
    shutil.rmtree(rootdir)
    detail(f"cached rootfs at {tarball} ({tarball.stat().st_size // 2**20} MB)")
    return tarball


def import_tarball(client: docker.DockerClient, settings: Settings, tarball: Path) -> None:
    step(f"Importing {tarball} as {settings.stack_image}")
    started = time.monotonic()
    repository, tag = split_image(settings.stack_image)
    client.api.import_image(src=str(tarball), repository=repository, tag=tag, changes=IMAGE_CHANGES)
    if not image_exists(client, settings.stack_image):
        raise RuntimeError(f"docker import of {tarball} did not produce {settings.stack_image}")
    detail(f"imported in {time.monotonic() - started:.1f} s")


def registry_has(settings: Settings) -> bool:
    repository, tag = split_image(settings.stack_image)
    url = f"http://{settings.registry}/v2/{repository}/manifests/{tag}"
    response = httpx.head(url, headers={"Accept": MANIFEST_V2}, timeout=10)
    return response.status_code == 200


def push(client: docker.DockerClient, settings: Settings) -> None:
    target = registry_image(settings)
    step(f"Pushing {target} (the first push takes about 30 s)")
    started = time.monotonic()
    repository, tag = split_image(target)
    client.images.get(settings.stack_image).tag(repository, tag)
    for line in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"push of {target} failed: {line['error']}")
    if not registry_has(settings):
        raise RuntimeError(f"push of {target} finished but the registry does not list it")
    detail(f"pushed in {time.monotonic() - started:.1f} s")


def ensure(settings: Settings | None = None, client: docker.DockerClient | None = None) -> str:
    """Make sure the stack image exists locally and in the registry; return its name."""
    settings = settings or get_settings()
    client = client or docker.DockerClient(base_url=settings.docker_url)
    if image_exists(client, settings.stack_image):
        step(f"Stack image {settings.stack_image} present")
    else:
        tarball = cache_tarball(settings)
        if tarball.exists():
            detail(f"using cached rootfs {tarball}")
        else:
            tarball = make_tarball(settings)
        import_tarball(client, settings, tarball)
    if registry_has(settings):
        step(f"Registry {settings.registry} has {settings.stack_image}")
    else:
        push(client, settings)
    return settings.stack_image


def main() -> int:
    try:
        ensure()
    except (docker.errors.DockerException, httpx.HTTPError, subprocess.CalledProcessError, RuntimeError) as exc:
        print(f" !     {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
