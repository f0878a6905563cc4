import json
import subprocess
from pathlib import Path

import pytest

from paas.builder.buildpacks import BUILTIN, BUILTIN_DIR, BuildError
from paas.builder.buildpacks.select import (
    choose_stack,
    detect_builtin,
    detects,
    needs_of,
    npm_range_allows_major,
    pick_stack,
)


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


SOURCES = {
    "requirements": {"requirements.txt": "flask\n", "index.html": "x"},
    "pyproject": {"pyproject.toml": "[project]\nname='x'\n"},
    "pipfile-lock": {"Pipfile.lock": "{}"},
    "pipfile": {"Pipfile": ""},
    "setup-py": {"setup.py": ""},
    "node": {"package.json": "{}", "Procfile": "web: x"},
    "static": {"index.html": "<p>hi</p>"},
    "static-public": {"public/index.html": "<p>hi</p>", "Procfile": "web: x"},
    "ruby-with-html": {"Gemfile": "", "index.html": "x"},
    "ruby-with-procfile": {"Gemfile": "", "Procfile": "web: ruby app.rb"},
    "procfile": {"Procfile": "web: x"},
    "nothing": {"README": "x"},
    "nested-only": {"src/requirements.txt": "x", "site/index.html": "x"},
    "dirs-not-files": {"requirements.txt/x": "", "package.json/x": "", "index.html/x": ""},
}
EXPECTED = {
    "requirements": "python", "pyproject": "python", "pipfile-lock": "python", "pipfile": "python",
    "setup-py": "python", "node": "nodejs", "static": "static", "static-public": "static",
    "ruby-with-html": None, "ruby-with-procfile": "procfile", "procfile": "procfile", "nothing": None,
    "nested-only": None, "dirs-not-files": None,
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_host_detection_matches_the_builtin_detect_scripts(tmp_path, case):
    source = make(tmp_path, SOURCES[case])
    assert detect_builtin(source) == EXPECTED[case]
    for name in BUILTIN:
        script = BUILTIN_DIR / name / "bin" / "detect"
        ran = subprocess.run([str(script), str(source)], capture_output=True, text=True)
        assert (ran.returncode == 0) == detects(name, source), (name, ran.stdout)
        if ran.returncode == 0:
            assert ran.stdout.strip()  # the name shown as `-----> <Name> app detected`


def stack_for(tmp_path, files, requested=None, names=()):
    stack, version, warnings = choose_stack(make(tmp_path, files), requested, list(names))
    return stack.name, version, warnings


def test_nothing_asked_builds_on_the_default_stack(tmp_path):
    assert stack_for(tmp_path, {"requirements.txt": "flask\n"}) == ("bookworm", None, [])
    assert stack_for(tmp_path, {"Procfile": "web: x"}) == ("bookworm", None, [])
    assert stack_for(tmp_path, {"requirements.txt": ""}, requested="trixie") == ("trixie", None, [])


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({".python-version": "3.14\n"}, ("forky", "3.14")),
        ({".python-version": "# pinned\n3.13\n"}, ("forky", "3.13")),  # the newest stack that has it
        ({".python-version": "3.11\n"}, ("bookworm", "3.11")),
        ({"runtime.txt": "python-3.13\n"}, ("forky", "3.13")),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.11"\n'}, ("forky", "3.14")),
        ({"pyproject.toml": '[project]\nrequires-python = "<3.12"\n'}, ("bookworm", "3.11")),
        ({"pyproject.toml": '[project]\nrequires-python = "~=3.13.0"\n'}, ("forky", "3.13")),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.11.4,<3.14"\n'}, ("forky", "3.13")),
        # .python-version wins over runtime.txt, which wins over requires-python
        ({".python-version": "3.11", "runtime.txt": "python-3.14", "requirements.txt": ""}, ("bookworm", "3.11")),
        ({"runtime.txt": "python-3.11.4", "pyproject.toml": '[project]\nrequires-python = ">=3.13"\n'}, ("bookworm", "3.11")),
    ],
)
def test_the_python_asked_for_picks_the_stack(tmp_path, files, expected):
    name, version, _ = stack_for(tmp_path, {"requirements.txt": "", **files})
    assert (name, version) == expected


def test_a_patch_release_asked_for_gives_a_warning(tmp_path):
    name, version, warnings = stack_for(tmp_path, {"runtime.txt": "python-3.11.6\n", "requirements.txt": ""})
    assert (name, version) == ("bookworm", "3.11")
    assert len(warnings) == 1 and "3.11.6" in warnings[0] and "bookworm" in warnings[0]


@pytest.mark.parametrize(
    "files",
    [
        {".python-version": "3.9\n"},
        {"runtime.txt": "python-2.7.18\n"},
        {"pyproject.toml": '[project]\nrequires-python = ">=3.15"\n'},
    ],
)
def test_a_python_no_stack_has_is_rejected_listing_those_that_exist(tmp_path, files):
    with pytest.raises(BuildError) as raised:
        stack_for(tmp_path, {"requirements.txt": "", **files})
    assert "3.11, 3.13, 3.14" in str(raised.value) and "not available on any stack" in str(raised.value)


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({".python-version": "latest\n"}, ".python-version says 'latest'"),
        ({"runtime.txt": "ruby-3.2\n"}, "runtime.txt says 'ruby-3.2'"),
        ({"pyproject.toml": "[project\n"}, "pyproject.toml is not valid TOML"),
        ({"pyproject.toml": '[project]\nrequires-python = "three"\n'}, "requires-python 'three'"),
    ],
)
def test_unreadable_version_files_are_named(tmp_path, files, needle):
    with pytest.raises(BuildError) as raised:
        stack_for(tmp_path, {"requirements.txt": "", **files})
    assert needle in str(raised.value)


def test_the_apps_own_stack_must_have_the_python_it_asks_for(tmp_path):
    with pytest.raises(BuildError) as raised:
        stack_for(tmp_path, {".python-version": "3.14", "requirements.txt": ""}, requested="bookworm")
    message = str(raised.value)
    assert "bookworm" in message and "3.14" in message and "forky" in message
    # With a range, the app's stack gives the newest Python of its own that fits.
    ranged = {"pyproject.toml": '[project]\nrequires-python = ">=3.11"\n'}
    assert stack_for(tmp_path / "ranged", ranged, requested="trixie")[:2] == ("trixie", "3.13")
    with pytest.raises(BuildError, match="does not exist"):
        stack_for(tmp_path / "plain", {"requirements.txt": ""}, requested="jessie")


def node_app(version):
    return {"package.json": json.dumps({"name": "x", "engines": {"node": version}})}


@pytest.mark.parametrize(
    ("version", "stack"),
    [("24.x", "forky"), (">=18", "forky"), ("18", "bookworm"), ("^20.1.0", "trixie"), ("~18.19", "bookworm"),
     ("18 || 20", "trixie"), ("*", "bookworm"), ("v24.1.0", "forky"), ("20.x || >=22 <23", "trixie")],
)
def test_engines_node_picks_the_stack(tmp_path, version, stack):
    assert stack_for(tmp_path, node_app(version))[0] == stack


def test_a_node_no_stack_has_is_rejected(tmp_path):
    with pytest.raises(BuildError) as raised:
        stack_for(tmp_path, node_app("16.x"))
    assert "16.x" in str(raised.value) and "18, 20, 24" in str(raised.value)
    name, _, warnings = stack_for(tmp_path / "odd", node_app("lts/iron"))
    assert name == "bookworm" and "lts/iron" in warnings[0]


def test_multi_buildpack_needs_are_combined(tmp_path):
    files = {**node_app("24.x"), "requirements.txt": "", ".python-version": "3.13"}
    assert stack_for(tmp_path, files, names=["nodejs", "python"])[:2] == ("forky", "3.13")
    # Auto-detection runs only the first match (python): engines.node does not count then.
    assert stack_for(tmp_path, files)[:2] == ("forky", "3.13")
    files[".python-version"] = "3.11"
    assert stack_for(tmp_path, files)[:2] == ("bookworm", "3.11")
    with pytest.raises(BuildError, match="no stack has both"):
        stack_for(tmp_path, files, names=["nodejs", "python"])


def test_custom_buildpacks_ask_nothing_of_the_stack(tmp_path):
    files = {".python-version": "3.9", "requirements.txt": ""}  # not read: the custom buildpack decides
    assert stack_for(tmp_path, files, names=["https://example.com/bp.tgz"]) == ("bookworm", None, [])
    assert needs_of(make(tmp_path, files), ["https://example.com/bp.tgz"]).builtins == ()


def test_pick_stack_takes_needs(tmp_path):
    needs = needs_of(make(tmp_path, {".python-version": "3.13", "requirements.txt": ""}), [])
    assert pick_stack(None, needs)[0].name == "forky"
    assert pick_stack("trixie", needs)[:2][1] == "3.13"


@pytest.mark.parametrize(
    ("text", "major", "allowed"),
    [
        ("24.x", 24, True), ("24.x", 20, False), (">=18", 24, True), (">=20.5 <21", 20, True),
        ("^18.19.0", 18, True), ("^18.19.0", 20, False), ("~20.1", 20, True), ("18.x || 20.x", 20, True),
        ("<18", 18, False), ("<=18", 18, True), (">18", 18, False), (">18.2", 18, True), ("18.0.0 - 20", 20, True),
        ("18.0.0 - 19", 20, False), (">= 22", 24, True), ("=20.0.0", 20, True), ("", 18, True), ("x", 18, True),
    ],
)
def test_npm_ranges(text, major, allowed):
    assert npm_range_allows_major(text, major) is allowed


def test_unreadable_npm_range_raises_value_error():
    with pytest.raises(ValueError):
        npm_range_allows_major("lts/*", 20)
