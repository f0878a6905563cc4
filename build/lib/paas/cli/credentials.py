"""Tokens saved by `paas login`, and the git credential helper that hands them to `git push`.

The file is `$XDG_CONFIG_HOME/paas/credentials.json` (default `~/.config/paas/credentials.json`):
a JSON object mapping an API URL to its token, readable by its owner only.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

GIT_USERNAME = "paas"  # the platform ignores the user name of Basic auth; the token is the password
DEFAULT_PORTS = {"http": 80, "https": 443}


class CredentialsError(Exception):
    """The credentials file exists but cannot be read or is not a JSON object."""


def config_dir() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    # The XDG spec says relative values are to be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "paas"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def read_all() -> dict[str, str]:
    """Every saved token by API URL; {} when nothing was saved yet."""
    path = credentials_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise CredentialsError(f"Cannot read {path}: {error.strerror or error}") from error
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise CredentialsError(f"{path} is not valid JSON ({error}); fix or delete it.") from error
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} is not a JSON object; fix or delete it.")
    return {str(url): value for url, value in data.items() if isinstance(value, str) and value}


def write_all(tokens: dict[str, str]) -> Path:
    """Replace the file atomically; the new file is created 0600 (never readable by others, not even briefly)."""
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file O_EXCL with mode 0600; os.replace keeps that inode and its mode.
    fd, tmp = tempfile.mkstemp(prefix=".credentials.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(tokens, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def lookup(api_url: str) -> str | None:
    """The saved token for this API URL, if any (an unreadable file counts as none)."""
    try:
        return read_all().get(api_url)
    except CredentialsError:
        return None


def save(api_url: str, token: str) -> Path:
    tokens = read_all()
    tokens[api_url] = token
    return write_all(tokens)


def remove(api_url: str) -> bool:
    """Forget the token of this API URL; False when there was none."""
    tokens = read_all()
    if api_url not in tokens:
        return False
    del tokens[api_url]
    write_all(tokens)
    return True


# --- git credential helper --------------------------------------------------


def parse_git_request(lines: Iterable[str]) -> dict[str, str]:
    """git's `key=value` lines, up to the first blank line (or EOF)."""
    attributes: dict[str, str] = {}
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            break
        key, sep, value = line.partition("=")
        if sep:
            attributes[key] = value
    return attributes


def _host_port(scheme: str, netloc: str) -> tuple[str, int | None]:
    """`Host:5100` -> ("host", 5100); the scheme's default port counts as no port."""
    netloc = netloc.rpartition("@")[2].lower()
    host, port = netloc, None
    if not netloc.endswith("]") and ":" in netloc:  # not a bare [ipv6] literal
        host, _, digits = netloc.rpartition(":")
        port = int(digits) if digits.isdigit() else None
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    return host, port


def matches_api(attributes: dict[str, str], api_url: str) -> bool:
    """Does git ask for the credentials of this API's host (same protocol, host and port)?"""
    protocol, host = attributes.get("protocol"), attributes.get("host")
    if (not protocol or not host) and attributes.get("url"):
        parts = urlsplit(attributes["url"])
        protocol, host = parts.scheme, parts.netloc
    if not protocol or not host:
        return False
    api = urlsplit(api_url)
    protocol = protocol.lower()
    return protocol == api.scheme.lower() and _host_port(protocol, host) == _host_port(protocol, api.netloc)


def git_answer(attributes: dict[str, str], api_url: str, token: str | None) -> str:
    """What the helper prints for `get`: the token for the API's host, nothing for any other."""
    if not token or not matches_api(attributes, api_url):
        return ""
    return f"username={GIT_USERNAME}\npassword={token}\n"
