"""The Procfile: one `<type>: <command>` per line, parsed strictly so a typo rejects the push."""

from pathlib import Path

from paas.builder.files import read_beneath
from paas.domain.formation import (
    PROCESS_TYPE,  # the domain's rule for process type names
)


class ProcfileError(ValueError):
    """A malformed Procfile; the message names the line."""


def parse_procfile(text: str) -> dict[str, str]:
    """Process types in file order. Blank lines and `#` comments are skipped."""
    types: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        shown = line if len(line) <= 120 else line[:117] + "..."

        def fail(why: str) -> ProcfileError:
            return ProcfileError(f"line {number}: {why}: {shown!r}")

        name, colon, command = line.partition(":")
        name, command = name.strip(), command.strip()
        if not colon:
            raise fail("expected `<process type>: <command>`")
        if not PROCESS_TYPE.fullmatch(name):
            raise fail("a process type is 1 to 30 letters, digits, `_` or `-`")
        if not command:
            raise fail(f"process type {name!r} has no command")
        if name in types:
            raise fail(f"process type {name!r} is declared twice")
        types[name] = command
    return types


def format_procfile(types: dict[str, str]) -> str:
    return "".join(f"{name}: {command}\n" for name, command in types.items())


def read_procfile(directory: Path) -> dict[str, str] | None:
    """The Procfile of a build's files, if it has one (read without leaving them)."""
    text = read_beneath(directory, "Procfile")
    return None if text is None else parse_procfile(text)
