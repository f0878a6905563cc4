"""Heroku's ACM status for custom domains. The runner asks the router for each named domain
whose certificate is not issued yet: a TLS handshake with that name makes Caddy get the
certificate from ACME (on demand); the certificate served then, or Caddy's error, is recorded."""

import json
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from cryptography import x509

from paas.domain import domains
from paas.settings import Settings

log = logging.getLogger(__name__)

CHECK_EVERY = 2.0  # seconds between passes over pending domains
RETRY_FAILED_AFTER = 60.0  # seconds before a failed domain is tried again
# Seconds a handshake may wait for ACME: Caddy retries a failing order for long, so a domain
# that cannot get one is marked failed meanwhile (with Caddy's reason), and checked again later.
HANDSHAKE_TIMEOUT = 15.0
INTERNAL_ISSUER = "Caddy Local Authority"  # the router's own CA: not a certificate from ACME


def served_certificate(host: str, port: int, server_name: str, timeout: float) -> "x509.Certificate":
    """The certificate the router serves for `server_name` (checked later, not here). X.509
    parsing is loaded here: most runners have no ACME, and it costs a megabyte."""
    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw, server_hostname=server_name) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def from_acme(certificate: "x509.Certificate", hostname: str) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    issuer = " ".join(a.value for a in certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME))
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    return INTERNAL_ISSUER not in issuer and hostname in names


def failure_reason(tls_log: Path, hostname: str, tail: int = 512 * 1024) -> str | None:
    """Caddy's last error about `hostname`'s certificate, from its certificate log."""
    try:
        with tls_log.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - tail))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        if hostname not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") == "error" and entry.get("error"):
            return str(entry["error"])[:1000]
    return None


class CertificateWatcher:
    def __init__(self, settings: Settings, sessionmaker: sessionmaker[Session]):
        self.settings, self.sessionmaker = settings, sessionmaker
        self.failed_at: dict[str, float] = {}

    def check(self) -> None:
        """One pass: every domain due is checked at the same time, so a domain whose order hangs
        holds up no other."""
        with self.sessionmaker() as db:
            pending = [(d.id, d.hostname, d.acm_status) for d in domains.certificates_to_check(db)]
        due = [(i, h) for i, h, status in pending
               if status != domains.FAILED or time.monotonic() - self.failed_at.get(h, 0.0) >= RETRY_FAILED_AFTER]
        if due:
            with ThreadPoolExecutor(max_workers=min(16, len(due))) as pool:
                list(pool.map(lambda item: self.record(*item), due))

    def record(self, domain_id, hostname: str) -> None:
        status, reason = self.probe(hostname)
        if status == domains.FAILED:
            self.failed_at[hostname] = time.monotonic()
        with self.sessionmaker() as db:
            domains.set_acm_status(db, domain_id, status, reason)
            db.commit()

    def probe(self, hostname: str) -> tuple[str, str | None]:
        try:
            certificate = served_certificate(self.settings.router_host, self.settings.router_tls_port, hostname, HANDSHAKE_TIMEOUT)
        except (OSError, ssl.SSLError) as error:
            reason = failure_reason(self.settings.router_tls_log_file, hostname)
            return domains.FAILED, reason or f"the router served no certificate for it ({error})"
        if from_acme(certificate, hostname):
            return domains.ISSUED, None
        return domains.FAILED, "the router served a certificate that is not from the ACME directory"

    def run_forever(self) -> None:
        while True:
            try:
                self.check()
            except Exception:
                log.exception("checking certificates failed; again soon")
            time.sleep(CHECK_EVERY)

    def start(self) -> None:
        if self.settings.acme_directory:  # no ACME, no certificates to wait for
            threading.Thread(target=self.run_forever, daemon=True, name="certificates").start()
