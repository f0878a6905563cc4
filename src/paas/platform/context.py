"""What the platform's request handlers share, built once from settings when the app is made."""

from dataclasses import dataclass
from functools import cached_property

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from paas import messages
from paas.celery_app import make_celery
from paas.domain.crypto import ConfigCipher, load_or_create_key
from paas.domain.db import make_sessionmaker
from paas.platform.deploys import Deploys
from paas.platform.signing import Signer
from paas.settings import Settings


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

    @classmethod
    def from_settings(cls, settings: Settings) -> "Platform":
        return cls(
            settings=settings,
            sessionmaker=make_sessionmaker(settings),
            redis=messages.connect(settings),
            celery=make_celery(settings),
            cipher=ConfigCipher(load_or_create_key(settings)),
            signer=Signer(load_or_create_key(settings)),
        )
