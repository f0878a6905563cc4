"""Run buildpacks over a source directory in one container of the stack's build image.

The container (see the design's build container contract): the source at `/tmp/build_<id>` (rw),
bound at `/app` too (where the slug runs: virtualenvs and shebangs must say /app), CACHE_DIR at
`/tmp/cache` (rw), ENV_DIR at `/tmp/env` (ro, one file per config var), a copy of buildpack i at
`/tmp/buildpacks/<i>` (its own: its `export` file goes there), and driver.sh, which runs detect,
compile and release of each in order. What the host needs back (which buildpacks ran, their
release YAML, why the build failed) comes through `/tmp/paas-out`, a host directory outside the slug.

It runs as an app's process does: as the build user (the dyno user: what the build makes is
already the slug's owner's), every capability dropped, `no-new-privileges`. So everything it
writes or reads is handed to that user first.
"""

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import yaml
from docker.types import Mount

from paas.builder.buildpacks import BUILTIN, BuildError, Buildpack, builtin
from paas.builder.containers import remove_container
from paas.builder.files import hand_over, read_untrusted
from paas.builder.host_paths import HostPaths
from paas.builder import procfile as procfiles
from paas.builder.procfile import PROCESS_TYPE
from paas.lines import Emit, output_lines

DRIVER = Path(__file__).with_name("driver.sh")
CONFIG_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class BuildResult:
    process_types: dict[str, str]  # the buildpacks' defaults, then the Procfile's on top
    buildpacks: list[str]  # what ran, in order: a built-in's name or a buildpack's URL
    description: str = ""  # what the last buildpack detected the app as ("Python"), Heroku's
    config_vars: dict[str, str] = field(default_factory=dict)  # defaults from bin/release, unused yet


def run_buildpacks(
    client: docker.DockerClient,
    *,
    build_id: str,
    image: str,
    source_dir: Path,
    cache_dir: Path,
    env: dict[str, str],
    buildpacks: list[Buildpack] | None,
    extra_env: dict[str, str],
    emit: Emit,
    user: tuple[int, int],
    memory: str,
    cpus: float,
    pids: int,
    timeout: float,
    output_limit: int,
    network: str | None = None,
) -> BuildResult:
    """Compile `source_dir` in place into the slug's content, as `user` (uid, gid). `buildpacks=None`:
    the first built-in whose bin/detect accepts the app builds it; else each listed one runs, in
    order, and must accept it."""
    read_procfile(source_dir)  # a malformed Procfile fails before anything is started
    auto = buildpacks is None
    mounted = [builtin(name) for name in BUILTIN] if auto else list(buildpacks)
    if not mounted:
        raise BuildError("no buildpacks to run")
    cache_dir.mkdir(parents=True, exist_ok=True)
    if cache_dir.stat().st_uid != user[0]:  # new, or kept by a build that ran as root
        hand_over(cache_dir, user)
    hand_over(source_dir, user)  # as on Heroku, the build may change or remove any file of the app
    control = Path(tempfile.mkdtemp(prefix=f"paas-buildpacks-{build_id}-"))
    try:
        env_dir, out_dir, copies = control / "env", control / "out", control / "buildpacks"
        for directory in (env_dir, out_dir, copies):
            directory.mkdir(mode=0o700)
        write_env_dir(env_dir, env)
        # Copies the build user can read whatever the modes the buildpacks came with (a fetched
        # one keeps its tarball's), and can write: its `export` file goes into its directory.
        for i, buildpack in enumerate(mounted, start=1):
            shutil.copytree(buildpack.path, copies / str(i), symlinks=True)
        shutil.copy2(DRIVER, control / DRIVER.name)
        hand_over(control, user)
        build_path = f"/tmp/build_{build_id}"
        bind = _binder(HostPaths.of_this_process(client))
        mounts = [
            bind(source_dir, build_path),
            bind(source_dir, "/app"),  # the same directory (a link would need root to make)
            bind(cache_dir, "/tmp/cache"),
            bind(env_dir, "/tmp/env", read_only=True),
            bind(out_dir, "/tmp/paas-out"),
            bind(control / DRIVER.name, "/tmp/paas-driver.sh", read_only=True),
            *(bind(copies / str(i), f"/tmp/buildpacks/{i}") for i in range(1, len(mounted) + 1)),
        ]
        command = ["/tmp/paas-driver.sh", build_path, "auto" if auto else "listed", str(len(mounted))]
        exit_code, stopped = _run_container(
            client, build_id, image, command, mounts, extra_env, emit, user=user,
            memory=memory, cpus=cpus, pids=pids, timeout=timeout, output_limit=output_limit, network=network,
        )
        if stopped:
            raise BuildError(stopped)
        if exit_code != 0:
            failure = read_untrusted(out_dir / "failure")
            if failure:
                raise BuildError(failure.strip())
            raise BuildError(f"the build container exited with code {exit_code}")
        used = _used(out_dir, mounted)
        return _result(out_dir, source_dir, mounted, used, emit)
    finally:
        shutil.rmtree(control, ignore_errors=True)


def read_procfile(build_dir: Path) -> dict[str, str] | None:
    try:
        return procfiles.read_procfile(build_dir)
    except procfiles.ProcfileError as error:
        raise BuildError(f"Procfile: {error}") from None


def write_env_dir(env_dir: Path, env: dict[str, str]) -> None:
    """ENV_DIR: one file per config var, named after it, holding exactly its value (secrets:
    readable by their owner only, whom the caller makes the build user)."""
    for name, value in env.items():
        if CONFIG_VAR.fullmatch(name):  # a name is a file name here: nothing like `../x`
            fd = os.open(env_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(value)


def _binder(paths: HostPaths) -> Callable[..., Mount]:
    """Bind mounts of the worker's files, by their paths on the Docker host (all of them are
    under the worker's home or its TMPDIR, which are volumes when it runs in a container)."""
    def bind(source: Path, target: str, read_only: bool = False) -> Mount:
        found = paths.find(source.resolve())
        if found is None:
            raise BuildError(f"{source} is in no mount the Docker engine can bind (the worker's home and TMPDIR must be volumes)")
        return Mount(target, found, type="bind", read_only=read_only)
    return bind


def _run_container(
    client: docker.DockerClient, build_id: str, image: str, command: list[str], mounts: list[Mount],
    extra_env: dict[str, str], emit: Emit, *, user: tuple[int, int], memory: str, cpus: float,
    pids: int, timeout: float, output_limit: int, network: str | None,
) -> tuple[int, str | None]:
    """Run the driver, streaming its output line by line. Returns the exit code and, when the
    build was stopped (too long, too much output), why."""
    name = f"paas-build-{build_id}"
    remove_container(client, name)  # left behind by a worker that died during this build
    try:
        container = client.containers.create(
            # The container ends itself a minute after the build's time even if this worker died
            # and nobody is left to stop it. Docker's init is PID 1 (it reaps what builds leave
            # behind; forky's `timeout` refuses to run as PID 1).
            image, command=command, entrypoint=["timeout", "--signal=KILL", str(int(timeout) + 60), "/bin/bash"],
            init=True, name=name, network=network,
            mounts=mounts, environment=dict(extra_env), working_dir="/tmp",
            mem_limit=memory, memswap_limit=memory, nano_cpus=int(cpus * 1e9), pids_limit=pids,
            # As an app's process: never root, no capabilities, nothing gained through setuid programs.
            user=f"{user[0]}:{user[1]}", cap_drop=["ALL"], security_opt=["no-new-privileges"],
            labels={"paas.build": build_id},
        )
    except docker.errors.ImageNotFound:
        raise BuildError(f"the build image {image} does not exist") from None
    stopped: list[str] = []

    def stop(why: str) -> None:
        if not stopped:
            stopped.append(why)
            try:
                container.kill()
            except docker.errors.APIError:
                pass  # it ended meanwhile

    timer = threading.Timer(timeout, stop, args=(f"the build took longer than {timeout:.0f} s and was stopped",))
    timer.daemon = True
    try:
        container.start()
        timer.start()
        size = 0
        for line in output_lines(client.api.logs(container.id, stream=True, follow=True)):
            size += len(line.encode()) + 1
            if size > output_limit:
                stop(f"the build printed more than {output_limit / 2**20:g} MB of output and was stopped")
                break
            if line.strip():
                emit(line)
        status = container.wait(timeout=60)
        if not stopped and status.get("StatusCode") != 0:
            # The kernel kills the biggest process (a compiler, pip), not the driver: the
            # container says whether any of its processes met the memory limit.
            container.reload()
            if container.attrs["State"].get("OOMKilled"):
                stopped.append(f"the build ran out of memory (the limit is {memory}) and was stopped")
        return status.get("StatusCode", -1), (stopped[0] if stopped else None)
    finally:
        timer.cancel()
        remove_container(client, name)



def _used(out_dir: Path, mounted: list[Buildpack]) -> list[tuple[int, str]]:
    """The buildpacks that ran, as the driver recorded them: (index, name it detected as)."""
    used = []
    for line in (read_untrusted(out_dir / "used") or "").splitlines():
        index, _, detected = line.partition(" ")
        if index.isdigit() and 1 <= int(index) <= len(mounted):
            used.append((int(index), detected))
    if not used:
        raise BuildError("the build ended without running a buildpack")
    return used


def _result(
    out_dir: Path, build_dir: Path, mounted: list[Buildpack], used: list[tuple[int, str]], emit: Emit,
) -> BuildResult:
    defaults: dict[str, str] = {}
    config_vars: dict[str, str] = {}
    for index, detected in used:
        release = _release(out_dir / f"release-{index}.yml", mounted[index - 1].name)
        defaults.update(release.get("default_process_types") or {})
        config_vars.update(release.get("config_vars") or {})
    procfile = read_procfile(build_dir)  # read again: a buildpack may have written one
    emit("-----> Discovering process types")
    if procfile is not None:
        emit(f"       Procfile declares types     -> {', '.join(procfile) or '(none)'}")
    emit(f"       Default types for buildpack -> {', '.join(defaults) or '(none)'}")
    return BuildResult(
        process_types={**defaults, **(procfile or {})},
        buildpacks=[mounted[index - 1].name for index, _ in used],
        description=used[-1][1],
        config_vars=config_vars,
    )


def _release(path: Path, buildpack: str) -> dict:
    """bin/release's YAML: `default_process_types` and `config_vars` are read, strictly."""
    text = read_untrusted(path)
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BuildError(f"the buildpack {buildpack}: bin/release printed invalid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BuildError(f"the buildpack {buildpack}: bin/release printed YAML that is not a mapping")
    result = {}
    for key in ("default_process_types", "config_vars"):
        section = data.get(key) or {}
        if not isinstance(section, dict):
            raise BuildError(f"the buildpack {buildpack}: {key} in bin/release's output is not a mapping")
        result[key] = {str(k): "" if v is None else str(v) for k, v in section.items()}
    for name, command in result["default_process_types"].items():
        if not PROCESS_TYPE.fullmatch(name) or not command.strip():
            raise BuildError(f"the buildpack {buildpack}: bin/release declares a bad process type {name!r}: {command!r}")
    return result
