"""The quotas' migration goes down and up again on a real Postgres database of its own, keeping
the users."""

import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.conftest import drop_database, empty_database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATABASE = "paas_test_migrations"


def test_quotas_migration_is_reversible():
    test_url = empty_database(DATABASE)
    config = Config(os.path.join(ROOT, "alembic.ini"))
    config.attributes["database_url"] = test_url
    engine = sa.create_engine(test_url)

    def columns() -> set[str]:
        return {c["name"] for c in sa.inspect(engine).get_columns("users")}

    try:
        command.upgrade(config, "0007")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (id, email, quotas) VALUES (gen_random_uuid(), 'q@example.com', '{\"apps\": 3}')"))
        command.downgrade(config, "0006")
        assert "quotas" not in columns()
        command.upgrade(config, "0007")
        assert "quotas" in columns()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT quotas FROM users WHERE email = 'q@example.com'")).scalar() == {}
    finally:
        engine.dispose()
        drop_database(DATABASE)
