"""Engine and session factory, built from settings (no import-time globals)."""

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from paas.settings import Settings


def make_sessionmaker(settings: Settings) -> sessionmaker[Session]:
    engine = create_engine(settings.database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return sessionmaker(engine, expire_on_commit=False)
