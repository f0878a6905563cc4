"""The registry's tokens: what each user is granted, the password check, the signed token itself
(verified here with `cryptography` against the certificate the registry trusts), and the
platform's httpx client side of the challenge (against a registry and realm faked in memory)."""

import base64
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from paas import registry_auth
from paas.registry_auth import RegistryAuth, granted, issue, parse_scope, user_for

PASSWORDS = {"builder": "builder-secret", "runner": "runner-secret"}


def make_home(home: Path) -> Path:
    """A home as `make up` leaves it: the users' passwords, and the key and certificate made with
    the same openssl commands as scripts/services.sh."""
    (home / "registry-users").mkdir(parents=True, exist_ok=True)
    for user, password in PASSWORDS.items():
        (home / "registry-users" / user).write_text(password + "\n")
    keys = registry_auth.key_dir(home)
    keys.mkdir(exist_ok=True)
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(keys / "key.pem")], check=True)
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", str(keys / "key.pem"), "-sha256", "-days", "3650",
                    "-subj", "/CN=paas registry tokens", "-out", str(keys / "cert.pem")], check=True, capture_output=True)
    return home


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return make_home(tmp_path_factory.mktemp("home"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verified(token: str, certificate: x509.Certificate) -> tuple[dict, dict]:
    """The token's header and claims, once its ES256 signature checks out with the certificate's key
    (InvalidSignature otherwise)."""
    head, body, signature = token.split(".")
    raw = _unb64(signature)
    assert len(raw) == 64  # JWS ES256: r and s, 32 bytes each (not DER)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    certificate.public_key().verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_unb64(head)), json.loads(_unb64(body))


def certificate_of(home: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((registry_auth.key_dir(home) / "cert.pem").read_bytes())


# --- scopes and rights ----------------------------------------------------------------------

def test_scopes_parse_with_names_that_hold_slashes_and_colons():
    assert parse_scope("repository:paas/stack:pull,push") == registry_auth.Scope("repository", "paas/stack", frozenset({"pull", "push"}))
    assert parse_scope("registry:catalog:*") == registry_auth.Scope("registry", "catalog", frozenset({"*"}))
    assert parse_scope("repository:host:5000/app:pull").name == "host:5000/app"  # not a repository name: refused later
    for bad in ("", "repository", "repository:app", "repository::pull", ":app:pull", "repository:app:"):
        assert parse_scope(bad) is None, bad


@given(st.text(max_size=80))
def test_any_scope_text_parses_or_is_none_and_grants_only_what_a_user_may(text):
    scope = parse_scope(text)
    assert scope is None or (scope.type and scope.name)
    for user, rights in registry_auth.RIGHTS.items():
        for entry in granted(user, [text]):
            assert entry["type"] == "repository" and set(entry["actions"]) <= rights
            assert registry_auth.REPOSITORY_NAME.fullmatch(entry["name"])
    assert granted("nobody", [text]) == []


def test_the_builder_pulls_and_pushes_and_the_runner_only_pulls():
    asked = ["repository:shop:pull,push", "repository:paas/stack:pull", "repository:shop:delete"]
    assert granted("builder", asked) == [{"type": "repository", "name": "shop", "actions": ["pull", "push"]},
                                         {"type": "repository", "name": "paas/stack", "actions": ["pull"]}]
    assert granted("runner", asked) == [{"type": "repository", "name": "shop", "actions": ["pull"]},
                                        {"type": "repository", "name": "paas/stack", "actions": ["pull"]}]
    assert granted("runner", ["repository:shop:push"]) == []


def test_the_catalogue_deletes_and_bad_names_are_nobodys():
    for user in ("builder", "runner"):
        assert granted(user, ["registry:catalog:*", "repository:shop:delete,*", "repository:Shop:pull",
                              "repository:../shop:pull", "repository:host:5000/shop:pull", f"repository:{'a' * 256}:pull"]) == []


# --- passwords ----------------------------------------------------------------------------

def test_only_the_users_own_passwords_pass(home):
    assert user_for(home, basic("builder", "builder-secret")) == "builder"
    assert user_for(home, basic("runner", "runner-secret")) == "runner"
    for header in (basic("runner", "builder-secret"), basic("builder", "builder-secretx"), basic("builder", ""),
                   basic("admin", "builder-secret"), basic("../registry-users/builder", "builder-secret"),
                   "Bearer builder-secret", "Basic not-base64!", "", None):
        assert user_for(home, header) is None, header


def test_no_password_file_lets_nobody_in(tmp_path):
    assert user_for(tmp_path, basic("builder", "")) is None


# --- the token ------------------------------------------------------------------------------

def test_the_token_is_signed_by_the_key_the_registry_trusts(home):
    answer = issue(home, "runner", ["repository:shop:pull,push"], now=1_800_000_000)
    assert answer["token"] == answer["access_token"] and answer["expires_in"] == registry_auth.TOKEN_TTL
    assert answer["issued_at"] == "2027-01-15T08:00:00Z"
    header, claims = verified(answer["token"], certificate_of(home))
    assert header["alg"] == "ES256"
    assert base64.b64decode(header["x5c"][0]) == certificate_of(home).public_bytes(serialization.Encoding.DER)
    assert claims["iss"] == registry_auth.ISSUER and claims["aud"] == registry_auth.SERVICE and claims["sub"] == "runner"
    assert claims["iat"] == claims["nbf"] == 1_800_000_000
    assert claims["exp"] == 1_800_000_000 + registry_auth.TOKEN_TTL  # short-lived: five minutes
    assert claims["access"] == [{"type": "repository", "name": "shop", "actions": ["pull"]}]
    assert issue(home, "runner", [], now=1_800_000_000)["token"] != answer["token"]  # a jti of its own


def test_a_token_changed_after_signing_or_checked_with_another_key_fails(home, tmp_path):
    head, body, signature = issue(home, "runner", ["repository:shop:pull"])["token"].split(".")
    claims = json.loads(_unb64(body))
    claims["access"][0]["actions"] = ["pull", "push"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        verified(f"{head}.{forged}.{signature}", certificate_of(home))
    with pytest.raises(InvalidSignature):
        verified(f"{head}.{body}.{signature}", certificate_of(make_home(tmp_path)))


# --- the client side ------------------------------------------------------------------------

class FakeRegistry:
    """A registry that wants a Bearer token naming the request's repository, and its realm."""

    realm = "http://realm.test/registry/token"

    def __init__(self, realm_status: int = 200):
        self.realm_status = realm_status
        self.token_requests: list[httpx.Request] = []
        self.registry_requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "realm.test":
            self.token_requests.append(request)
            scopes = sorted(request.url.params.get_list("scope"))
            return httpx.Response(self.realm_status, json={"token": json.dumps(scopes), "expires_in": 300})
        self.registry_requests.append(request)
        repository = request.url.path.split("/")[2]
        scope = f"repository:{repository}:pull"
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if scope in (json.loads(bearer) if bearer.startswith("[") else []):
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{self.realm}",service="paas-registry",scope="{scope}"'})


def test_a_challenge_is_answered_with_a_token_for_every_scope_seen():
    fake = FakeRegistry()
    with httpx.Client(transport=httpx.MockTransport(fake.handle), auth=RegistryAuth("builder", "pw")) as client:
        assert client.get("http://registry.test/v2/one/manifests/a").status_code == 200
        assert client.get("http://registry.test/v2/two/manifests/a").status_code == 200
        assert client.get("http://registry.test/v2/one/manifests/b").status_code == 200  # the token has it: no new one
    assert [r.url.params.get_list("scope") for r in fake.token_requests] == [
        ["repository:one:pull"], ["repository:one:pull", "repository:two:pull"]]
    assert all(r.headers["authorization"] == basic("builder", "pw") and r.url.params["service"] == "paas-registry"
               for r in fake.token_requests)
    assert len(fake.registry_requests) == 5  # two challenged and sent again, one sent once


def test_a_refused_token_request_ends_with_its_401():
    fake = FakeRegistry(realm_status=401)
    with httpx.Client(transport=httpx.MockTransport(fake.handle), auth=RegistryAuth("runner", "wrong")) as client:
        assert client.get("http://registry.test/v2/one/manifests/a").status_code == 401
    assert len(fake.token_requests) == 1 and len(fake.registry_requests) == 1


def test_an_expiring_token_is_not_sent():
    fake = FakeRegistry()
    auth = RegistryAuth("builder", "pw")
    with httpx.Client(transport=httpx.MockTransport(fake.handle), auth=auth) as client:
        assert client.get("http://registry.test/v2/one/manifests/a").status_code == 200
        auth.expires = time.monotonic() + registry_auth.REFRESH_MARGIN - 1
        assert client.get("http://registry.test/v2/two/manifests/a").status_code == 200
    # The second token is asked for the second scope alone: the scopes of an expired token are dropped.
    assert [r.url.params.get_list("scope") for r in fake.token_requests] == [["repository:one:pull"], ["repository:two:pull"]]
