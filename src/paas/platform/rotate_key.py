"""`python -m paas.platform.rotate_key` (`make rotate-key`): a new secret key, and every
encrypted value (apps' config vars, releases' snapshots, add-ons' credentials, webhooks' secrets) re-encrypted
with it. The old keys stay in the file, after the new one, so a value missed (or a process not
yet restarted) still reads; `--drop-old` removes them once everything uses the new one.

Run it with the platform stopped (`make rotate-key` stops and starts it): running processes
hold the keys they started with."""

import argparse
import sys

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paas.domain.crypto import ConfigCipher, load_keys, write_keys
from paas.domain.db import make_sessionmaker
from paas.domain.models import Addon, App, Release, Webhook
from paas.settings import Settings, get_settings

ENCRYPTED = ((App, "config_vars"), (Release, "config_vars"), (Addon, "credentials"), (Webhook, "secrets"))


def rotate(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Add a new key first in the file and re-encrypt everything with it; how many values."""
    keys = [Fernet.generate_key(), *load_keys(settings)]
    cipher = ConfigCipher(keys)
    count = 0
    with sessions() as db:
        for model, column in ENCRYPTED:
            for row in db.scalars(select(model).with_for_update()):
                value = getattr(row, column)
                if value:
                    setattr(row, column, cipher.rotate(value))
                    count += 1
        write_keys(settings.secret_key_file, keys)  # before the commit: a value never outlives its key
        db.commit()
    return count


def drop_old(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Keep only the newest key, once every value is encrypted with it (checked first)."""
    newest = ConfigCipher(load_keys(settings)[0])
    with sessions() as db:
        for model, column in ENCRYPTED:
            for value in db.scalars(select(getattr(model, column))):
                if value:
                    newest.decrypt(value)  # raises if anything still needs an old key
    write_keys(settings.secret_key_file, load_keys(settings)[:1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drop-old", action="store_true", help="remove the old keys (after a rotation)")
    args = parser.parse_args()
    settings = get_settings()
    sessions = make_sessionmaker(settings)
    if args.drop_old:
        drop_old(settings, sessions)
        print(f"-----> {settings.secret_key_file} holds the newest key only")
        return 0
    count = rotate(settings, sessions)
    print(f"-----> New secret key in {settings.secret_key_file}; {count} encrypted values re-encrypted with it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
