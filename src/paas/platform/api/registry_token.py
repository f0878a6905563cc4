"""The registry's token endpoint (the realm of its `auth: token`): Docker, buildah, the swarm's
nodes and the platform's own registry calls come here with the builder's or the runner's
registry password (Basic), never with an API token, and get a short-lived token scoped to what
that user may do (`paas.registry_auth`). Anyone else gets 401."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from paas import registry_auth
from paas.platform.deps import SettingsDep

router = APIRouter()
TOKEN_PATH = "/registry/token"


@router.get(TOKEN_PATH, include_in_schema=False)
def registry_token(request: Request, settings: SettingsDep, scope: Annotated[list[str] | None, Query()] = None):
    user = registry_auth.user_for(settings.home, request.headers.get("authorization"))
    if user is None:
        return JSONResponse({"id": "unauthorized", "message": "The registry takes only the platform's builder and runner."},
                            status_code=401, headers={"WWW-Authenticate": 'Basic realm="paas-registry"'})
    # Docker sends several scopes in one `scope` too, separated by spaces.
    scopes = [part for value in scope or () for part in value.split()]
    return JSONResponse(registry_auth.issue(settings.home, user, scopes), headers={"Cache-Control": "no-store"})
