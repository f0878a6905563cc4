"""Shared fixtures. API tests run in-process against a real Postgres database of their own
(`paas_test`, migrated with Alembic once per run); each test runs inside a transaction that is
rolled back at its end, so tests never see each other's rows."""

import os

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from paas.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_DATABASE = "paas_test"
TEST_REDIS_DB = 15  # not the platform's: the running runner never sees the tests' wake-ups


@pytest.fixture(scope="session")
def test_database_url() -> str:
    url = make_url(Settings().database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {TEST_DATABASE}"))
    admin.dispose()
    test_url = url.set(database=TEST_DATABASE).render_as_string(hide_password=False)
    config = Config(os.path.join(ROOT, "alembic.ini"))
    config.attributes["database_url"] = test_url
    command.upgrade(config, "head")
    return test_url


@pytest.fixture
def api_settings(tmp_path, test_database_url) -> Settings:
    base = make_url(Settings().redis_url)
    return Settings(
        home=tmp_path / "paas-home",
        database_url=test_database_url,
        redis_url=base.set(database=str(TEST_REDIS_DB)).render_as_string(hide_password=False),
    )


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
def test_sessionmaker(db_connection):
    # Commits inside the code under test only release savepoints; the test's transaction stays open.
    return sessionmaker(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
