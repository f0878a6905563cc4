"""Shared fixtures. API tests run in-process against a real Postgres database of their own
(`paas_test`, migrated with Alembic once per run); each test runs inside a transaction that is
rolled back at its end, so tests never see each other's rows."""

import json
import os
import shutil
import socket
import subprocess
import time
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from paas.domain.crypto import create_key
from paas.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_DATABASE = os.environ.get("PAAS_TEST_DATABASE", "paas_test")  # another name: a second checkout tests beside this one
TEST_REDIS_DB = 15  # not the platform's: the running runner never sees the tests' wake-ups


def as_postgres(*argv: str) -> None:
    """A client program of Postgres's (createdb, dropdb) as its superuser, on the platform's port."""
    port = str(make_url(Settings().database_url).port or 5432)
    done = subprocess.run(["runuser", "-u", "postgres", "--", argv[0], "-p", port, *argv[1:]], cwd="/",
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"


def drop_database(name: str) -> None:
    as_postgres("dropdb", "--if-exists", "--force", name)


def empty_database(name: str) -> str:
    """A new, empty database `name` owned by the platform's role, and its URL. Made as the
    postgres superuser (as .ci/run makes paas_ci): the platform's role may not create databases."""
    url = make_url(Settings().database_url)
    drop_database(name)
    as_postgres("createdb", "-O", url.username, name)
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def test_database_url() -> str:
    test_url = empty_database(TEST_DATABASE)
    config = Config(os.path.join(ROOT, "alembic.ini"))
    config.attributes["database_url"] = test_url
    command.upgrade(config, "head")
    return test_url


@pytest.fixture
def api_settings(tmp_path, test_database_url) -> Settings:
    base = make_url(Settings().redis_url)
    settings = Settings(
        instance="paas-test",  # the running platform's runner leaves these containers alone
        home=tmp_path / "paas-home",
        rendezvous_port=0,  # the running platform's API serves it; attach URLs are then WebSockets
        database_url=test_database_url,
        redis_url=base.set(database=str(TEST_REDIS_DB)).render_as_string(hide_password=False),
    )
    create_key(settings, data_exists=False)  # what `make up` does on a new installation
    platform_users = Settings().home / "registry-users"  # the running platform's registry credentials
    if platform_users.is_dir():
        shutil.copytree(platform_users, settings.home / "registry-users")
    return settings


@pytest.fixture
def db_connection(test_database_url):
    engine = sa.create_engine(test_database_url)
    connection = engine.connect()
    transaction = connection.begin()
    yield connection
    transaction.rollback()
    connection.close()
    engine.dispose()


@pytest.fixture
def test_sessionmaker(db_connection, api_settings):
    # Commits inside the code under test only release savepoints; the test's transaction stays open.
    return sessionmaker(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                        info={"settings": api_settings, "actor": None})


# --- a Caddy of the tests' own ---------------------------------------------------

CADDY = shutil.which("caddy") or "caddy"
RESERVED = {2019, 8080}  # the platform's own Caddy may be there: never touch them


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED:
            return port


@pytest.fixture(scope="session")
def caddy(tmp_path_factory):
    home = tmp_path_factory.mktemp("caddy")
    admin_port, http_port = free_port(), free_port()
    # Only the admin endpoint, as in production; persist off so no autosave.json is written.
    config = {"admin": {"listen": f"127.0.0.1:{admin_port}", "config": {"persist": False}}}
    (home / "caddy.json").write_text(json.dumps(config))
    # Own HOME/XDG dirs: never read or write the platform Caddy's state.
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
    log_path = home / "caddy.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [CADDY, "run", "--config", str(home / "caddy.json")], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    admin_url = f"http://127.0.0.1:{admin_port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"caddy exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{admin_url}/config/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"caddy admin API did not come up:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield SimpleNamespace(proc=proc, admin_url=admin_url, http_port=http_port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()




# --- a router name server of the tests' own ----------------------------------------------

# The platform's own router pages are at 127.0.0.2 and 127.0.0.4.
TEST_IDLE_ADDRESS, TEST_UNKNOWN_ADDRESS, TEST_MAINTENANCE_ADDRESS = "127.0.0.3", "127.0.0.5", "127.0.0.7"


@pytest.fixture(scope="session")
def router_dns(tmp_path_factory):
    """dnsmasq answering from a hosts directory of its own, as the platform's does."""
    home = tmp_path_factory.mktemp("dns")
    hosts_dir, port = home / "hosts.d", free_udp_port()
    hosts_dir.mkdir()
    log_path = home / "dnsmasq.log"
    for _attempt in range(5):  # a port free for UDP may be taken for TCP, which dnsmasq also binds
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                ["dnsmasq", "--keep-in-foreground", "--log-facility=-", f"--port={port}", "--listen-address=127.0.0.1",
                 "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-poll", f"--hostsdir={hosts_dir}",
                 "--local=/paas.internal/", f"--address=/paas.internal/{TEST_UNKNOWN_ADDRESS}", "--local-ttl=0",
                 "--user=root"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        time.sleep(0.2)
        if proc.poll() is None:
            break
        port = free_udp_port()
    else:
        pytest.fail(f"dnsmasq exited with {proc.returncode}:\n{log_path.read_text()}")
    yield SimpleNamespace(address=f"127.0.0.1:{port}", hosts_dir=hosts_dir)
    proc.terminate()
    proc.wait(10)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_test_router(caddy, router_dns):
    """CaddyRouter(**changes) on the tests' Caddy and name server; its apps are removed after."""
    from paas.router.caddy import CaddyRouter

    made = []

    def make(web_port: int, **changes):
        options = dict(hosts_dir=router_dns.hosts_dir, dns=router_dns.address, zone="test.paas.internal",
                       web_port=web_port, idle_address=TEST_IDLE_ADDRESS, unknown_address=TEST_UNKNOWN_ADDRESS,
                       maintenance_address=TEST_MAINTENANCE_ADDRESS, pages_dir=router_dns.hosts_dir.parent / "pages")
        router = CaddyRouter(caddy.admin_url, "127.0.0.1", caddy.http_port, "localhost", **{**options, **changes})
        made.append(router)
        return router

    yield make
    for router in made:
        for app in router.apps():
            router.remove_app(app)
        router.close()
