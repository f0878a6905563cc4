"""Config vars and add-on credentials are encrypted at rest with Fernet. The keys live in
$PAAS_HOME/secret-key, one per line, the newest first: values are encrypted with the first and
read with any (`python -m paas.platform.rotate_key` adds a new one and re-encrypts everything).

Only `make up`'s bootstrap makes the file, and only while the database holds nothing encrypted:
a key made anew beside data encrypted with a lost one would turn that data unreadable without a
word, so every process refuses to start without the file instead."""

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from paas.settings import Settings


class MissingKey(RuntimeError):
    pass


def load_keys(settings: Settings) -> list[bytes]:
    path = settings.secret_key_file
    try:
        keys = [line.strip() for line in path.read_bytes().splitlines() if line.strip()]
    except FileNotFoundError:
        keys = []
    if not keys:
        raise MissingKey(f"{path} is missing or empty: restore it (the data is encrypted with it), or run `make up` on a new installation.")
    return keys


def load_key(settings: Settings) -> bytes:
    """The newest key (for what is derived from it, such as URL signatures)."""
    return load_keys(settings)[0]


def create_key(settings: Settings, data_exists: bool) -> None:
    """The first key of a new installation; an error if data encrypted with a lost one exists."""
    path = settings.secret_key_file
    if path.exists():
        return
    if data_exists:
        raise MissingKey(f"{path} is missing but the database holds encrypted config: restore the file; a new key cannot read it.")
    write_keys(path, [Fernet.generate_key()])


def write_keys(path: Path, keys: list[bytes]) -> None:
    """Atomically, 0600: only the platform's user can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"\n".join(keys) + b"\n")
        f.flush()
        os.fsync(f.fileno())  # on disk before anything encrypted with it is committed
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class ConfigCipher:
    def __init__(self, keys: bytes | list[bytes]):
        keys = [keys] if isinstance(keys, bytes) else keys
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, config: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(config, sort_keys=True).encode())

    def decrypt(self, blob: bytes) -> dict[str, str]:
        return json.loads(self._fernet.decrypt(blob))

    def rotate(self, blob: bytes) -> bytes:
        """The same value, encrypted with the newest key."""
        return self._fernet.rotate(blob)
