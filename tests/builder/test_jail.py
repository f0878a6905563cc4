import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.builder.jail import escape, fstab, jailed


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), min_size=1), min_size=1))
def test_any_path_is_one_fstab_field_that_reads_back_as_itself(parts):
    path = "/" + "/".join(parts)
    field = escape(path)
    assert re.split(r"[ \t\n\r\v\f]", field) == [field]  # no whitespace (libmount's): one field
    assert re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field) == path


def test_directories_inside_one_another_are_refused():
    """The inner one's mount point would be made through the outer bind, in the host's directory."""
    for writable, read_only in (([Path("/s")], [Path("/s/x")]), ([Path("/s/x")], [Path("/s")]), ([Path("/s")], [Path("/s")])):
        with pytest.raises(ValueError, match="inside one another"):
            fstab(writable, read_only, Path("/t"))
    fstab([Path("/s/a")], [Path("/s/ab")], Path("/t"))  # siblings are fine


def test_a_relative_path_is_refused():
    with pytest.raises(ValueError, match="not an absolute path"):
        escape("build/ctx")


def test_the_jail_holds_the_system_read_only_and_only_the_given_directories():
    table = fstab([Path("/s/app store")], [Path("/s/config")], Path("/s/app store/home/tmp"))
    lines = table.splitlines()
    assert "/usr /usr none rbind,ro,X-mount.mkdir" in lines and "/etc /etc none rbind,ro,X-mount.mkdir" in lines
    assert "/s/app\\040store /s/app\\040store none bind,rw,X-mount.mkdir" in lines
    assert "/s/config /s/config none bind,ro,X-mount.mkdir" in lines
    assert "/s/app\\040store/home/tmp /var/tmp none bind,rw,X-mount.mkdir" in lines
    assert {line.split()[1] for line in lines} <= {"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                                                    "/proc", "/dev", "/dev/shm", "/sys", "/tmp", "/var/tmp",
                                                    "/s/app\\040store", "/s/config"}


LOOK = 'for p in "$@"; do if out=$(ls -d "$p" 2>&1); then echo "present $p"; else echo "$out"; fi; done'


@pytest.mark.skipif(os.geteuid() != 0, reason="making a mount namespace's mounts takes root")
def test_a_jailed_command_sees_only_what_it_was_given(tmp_path):
    mine, theirs, scratch = tmp_path / "mine", tmp_path / "theirs", tmp_path / "scratch"
    for directory in (mine, theirs, scratch):
        directory.mkdir()
        (directory / "file").write_text(directory.name)
    paths = [str(p) for p in (mine / "file", theirs / "file", Path("/root"), Path.cwd())]
    probe = f'{LOOK}; touch {mine}/new /var/tmp/new; echo pids: $(ls /proc | grep -c "^[0-9]")'
    done = subprocess.run(jailed(["sh", "-c", probe, "look", *paths], [scratch], [mine], scratch),
                          cwd=scratch, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 or "Read-only file system" in done.stderr, done.stderr
    assert f"present {mine / 'file'}" in done.stdout, done.stdout
    for hidden in paths[1:]:
        assert f"ls: cannot access '{hidden}': No such file or directory" in done.stdout, done.stdout
    assert f"touch: cannot touch '{mine}/new': Read-only file system" in done.stderr
    assert (scratch / "new").is_file()  # /var/tmp is the given directory, written through
    assert int(done.stdout.split("pids: ")[1]) <= 5, done.stdout  # its own pid namespace: not the host's processes
    # The positive control: the same look, outside the jail, finds everything.
    outside = subprocess.run(["sh", "-c", LOOK, "look", *paths], capture_output=True, text=True, timeout=30)
    assert outside.stdout.count("present ") == len(paths), outside.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="making a mount namespace's mounts takes root")
def test_a_jail_that_cannot_be_made_runs_nothing(tmp_path):
    (tmp_path / "mine").mkdir()
    done = subprocess.run(jailed(["echo", "ran"], [tmp_path / "mine"], [tmp_path / "missing"], tmp_path),
                          cwd=tmp_path / "mine", capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "ran" not in done.stdout and "missing" in done.stderr, (done.stdout, done.stderr)
