"""The python buildpack's lock-file reader (lib/pins.py): poetry.lock of Poetry 1 and 2, and
Pipfile.lock, turned into requirement lines with the dev-only packages left out."""

import importlib.util
import json

from hypothesis import given
from hypothesis import strategies as st

from paas.builder.buildpacks import BUILTIN_DIR

spec = importlib.util.spec_from_file_location("pins", BUILTIN_DIR / "python" / "lib" / "pins.py")
pins = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pins)

POETRY_1 = """\
[[package]]
name = "flask"
version = "3.0.3"
category = "main"

[[package]]
name = "pytest"
version = "8.2.0"
category = "dev"

[[package]]
name = "colorama"
version = "0.4.6"
category = "main"
markers = "sys_platform == \\"win32\\""

[[package]]
name = "mylib"
version = "0.1.0"
[package.source]
type = "git"
url = "https://example.invalid/mylib.git"
reference = "main"
resolved_reference = "0123abcd"
"""

POETRY_2 = """\
[[package]]
name = "gunicorn"
version = "22.0.0"
groups = ["main"]

[[package]]
name = "ruff"
version = "0.5.0"
groups = ["dev"]

[[package]]
name = "tzdata"
version = "2024.1"
groups = ["main", "dev"]
markers = {main = "platform_system == \\"Windows\\"", dev = "python_version < \\"3.9\\""}
"""


def test_poetry_1_lock(tmp_path):
    path = tmp_path / "poetry.lock"
    path.write_text(POETRY_1)
    assert pins.poetry(str(path)) == [
        "flask==3.0.3",
        'colorama==0.4.6 ; sys_platform == "win32"',
        "mylib @ git+https://example.invalid/mylib.git@0123abcd",
    ]


def test_poetry_2_lock_keeps_the_main_groups_markers(tmp_path):
    path = tmp_path / "poetry.lock"
    path.write_text(POETRY_2)
    assert pins.poetry(str(path)) == ["gunicorn==22.0.0", 'tzdata==2024.1 ; platform_system == "Windows"']


def test_pipfile_lock_default_section_only(tmp_path):
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps({
        "_meta": {"hash": {"sha256": "x"}},
        "default": {
            "flask": {"version": "==3.0.3", "hashes": ["sha256:x"]},
            "requests": {"version": "==2.32.3", "extras": ["socks"], "markers": "python_version >= '3.8'"},
            "mylib": {"git": "https://example.invalid/mylib.git", "ref": "v1"},
        },
        "develop": {"pytest": {"version": "==8.2.0"}},
    }))
    assert pins.pipenv(str(path)) == [
        "flask==3.0.3",
        "requests[socks]==2.32.3 ; python_version >= '3.8'",
        "mylib @ git+https://example.invalid/mylib.git@v1",
    ]


names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True)


@given(st.dictionaries(names, st.tuples(versions, st.booleans()), max_size=12))
def test_every_main_package_and_no_dev_package_is_pinned(tmp_path_factory, packages):
    text = "".join(
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ngroups = ["{"main" if main else "dev"}"]\n\n'
        for name, (version, main) in packages.items()
    )
    path = tmp_path_factory.mktemp("lock") / "poetry.lock"
    path.write_text(text)
    assert pins.poetry(str(path)) == [f"{n}=={v}" for n, (v, main) in packages.items() if main]
