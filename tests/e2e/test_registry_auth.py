"""The registry at 127.0.0.1:5000 takes only tokens signed by the platform (distribution's token
auth), from its realm, the API's `GET /registry/token`: anonymous pulls and pushes are refused,
the runner's credentials pull but cannot push, and the builder's pull and push (the positive
control: the very same requests). Tried with plain HTTP and with the Docker engine."""

import io
import re
import tarfile
import time
import uuid

import docker
import httpx
import pytest

from paas import registry_auth
from tests.test_registry_auth import make_home

pytestmark = pytest.mark.e2e
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
])
TEST_REPOSITORY = "paas-test-registry-auth/pushed"


@pytest.fixture(scope="module")
def registry(settings):
    with httpx.Client(base_url=f"http://{settings.registry}", timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def stack_image(settings) -> tuple[str, str]:
    """A repository and tag that are there for sure: the default stack's run image, pushed by `make up`."""
    repository, _, tag = settings.stack_image.partition(":")
    return repository, tag


@pytest.fixture(scope="module")
def realm(registry) -> str:
    """Where the registry sends a client without a token (as Docker and buildah find it)."""
    challenge = registry.get("/v2/").headers["www-authenticate"]
    assert challenge.startswith("Bearer "), challenge
    return re.search(r'realm="([^"]+)"', challenge).group(1)


def token_for(realm: str, credentials, *scopes: str) -> httpx.Response:
    return httpx.get(realm, params={"service": registry_auth.SERVICE, "scope": list(scopes)}, auth=credentials, timeout=10)


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def pull(registry, stack_image, token: str | None = None, **kwargs) -> httpx.Response:
    repository, tag = stack_image
    return registry.get(f"/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES, **bearer(token)}, **kwargs)


def start_upload(registry, stack_image, token: str | None = None, **kwargs) -> httpx.Response:
    """The first request of every push (a blob upload). One that is let in is left unfinished:
    cancelling it is a DELETE, which nobody's token allows; the registry purges stale uploads."""
    repository, _ = stack_image
    return registry.post(f"/v2/{repository}/blobs/uploads/", headers=bearer(token), **kwargs)


def refused(response: httpx.Response, error: str | None = None) -> bool:
    """The registry's own refusal: 401, its UNAUTHORIZED code, and a challenge naming the realm
    (with `error=...` when a token was sent but does not do)."""
    challenge = response.headers.get("www-authenticate", "")
    codes = [e.get("code") for e in response.json().get("errors", [])] if response.status_code == 401 else []
    return (response.status_code == 401 and codes == ["UNAUTHORIZED"] and challenge.startswith("Bearer realm=")
            and (error is None or f'error="{error}"' in challenge))


def pull_and_push(stack_image) -> list[str]:
    repository, _ = stack_image
    return [f"repository:{repository}:pull,push"]


def test_anonymous_clients_can_neither_pull_nor_push(registry, stack_image, realm, settings):
    assert refused(pull(registry, stack_image)) and refused(start_upload(registry, stack_image))
    builder = settings.registry_auth("builder")
    # The builder's own password, sent to the registry itself: only tokens count there.
    assert refused(pull(registry, stack_image, auth=builder)) and refused(start_upload(registry, stack_image, auth=builder))
    # No token for anyone without the password.
    for credentials in (None, (builder[0], builder[1] + "x"), ("runner", builder[1]), ("admin", builder[1])):
        answer = token_for(realm, credentials, *pull_and_push(stack_image))
        assert answer.status_code == 401 and "token" not in answer.json(), credentials
    # Positive control: the same requests with the builder's token.
    token = token_for(realm, builder, *pull_and_push(stack_image)).json()["token"]
    pulled = pull(registry, stack_image, token)
    assert pulled.status_code == 200 and pulled.headers["docker-content-digest"].startswith("sha256:"), pulled.text
    assert start_upload(registry, stack_image, token).status_code == 202


def test_the_runners_credentials_pull_but_cannot_push(registry, stack_image, realm, settings):
    runner = token_for(realm, settings.registry_auth("runner"), *pull_and_push(stack_image)).json()["token"]
    assert pull(registry, stack_image, runner).status_code == 200
    assert refused(start_upload(registry, stack_image, runner), error="insufficient_scope")
    builder = token_for(realm, settings.registry_auth("builder"), *pull_and_push(stack_image)).json()["token"]
    assert start_upload(registry, stack_image, builder).status_code == 202  # the same request, the builder's token


def test_tokens_not_signed_by_the_platform_or_expired_are_refused(registry, stack_image, settings, tmp_path):
    scopes = pull_and_push(stack_image)
    ours = registry_auth.issue(make_home(tmp_path), "builder", scopes)["token"]  # a key and certificate of the test's own
    assert refused(pull(registry, stack_image, ours), error="invalid_token")
    # The registry allows a minute of clock skew after `exp`.
    expired = registry_auth.issue(settings.home, "builder", scopes, now=time.time() - registry_auth.TOKEN_TTL - 90)["token"]
    assert refused(pull(registry, stack_image, expired), error="invalid_token")
    assert pull(registry, stack_image, registry_auth.issue(settings.home, "builder", scopes)["token"]).status_code == 200


@pytest.fixture
def small_image(settings):
    """A one-file image of the test's own, tagged for the registry, removed from the engine after."""
    engine = docker.from_env()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        content = uuid.uuid4().hex.encode()  # a layer the registry has never seen
        member = tarfile.TarInfo("hello.txt")
        member.size = len(content)
        tar.addfile(member, io.BytesIO(content))
    reference = f"{settings.registry}/{TEST_REPOSITORY}"
    engine.api.import_image_from_data(data.getvalue(), repository=reference, tag="v1")
    yield engine, reference
    engine.images.remove(f"{reference}:v1", force=True)


def docker_push(engine, reference: str, credentials) -> list[str]:
    """What the engine says of a push with these credentials: its errors, empty if it pushed."""
    lines = engine.api.push(reference, tag="v1", stream=True, decode=True,
                            auth_config={"username": credentials[0], "password": credentials[1]})
    return [line["error"] for line in lines if "error" in line]


def test_the_docker_engine_pushes_with_the_builders_credentials_only(small_image, settings):
    engine, reference = small_image
    errors = docker_push(engine, reference, settings.registry_auth("runner"))
    assert errors and "requested access to the resource is denied" in errors[-1], errors
    assert docker_push(engine, reference, settings.registry_auth("builder")) == []
    # The runner pulls what the builder pushed; nobody pulls without credentials.
    engine.images.remove(f"{reference}:v1", force=True)
    engine.api.pull(reference, tag="v1", auth_config=dict(zip(("username", "password"), settings.registry_auth("runner"))))
    assert engine.images.get(f"{reference}:v1")
    engine.images.remove(f"{reference}:v1", force=True)
    with pytest.raises(docker.errors.APIError, match=r"(?i)unauthorized|authentication required|denied"):
        engine.api.pull(reference, tag="v1")
    engine.api.pull(reference, tag="v1", auth_config=dict(zip(("username", "password"), settings.registry_auth("runner"))))

