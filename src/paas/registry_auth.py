"""The registry's token auth (distribution's `auth: token`): who may do what in the registry.

The registry lets in only requests that carry a token signed with the platform's key
(`$PAAS_HOME/registry-token/key.pem`; its self-signed certificate, `cert.pem`, is the registry's
`rootcertbundle`). A client without one is sent to the realm, the API's `GET /registry/token`,
which checks the builder's or the runner's password (`$PAAS_HOME/registry-users/<user>`) and
signs a token, good for `TOKEN_TTL` seconds, with what that user may do: the builder pulls and
pushes every repository, the runner only pulls, and nobody else gets a token. Docker, buildah
and the swarm's nodes follow the realm themselves; `RegistryAuth` does it for the platform's
own HTTP calls to the registry.
"""

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

SERVICE = "paas-registry"  # the registry's `service` and the tokens' audience
ISSUER = "paas"
TOKEN_TTL = 300  # seconds; the registry allows a minute of clock skew on top
RIGHTS = {"builder": frozenset({"pull", "push"}), "runner": frozenset({"pull"})}
# distribution's repository names: lower-case components, separators inside, `/` between.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
NAME_LIMIT = 255
REFRESH_MARGIN = 30  # seconds before its expiry a client's token is replaced


def key_dir(home: Path) -> Path:
    return home / "registry-token"


@dataclass(frozen=True)
class Scope:
    """One `type:name:action,action` of a token request."""

    type: str
    name: str
    actions: frozenset[str]


def parse_scope(text: str) -> Scope | None:
    """`repository:paas/stack:pull,push` -> Scope; None for anything that is not one."""
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return Scope(kind, name, frozenset(a for a in actions.split(",") if a))


def granted(user: str, scopes: list[str]) -> list[dict]:
    """The token's `access` claim: of what was asked, what `user` may do (repositories only: the
    catalogue and deletes are nobody's)."""
    rights = RIGHTS.get(user, frozenset())
    allowed: dict[str, set[str]] = {}
    for text in scopes:
        scope = parse_scope(text)
        if scope is None or scope.type != "repository" or len(scope.name) > NAME_LIMIT:
            continue
        if not REPOSITORY_NAME.fullmatch(scope.name):
            continue
        if actions := scope.actions & rights:
            allowed.setdefault(scope.name, set()).update(actions)
    return [{"type": "repository", "name": name, "actions": sorted(actions)} for name, actions in allowed.items()]


def user_for(home: Path, authorization: str | None) -> str | None:
    """The registry user whose password this Basic header carries (compared in constant time);
    None for anyone else."""
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if user not in RIGHTS:
        return None
    try:
        expected = (home / "registry-users" / user).read_text().strip()
    except FileNotFoundError:
        return None
    return user if expected and hmac.compare_digest(password.encode(), expected.encode()) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue(home: Path, user: str, scopes: list[str], now: float | None = None) -> dict:
    """A signed token for `user` (ES256; the certificate rides along in `x5c`, which the registry
    checks against its rootcertbundle), in the token endpoint's answer shape."""
    folder = key_dir(home)
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), password=None)
    certificate = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    issued = int(time.time() if now is None else now)
    header = {"typ": "JWT", "alg": "ES256",
              "x5c": [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]}
    claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "iat": issued, "nbf": issued, "exp": issued + TOKEN_TTL,
              "jti": secrets.token_urlsafe(16), "access": granted(user, scopes)}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    token = f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    return {"token": token, "access_token": token, "expires_in": TOKEN_TTL,
            "issued_at": datetime.fromtimestamp(issued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def challenge(response: httpx.Response) -> dict[str, str] | None:
    """The parameters of a `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`."""
    scheme, _, rest = response.headers.get("www-authenticate", "").partition(" ")
    if response.status_code != 401 or scheme.lower() != "bearer":
        return None
    return {key.lower(): value for key, value in re.findall(r'(\w+)="([^"]*)"', rest)}


class RegistryAuth(httpx.Auth):
    """The platform's side of it, for a sync httpx client: a request the registry refuses with a
    Bearer challenge is sent again with a token from the realm for what the challenge names and
    every scope this client was granted before, so that one token serves a whole session (an
    upload's streamed body is sent once, with the token its session's first request got)."""

    def __init__(self, user: str, password: str):
        self.basic = httpx.BasicAuth(user, password)
        self.lock = threading.Lock()
        self.token: str | None = None
        self.expires = 0.0
        self.scopes: set[str] = set()

    def auth_flow(self, request: httpx.Request):
        with self.lock:
            if self.token and time.monotonic() < self.expires - REFRESH_MARGIN:
                request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        params = challenge(response)
        if params is None or "realm" not in params:
            return
        with self.lock:
            fresh = time.monotonic() < self.expires - REFRESH_MARGIN
            self.scopes = (self.scopes if fresh else set()) | set(params.get("scope", "").split())
            query = [("service", params.get("service", "")), *(("scope", s) for s in sorted(self.scopes))]
        token_request = next(self.basic.auth_flow(httpx.Request("GET", params["realm"], params=query)))
        answer = yield token_request
        answer.read()
        if answer.status_code != 200:
            return  # the registry's 401 stands
        body = answer.json()
        with self.lock:
            self.token = body.get("token") or body.get("access_token")
            self.expires = time.monotonic() + int(body.get("expires_in") or 60)
            request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def registry_auth(credentials: tuple[str, str] | None) -> RegistryAuth | None:
    return RegistryAuth(*credentials) if credentials else None
