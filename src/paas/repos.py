"""The bare git repositories that pushes land in: $PAAS_HOME/repos/<app>.git."""

import shutil
from pathlib import Path

from dulwich.repo import Repo

from paas.domain.names import APP_NAME
from paas.settings import Settings


def repository_path(settings: Settings, app_name: str) -> Path:
    # The name is checked again here because it becomes part of a filesystem path.
    if not APP_NAME.fullmatch(app_name):
        raise ValueError(f"not an app name: {app_name!r}")
    return settings.repos_dir.resolve() / f"{app_name}.git"


def open_or_init(settings: Settings, app_name: str) -> Repo:
    path = repository_path(settings, app_name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return Repo.init_bare(str(path), mkdir=True)
    return Repo(str(path))


def rename_repository(settings: Settings, old: str, new: str) -> None:
    """The repository follows its app to a new name (a leftover under that name goes first)."""
    source = repository_path(settings, old)
    if source.exists():
        delete_repository(settings, new)
        source.rename(repository_path(settings, new))


def delete_repository(settings: Settings, app_name: str) -> None:
    shutil.rmtree(repository_path(settings, app_name), ignore_errors=True)
