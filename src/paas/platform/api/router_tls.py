"""What the router asks the platform: Caddy makes an app host's HTTPS certificate at its first
TLS handshake, and asks here first, so that only the hosts of existing apps (and their custom
domains) get one (a client
sending made-up names cannot have certificates made without end).

Only Caddy may ask (anyone else could list which app names exist): the URL it is configured
with is signed (`paas.router.tls_ask_url`), and a request without that signature is refused (403)."""

from typing import Annotated

from fastapi import APIRouter, Query

from paas.domain import apps, domains
from paas.domain.errors import Forbidden, NotFound
from paas.platform.deps import DbDep, PlatformDep, RedisDep, SettingsDep
from paas.router import TLS_ASK_PATH
from paas.settings import Settings

router = APIRouter()


@router.get(TLS_ASK_PATH, include_in_schema=False)
def tls_ask(db: DbDep, settings: SettingsDep, redis: RedisDep, platform: PlatformDep, domain: Annotated[str, Query()] = "",
            signature: Annotated[str | None, Query()] = None):
    if not platform.signer.valid("GET", TLS_ASK_PATH, signature):
        raise Forbidden("Only the platform's router may ask this.")
    suffix = "." + settings.domain
    name = domain.lower()[: -len(suffix)] if domain.lower().endswith(suffix) else ""
    if name and "." not in name and apps.find_app_by_name(db, name) is not None:
        return {}
    found = domains.domain_for_host(db, domain) if not name else None
    if found is not None and (not found.hostname.startswith("*.") or within_wildcard_cap(redis, settings, found, domain)):
        return {}
    raise NotFound(f"{domain} is no app's host.")


def within_wildcard_cap(redis, settings: Settings, wildcard, host: str) -> bool:
    """Names under a wildcard get certificates on demand, up to `wildcard_certificates` of them:
    handshakes with made-up names must not make ACME orders without end."""
    key = f"paas:wildcard-names:{wildcard.id}"
    if redis.sismember(key, host.lower()):
        return True
    if redis.scard(key) >= settings.wildcard_certificates:
        return False
    redis.sadd(key, host.lower())
    return True
