"""What the router asks the platform: Caddy makes an app host's HTTPS certificate at its first
TLS handshake, and asks here first, so that only the hosts of existing apps (and their custom
domains) get one (a client
sending made-up names cannot have certificates made without end)."""

from typing import Annotated

from fastapi import APIRouter, Query

from paas.domain import apps, domains
from paas.domain.errors import NotFound
from paas.platform.deps import DbDep, SettingsDep

router = APIRouter()


@router.get("/router/tls-ask", include_in_schema=False)
def tls_ask(db: DbDep, settings: SettingsDep, domain: Annotated[str, Query()] = ""):
    suffix = "." + settings.domain
    name = domain.lower()[: -len(suffix)] if domain.lower().endswith(suffix) else ""
    if name and "." not in name and apps.find_app_by_name(db, name) is not None:
        return {}
    if not name and domains.app_for_host(db, domain) is not None:  # a custom domain (or under a wildcard one)
        return {}
    raise NotFound(f"{domain} is no app's host.")
