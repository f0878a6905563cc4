"""Build an app image from the Dockerfile in a build's source and push it to the registry."""

from collections.abc import Callable, Iterable
from pathlib import Path

import docker
import docker.errors

from paas.builder.errors import BuildFailed

Emit = Callable[[str], None]
INDENT = "       "  # Heroku's: output under a `-----> ` step is indented to line up with it
# Docker's own bookkeeping between steps: noise to the pusher.
BOOKKEEPING = (" ---> ", "Removing intermediate container", "Successfully built", "Successfully tagged")


def lines_of(chunks: Iterable[str]) -> Iterable[str]:
    """Docker streams text in pieces that may hold several lines or half of one."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split("\n")
        yield from complete
    if pending:
        yield pending


def build_image(client: docker.DockerClient, source_dir: Path, tag: str, emit: Emit) -> None:
    def stream():
        try:
            for item in client.api.build(
                path=str(source_dir), tag=tag,
                rm=True, forcerm=True, pull=False, decode=True,
            ):
                if "error" in item:
                    raise BuildFailed(item["error"].strip())
                if "stream" in item:
                    yield item["stream"]
        except docker.errors.APIError as error:  # e.g. a Dockerfile that does not parse
            raise BuildFailed(str(error.explanation or error)) from None

    for line in lines_of(stream()):
        if line.strip() and not line.startswith(BOOKKEEPING):
            emit(INDENT + line.rstrip())


def push_image(client: docker.DockerClient, repository: str, tag: str, auth: tuple[str, str] | None = None) -> str:
    """Push and return the image's digest in the registry (sha256:...)."""
    digest = None
    for item in client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=docker_auth(auth)):
        if "error" in item:
            raise RuntimeError(f"registry push failed: {item['error']}")
        digest = item.get("aux", {}).get("Digest", digest)
    if digest is None:
        raise RuntimeError("registry push reported no digest")
    return digest


def docker_auth(auth: tuple[str, str] | None) -> dict | None:
    return {"username": auth[0], "password": auth[1]} if auth else None
