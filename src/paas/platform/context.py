"""What the platform's request handlers share, built once from settings when the app is made."""

from dataclasses import dataclass
from functools import cached_property

import redis
import redis.asyncio
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from paas.celery_app import make_celery
from paas.channels import connect
from paas.domain.crypto import ConfigCipher, load_key, load_keys
from paas.domain.db import make_sessionmaker
from paas.logs import LogStore
from paas.platform.deploys import Deploys
from paas.platform.followers import Followers
from paas.platform.grants import Grants
from paas.settings import Settings
from paas.signing import Signer


@dataclass
class Platform:
    settings: Settings
    sessionmaker: sessionmaker[Session]
    redis: redis.Redis
    celery: Celery
    cipher: ConfigCipher
    signer: Signer

    @cached_property
    def deploys(self) -> Deploys:
        return Deploys(self)

    @cached_property
    def logs(self) -> LogStore:
        return LogStore(self.redis, self.settings.log_lines)

    @cached_property
    def async_redis(self) -> redis.asyncio.Redis:
        """For answers that wait on Redis for long (following logs) without holding a thread."""
        return redis.asyncio.Redis.from_url(self.settings.redis_url, decode_responses=True)

    @cached_property
    def followers(self) -> Followers:
        """Live build and release output, for any number of readers on one Redis connection."""
        return Followers(self.settings.redis_url)

    @cached_property
    def grants(self) -> Grants:
        """Open answers' access, asked again while they last."""
        return Grants(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Platform":
        return cls(
            settings=settings,
            sessionmaker=make_sessionmaker(settings),
            redis=connect(settings),
            celery=make_celery(settings),
            cipher=ConfigCipher(load_keys(settings)),
            signer=Signer(load_key(settings)),
        )
