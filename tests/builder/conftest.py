"""The builder's tests that use the real Docker engine share its client."""

import docker
import pytest

from paas.settings import get_settings


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def engine(settings):
    """The Docker engine `make up` started (the tests that need it are skipped without one)."""
    try:
        client = docker.DockerClient(base_url=settings.docker_url)
        client.ping()
    except docker.errors.DockerException as error:
        pytest.skip(f"docker is not reachable at {settings.docker_url}: {error}")
    yield client
    client.close()
