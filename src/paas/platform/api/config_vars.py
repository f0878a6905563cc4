from typing import Annotated

from fastapi import APIRouter, Body

from paas.domain import access, config
from paas.platform.deps import CipherDep, DbDep, UserDep

router = APIRouter()


@router.get("/apps/{ident}/config-vars")
def get_config_vars(ident: str, user: UserDep, db: DbDep, cipher: CipherDep):
    return config.config_vars(cipher, access.app_for(db, ident, user, access.DEPLOY))


@router.patch("/apps/{ident}/config-vars")
def update_config_vars(ident: str, user: UserDep, db: DbDep, cipher: CipherDep,
                       body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.DEPLOY)
    new_config, _release = config.update_config(db, cipher, app, user, body)
    db.commit()
    return new_config
