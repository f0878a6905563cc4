"""The `paas` git remote of the current directory: where the CLI finds its app and where pushes go."""

import subprocess

REMOTE = "paas"
FALLBACK = "heroku"  # a repo set up for Heroku's CLI names its app too


def app_from_remote_url(url: str) -> str | None:
    """`http://host:5100/myapp.git`, `git@host:myapp.git` or `.../myapp/` -> `myapp`."""
    last = url.strip().rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
    name = last.removesuffix(".git")
    return name or None


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True)


def in_repo() -> bool:
    try:
        return git("rev-parse", "--is-inside-work-tree").returncode == 0
    except FileNotFoundError:  # no git installed: no remote either
        return False


def remote_url(name: str = REMOTE) -> str | None:
    if not in_repo():
        return None
    result = git("remote", "get-url", name)
    return result.stdout.strip() if result.returncode == 0 else None


def app_of_repo() -> str | None:
    """The app the current repo's `paas` remote (else its `heroku` remote) pushes to."""
    for name in (REMOTE, FALLBACK):
        if (url := remote_url(name)) and (app := app_from_remote_url(url)):
            return app
    return None


def set_remote(url: str) -> None:
    """Add the remote, or point the existing one at `url`."""
    verb = "set-url" if remote_url() is not None else "add"
    result = git("remote", verb, REMOTE, url)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"git remote {verb} failed")


def remove_remote() -> None:
    git("remote", "remove", REMOTE)


def credential_helper_key(api_url: str) -> str:
    """`credential.http://127.0.0.1:5100.helper`: git uses it for every URL under the API's."""
    return f"credential.{api_url}.helper"


def set_credential_helper(api_url: str, command: str) -> None:
    """Make this repo ask `command` (a `!shell command`) for the API's credentials, and only it.

    The empty first value clears helpers configured elsewhere (a global `store` or `cache`) for
    this URL, so git neither answers with a stale password nor writes the token to disk.
    """
    key = credential_helper_key(api_url)
    for args in (("--replace-all", key, ""), ("--add", key, command)):
        result = git("config", "--local", *args)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip() or f"git config {key} failed")
