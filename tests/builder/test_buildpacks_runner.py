"""The buildpack build container for real (the default stack's build image, the real Docker
engine): the buildpack API's contract, and the limits a build runs under."""

import textwrap
import uuid
from pathlib import Path

import pytest

from paas.builder.buildpacks import BuildError, Buildpack
from paas.builder.buildpacks.runner import run_buildpacks
from paas.builder.errors import BuildFailed
from paas.builder.stack import ensure_stack
from paas.domain.stacks import DEFAULT_STACK, STACKS


@pytest.fixture(scope="module")
def build_image(settings, engine) -> str:
    return ensure_stack(settings, engine, DEFAULT_STACK, lambda line: None).build


def buildpack(root: Path, name: str, compile_script: str, detect: str = "echo {name}; exit 0",
              release: str = "echo '--- {}'") -> Buildpack:
    path = root / name
    (path / "bin").mkdir(parents=True)
    for script, body in (("detect", detect.format(name=name)), ("compile", compile_script), ("release", release)):
        (path / "bin" / script).write_text("#!/bin/bash\n" + textwrap.dedent(body))
        (path / "bin" / script).chmod(0o755)
    return Buildpack(name, path)


def build(engine, image, tmp_path, buildpacks, *, env=None, timeout=120.0, output_limit=2**20, memory="512m",
          stack=DEFAULT_STACK):
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    lines: list[str] = []
    result = run_buildpacks(
        engine, build_id=uuid.uuid4().hex, image=image, source_dir=source, cache_dir=tmp_path / "cache",
        env=env or {}, buildpacks=buildpacks, extra_env={"STACK": stack}, emit=lines.append,
        memory=memory, cpus=1.0, pids=256, timeout=timeout, output_limit=output_limit,
    )
    return result, lines, source


def test_env_dir_cache_dir_export_and_release_follow_herokus_contract(engine, build_image, tmp_path):
    first = buildpack(tmp_path, "first", """\
        build=$1 cache=$2 env=$3
        echo "greeting=$(cat $env/GREETING) pwd=$(pwd) build=$build"
        echo kept > $cache/from-first
        echo 'export FROM_FIRST=handed-on' > "$(dirname "$0")/../export"
        echo made > $build/first.txt
        """, release="""\
        echo '---'
        echo 'default_process_types:'
        echo '  web: "python3 -m http.server $PORT"'
        echo '  worker: sleep 1'
        """)
    second = buildpack(tmp_path, "second", """\
        echo "second sees FROM_FIRST=$FROM_FIRST and /app -> $(readlink /app)"
        """)
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "Procfile").write_text("worker: python3 worker.py\n")
    result, lines, source = build(engine, build_image, tmp_path, [first, second], env={"GREETING": "hi there"})
    build_line = next(line for line in lines if line.startswith("greeting="))
    assert build_line.startswith("greeting=hi there pwd=/tmp/build_")
    assert any(line.startswith("second sees FROM_FIRST=handed-on and /app -> /tmp/build_") for line in lines), lines
    assert (tmp_path / "cache" / "from-first").read_text() == "kept\n"
    assert (source / "first.txt").read_text() == "made\n"
    # The buildpacks' defaults, and the Procfile's types over them.
    assert result.process_types == {"web": "python3 -m http.server $PORT", "worker": "python3 worker.py"}
    assert result.buildpacks == ["first", "second"]


def test_a_listed_buildpack_that_does_not_detect_fails_the_build_naming_it(engine, build_image, tmp_path):
    picky = buildpack(tmp_path, "picky", "true", detect="exit 1")
    with pytest.raises(BuildError, match="buildpack 1 does not apply to this app: its bin/detect exited with 1"):
        build(engine, build_image, tmp_path, [picky])


def test_a_failing_compile_fails_the_build_with_its_exit_code(engine, build_image, tmp_path):
    broken = buildpack(tmp_path, "broken", "echo compiling; exit 7")
    with pytest.raises(BuildError, match=r"bin/compile failed with exit code 7"):
        build(engine, build_image, tmp_path, [broken])


def test_release_yaml_that_is_not_a_mapping_is_named(engine, build_image, tmp_path):
    odd = buildpack(tmp_path, "odd", "true", release="echo '- a list'")
    with pytest.raises(BuildError, match="bin/release printed YAML that is not a mapping"):
        build(engine, build_image, tmp_path, [odd])


def test_the_build_has_no_docker_socket_and_runs_under_its_limits(engine, build_image, tmp_path):
    probe = buildpack(tmp_path, "probe", """\
        [ -e /var/run/docker.sock ] && echo socket=yes || echo socket=no
        echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
        echo "pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
        echo "ca=$SSL_CERT_FILE"
        """)
    _result, lines, _source = build(engine, build_image, tmp_path, [probe], memory="300m")
    assert "socket=no" in lines
    assert f"memory={300 * 2**20}" in lines
    assert "pids=256" in lines
    assert "ca=/etc/ssl/certs/ca-certificates.crt" in lines


def test_a_build_over_its_time_is_stopped(engine, build_image, tmp_path):
    slow = buildpack(tmp_path, "slow", "echo started; sleep 60")
    with pytest.raises(BuildError, match="the build took longer than 3 s and was stopped"):
        build(engine, build_image, tmp_path, [slow], timeout=3)


def test_a_build_printing_too_much_is_stopped(engine, build_image, tmp_path):
    chatty = buildpack(tmp_path, "chatty", "yes 'a line of build output' | head -n 100000; sleep 30")
    with pytest.raises(BuildError, match="printed more than 0.0625 MB of output"):
        build(engine, build_image, tmp_path, [chatty], output_limit=2**16)


def test_a_build_over_its_memory_is_stopped(engine, build_image, tmp_path):
    hungry = buildpack(tmp_path, "hungry", "python3 -c 'x = bytearray(400 * 2**20); print(len(x))'")
    with pytest.raises(BuildError, match="ran out of memory"):
        build(engine, build_image, tmp_path, [hungry], memory="128m")


@pytest.mark.parametrize("link", ["$1/Procfile", "/tmp/paas-out/failure"])
def test_files_the_build_links_to_host_paths_are_never_read_through(engine, build_image, tmp_path, link):
    """The host reads what the build leaves (as root): a symlink there must not reveal a host file."""
    secret = tmp_path / "host-secret"
    secret.write_text("TOPSECRET\n")
    sneaky = buildpack(tmp_path, "sneaky", f"ln -sf {secret} {link}; [ {link} != /tmp/paas-out/failure ]")
    with pytest.raises(BuildFailed) as raised:
        build(engine, build_image, tmp_path, [sneaky])
    assert "TOPSECRET" not in str(raised.value)
    assert "not a link" in str(raised.value)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_the_build_container_runs_on_every_stack(settings, engine, tmp_path, name):
    image = ensure_stack(settings, engine, name, lambda line: None).build
    hello = buildpack(tmp_path, "hello", "echo hello from $STACK $(. /etc/os-release; echo $VERSION_CODENAME)")
    _result, lines, _source = build(engine, image, tmp_path, [hello], stack=name)
    assert f"hello from {name} {STACKS[name].suite}" in lines
