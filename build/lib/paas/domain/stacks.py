"""The stacks apps build and run on: each is a pair of images made from one Debian suite.

This is the catalogue (what each stack offers); the builder makes the images.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Stack:
    name: str
    suite: str
    python_versions: tuple[str, ...]  # major.minor, the first is the stack's default python3
    node_major: int | None
    id: str

    @property
    def run_image(self) -> str:
        return f"paas/stack:{self.name}"

    @property
    def build_image(self) -> str:
        return f"paas/stack:{self.name}-build"


STACK_ORDER = ("bookworm", "trixie", "forky")  # oldest first: "the newest stack" is the last match
STACKS = {
    "bookworm": Stack("bookworm", "bookworm", ("3.11",), 18, "6d1f2a5e-3b1c-4c1e-9a61-0000000000b1"),
    "trixie": Stack("trixie", "trixie", ("3.13",), 20, "6d1f2a5e-3b1c-4c1e-9a61-0000000000b2"),
    "forky": Stack("forky", "forky", ("3.14", "3.13"), 24, "6d1f2a5e-3b1c-4c1e-9a61-0000000000b3"),
}
DEFAULT_STACK = "bookworm"


def get_stack(name: str) -> Stack | None:
    return STACKS.get(name)


def stacks_with_python(major_minor: str) -> list[Stack]:
    """Stacks that have this Python, newest first."""
    return [STACKS[n] for n in reversed(STACK_ORDER) if major_minor in STACKS[n].python_versions]


def stacks_with_node(major: int) -> list[Stack]:
    return [STACKS[n] for n in reversed(STACK_ORDER) if STACKS[n].node_major == major]


def python_versions() -> list[str]:
    """Every Python major.minor some stack has, sorted."""
    found = {v for s in STACKS.values() for v in s.python_versions}
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{1,29}$")
