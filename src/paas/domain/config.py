"""Config vars: every change is a new release.

These functions touch only the database; callers commit (the events they record go out after).
"""


from sqlalchemy.orm import Session

from paas.domain import apps, events, releases
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import InvalidParams
from paas.domain.models import App, Release, User
from paas.domain.names import validate_config_key

# Heroku's limit on an app's config vars, all together (names and values, in bytes).
SIZE_LIMIT = 32 * 1024


def check_size(config: dict[str, str]) -> None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in config.items())
    if size > SIZE_LIMIT:
        raise InvalidParams(f"The config vars would take {size:,} bytes; their limit is {SIZE_LIMIT // 1024} kB all together. Nothing was changed.")


def config_vars(cipher: ConfigCipher, app: App) -> dict[str, str]:
    return cipher.decrypt(app.config_vars)


def update_config(db: Session, cipher: ConfigCipher, app: App, user: User, changes: dict) -> tuple[dict[str, str], Release]:
    """Merge `changes` (a None value deletes a key) and add the release that carries them."""
    if not isinstance(changes, dict):
        raise InvalidParams("Config vars must be a JSON object of names to values.")
    app = apps.get_app(db, str(app.id), lock=True)
    config = config_vars(cipher, app)
    owned = set(releases.addon_keys(db, app))
    set_keys, removed = [], []
    for key, value in changes.items():
        validate_config_key(key)
        if key in owned:
            raise InvalidParams(f"{key} is set by an add-on attached to {app.name}; detach the add-on instead.")
        if value is None:
            if config.pop(key, None) is not None:
                removed.append(key)
        elif isinstance(value, (str, int, float, bool)):
            config[key] = str(value).lower() if isinstance(value, bool) else str(value)
            set_keys.append(key)
        else:
            raise InvalidParams(f"Config var {key} must be a string or null.")
    parts = []
    if set_keys:
        parts.append(f"Set {', '.join(set_keys)} config vars")
    if removed:
        parts.append(f"Remove {', '.join(removed)} config vars")
    check_size(config)
    app.config_vars = cipher.encrypt(config)
    events.record(db, app, "config-vars", "update", {"set": set_keys, "unset": removed})  # names, never values
    base = releases.latest_release(db, app)
    release = releases.add_release(
        db,
        app,
        user,
        description="; ".join(parts) or "Update config vars",
        config=app.config_vars,
        **releases.code_of(base),
    )
    return config, release
