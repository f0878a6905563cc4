"""Build an app image from the Dockerfile in a build's source and push it to the registry: rootless
buildah (`buildah.py`) in a sandbox of the build's own (`sandbox.py`), on the app's image store."""

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import docker

from paas.builder.buildah import Store
from paas.builder.cache import app_cache
from paas.builder.errors import BuildFailed
from paas.builder.job import BuildResult, Job
from paas.builder.procfile import ProcfileError, parse_procfile
from paas.builder.registry import has_manifest
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
    dockerfile = (source_dir / "Dockerfile").read_text(errors="replace")
    check_instructions(dockerfile)
    bases = {stack: ensure_base(settings, client, stack, emit) for stack in stacks_named(dockerfile, job.stack)}
    repository = f"{settings.registry}/{job.app}"
    with app_cache(settings, job, "dockerfile", emit) as path:
        built = BuiltImages(path.parent / f"{path.name}.built")  # beside the store: the platform's, not the build user's
        key = built.key(job.tree, bases)
        emit("-----> Building image from Dockerfile")
        if (image := built.get(key)) and has_manifest(settings.registry, image, settings.registry_auth("builder")):
            emit(f"       The same files on the same stack were built before: {image}")
            return BuildResult(image=image, process_types=process_types, buildpacks=["dockerfile"])
        store = Store.for_app(settings, path)
        store.prepare()
        with sandboxes.sandbox() as box:
            image_id = store.build(source_dir, box, emit)
        emit("-----> Pushing image to the registry")
        image = f"{repository}@{store.push(image_id, f'{repository}:{job.build_id}')}"
        built.put(key, image)
    emit(f"       {image}")
    return BuildResult(image=image, process_types=process_types, buildpacks=["dockerfile"])


class BuiltImages:
    """The images the app's last builds made, by what they were built from (the git tree and the
    stacks' digests). The same again is the same image: buildah's layer cache would give exactly
    that image back (the files' times are the same, zero, in every unpacked tree), so it is used
    without building. Kept with the layer cache: a purge drops both."""

    KEEP = 20

    def __init__(self, path: Path):
        self.path = path

    @staticmethod
    def key(tree: str | None, bases: dict[str, str]) -> str | None:
        if tree is None:  # a source tarball: nothing tells two apart cheaply
            return None
        return hashlib.sha256(json.dumps({"tree": tree, "bases": bases}, sort_keys=True).encode()).hexdigest()

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def get(self, key: str | None) -> str | None:
        return self._read().get(key) if key else None

    def put(self, key: str | None, image: str) -> None:
        if key is None:
            return
        images = {k: v for k, v in self._read().items() if k != key}
        images[key] = image
        self.path.write_text(json.dumps(dict(list(images.items())[-self.KEEP:])))


def instructions(text: str) -> Iterator[tuple[int, str]]:
    """Each instruction with the line it starts on, its continued lines joined, as Docker reads
    them: parser directives first, comments and blank lines skipped (inside an instruction too)."""
    lines = text.removeprefix("\ufeff").split("\n")  # Docker's lines: not splitlines(), which breaks at U+2028 too
    escape = "\\"
    for line in lines:  # parser directives come first, before any instruction or other comment
        if not (match := ESCAPE_DIRECTIVE.match(line.strip())) and not re.match(r"#\s*\w+\s*=", line.strip()):
            break
        if match:
            escape = match.group(1)
    start, parts = 0, []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not parts:
            start = number
        continued = stripped.endswith(escape)
        parts.append(stripped.removesuffix(escape) if continued else stripped)
        if not continued:
            yield start, " ".join(parts)
            parts = []
    if parts:
        yield start, " ".join(parts)


def check_instructions(text: str) -> None:
    """Each instruction is one Docker knows (buildah says only "no FROM statement found" of a
    `FORM`), and no RUN mounts anything but a tmpfs: buildah 1.28's bind and cache mounts can
    reach outside the build (a cache is shared by every app's builds, and CVE-2024-1753 and
    CVE-2024-9675 mount host paths)."""
    for number, instruction in instructions(text):
        word, _, rest = instruction.partition(" ")
        if word.upper() == "ONBUILD":
            word, _, rest = rest.strip().partition(" ")
            if not word:
                raise BuildFailed(f"Dockerfile line {number}: ONBUILD needs an instruction after it")
        if word.upper() not in INSTRUCTIONS:
            raise BuildFailed(f"Dockerfile line {number}: unknown instruction {word!r}")
        if word.upper() == "RUN":
            for flag in re.findall(r"--mount=(\S+)", rest):
                options = dict(o.partition("=")[::2] for o in flag.split(","))
                kind = options.get("type", "bind")
                if kind != "tmpfs" or "from" in options:
                    raise BuildFailed(f"Dockerfile line {number}: RUN --mount=type={kind} is not available in paas builds "
                                      "(only type=tmpfs): it would reach outside the build")


def stacks_named(dockerfile: str, default: str | None) -> list[str]:
    """The platform stacks the Dockerfile builds on (`FROM paas/stack:<name>`), else the app's."""
    named = [name for name in STACK_FROM.findall(dockerfile) if name in STACKS]
    return sorted(set(named)) or [default or DEFAULT_STACK]
