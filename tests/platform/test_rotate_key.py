"""Key rotation re-encrypts every app's config, every release's snapshot and every add-on's
credentials with a new key; the bootstrap never makes a key beside existing data."""

import pytest

from paas.domain import accounts, addons, apps, config
from paas.domain.crypto import ConfigCipher, MissingKey, create_key, load_keys
from paas.domain.models import Addon, App, Release
from paas.platform import rotate_key


def test_rotation_keeps_every_value_readable_with_the_new_key_alone(api_settings, test_sessionmaker):
    old_keys = load_keys(api_settings)
    old = ConfigCipher(old_keys)
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "keys@example.com")
        app = apps.create_app(db, old, owner, "keyed")
        config.update_config(db, old, app, owner, {"SECRET": "s3cret"})
        addons.create_addon(db, old, app, "external", "MAILER", {"url": "smtp://m.example"})
        db.commit()
    count = rotate_key.rotate(api_settings, test_sessionmaker)
    assert count >= 4
    keys = load_keys(api_settings)
    assert len(keys) == 2 and keys[1:] == old_keys  # the new one first; the old one stays for now
    rotate_key.drop_old(api_settings, test_sessionmaker)
    newest = ConfigCipher(load_keys(api_settings))
    assert len(load_keys(api_settings)) == 1
    with test_sessionmaker() as db:
        app = db.query(App).filter_by(name="keyed").one()
        assert newest.decrypt(app.config_vars) == {"SECRET": "s3cret"}
        assert [newest.decrypt(r.config_vars) for r in db.query(Release).filter_by(app_id=app.id).order_by(Release.version)][-1] == {"SECRET": "s3cret"}
        assert newest.decrypt(db.query(Addon).filter_by(app_id=app.id).one().credentials) == {"url": "smtp://m.example"}
        with pytest.raises(Exception):
            old.decrypt(app.config_vars)  # the old key reads none of it any more


def test_no_key_is_made_beside_existing_data(api_settings):
    api_settings.secret_key_file.unlink()
    with pytest.raises(MissingKey, match="restore"):
        create_key(api_settings, data_exists=True)
    with pytest.raises(MissingKey):
        load_keys(api_settings)
    create_key(api_settings, data_exists=False)
    assert len(load_keys(api_settings)) == 1
