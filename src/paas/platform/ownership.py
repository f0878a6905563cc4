"""Proof that a custom domain is the user's (`PAAS_DOMAIN_VERIFY`): a TXT record in its DNS.

Without it anyone could add any name that is not taken yet and have the router serve it (and
get it a certificate). The record's value is derived from the platform's secret, the app and the
name, so the user can make it before adding the domain, it proves nothing for another app, and
the platform keeps nothing while it waits."""

from dataclasses import dataclass

import dns.exception
import dns.resolver

from paas.signing import Signer
from paas.settings import Settings

PREFIX = "_paas-challenge"


@dataclass(frozen=True)
class Challenge:
    record: str  # the TXT record's name
    value: str  # what it must hold

    def as_json(self) -> dict:
        return {"type": "TXT", "name": self.record, "value": self.value}


def challenge(signer: Signer, app_id: object, hostname: str) -> Challenge:
    """A wildcard is proven at the name it covers (`*.example.com`: `_paas-challenge.example.com`)."""
    token = signer.sign("VERIFY-DOMAIN", f"{app_id}/{hostname}", None)[:32]
    return Challenge(f"{PREFIX}.{hostname.removeprefix('*.')}", f"paas-verification={token}")


class DnsUnavailable(Exception):
    """The name servers did not answer: nothing is known either way."""


def proven(settings: Settings, wanted: Challenge) -> bool:
    """Does the record hold the value? Asked of `PAAS_DOMAIN_VERIFY_DNS` (host:port) if set,
    else of the host's resolvers."""
    resolver = dns.resolver.Resolver(configure=not settings.domain_verify_dns)
    if settings.domain_verify_dns:
        host, _, port = settings.domain_verify_dns.rpartition(":")
        resolver.nameservers, resolver.port = [host], int(port)
    resolver.lifetime = 5.0
    try:
        answer = resolver.resolve(wanted.record, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return False
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
        raise DnsUnavailable(str(error)) from None
    values = {b"".join(record.strings).decode(errors="replace") for record in answer}
    return wanted.value in values
