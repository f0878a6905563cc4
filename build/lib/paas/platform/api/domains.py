"""Custom domains (Heroku's endpoints and shapes): the router serves them, with certificates
from ACME, as soon as they are added."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas import messages
from paas.domain import access, domains
from paas.domain.errors import InvalidParams
from paas.platform.deps import DbDep, RedisDep, SettingsDep, UserDep
from paas.platform.serializers import domain_json

router = APIRouter()


@router.get("/apps/{ident}/domains")
def list_domains(ident: str, user: UserDep, db: DbDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [domain_json(None, app, settings)] + [domain_json(d, app, settings) for d in domains.list_domains(db, app)]


@router.post("/apps/{ident}/domains", status_code=201)
def add_domain(ident: str, user: UserDep, db: DbDep, redis: RedisDep, settings: SettingsDep,
               body: Annotated[dict | None, Body()] = None):
    app = access.app_for(db, ident, user, access.MANAGE)
    if (body or {}).get("sni_endpoint") is not None:
        raise InvalidParams("Certificates are not uploaded here: a custom domain gets its own from ACME (or the router's CA).")
    domain = domains.add_domain(db, app, (body or {}).get("hostname"), settings.domain, acme=bool(settings.acme_directory))
    db.commit()
    messages.wake_router(redis)
    return domain_json(domain, app, settings)


@router.get("/apps/{ident}/sni-endpoints")
def list_sni_endpoints(ident: str, user: UserDep, db: DbDep):
    """Uploaded certificates (Heroku's SNI endpoints): none here, ever. The router gets each
    domain's certificate itself, as Heroku's Automated Certificate Management does."""
    access.app_for(db, ident, user, access.VIEW)
    return []


@router.get("/apps/{ident}/domains/{hostname}")
def get_domain(ident: str, hostname: str, user: UserDep, db: DbDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.VIEW)
    if hostname.lower() == settings.app_host(app.name):
        return domain_json(None, app, settings)
    return domain_json(domains.get_domain(db, app, hostname), app, settings)


@router.delete("/apps/{ident}/domains/{hostname}")
def remove_domain(ident: str, hostname: str, user: UserDep, db: DbDep, redis: RedisDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    domain = domains.get_domain(db, app, hostname)
    body = domain_json(domain, app, settings)
    domains.remove_domain(db, domain)
    db.commit()
    messages.wake_router(redis)
    return JSONResponse(body)
