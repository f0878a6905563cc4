"""Add-on plans, attachment names, host names and the add-on services (real Postgres)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.domain import addons, apps, config, domains, releases
from paas.domain.addon_services import BY_NAME, find_plan
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import InvalidParams
from paas.domain.models import Status

CIPHER = ConfigCipher(b"y" * 43 + b"=")


def test_plans_by_service_alias_and_plan_name():
    assert [(s.name, p.name) for s, p in map(find_plan, ("postgresql", "heroku-postgresql", "postgresql:standard", "heroku-redis:premium"))] == [
        ("postgresql", "basic"), ("postgresql", "basic"), ("postgresql", "standard"), ("redis", "premium")]
    for wrong in ("mysql", "postgresql:huge", "", ":basic", None, 3):
        with pytest.raises(InvalidParams):
            find_plan(wrong)


@given(st.text(max_size=40))
def test_any_plan_text_is_found_or_refused_clearly(text):
    try:
        service, plan = find_plan(text)
    except InvalidParams as error:
        assert error.message
    else:
        assert text.split(":")[0] in (service.name, *service.aliases) and plan in service.plans


@given(st.sets(st.sampled_from([f"HEROKU_POSTGRESQL_{c}" for c in ("RED", "BLUE", "TEAL")] + ["DATABASE"])))
def test_the_first_database_is_DATABASE_and_the_next_get_a_free_color(taken):
    name = addons.next_attachment_name(BY_NAME["postgresql"], taken)
    assert name not in taken and (name == "DATABASE" or ("DATABASE" in taken and name.startswith("HEROKU_POSTGRESQL_")))


@given(st.text(max_size=300))
def test_host_names_are_valid_or_refused(text):
    try:
        name = domains.validate_hostname(text, "localhost")
    except InvalidParams:
        return
    assert name == name.lower() and len(name) <= 253 and "." in name and not name.endswith(".localhost")


@pytest.mark.parametrize("good", ["www.example.com", "*.example.com", "A.B-c.example.io", "x.test."])
def test_good_host_names(good):
    assert domains.validate_hostname(good, "localhost") == good.lower().rstrip(".")


def test_a_wildcard_may_not_cover_the_platforms_own_domain():
    with pytest.raises(InvalidParams, match="would cover"):
        domains.validate_hostname("*.example.com", "paas.example.com")
    assert domains.validate_hostname("*.other.example.com", "paas.example.com") == "*.other.example.com"


@pytest.mark.parametrize("bad", ["example", "a..b.com", "-a.com", "a-.com", "*.*.a.com", "1.2.3.4", "a.localhost", "localhost", "a_b.com"])
def test_bad_host_names(bad):
    with pytest.raises(InvalidParams):
        domains.validate_hostname(bad, "localhost")


def test_attaching_sets_the_var_in_a_release_and_a_rollback_keeps_the_addons_current_vars(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "with-db")
        config.update_config(db, CIPHER, app, owner, {"USER_VAR": "1"})
        before = releases.latest_release(db, app)
        releases.settle_release(db, before, Status.succeeded)
        addon = addons.create_addon(db, CIPHER, app, "postgresql")
        assert addon.state == "provisioning" and "DATABASE_URL" not in config.config_vars(CIPHER, app)
        [attached] = addons.provisioned(db, CIPHER, addon, owner)
        url = config.config_vars(CIPHER, app)["DATABASE_URL"]
        assert url.startswith("postgres://u") and f"@{addon.name}:5432/d" in url
        assert attached.description == f"Attach DATABASE (@ref:{addon.name})" and attached.addon_keys == ["DATABASE_URL"]
        with pytest.raises(InvalidParams):  # the add-on owns it
            config.update_config(db, CIPHER, app, owner, {"DATABASE_URL": "x"})
        [rotated] = addons.rotated(db, CIPHER, addon, {**addons.credentials_of(CIPHER, addon), "password": "new"}, owner)
        new_url = config.config_vars(CIPHER, app)["DATABASE_URL"]
        assert ":new@" in new_url and "rotating credentials" in rotated.description
        # Back to a release without the add-on: the user's vars come back, the add-on's stay current.
        config.update_config(db, CIPHER, app, owner, {"USER_VAR": "2"})
        # (a release with no code cannot be rolled back to: give the old one an image)
        before.image = "img@sha256:1"
        rolled = releases.rollback(db, CIPHER, app, owner, before.version)
        assert CIPHER.decrypt(rolled.config_vars) == {"USER_VAR": "1", "DATABASE_URL": new_url}
        second = addons.create_addon(db, CIPHER, app, "heroku-postgresql")
        assert addons.attachments_of(db, second)[0].name.startswith("HEROKU_POSTGRESQL_")
        addons.destroy(db, CIPHER, addon, owner)
        assert "DATABASE_URL" not in config.config_vars(CIPHER, app)
        assert releases.latest_release(db, app).description.startswith("Detach DATABASE")


def test_an_attachment_name_that_is_taken_or_a_var_that_exists_is_refused(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "names")
        config.update_config(db, CIPHER, app, owner, {"MAILER_URL": "mine"})
        with pytest.raises(InvalidParams, match="already has a MAILER_URL"):
            addons.create_addon(db, CIPHER, app, "external", "mailer", {"url": "smtp://m.example"})
        for bad in ({"url": "not a url"}, {"url": "https://x.example", "extra": 1}, {}, "x"):
            with pytest.raises(InvalidParams):
                addons.create_addon(db, CIPHER, app, "external", "OTHER", bad)
        with pytest.raises(InvalidParams):
            addons.create_addon(db, CIPHER, app, "redis", None, {"maxmemory": "1gb"})
