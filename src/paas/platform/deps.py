"""FastAPI dependencies: everything a route needs is injected from the app's state, built from settings."""

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from paas.domain import accounts, audit, events
from paas.domain.crypto import ConfigCipher
from paas.domain.models import User
from paas.logs import LogStore
from paas.platform.auth import token_from_authorization
from paas.platform.context import Platform
from paas.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.platform.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.platform.sessionmaker() as db:
        yield db


def get_cipher(request: Request) -> ConfigCipher:
    return request.app.state.platform.cipher


def get_redis(request: Request) -> redis.Redis:
    return request.app.state.platform.redis


def get_logs(request: Request) -> LogStore:
    return request.app.state.platform.logs


def get_platform(request: Request) -> Platform:
    return request.app.state.platform


def get_user(request: Request, db: Annotated[Session, Depends(get_db)]) -> User:
    user = accounts.user_for_token(db, token_from_authorization(request.headers.get("authorization")))
    events.act_as(db, user)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        audit.record_on_commit(db, user.email, request.method, request.url.path)
    return user


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]
CipherDep = Annotated[ConfigCipher, Depends(get_cipher)]
RedisDep = Annotated[redis.Redis, Depends(get_redis)]
UserDep = Annotated[User, Depends(get_user)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
LogsDep = Annotated[LogStore, Depends(get_logs)]
