"""The stack image, for real: needs the services up (scripts/services.sh up).

The first run on a machine builds the image (debootstrap, about a minute); later runs
find it present and take a few seconds.
"""

import docker
import httpx
import pytest

from paas.builder import stack
from paas.settings import get_settings


@pytest.fixture(scope="module")
def settings():
    return get_settings()


@pytest.fixture(scope="module")
def client(settings):
    try:
        client = docker.DockerClient(base_url=settings.docker_url)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"docker is not reachable at {settings.docker_url}: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def stack_image(settings, client):
    return stack.ensure(settings, client)


def test_ensure_leaves_the_image_locally(client, stack_image, settings):
    assert stack_image == settings.stack_image
    assert stack.image_exists(client, stack_image)


def test_image_runs_python_3_11_with_ssl(client, stack_image):
    output = client.containers.run(
        stack_image,
        ["python3", "-c", "import ssl,sys; print(sys.version)"],
        remove=True,
        network_disabled=True,
    )
    assert output.decode().startswith("3.11.")


def test_image_trusts_the_baked_in_ca_bundle(client, stack_image):
    env = client.images.get(stack_image).attrs["Config"]["Env"]
    assert f"PIP_CERT={stack.CA_PATH}" in env
    assert f"SSL_CERT_FILE={stack.CA_PATH}" in env
    assert "LANG=C.UTF-8" in env


def test_registry_has_the_stack_tag(settings, stack_image):
    repository, tag = stack.split_image(stack_image)
    response = httpx.get(
        f"http://{settings.registry}/v2/{repository}/tags/list", timeout=10
    )
    assert response.status_code == 200
    assert tag in response.json()["tags"]
    assert stack.registry_has(settings)
