"""Settings take the services' passwords from files of the home when a URL names none."""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from paas.settings import Settings, with_password

passwords = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=40)


def home_with(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name.replace("_", "-")).write_text(text + "\n")
    return tmp_path


def test_urls_without_passwords_get_the_homes(tmp_path, monkeypatch):
    for name in ("PAAS_DATABASE_URL", "PAAS_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(home=home_with(tmp_path, postgres_password="pg1", redis_password="rd1"))
    assert settings.database_url == "postgresql+psycopg://paas:pg1@127.0.0.1:5432/paas"
    assert settings.redis_url == "redis://:rd1@127.0.0.1:6379/0"


def test_a_url_that_names_a_password_keeps_it(tmp_path):
    settings = Settings(home=home_with(tmp_path, postgres_password="pg1", redis_password="rd1"),
                        database_url="postgresql+psycopg://u:given@db:5/x", redis_url="redis://:given@r:1/2")
    assert settings.database_url == "postgresql+psycopg://u:given@db:5/x"
    assert settings.redis_url == "redis://:given@r:1/2"


def test_no_readable_file_leaves_the_url(tmp_path):
    (tmp_path / "redis-password").mkdir()  # unreadable as a file: OSError, like a home of root's
    assert with_password("redis://127.0.0.1:6379/0", tmp_path / "redis-password") == "redis://127.0.0.1:6379/0"
    assert with_password("redis://127.0.0.1:6379/0", tmp_path / "missing") == "redis://127.0.0.1:6379/0"


@given(passwords)
def test_any_password_is_carried_whole(tmp_path_factory, password):
    file = tmp_path_factory.mktemp("home") / "password"
    file.write_text(password)
    url = urlsplit(with_password("postgresql+psycopg://paas@127.0.0.1:5432/paas", file))
    assert unquote(url.password) == password.strip()
    assert (url.username, url.hostname, url.port, url.path) == ("paas", "127.0.0.1", 5432, "/paas")
