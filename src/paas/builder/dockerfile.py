"""Build an app image from the Dockerfile of a pushed commit and push it to the registry."""

import io
from collections.abc import Callable, Iterable

import docker
import docker.errors
from dulwich.archive import tar_stream
from dulwich.repo import Repo

Emit = Callable[[str], None]
INDENT = "       "  # Heroku's: output under a `-----> ` step is indented to line up with it
# Docker's own bookkeeping between steps: noise to the pusher.
BOOKKEEPING = (" ---> ", "Removing intermediate container", "Successfully built", "Successfully tagged")


class BuildFailed(Exception):
    """The app's own build failed: the message is for the pusher."""


def commit_tree(repo: Repo, commit: str):
    try:
        return repo.object_store[repo.object_store[commit.encode()].tree]
    except KeyError:
        raise BuildFailed(f"commit {commit[:7]} is not in the app's repository") from None


def has_dockerfile(tree) -> bool:
    return any(entry.path == b"Dockerfile" for entry in tree.iteritems())


def source_tarball(repo: Repo, tree) -> bytes:
    """The commit's files as an uncompressed tar: the Docker build context."""
    return b"".join(tar_stream(repo.object_store, tree, mtime=0, format=""))


def lines_of(chunks: Iterable[str]) -> Iterable[str]:
    """Docker streams text in pieces that may hold several lines or half of one."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split("\n")
        yield from complete
    if pending:
        yield pending


def build_image(client: docker.DockerClient, context: bytes, tag: str, emit: Emit) -> None:
    def stream():
        try:
            for item in client.api.build(
                fileobj=io.BytesIO(context), custom_context=True, tag=tag,
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


def push_image(client: docker.DockerClient, repository: str, tag: str) -> str:
    """Push and return the image's digest in the registry (sha256:...)."""
    digest = None
    for item in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in item:
            raise RuntimeError(f"registry push failed: {item['error']}")
        digest = item.get("aux", {}).get("Digest", digest)
    if digest is None:
        raise RuntimeError("registry push reported no digest")
    return digest
