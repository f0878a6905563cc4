"""Reading a container's CPU and memory from fake cgroup trees of both versions (file parsing)."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.metrics.cgroups import Usage, container_usage

ID = "e11a31388b863ae00b52155c480fa4010435433eb2c6e877b368375ab9e56160"
V1_NO_LIMIT = 9223372036854771712


def files(directory: Path, contents: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        (directory / name).write_text(text)


def v1(root: Path, directory: str, cpu_ns: int, usage: int, limit: int, inactive: int) -> None:
    files(root / "cpuacct" / directory, {"cpuacct.usage": f"{cpu_ns}\n"})
    files(root / "memory" / directory, {
        "memory.usage_in_bytes": f"{usage}\n", "memory.limit_in_bytes": f"{limit}\n",
        "memory.stat": f"cache 8192\nrss 9445376\ninactive_file 1\ntotal_cache 8192\ntotal_inactive_file {inactive}\ntotal_active_file 4096\n",
    })


def v2(root: Path, directory: str, cpu_us: int, current: int, limit: str, inactive: int) -> None:
    files(root, {"cgroup.controllers": "cpuset cpu io memory pids\n"})
    files(root / directory, {
        "cpu.stat": f"usage_usec {cpu_us}\nuser_usec 1\nsystem_usec 2\n",
        "memory.current": f"{current}\n", "memory.max": f"{limit}\n",
        "memory.stat": f"anon 4096\nfile 8192\nactive_file 4096\ninactive_file {inactive}\n",
    })


def test_v1_cgroupfs_as_docker_makes_it_here(tmp_path):
    v1(tmp_path, f"docker/{ID}", 72_959_456, 10_108_928, 536_870_912, 8192)
    assert container_usage(ID, tmp_path) == Usage(0.072959456, 10_100_736, 536_870_912)


def test_v1_systemd_and_no_limit(tmp_path):
    v1(tmp_path, f"system.slice/docker-{ID}.scope", 2_000_000_000, 4096, V1_NO_LIMIT, 0)
    assert container_usage(ID, tmp_path) == Usage(2.0, 4096, None)


def test_v2_systemd(tmp_path):
    v2(tmp_path, f"system.slice/docker-{ID}.scope", 1_500_000, 20_000_000, "536870912", 1_000_000)
    assert container_usage(ID, tmp_path) == Usage(1.5, 19_000_000, 536_870_912)


def test_v2_cgroupfs_and_no_limit(tmp_path):
    v2(tmp_path, f"docker/{ID}", 250, 8192, "max", 0)
    assert container_usage(ID, tmp_path) == Usage(0.00025, 8192, None)


def test_memory_is_never_negative(tmp_path):
    v2(tmp_path, f"docker/{ID}", 250, 8192, "max", 10_000)
    assert container_usage(ID, tmp_path).memory_bytes == 0


def test_a_container_that_is_gone_reads_as_none(tmp_path):
    assert container_usage(ID, tmp_path) is None
    v2(tmp_path / "unified", f"docker/{'f' * 64}", 1, 1, "max", 0)
    assert container_usage(ID, tmp_path / "unified") is None


def test_only_full_container_ids_are_read(tmp_path):
    for bad in ("../../etc", ID[:12], ID.upper(), ID + "/x"):
        with pytest.raises(ValueError):
            container_usage(bad, tmp_path)


@given(st.integers(0, 2**62), st.integers(0, 2**50), st.integers(0, 2**50), st.integers(0, 2**50), st.booleans())
def test_any_values_read_back(cpu, usage, limit, inactive, version_2):
    with tempfile.TemporaryDirectory() as root:
        if version_2:
            v2(Path(root), f"docker/{ID}", cpu, usage, str(limit), inactive)
            expected_cpu = cpu / 1e6
        else:
            v1(Path(root), f"docker/{ID}", cpu, usage, limit, inactive)
            expected_cpu = cpu / 1e9
        assert container_usage(ID, Path(root)) == Usage(expected_cpu, max(usage - inactive, 0), limit)
