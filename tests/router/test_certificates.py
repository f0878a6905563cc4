"""The ACM status checker's pure parts: Caddy's reason from its log, and which certificates are ACME's."""

import datetime
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from paas.router.certificates import failure_reason, from_acme


def certificate(issuer: str, names: list[str]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key()).serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))


def test_only_a_certificate_for_the_name_from_another_ca_counts():
    assert from_acme(certificate("Pebble Intermediate CA 1a2b", ["www.a.test"]), "www.a.test")
    assert not from_acme(certificate("Caddy Local Authority - ECC Intermediate", ["www.a.test"]), "www.a.test")
    assert not from_acme(certificate("Pebble Intermediate CA", ["other.test"]), "www.a.test")


def test_the_reason_is_caddys_last_error_about_the_name(tmp_path):
    log = tmp_path / "tls.log"
    assert failure_reason(log, "bad.test") is None  # no log yet
    lines = [
        {"level": "error", "logger": "tls.obtain", "identifier": "bad.test", "error": "first try failed"},
        {"level": "info", "logger": "tls.obtain", "identifier": "bad.test", "msg": "obtaining certificate"},
        {"level": "error", "logger": "tls.obtain", "identifier": "other.test", "error": "not this one"},
        {"level": "error", "logger": "tls.obtain", "identifier": "bad.test", "error": "challenge failed: connection refused"},
    ]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json bad.test\n")
    assert failure_reason(log, "bad.test") == "challenge failed: connection refused"
    assert failure_reason(log, "good.test") is None
