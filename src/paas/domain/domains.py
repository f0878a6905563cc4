"""Custom domains: host names of the user's that the router sends to an app, each with an
automatic certificate (Heroku's ACM). These functions touch only the database."""

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from paas.domain import events
from paas.domain.db import add_unique, by_ident
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import App, Domain

LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOSTNAME = re.compile(rf"^(\*\.)?{LABEL}(\.{LABEL})+$")
PENDING, ISSUED, FAILED = "pending", "cert issued", "failed"


def validate_hostname(hostname: object, platform_domain: str) -> str:
    if not isinstance(hostname, str):
        raise InvalidParams('Give the domain as {"hostname": "www.example.com"}.')
    name = hostname.strip().lower().rstrip(".")
    if len(name) > 253 or not HOSTNAME.fullmatch(name) or name.rsplit(".", 1)[-1].isdigit():
        raise InvalidParams(f"{hostname!r} is not a host name (like www.example.com or *.example.com).")
    bare = name.removeprefix("*.")
    if bare == platform_domain or bare.endswith("." + platform_domain):
        raise InvalidParams(f"Host names under {platform_domain} are the platform's own; add a domain of yours.")
    if name.startswith("*.") and platform_domain.partition(".")[2] == bare:
        raise InvalidParams(f"{name} would cover {platform_domain}, the platform's own domain.")
    return name


def add_domain(db: Session, app: App, hostname: object, platform_domain: str, acme: bool) -> Domain:
    """`acme`: certificates come from ACME (else the domain serves plain HTTP only)."""
    name = validate_hostname(hostname, platform_domain)
    if db.scalar(select(Domain.id).where(Domain.hostname == name)) is not None:
        raise InvalidParams(f"{name} is already added to an app.")
    # A wildcard's certificates are made per name, at the first request for each: no one status.
    domain = Domain(app_id=app.id, hostname=name, acm_status=PENDING if acme and not name.startswith("*.") else None)
    add_unique(db, domain, f"{name} is already added to an app.")
    events.recorded(db, app, "domain", "create", domain)
    return domain


def list_domains(db: Session, app: App) -> list[Domain]:
    return list(db.scalars(select(Domain).where(Domain.app_id == app.id).order_by(Domain.created_at)))


def get_domain(db: Session, app: App, ident: str) -> Domain:
    stmt = select(Domain).where(Domain.app_id == app.id)
    domain = db.scalar(by_ident(stmt, Domain.id, ident, Domain.hostname == ident.lower().rstrip(".")))
    if domain is None:
        raise NotFound(f"Couldn't find that domain: {ident}")
    return domain


def remove_domain(db: Session, domain: Domain) -> None:
    events.record(db, domain.app, "domain", "destroy", events.shape(db, domain))
    db.delete(domain)
    db.flush()


def domain_for_host(db: Session, host: str) -> Domain | None:
    """The custom domain a host is: its own name, else a wildcard one label up (as the router
    routes: the exact name first)."""
    host = host.lower().rstrip(".")
    candidates = [host] + (["*." + host.split(".", 1)[1]] if "." in host else [])
    return db.scalar(select(Domain).where(Domain.hostname.in_(candidates)).order_by(Domain.hostname.desc()))


def routing(db: Session) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """What the router serves beyond the apps' own hosts: app name -> custom host names, and
    the apps that redirect HTTP to HTTPS."""
    found: dict[str, list[str]] = {}
    for name, hostname in db.execute(select(App.name, Domain.hostname).join(Domain, Domain.app_id == App.id).order_by(Domain.hostname)):
        found.setdefault(name, []).append(hostname)
    return {k: tuple(v) for k, v in found.items()}, frozenset(db.scalars(select(App.name).where(App.force_https)))


def certificates_to_check(db: Session) -> list[Domain]:
    """Named (not wildcard) domains whose certificate is not issued yet."""
    return list(db.scalars(select(Domain).where(Domain.acm_status.in_([PENDING, FAILED]))))


def set_acm_status(db: Session, domain_id, status: str, reason: str | None = None) -> None:
    domain = db.get(Domain, domain_id)
    if domain is not None:
        with events.updating(db, domain.app, "domain", domain):  # Heroku's api:domain update
            domain.acm_status, domain.acm_status_reason = status, reason
