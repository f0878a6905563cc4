"""The host's own services, as `make up` leaves them: the platform's home is root's alone, Redis and
Postgres ask for passwords that live in that home, the platform's Postgres role may not create
databases, and both listen on loopback only. Each refusal is checked for its own error, next to
the same probe that gets in where it should (the positive control)."""

import os
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

pytestmark = pytest.mark.e2e
# Readable by anyone who can reach them (nobody else can: the home is 0700).
PUBLIC = {"router-ca.crt", "rendezvous-ca.crt"}


def loose(home: Path) -> tuple[list[str], int]:
    """What under `home` others may use (their paths and modes), and how many entries were looked
    at. Kept apart, as services.sh's private_home keeps them: the public certificates; buildah's
    configuration, which the build user reads (not writable by others); and what the image stores,
    build caches and fetched buildpacks hold, whose modes are those of images' and buildpacks'
    files (each store, cache and buildpack itself is private)."""
    found, seen = [], 0
    cache = home / "build-cache"
    for directory, dirs, files in os.walk(home):  # never into links
        here = Path(directory)
        for name in [*dirs, *files]:
            path = here / name
            mode = os.lstat(path).st_mode
            seen += 1
            if stat.S_ISLNK(mode):
                continue
            if here == cache / "images" / "config" or path == cache / "images" / "config" or (here == home and name in PUBLIC):
                if mode & 0o022:
                    found.append(f"{path} {stat.filemode(mode)}")
                continue
            if mode & 0o077:
                found.append(f"{path} {stat.filemode(mode)}")
        if here in (cache / "images", *cache.joinpath("apps").glob("*"), *cache.joinpath("buildpacks").glob("*")):
            dirs[:] = []  # a store's, cache's or buildpack's own mode was checked; not what it holds
    return found, seen


def test_the_home_is_private(settings, tmp_path):
    home = settings.home.resolve()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    found, seen = loose(home)
    assert not found, "open to others under the platform's home:\n" + "\n".join(found[:50])
    # What the platform and its services wrote is among what was looked at.
    for made in ("secret-key", "admin-token", "redis-password", "postgres-password", "redis/dump.rdb", "logs/api.log"):
        assert (home / made).exists(), made
    assert seen > 20
    # The positive control: the same check finds a file and a directory left open.
    (tmp_path / "open").mkdir(mode=0o755)
    (tmp_path / "open" / "file").write_text("x")
    (tmp_path / "open" / "file").chmod(0o644)
    tmp_path.chmod(0o700)
    assert sorted(p.split()[0] for p in loose(tmp_path)[0]) == [str(tmp_path / "open"), str(tmp_path / "open" / "file")]


def test_another_user_cannot_enter_the_home(settings):
    home = settings.home.resolve()

    def as_nobody(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "nobody", "--", *argv], cwd="/", capture_output=True, text=True, timeout=10)

    refused = as_nobody("cat", str(home / "router-ca.crt"))
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    # The positive control: the same user reads the home's parent directory.
    assert as_nobody("ls", str(home.parent)).returncode == 0


def test_redis_asks_for_its_password(settings):
    url = urlsplit(settings.redis_url)
    password = (settings.home / "redis-password").read_text().strip()
    assert url.password == password  # the platform's URL took it from the home
    anonymous = redis.Redis(host=url.hostname, port=url.port, socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError, match="Authentication required"):
        anonymous.ping()
    assert redis.Redis(host=url.hostname, port=url.port, password=password, socket_timeout=5).ping() is True
    # Not on Redis's command line, which anyone's `ps` shows.
    for pid in subprocess.run(["pidof", "redis-server"], capture_output=True, text=True).stdout.split():
        assert password not in Path(f"/proc/{pid}/cmdline").read_text()


def test_postgres_role_has_a_password_of_its_own_and_no_more_rights(settings):
    url = urlsplit(settings.database_url)
    password = (settings.home / "postgres-password").read_text().strip()
    assert url.password == password and password != "paas"
    where = {"host": url.hostname, "port": url.port, "user": "paas", "dbname": url.path.lstrip("/"), "connect_timeout": 5}
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "paas"'):
        psycopg.connect(**where, password="paas")  # the password it had before
    with psycopg.connect(**where, password=password, autocommit=True) as connection:
        rights = connection.execute("SELECT rolcreatedb, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = 'paas'").fetchone()
        assert rights == (False, False, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("CREATE DATABASE paas_test_not_allowed")


def listeners(port: int) -> list[str]:
    """The local addresses that listen on TCP `port`."""
    lines = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout.splitlines()
    return [local_address(line) for line in lines]


def local_address(line: str) -> str:
    """The local address of one line of `ss -ltnH` (its fourth field, the port taken off)."""
    return line.split()[3].rsplit(":", 1)[0]


@pytest.mark.parametrize("url_of", [lambda s: s.database_url, lambda s: s.redis_url], ids=["postgres", "redis"])
def test_postgres_and_redis_listen_on_loopback_only(settings, url_of):
    addresses = listeners(urlsplit(url_of(settings)).port)
    assert addresses, "nothing listens there: the probe would pass on anything"
    assert set(addresses) <= {"127.0.0.1", "[::1]"}, addresses
    # The positive control: the same parsing sees a listener on every address for what it is.
    assert local_address("LISTEN 0 511 0.0.0.0:6379 0.0.0.0:*") == "0.0.0.0"
    assert local_address("LISTEN 0 511 [::]:6379 [::]:*") == "[::]"
