"""The buildpack build container for real (the default stack's build image, the real Docker
engine): the buildpack API's contract, and the limits a build runs under."""

import os
import textwrap
import uuid
from pathlib import Path

import pytest

from paas.builder.buildpacks import BuildError, Buildpack
from paas.builder.buildpacks.runner import run_buildpacks
from paas.builder.files import hand_over
from paas.builder.errors import BuildFailed
from paas.builder.stack import ensure_stack
from paas.domain.stacks import DEFAULT_STACK, STACKS


BUILD_USER = (10000, 10000)  # the dyno user's default, which the worker builds as
# Who a process is and what it may do, from its own status: the same lines whoever reads them.
WHO_AM_I = "echo uid=$(id -u) gid=$(id -g) $(grep -E '^(CapEff|CapPrm|NoNewPrivs):' /proc/self/status | tr -d '\\t' | tr ':\\n' '= ')"


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
        env=env or {}, buildpacks=buildpacks, extra_env={"STACK": stack}, emit=lines.append, user=BUILD_USER,
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
        [ /app -ef "$1" ] && [ -e /app/first.txt ] && app=the-build-dir || app=other
        echo "second sees FROM_FIRST=$FROM_FIRST and /app is $app"
        """)
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "Procfile").write_text("worker: python3 worker.py\n")
    result, lines, source = build(engine, build_image, tmp_path, [first, second], env={"GREETING": "hi there"})
    build_line = next(line for line in lines if line.startswith("greeting="))
    assert build_line.startswith("greeting=hi there pwd=/tmp/build_")
    assert "second sees FROM_FIRST=handed-on and /app is the-build-dir" in lines, lines
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
    assert "leads out of the build's files" in str(raised.value)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_the_build_container_runs_on_every_stack(settings, engine, tmp_path, name):
    image = ensure_stack(settings, engine, name, lambda line: None).build
    hello = buildpack(tmp_path, "hello", "echo hello from $STACK $(. /etc/os-release; echo $VERSION_CODENAME)")
    _result, lines, _source = build(engine, image, tmp_path, [hello], stack=name)
    assert f"hello from {name} {STACKS[name].suite}" in lines


def test_the_build_runs_as_the_build_user_with_no_capabilities(engine, build_image, tmp_path):
    probe = buildpack(tmp_path, "probe", WHO_AM_I)
    _result, lines, _source = build(engine, build_image, tmp_path, [probe])
    assert "uid=10000 gid=10000 CapPrm=0000000000000000 CapEff=0000000000000000 NoNewPrivs=1" in [line.strip() for line in lines], lines
    # Positive control: the same probe in a container with Docker's defaults sees root and its powers.
    control = engine.containers.run(build_image, ["bash", "-c", WHO_AM_I], remove=True).decode().strip()
    assert control.startswith("uid=0 gid=0 ") and "CapEff=0000000000000000" not in control, control
    assert control.endswith("NoNewPrivs=0"), control


def test_the_build_owns_the_source_cache_env_and_its_buildpacks(engine, build_image, tmp_path):
    """What the worker made as root is the build user's to change: the source's files, a cache
    kept by a build that ran as root, and a buildpack whose files only their owner may read."""
    source, cache = tmp_path / "source", tmp_path / "cache"
    (source / "lib").mkdir(parents=True)
    (source / "lib" / "old.py").write_text("old\n")
    cache.mkdir()
    (cache / "kept").write_text("from a root build\n")
    picky = buildpack(tmp_path, "private", """\
        build=$1 cache=$2 env=$3
        echo new > $build/lib/old.py && rm -r $build/lib && echo updated > $cache/kept
        echo "secret=$(cat $env/SECRET) home=$HOME"
        touch $HOME/.in-home
        """)
    for path in [picky.path, *picky.path.rglob("*")]:
        path.chmod(0o700 if path.is_dir() or path.parent.name == "bin" else 0o600)
    _result, lines, _source = build(engine, build_image, tmp_path, [picky], env={"SECRET": "s3"})
    assert "secret=s3 home=/tmp/home" in lines, lines
    assert not (source / "lib").exists()
    assert (cache / "kept").read_text() == "updated\n"
    assert {(p.stat().st_uid, p.stat().st_gid) for p in [cache, *cache.iterdir(), source]} == {BUILD_USER}
    assert not any(source.rglob(".in-home"))  # HOME is outside the slug


def test_handing_over_never_reaches_outside_the_tree(tmp_path):
    """Through a symbolic link or a second name (hard link) of a file elsewhere, a host file
    would become the build's to write: those keep their owner."""
    outside = tmp_path / "host-file"
    outside.write_text("host\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "own.txt").write_text("mine\n")
    (tree / "link").symlink_to(outside)
    (tree / "dir-link").symlink_to(tmp_path)
    os.link(outside, tree / "hard")
    hand_over(tree, BUILD_USER)
    assert os.stat(outside).st_uid == 0 and os.stat(tmp_path).st_uid == 0
    assert os.lstat(tree / "link").st_uid == BUILD_USER[0] and os.lstat(tree / "dir-link").st_uid == BUILD_USER[0]
    assert (tree / "sub" / "own.txt").stat().st_uid == BUILD_USER[0] and (tree / "sub").stat().st_uid == BUILD_USER[0]
    assert (tree / "hard").stat().st_uid == 0  # the same file as outside: left alone
