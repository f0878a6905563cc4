"""The bootstrap's admin token: made once into $PAAS_HOME/admin-token; a token file another
platform on the same home made is taken by a database with no admin yet (one token for `make
up` and the compose stack) if only its owner can read it; a revoked or malformed one is replaced."""

import stat

from sqlalchemy import delete

from paas.domain import accounts, sign_in
from paas.domain.models import ApiToken, User
from paas.platform.bootstrap import ADMIN_EMAIL, ensure_admin_password, ensure_admin_token


def admin_of(test_sessionmaker, token: str):
    with test_sessionmaker() as db:
        return accounts.user_for_token(db, token)


def test_a_new_home_gets_a_token_of_its_own_once(api_settings, test_sessionmaker):
    token = ensure_admin_token(api_settings, test_sessionmaker)
    path = api_settings.admin_token_file
    assert path.read_text().strip() == token and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert admin_of(test_sessionmaker, token).is_admin
    assert ensure_admin_token(api_settings, test_sessionmaker) == token


def test_a_token_file_from_the_other_platform_serves_a_new_database_too(api_settings, test_sessionmaker):
    made_elsewhere = "k" * 10 + "_-" + "Q9" * 16
    api_settings.home.mkdir(parents=True, exist_ok=True)
    api_settings.admin_token_file.write_text(made_elsewhere + "\n")
    api_settings.admin_token_file.chmod(0o644)  # others could read it: not an admin token
    other = ensure_admin_token(api_settings, test_sessionmaker)
    assert other != made_elsewhere and admin_of(test_sessionmaker, other).is_admin
    with test_sessionmaker() as db:  # a fresh database again
        db.execute(delete(ApiToken))
        db.execute(delete(User).where(User.email == "admin@paas.localhost"))
        db.commit()
    api_settings.admin_token_file.write_text(made_elsewhere + "\n")
    api_settings.admin_token_file.chmod(0o600)
    assert ensure_admin_token(api_settings, test_sessionmaker) == made_elsewhere
    assert admin_of(test_sessionmaker, made_elsewhere).is_admin
    assert api_settings.admin_token_file.read_text().strip() == made_elsewhere


def test_a_revoked_token_is_not_taken_back(api_settings, test_sessionmaker):
    first = ensure_admin_token(api_settings, test_sessionmaker)
    with test_sessionmaker() as db:
        db.execute(delete(ApiToken).where(ApiToken.token_hash == accounts.hash_token(first)))
        db.commit()
    second = ensure_admin_token(api_settings, test_sessionmaker)  # the admin exists: a new token
    assert second != first and api_settings.admin_token_file.read_text().strip() == second
    assert admin_of(test_sessionmaker, second).is_admin


def test_a_file_that_holds_no_token_is_replaced(api_settings, test_sessionmaker):
    api_settings.home.mkdir(parents=True, exist_ok=True)
    for junk in ("", "short", "has spaces in it " * 3, "é" * 40):
        api_settings.admin_token_file.write_text(junk)
        api_settings.admin_token_file.chmod(0o600)
        token = ensure_admin_token(api_settings, test_sessionmaker)
        assert token != junk.strip() and admin_of(test_sessionmaker, token).is_admin
        with test_sessionmaker() as db:  # a fresh database again for the next case
            db.execute(delete(ApiToken))
            db.execute(delete(User).where(User.email == "admin@paas.localhost"))
            db.commit()


def test_the_admins_first_dashboard_password_is_made_once_into_a_private_file(api_settings, test_sessionmaker):
    ensure_admin_token(api_settings, test_sessionmaker)
    ensure_admin_password(api_settings, test_sessionmaker)
    path = api_settings.admin_password_file
    password = path.read_text().strip()
    assert len(password) >= 20 and stat.S_IMODE(path.stat().st_mode) == 0o600
    with test_sessionmaker() as db:
        assert sign_in.user_for_password(db, ADMIN_EMAIL, password).is_admin
    path.unlink()
    ensure_admin_password(api_settings, test_sessionmaker)  # the admin has one: no new one, no file
    assert not path.exists()


def test_a_password_file_from_the_other_platform_serves_a_new_database_too(api_settings, test_sessionmaker):
    """The compose stack and `make up` on one home: the second bootstrap keeps the first's password."""
    api_settings.home.mkdir(parents=True, exist_ok=True)
    made_elsewhere = "made-by-the-other-platform"
    api_settings.admin_password_file.write_text(made_elsewhere + "\n")
    api_settings.admin_password_file.chmod(0o600)
    ensure_admin_token(api_settings, test_sessionmaker)
    ensure_admin_password(api_settings, test_sessionmaker)
    assert api_settings.admin_password_file.read_text().strip() == made_elsewhere
    with test_sessionmaker() as db:
        assert sign_in.user_for_password(db, ADMIN_EMAIL, made_elsewhere).is_admin
