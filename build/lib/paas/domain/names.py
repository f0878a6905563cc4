"""Name rules (Heroku's): pure functions, unit-tested."""

import re
import secrets

from paas.domain.errors import InvalidParams

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{2,29}$")
CONFIG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by the runner for every process; an app cannot override them.
RESERVED_CONFIG_KEYS = frozenset({"PORT", "DYNO"})

_ADJECTIVES = ("amber", "brisk", "calm", "deep", "eager", "fuzzy", "gentle", "hidden", "lively", "quiet")
_NOUNS = ("brook", "cliff", "dawn", "field", "grove", "harbor", "meadow", "peak", "river", "stone")


def validate_app_name(name: object) -> str:
    if not isinstance(name, str) or not APP_NAME.fullmatch(name):
        raise InvalidParams(
            "Name must start with a letter, end with a letter or digit and can only contain "
            "lowercase letters, digits, and dashes (3 to 30 characters)."
        )
    if name.endswith("-"):
        raise InvalidParams("Name must end with a letter or digit.")
    return name


def generate_app_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(100000):05d}"


def validate_config_key(key: str) -> str:
    if not CONFIG_KEY.fullmatch(key):
        raise InvalidParams(f"Invalid config var name {key!r}: use letters, digits and underscores, not starting with a digit.")
    if key in RESERVED_CONFIG_KEYS:
        raise InvalidParams(f"{key} is set by the platform and cannot be changed.")
    return key
