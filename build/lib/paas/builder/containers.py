"""Containers the builder makes for a build (a buildpack build's, a Dockerfile build's sandbox)."""

import docker
import docker.errors


def remove_container(client: docker.DockerClient, name: str) -> None:
    """Gone, whether it still runs, is already gone, or is being removed (auto-remove)."""
    try:
        client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if error.status_code != 409:  # 409: its removal is already under way
            raise
