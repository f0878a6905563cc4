"""Build an app image from the Dockerfile in a build's source and push it to the registry: rootless
buildah (`buildah.py`) in a sandbox of the build's own (`sandbox.py`), on the app's image store."""

import re
from collections.abc import Callable
from pathlib import Path

import docker

from paas.builder.buildah import Buildah
from paas.builder.cache import app_cache_dir
from paas.builder.errors import BuildFailed
from paas.builder.job import BuildResult, Job
from paas.builder.procfile import ProcfileError, parse_procfile
from paas.builder.sandbox import Sandboxes
from paas.builder.stack import ensure_base
from paas.domain.stacks import DEFAULT_STACK, STACKS
from paas.settings import Settings

Emit = Callable[[str], None]
INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
ESCAPE_DIRECTIVE = re.compile(r"#\s*escape\s*=\s*([\\`])\s*$", re.I)
STACK_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(?:docker\.io/|localhost/)?paas/stack:([a-z0-9-]+)", re.IGNORECASE | re.MULTILINE)


def build_from_dockerfile(
    settings: Settings, client: docker.DockerClient, sandboxes: Sandboxes, job: Job, source_dir: Path, emit: Emit,
) -> BuildResult:
    # A Procfile beside the Dockerfile names the process types, each overriding CMD.
    process_types = {"web": ""}
    procfile = source_dir / "Procfile"
    if procfile.is_file():
        try:
            process_types = parse_procfile(procfile.read_text(errors="replace"))
        except ProcfileError as error:
            raise BuildFailed(f"Procfile: {error}") from None
    check_instructions((source_dir / "Dockerfile").read_text(errors="replace"))
    buildah = Buildah(settings)
    store = app_cache_dir(settings, job, "dockerfile")
    buildah.prepare(store)
    for stack in stacks_named(source_dir / "Dockerfile", job.stack):
        ensure_base(settings, client, buildah, stack, emit)
    emit("-----> Building image from Dockerfile")
    with sandboxes.sandbox() as box:
        image = buildah.build(store, source_dir, box.wrap, emit)
    emit("-----> Pushing image to the registry")
    repository = f"{settings.registry}/{job.app}"
    digest = buildah.push(store, image, f"{repository}:{job.build_id}")
    emit(f"       {repository}@{digest}")
    return BuildResult(image=f"{repository}@{digest}", process_types=process_types, buildpacks=["dockerfile"])


def check_instructions(text: str) -> None:
    """Each instruction's name is one Docker knows (buildah says only "no FROM statement found" of
    a `FORM`). Comments, blank lines and continued lines are Docker's."""
    lines = text.split("\n")  # Docker's lines; not splitlines(), which also breaks at U+2028 and the like
    escape = "\\"
    for line in lines:  # parser directives come first, before any instruction or other comment
        if not (match := ESCAPE_DIRECTIVE.match(line.strip())) and not re.match(r"#\s*\w+\s*=", line.strip()):
            break
        if match:
            escape = match.group(1)
    continued = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # inside a continued instruction too, as Docker skips them
        if not continued:
            word = stripped.split(None, 1)[0]
            if word.upper() not in INSTRUCTIONS:
                raise BuildFailed(f"Dockerfile line {number}: unknown instruction {word!r}")
        continued = stripped.endswith(escape)


def stacks_named(dockerfile: Path, default: str | None) -> list[str]:
    """The platform stacks the Dockerfile builds on (`FROM paas/stack:<name>`), else the app's."""
    named = [name for name in STACK_FROM.findall(dockerfile.read_text(errors="replace")) if name in STACKS]
    return sorted(set(named)) or [default or DEFAULT_STACK]
