from typing import Annotated

from fastapi import APIRouter, Body

from paas import logs, messages
from paas.domain import access, config
from paas.platform.deps import CipherDep, DbDep, LogsDep, RedisDep, UserDep

router = APIRouter()


@router.get("/apps/{ident}/config-vars")
def get_config_vars(ident: str, user: UserDep, db: DbDep, cipher: CipherDep):
    return config.config_vars(cipher, access.app_for(db, ident, user, access.DEPLOY))


@router.patch("/apps/{ident}/config-vars")
def update_config_vars(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, redis: RedisDep, log: LogsDep,
                       body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.DEPLOY)
    new_config, release = config.update_config(db, cipher, app, user, body)
    db.commit()
    logs.released(log, str(app.id), release.description, release.version, user.email)
    messages.wake_runner(redis, app.name)
    return new_config
