"""Before the build container starts, on the host: which built-in buildpacks will run, what
runtime the app asks for, and so which stack builds it.

The file rules mirror the built-ins' bin/detect scripts (a test holds the two together): the stack
must be known before a container of it can run anything.
"""

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from paas.builder.buildpacks import BUILTIN, BuildError
from paas.builder.files import is_file_beneath, read_beneath
from paas.domain.stacks import (
    DEFAULT_STACK,
    STACK_ORDER,
    STACKS,
    Stack,
    python_versions,
)

PYTHON_FILES = ("requirements.txt", "pyproject.toml", "Pipfile.lock", "Pipfile", "setup.py")
# Apps of languages with no built-in buildpack: not to be served as a static site by mistake.
OTHER_LANGUAGES = ("Gemfile", "go.mod", "composer.json", "Cargo.toml", "pom.xml", "build.gradle", "mix.exs")
VERSION_TEXT = re.compile(r"(?:c?python-?)?(\d+)\.(\d+)(?:\.(\d+))?", re.IGNORECASE)


def detects(name: str, source_dir: Path) -> bool:
    """Would the built-in buildpack `name` claim this source? (Its bin/detect, in Python.)"""
    has = lambda rel: is_file_beneath(source_dir, rel)  # noqa: E731
    match name:
        case "python":
            return any(has(f) for f in PYTHON_FILES)
        case "nodejs":
            return has("package.json")
        case "static":
            return (has("index.html") or has("public/index.html")) and not any(has(f) for f in OTHER_LANGUAGES)
        case "procfile":
            return has("Procfile")
    return False


def detect_builtin(source_dir: Path) -> str | None:
    return next((name for name in BUILTIN if detects(name, source_dir)), None)


@dataclass(frozen=True)
class PythonAsk:
    source: str  # the file that asks, for messages
    text: str  # what it says
    major_minor: str | None = None  # from .python-version / runtime.txt
    patch: str | None = None
    spec: SpecifierSet | None = None  # from requires-python

    def allows(self, version: str) -> bool:
        """Does a stack's `major.minor` give what is asked (some patch release of it would)?"""
        if self.spec is None:
            return version == self.major_minor
        return any(self.spec.contains(Version(f"{version}.{patch}")) for patch in range(100))


@dataclass(frozen=True)
class Needs:
    builtins: tuple[str, ...]  # the built-in buildpacks that will run
    python: PythonAsk | None = None
    node: str | None = None  # engines.node as written
    node_majors: frozenset[int] | None = None  # the stacks' Node majors it allows; None: anything
    warnings: tuple[str, ...] = field(default=())


def python_ask(source_dir: Path) -> PythonAsk | None:
    """The Python version the app asks for: .python-version, then runtime.txt, then requires-python."""
    for name in (".python-version", "runtime.txt"):
        if (text := read_beneath(source_dir, name)) is None:
            continue
        lines = [ln.strip() for ln in text.splitlines()]
        text = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        match = VERSION_TEXT.fullmatch(text)
        if match is None:
            example = "3.13" if name == ".python-version" else "python-3.13.1"
            raise BuildError(f"{name} says {text!r}, which is not a Python version (write e.g. {example})")
        major, minor, patch = match.groups()
        return PythonAsk(name, text, f"{major}.{minor}", patch)
    if (pyproject := read_beneath(source_dir, "pyproject.toml")) is not None:
        try:
            data = tomllib.loads(pyproject)
        except tomllib.TOMLDecodeError as error:
            raise BuildError(f"pyproject.toml is not valid TOML: {error}") from None
        project = data.get("project")
        text = project.get("requires-python") if isinstance(project, dict) else None
        if isinstance(text, str) and text.strip():
            try:
                return PythonAsk("pyproject.toml requires-python", text.strip(), spec=SpecifierSet(text))
            except InvalidSpecifier:
                raise BuildError(f"pyproject.toml: requires-python {text!r} is not a version specifier") from None
    return None


def node_ask(source_dir: Path) -> tuple[str | None, frozenset[int] | None, list[str]]:
    """engines.node of package.json, and the Node majors of our stacks it allows."""
    try:
        package = json.loads(read_beneath(source_dir, "package.json") or "")
    except ValueError as error:
        raise BuildError(f"package.json is not valid JSON: {error}") from None
    engines = package.get("engines") if isinstance(package, dict) else None
    wanted = engines.get("node") if isinstance(engines, dict) else None
    if not isinstance(wanted, str) or not wanted.strip() or wanted.strip() in ("*", "x"):
        return None, None, []
    majors = {s.node_major for s in STACKS.values() if s.node_major is not None}
    try:
        allowed = frozenset(m for m in majors if npm_range_allows_major(wanted, m))
    except ValueError:
        return wanted, None, [f"could not read engines.node {wanted!r} in package.json; any Node will do"]
    return wanted, allowed, []


def needs_of(source_dir: Path, buildpack_names: list[str]) -> Needs:
    """What the built-in buildpacks among `buildpack_names` will need (none named: the one detected)."""
    if buildpack_names:
        names = tuple(n for n in buildpack_names if n in BUILTIN)
    else:
        found = detect_builtin(source_dir)
        names = (found,) if found else ()
    python = python_ask(source_dir) if "python" in names else None
    node, majors, warnings = node_ask(source_dir) if "nodejs" in names and is_file_beneath(source_dir, "package.json") else (None, None, [])
    return Needs(names, python, node, majors, tuple(warnings))


def choose_stack(
    source_dir: Path, requested_stack: str | None, buildpack_names: list[str],
) -> tuple[Stack, str | None, list[str]]:
    """The stack to build on, the Python major.minor to use (None: the stack's default) and warnings."""
    return pick_stack(requested_stack, needs_of(source_dir, buildpack_names))


def pick_stack(requested_stack: str | None, needs: Needs) -> tuple[Stack, str | None, list[str]]:
    warnings = list(needs.warnings)
    ask = needs.python
    if ask is not None and not any(ask.allows(v) for v in python_versions()):
        raise BuildError(
            f"Python {ask.text} (from {ask.source}) is not available on any stack; "
            f"the versions that exist are {', '.join(python_versions())}"
        )
    if needs.node_majors is not None and not needs.node_majors:
        majors = sorted({s.node_major for s in STACKS.values() if s.node_major})
        raise BuildError(
            f"Node {needs.node} (engines.node in package.json) is not available on any stack; "
            f"the Node majors that exist are {', '.join(map(str, majors))}"
        )

    def offers(stack: Stack) -> list[str]:
        """What the stack would run of the app's asks: its matching Pythons, newest first ([None] if
        no Python is asked); empty when it cannot give the app what it asks."""
        if needs.node_majors is not None and stack.node_major not in needs.node_majors:
            return []
        if "nodejs" in needs.builtins and stack.node_major is None:
            return []
        if ask is None:
            return [None]
        return sorted((v for v in stack.python_versions if ask.allows(v)), key=_version_key, reverse=True)

    if requested_stack is not None:
        stack = STACKS.get(requested_stack)
        if stack is None:
            raise BuildError(f"the app's stack {requested_stack!r} does not exist; stacks: {', '.join(STACK_ORDER)}")
        if not offers(stack):
            raise BuildError(_not_on_stack(stack, needs, [s.name for s in _newest_first() if offers(s)]))
        version = offers(stack)[0]
    elif ask is None and needs.node_majors is None and offers(STACKS[DEFAULT_STACK]):
        stack, version = STACKS[DEFAULT_STACK], None
    else:
        # The newest Python that is asked for wins, then the newest stack that has it.
        candidates = [(v, i, s) for i, s in enumerate(_newest_first()) for v in offers(s)]
        if not candidates:
            raise BuildError(f"no stack has both {_asks(needs)}; stacks: " + "; ".join(_describe(s) for s in _newest_first()))
        candidates.sort(key=lambda c: (_version_key(c[0]) if c[0] else (), -c[1]), reverse=True)
        version, _, stack = candidates[0]
    if ask is not None and ask.patch is not None:
        warnings.append(
            f"{ask.source} asks for Python {ask.major_minor}.{ask.patch}; the {stack.name} stack has its own "
            f"patch release of Python {version}, which this build uses"
        )
    return stack, version, warnings


def _newest_first() -> list[Stack]:
    return [STACKS[name] for name in reversed(STACK_ORDER)]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _describe(stack: Stack) -> str:
    node = f", Node {stack.node_major}" if stack.node_major else ""
    return f"{stack.name} (Python {', '.join(stack.python_versions)}{node})"


def _asks(needs: Needs) -> str:
    parts = []
    if needs.python is not None:
        parts.append(f"Python {needs.python.text} (from {needs.python.source})")
    if needs.node is not None:
        parts.append(f"Node {needs.node} (engines.node in package.json)")
    if not parts:
        parts.append("Node")
    return " and ".join(parts)


def _not_on_stack(stack: Stack, needs: Needs, elsewhere: list[str]) -> str:
    hint = (
        f"; stacks that have it: {', '.join(elsewhere)} (set one with PATCH /apps/<app> {{\"build_stack\": ...}})"
        if elsewhere else ""
    )
    return f"the app's stack {_describe(stack)} does not have {_asks(needs)}{hint}"


# --- npm's semver ranges, enough to tell which Node majors a range allows ------------------

_PART = r"(?:\d+|[xX*])"
_PARTIAL = re.compile(rf"v?({_PART})(?:\.({_PART}))?(?:\.({_PART}))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_COMPARATOR = re.compile(r"\s*(\^|~>?|>=|<=|>|<|=)?\s*([^\s<>=^~]+)")


def npm_range_allows_major(text: str, major: int) -> bool:
    """Does some release `major.x.y` satisfy the npm range? Raises ValueError on a range it cannot read."""
    candidates = [(major, minor, patch) for minor in range(0, 60) for patch in (0, 999)]
    for alternative in text.split("||"):
        comparators = _comparators(alternative.strip())
        if any(all(check(c) for check in comparators) for c in candidates):
            return True
    return False


def _comparators(text: str):
    if not text:
        return [lambda v: True]
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        low, high = _partial(hyphen.group(1)), _partial(hyphen.group(2))
        return [_at_least(low), _upper(high)]
    text = re.sub(r"(\^|~>?|>=|<=|>|<|=)\s+", r"\1", text)  # `>= 18` is `>=18`
    checks = []
    for match in _COMPARATOR.finditer(text):
        op, parts = match.group(1) or "", _partial(match.group(2))
        checks.extend(_checks(op, parts))
    return checks


def _partial(text: str) -> list[int | None]:
    match = _PARTIAL.fullmatch(text)
    if match is None:
        raise ValueError(text)
    parts: list[int | None] = []
    for group in match.groups():
        if group is None or group in "xX*":
            break
        parts.append(int(group))
    return parts


def _bump(parts: list[int | None], index: int) -> tuple[int, int, int]:
    """The first version past the given parts at `index`: 1.2 at 1 -> 1.3.0."""
    head = [p or 0 for p in parts[: index + 1]]
    head[index] += 1
    return tuple(head + [0] * (3 - len(head)))  # type: ignore[return-value]


def _pad(parts: list[int | None]) -> tuple[int, int, int]:
    return tuple((list(parts) + [0, 0, 0])[:3])  # type: ignore[return-value]


def _at_least(parts):
    low = _pad(parts)
    return lambda v: v >= low


def _upper(parts):
    if len(parts) == 3:
        high = _pad(parts)
        return lambda v: v <= high
    if not parts:
        return lambda v: True
    bound = _bump(parts, len(parts) - 1)
    return lambda v: v < bound


def _checks(op: str, parts: list[int | None]):
    if not parts:  # `*`, `x`, `>=x`...
        return [lambda v: not op.startswith("<") and op != ">"]
    low = _pad(parts)
    if op in ("", "="):
        return [_at_least(parts), _upper(parts)]
    if op == "^":
        first = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
        bound = _bump(parts, first)
        return [lambda v: v >= low, lambda v: v < bound]
    if op.startswith("~"):
        bound = _bump(parts, 0 if len(parts) == 1 else 1)
        return [lambda v: v >= low, lambda v: v < bound]
    if op == ">=":
        return [lambda v: v >= low]
    if op == "<":
        return [lambda v: v < low]
    if op == ">":
        bound = _pad(parts) if len(parts) == 3 else _bump(parts, len(parts) - 1)
        return [lambda v: v > bound] if len(parts) == 3 else [lambda v: v >= bound]
    if op == "<=":
        return [_upper(parts)]
    raise ValueError(op)
