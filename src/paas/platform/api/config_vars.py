from typing import Annotated

from fastapi import APIRouter, Body

from paas import messages
from paas.platform import services
from paas.platform.deps import CipherDep, DbDep, RedisDep, UserDep

router = APIRouter()


@router.get("/apps/{ident}/config-vars")
def get_config_vars(ident: str, user: UserDep, db: DbDep, cipher: CipherDep):
    return services.config_vars(cipher, services.app_for_user(db, ident, user))


@router.patch("/apps/{ident}/config-vars")
def update_config_vars(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, redis: RedisDep, body: Annotated[object, Body()] = None):
    app = services.app_for_user(db, ident, user)
    config, _release = services.update_config(db, cipher, app, user, body)
    db.commit()
    messages.wake_runner(redis, app.name)
    return config
