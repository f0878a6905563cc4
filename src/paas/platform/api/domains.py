"""Custom domains (Heroku's endpoints and shapes): the router serves them, with certificates
from ACME, as soon as they are added."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas.domain import access, domains
from paas.domain.errors import DnsUnavailable, DomainUnverified, InvalidParams
from paas.platform import ownership
from paas.platform.deps import DbDep, PlatformDep, SettingsDep, UserDep
from paas.shapes import domain_json

router = APIRouter()


@router.get("/apps/{ident}/domains")
def list_domains(ident: str, user: UserDep, db: DbDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [domain_json(None, app, settings)] + [domain_json(d, app, settings) for d in domains.list_domains(db, app)]


@router.post("/apps/{ident}/domains", status_code=201)
def add_domain(ident: str, user: UserDep, db: DbDep, platform: PlatformDep,
               body: Annotated[dict | None, Body()] = None):
    settings = platform.settings
    app = access.app_for(db, ident, user, access.MANAGE)
    if (body or {}).get("sni_endpoint") is not None:
        raise InvalidParams("Certificates are not uploaded here: a custom domain gets its own from ACME (or the router's CA).")
    hostname = domains.validate_hostname((body or {}).get("hostname"), settings.domain)
    if settings.domain_verify:
        require_proof(platform, app, hostname)
    domain = domains.add_domain(db, app, hostname, settings.domain, acme=bool(settings.acme_directory))
    db.commit()
    return domain_json(domain, app, settings)


def require_proof(platform, app, hostname: str) -> None:
    """Refuses a domain whose DNS does not (yet) prove it is the user's, saying which record to make."""
    wanted = ownership.challenge(platform.signer, app.id, hostname)
    try:
        if ownership.proven(platform.settings, wanted):
            return
    except ownership.DnsUnavailable as error:
        raise DnsUnavailable(f"Could not ask DNS about {wanted.record}: {error}. Try again later.") from None
    raise DomainUnverified(f"Prove that {hostname} is yours: add a TXT record {wanted.record} with the value "
                           f"{wanted.value} to its DNS, then add the domain again.", record=wanted.as_json())


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
def remove_domain(ident: str, hostname: str, user: UserDep, db: DbDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    domain = domains.get_domain(db, app, hostname)
    body = domain_json(domain, app, settings)
    domains.remove_domain(db, domain)
    db.commit()
    return JSONResponse(body)
