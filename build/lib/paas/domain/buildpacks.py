"""Buildpack installations: which buildpacks an app's builds run, in order.

An entry is a built-in buildpack's name (Heroku's `heroku/<name>` names are accepted) or the URL
of a buildpack: a git repository (`#ref` allowed) or a `.tgz` / `.tar.gz`.
"""

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from paas.domain import apps
from paas.domain.errors import InvalidParams
from paas.domain.models import App

BUILTIN = ("python", "nodejs", "static", "procfile")  # detection order: the first that matches builds
MAX_BUILDPACKS = 8


def canonical(entry: str) -> str:
    """A built-in's short name (`heroku/python` -> `python`), or the URL unchanged."""
    name = entry.strip()
    short = name.removeprefix("heroku/")
    if short in BUILTIN:
        return short
    parts = urlsplit(name)
    if parts.scheme not in ("http", "https", "git") or not parts.netloc:
        known = ", ".join(BUILTIN)
        raise InvalidParams(
            f"Buildpack {entry!r} is neither a built-in one ({known}) nor an http(s) or git URL."
        )
    if len(name) > 1000:
        raise InvalidParams("Buildpack URLs are limited to 1,000 characters.")
    return name


def set_buildpacks(db: Session, app: App, entries: list[str]) -> list[str]:
    if len(entries) > MAX_BUILDPACKS:
        raise InvalidParams(f"An app can use at most {MAX_BUILDPACKS} buildpacks.")
    app = apps.get_app(db, str(app.id), lock=True)
    app.buildpacks = [canonical(entry) for entry in entries]
    db.flush()
    return app.buildpacks
