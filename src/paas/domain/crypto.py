"""Config vars are encrypted at rest with Fernet; the key lives in $PAAS_HOME/secret-key."""

import json
import os

from cryptography.fernet import Fernet

from paas.settings import Settings


def load_or_create_key(settings: Settings) -> bytes:
    path = settings.secret_key_file
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # Created 0600 so only the platform's user can read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class ConfigCipher:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def encrypt(self, config: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(config, sort_keys=True).encode())

    def decrypt(self, blob: bytes) -> dict[str, str]:
        return json.loads(self._fernet.decrypt(blob))
