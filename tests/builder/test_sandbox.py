from pathlib import Path

from paas.builder.sandbox import Sandbox, cgroup_mounts, cgroup_procs_files

MOUNTINFO = """\
25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
36 33 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
37 33 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
"""
PROC_CGROUP = """\
4:memory:/docker/abc
3:cpu,cpuacct:/docker/abc
1:name=systemd:/docker/abc
0::/docker/abc
"""


def test_a_process_joins_each_cgroup_of_the_holder():
    files = cgroup_procs_files(PROC_CGROUP, cgroup_mounts(MOUNTINFO))
    assert files == [Path(f"/sys/fs/cgroup/{h}/docker/abc/cgroup.procs") for h in ("memory", "cpu,cpuacct", "systemd", "unified")]


def test_a_pure_v2_host():
    mounts = cgroup_mounts("30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    assert cgroup_procs_files("0::/system.slice/docker-abc.scope\n", mounts) == [
        Path("/sys/fs/cgroup/system.slice/docker-abc.scope/cgroup.procs")]


def test_the_wrapped_command_enters_the_holders_network_after_its_cgroups_with_a_deadline():
    wrapped = Sandbox(7, [Path("/a/cgroup.procs"), Path("/b/cgroup.procs")], 960).wrap(["buildah", "bud", "."])
    assert wrapped[:3] == ["sh", "-c", wrapped[2]] and wrapped[3:7] == ["sh", "/a/cgroup.procs", "/b/cgroup.procs", "--"]
    assert wrapped[7:] == ["timeout", "--signal=KILL", "960", "nsenter", "--net=/proc/self/fd/7", "buildah", "bud", "."]


def test_joining_the_cgroups_fails_closed(tmp_path):
    """A cgroup that cannot be joined (the holder went) stops the build before it starts."""
    import subprocess

    joined = tmp_path / "joined"
    joined.write_text("")
    script = Sandbox(0, [joined, tmp_path / "gone" / "cgroup.procs"], 10).wrap(["true"])[:7]
    done = subprocess.run([*script, "echo", "ran"], capture_output=True, text=True)
    assert done.returncode == 125 and "ran" not in done.stdout and joined.read_text().strip().isdigit()
