"""Build an app image from the Dockerfile in a build's source and push it to the registry: rootless
buildah (`buildah.py`) in a sandbox of the build's own (`sandbox.py`), on the app's image store."""

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from paas.builder.buildah import Store
from paas.builder.cache import app_cache
from paas.builder.errors import BuildFailed
from paas.builder.job import BuildResult, Job
from paas.builder.files import read_beneath
from paas.builder.procfile import ProcfileError, read_procfile
from paas.builder.registry import ImageConfigChanges, append_layer, has_manifest
from paas.builder.sandbox import Sandboxes
from paas.builder.slug import make_slug
from paas.builder.stack import ensure_base, stack_images
from paas.domain.stacks import DEFAULT_STACK, STACKS
from paas.lines import Emit
from paas.settings import Settings

INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
# Parser directives as BuildKit reads them: only known ones, and only before anything else.
DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")
DIRECTIVES = frozenset({"syntax", "escape", "check"})
# Any `--mount` in an instruction (a flag, or anywhere else: refused all the same), and the one
# form taken: a tmpfs with plain options, none of them a source.
MOUNT_FLAG = re.compile(r"--mount(\S*)", re.I)
TMPFS_MOUNT = re.compile(r"=type=tmpfs(,(?!from=|source=|src=)[a-z-]+=[\w./-]*)*")
# The file buildah is told to build (`-f`): it is the one checked here. A Containerfile is
# not read (buildah would prefer it to the Dockerfile if it were left to choose).
DOCKERFILE = "Dockerfile"
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
STACK_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(?:docker\.io/|localhost/)?paas/stack:([a-z0-9-]+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Assembly:
    """A Dockerfile that only copies the source into one new top-level directory and sets run
    config: nothing in it runs, so its image is the stack's plus one layer, assembled in the
    registry as a slug image is (registry.append_layer), with no buildah at all."""

    stack: str
    directory: str  # where the source goes: a new top-level directory ("app")
    config: ImageConfigChanges


# What an assembled Dockerfile may hold: plain words only (a command's JSON and shell line as
# they are: Docker puts no variables in those). Variables and quotes elsewhere, escapes and line
# continuations, heredocs, parser directives and flags all go to buildah, which reads them as
# BuildKit does.
ASSEMBLED = frozenset({"FROM", "WORKDIR", "COPY", "ENV", "LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "USER"})
STACK_IMAGE = re.compile(r"paas/stack:([a-z0-9-]+)")
NEW_DIRECTORY = re.compile(r"/([A-Za-z0-9_][A-Za-z0-9_.-]*)/?")
KEY_VALUE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)=([^\s\"'$]*)")
PORT = re.compile(r"([0-9]{1,5})(/tcp|/udp)?", re.IGNORECASE)
WORDS = re.compile(r"[ \t]+")
USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?")
# The base system's own top-level directories: a layer's entry would replace their owner and mode.
# What buildah reads beside a Dockerfile's own lines (which files COPY leaves out), and a .git it
# would copy: a source with one of them is built by buildah.
KEPT_FOR_BUILDAH = (".git", ".dockerignore", ".containerignore", "Dockerfile.dockerignore", "Dockerfile.containerignore")
SYSTEM_DIRECTORIES = frozenset({
    "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt", "proc", "root",
    "run", "sbin", "srv", "sys", "tmp", "usr", "var",
})


def assembly(text: str) -> Assembly | None:
    """The Dockerfile as an Assembly, or None: buildah builds it. Taken: `FROM paas/stack:<name>`
    once; one `COPY . <dir>` into a new top-level directory (`.` when WORKDIR names it); WORKDIR
    of that directory only; ENV and LABEL as `key=value` words; EXPOSE; USER; CMD and ENTRYPOINT
    in exec (JSON) or shell form, with Docker's rule that an ENTRYPOINT clears the base's CMD."""
    text = text.removeprefix("\ufeff")
    if "\\" in text or "<<" in text or any(DIRECTIVE.fullmatch(line.strip()) for line in text.split("\n")):
        return None
    stack = directory = workdir = None
    env: dict[str, str] = {}
    labels: dict[str, str] = {}
    ports: list[str] = []
    user = entrypoint = cmd = None
    for _number, instruction in instructions(text):
        word, _, rest = instruction.partition(" ")
        # Docker's words: separated by spaces and tabs only (Python's split() knows more spaces).
        if not word.isascii():  # upper() would make some other letters ASCII ones ("ſ" an S)
            return None
        word, words = word.upper(), WORDS.split(rest.strip(" \t")) if rest.strip(" \t") else []
        if word not in ASSEMBLED or (stack is None) != (word == "FROM"):
            return None
        if word == "FROM":
            found = STACK_IMAGE.fullmatch(" ".join(words))
            if not found or found.group(1) not in STACKS:
                return None
            stack = found.group(1)
        elif word == "WORKDIR":
            if len(words) != 1 or not (named := NEW_DIRECTORY.fullmatch(words[0])):
                return None
            workdir = named.group(1)
        elif word == "COPY":
            if directory is not None or len(words) != 2 or words[0] not in (".", "./"):
                return None
            if words[1] in (".", "./") and workdir is not None:
                directory = workdir
            elif named := NEW_DIRECTORY.fullmatch(words[1]):
                directory = named.group(1)
            else:
                return None
        elif word in ("ENV", "LABEL"):
            pairs = [KEY_VALUE.fullmatch(w) for w in words]
            if not pairs or not all(pairs):
                return None
            (env if word == "ENV" else labels).update(pair.groups() for pair in pairs)
        elif word == "EXPOSE":
            found = [PORT.fullmatch(w) for w in words]
            if not found or not all(f and 1 <= int(f.group(1)) <= 65535 for f in found):
                return None
            ports += [f"{int(f.group(1))}/{(f.group(2) or '/tcp')[1:].lower()}" for f in found]
        elif word == "USER":
            if len(words) != 1 or not USER.fullmatch(words[0]):
                return None
            user = words[0]
        else:  # CMD, ENTRYPOINT
            command = run_command(rest)
            if command is None:
                return None
            if word == "ENTRYPOINT":
                # Docker's rule: a new ENTRYPOINT drops the base's CMD, not one this Dockerfile set.
                entrypoint, cmd = command, [] if cmd is None else cmd
            else:
                cmd = command
    if directory is None or directory in SYSTEM_DIRECTORIES or workdir not in (None, directory):
        return None
    return Assembly(stack, directory, ImageConfigChanges(
        env=env, labels=labels, entrypoint=entrypoint, cmd=cmd, user=user, exposed_ports=tuple(dict.fromkeys(ports)),
        working_dir=f"/{workdir}" if workdir else None,
    ))


def run_command(text: str) -> list[str] | None:
    """CMD's or ENTRYPOINT's command: a JSON array of strings (exec form), or a shell line."""
    text = text.strip(" \t")
    if not text.startswith("["):
        return ["/bin/sh", "-c", text] if text else None
    try:
        command = json.loads(text)
    except ValueError:
        return None  # Docker would run it as a shell line: buildah reads it
    return command if isinstance(command, list) and command and all(isinstance(part, str) for part in command) else None


def build_from_dockerfile(
    settings: Settings, client: docker.DockerClient, sandboxes: Sandboxes, job: Job, source_dir: Path, emit: Emit,
) -> BuildResult:
    # A Procfile beside the Dockerfile names the process types, each overriding CMD.
    try:
        process_types = read_procfile(source_dir) or {"web": ""}
    except ProcfileError as error:
        raise BuildFailed(f"Procfile: {error}") from None
    dockerfile = read_beneath(source_dir, DOCKERFILE) or ""
    check_instructions(dockerfile)
    bases = {stack: ensure_base(settings, client, stack, emit) for stack in stacks_named(dockerfile, job.stack)}
    repository = f"{settings.registry}/{job.app}"
    # buildah would copy a .git, and leave out what an ignore file names: only it builds those.
    plan = None if any(os.path.lexists(source_dir / name) for name in KEPT_FOR_BUILDAH) else assembly(dockerfile)
    with app_cache(settings, job, "dockerfile", emit) as path:
        built = BuiltImages(path.parent / f"{path.name}.built")  # beside the store: the platform's, not the build user's
        key = built.key(job.tree, bases)
        emit("-----> Building image from Dockerfile")
        if (image := built.get(key)) and has_manifest(settings.registry, image, settings.registry_auth("builder")):
            emit(f"       The same files on the same stack were built before: {image}")
            return BuildResult(image=image, process_types=process_types, buildpacks=["dockerfile"])
        if plan is not None:
            image = assemble(settings, job, source_dir, plan, bases[plan.stack], emit)
        else:
            store = Store.for_app(settings, path)
            store.prepare()
            with sandboxes.sandbox() as box:
                for base in external_bases(dockerfile):  # their ONBUILD steps run in this build too
                    check_triggers(base, store.triggers(base, box, emit))
                image_id = store.build(source_dir, DOCKERFILE, box, emit)
            emit("-----> Pushing image to the registry")
            image = f"{repository}@{store.push(image_id, f'{repository}:{job.build_id}')}"
        built.put(key, image)
    emit(f"       {image}")
    return BuildResult(image=image, process_types=process_types, buildpacks=["dockerfile"])


def assemble(settings: Settings, job: Job, source_dir: Path, plan: Assembly, base_digest: str, emit: Emit) -> str:
    """The image of an Assembly: the stack's run image (as the registry holds it, by digest) and
    the source as one layer, root's as COPY makes it."""
    emit(f"       Nothing in it runs: the source goes into /{plan.directory} as one layer on the {plan.stack} stack")
    # The source passed the unpacked limit: compressed, it stays under twice that.
    layer = make_slug(source_dir, source_dir.parent / "layer.tgz", size_limit=2 * settings.source_unpacked_limit,
                      directory=plan.directory)
    base = f"{stack_images(settings, STACKS[plan.stack]).run_registry_ref.rpartition(':')[0]}@{base_digest}"
    return append_layer(settings.registry, base, job.app, str(job.build_id), layer, config=plan.config,
                        auth=settings.registry_auth("builder"))


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
        with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(json.dumps(dict(list(images.items())[-self.KEEP:])))


def instructions(text: str, escape: str | None = None) -> Iterator[tuple[int, str]]:
    """Each instruction with the line it starts on, its continued lines joined, as Docker reads
    them: parser directives first, comments and blank lines skipped (inside an instruction too).
    `escape`: the escape character to read with, whatever the directives say."""
    lines = text.removeprefix("\ufeff").split("\n")  # Docker's lines: not splitlines(), which breaks at U+2028 too
    if escape is None:
        escape = "\\"
        for line in lines:  # BuildKit's rule: directives it knows, before anything else
            directive = DIRECTIVE.fullmatch(line.strip())
            if directive is None or directive.group(1).lower() not in DIRECTIVES:
                break
            if directive.group(1).lower() == "escape":
                if directive.group(2) not in ("\\", "`"):
                    raise BuildFailed(f"Dockerfile: the escape directive takes \\ or `, not {directive.group(2)!r}")
                escape = directive.group(2)
    start, parts = 0, []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not parts:
            start, line = number, line.lstrip()
        # A continued line is joined as it is (Docker adds no space and strips nothing).
        continued = line.rstrip().endswith(escape)
        parts.append(line.rstrip().removesuffix(escape) if continued else line.rstrip())
        if not continued:
            yield start, "".join(parts)
            parts = []
    if parts:
        yield start, "".join(parts)


def check_instructions(text: str) -> None:
    """Each instruction is one Docker knows (buildah says only "no FROM statement found" of a
    `FORM`), and no RUN mounts anything but a tmpfs: buildah 1.28's bind and cache mounts can
    reach outside the build (a cache is shared by every app's builds, and CVE-2024-1753 and
    CVE-2024-9675 mount host paths). Mounts are looked for with either escape character, so no
    disagreement between this reading and buildah's about directives can hide one."""
    for escape in ("\\", "`"):
        for number, instruction in instructions(text, escape):
            for flag in MOUNT_FLAG.findall(instruction):
                if not TMPFS_MOUNT.fullmatch(flag):
                    kind = dict(o.partition("=")[::2] for o in flag.removeprefix("=").split(",")).get("type", "bind")
                    raise BuildFailed(f"Dockerfile line {number}: RUN --mount=type={kind} is not available in paas "
                                      "builds (only type=tmpfs): it would reach outside the build")
    for number, instruction in instructions(text):
        word, _, rest = instruction.partition(" ")
        if word.upper() == "ONBUILD":
            word, _, rest = rest.strip().partition(" ")
            if not word:
                raise BuildFailed(f"Dockerfile line {number}: ONBUILD needs an instruction after it")
        if word.upper() not in INSTRUCTIONS:
            raise BuildFailed(f"Dockerfile line {number}: unknown instruction {word!r}")


def external_bases(text: str) -> list[str]:
    """The images the Dockerfile builds FROM that are neither one of its own stages nor a platform
    stack, with the ARG defaults declared before the first FROM put in (as buildah does: paas
    passes no build arguments, so those defaults are all there is)."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for number, instruction in instructions(text):
        word, _, rest = instruction.partition(" ")
        if word.upper() == "ARG" and not stages and not bases:
            name, equals, default = rest.strip().partition("=")
            if equals:  # an ARG without a default stays a variable: unknown
                args[name.strip()] = default.strip().strip('"')
        if word.upper() != "FROM":
            continue
        words = [w for w in rest.split() if not w.startswith("--")]
        if not words:
            raise BuildFailed(f"Dockerfile line {number}: FROM needs an image")
        image = VARIABLE.sub(lambda m: args.get(m.group(1) or m.group(2), m.group(0)), words[0])
        if "$" in image:
            raise BuildFailed(f"Dockerfile line {number}: FROM {words[0]} names its image through a variable "
                              "without a default; give the image's name")
        if image.lower() not in stages and image.lower() != "scratch" and not STACK_FROM.match(f"FROM {image}"):
            bases.append(image)
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2].lower())
    return list(dict.fromkeys(bases))


def check_triggers(image: str, triggers: list[str]) -> None:
    """A base image's ONBUILD steps run as if they were the Dockerfile's own: the same check."""
    try:
        check_instructions("\n".join(triggers))
    except BuildFailed as error:
        raise BuildFailed(f"the image {image} has ONBUILD steps paas does not run: {error}") from None


def stacks_named(dockerfile: str, default: str | None) -> list[str]:
    """The platform stacks the Dockerfile builds on (`FROM paas/stack:<name>`), else the app's."""
    named = [name for name in STACK_FROM.findall(dockerfile) if name in STACKS]
    return sorted(set(named)) or [default or DEFAULT_STACK]
