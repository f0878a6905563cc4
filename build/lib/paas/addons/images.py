"""The add-on servers' images, built locally from the stack with Debian's packages.

`python -m paas.addons.images` builds them (`make up` does); Docker's layer cache makes a
rebuild of an unchanged image take about a second. Operators who prefer other images set
PAAS_ADDON_IMAGES; such an image must take the same environment as ours.
"""

import sys
from pathlib import Path

import docker
import docker.errors

from paas.settings import Settings, get_settings

IMAGES_DIR = Path(__file__).parent / "images"


def build(client: docker.DockerClient, settings: Settings, service: str) -> str:
    tag = settings.addon_images[service]
    for item in client.api.build(
        path=str(IMAGES_DIR / service), tag=tag, buildargs={"STACK": settings.stack_image},
        rm=True, forcerm=True, pull=False, decode=True,
    ):
        if "error" in item:
            raise RuntimeError(f"building {tag}: {item['error'].strip()}")
    return tag


def main() -> int:
    settings = get_settings()
    client = docker.DockerClient(base_url=settings.docker_url, timeout=900)
    try:
        for service in sorted(settings.addon_images):
            if (IMAGES_DIR / service).is_dir():
                print(f"-----> Add-on image ready: {build(client, settings, service)}", flush=True)
    except (docker.errors.DockerException, RuntimeError) as error:
        print(f" !     {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
