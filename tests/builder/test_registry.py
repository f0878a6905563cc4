"""Images assembled in the real registry (127.0.0.1:5000), pulled and run by the real Docker engine.

The run image must be in the registry (`make up` pushes it). Test repositories are
`paas-test-registry/*`, fixed names so that runs do not pile up repositories; every slug holds a
random file, so each run uploads a layer the registry has never seen.
"""

import hashlib
import os
import ssl
import uuid
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.builder import registry as registry_module
from paas.builder.registry import (
    DOCKER_MANIFEST,
    ImageConfigChanges,
    RegistryError,
    append_layer,
)
from paas.builder.slug import Slug, make_slug
from paas.builder.stack import docker_auth
from paas.registry_auth import registry_auth
from paas.settings import Settings

LIMIT = 500 * 2**20
# The builder's credentials (the registry asks for them); None on a registry without auth. AUTH:
# the same, for the tests' own httpx clients (a token from the registry's realm).
CREDENTIALS = Settings().registry_auth("builder")
AUTH = registry_auth(CREDENTIALS)
http = httpx.Client(auth=AUTH, timeout=30)


@pytest.fixture(scope="module")
def registry(settings) -> str:
    try:
        httpx.get(f"http://{settings.registry}/v2/", timeout=5)
    except httpx.HTTPError as error:
        pytest.skip(f"the registry is not reachable at {settings.registry}: {error}")
    return settings.registry


@pytest.fixture(scope="module")
def base(settings, registry) -> str:
    """The stack's run image in the registry, e.g. `paas/stack:bookworm`."""
    repository, _, tag = settings.stack_image.rpartition(":")
    found = http.head(f"http://{registry}/v2/{repository}/manifests/{tag}", headers={"Accept": DOCKER_MANIFEST})
    assert found.status_code == 200, f"{settings.stack_image} is not in {registry}: run `make up`"
    return settings.stack_image


@pytest.fixture
def slug(tmp_path) -> Slug:
    build = tmp_path / "build"
    build.mkdir()
    (build / "hello.sh").write_text('#!/bin/sh\necho "hello from $(pwd) $GREETING $(cat random.txt)"\n')
    (build / "hello.sh").chmod(0o755)
    (build / "random.txt").write_text(uuid.uuid4().hex)  # a layer digest this registry never saw
    return make_slug(build, tmp_path / "slug.tgz", size_limit=LIMIT)


class Recorder:
    """An httpx client that remembers every request it sent."""

    def __init__(self, transport: httpx.BaseTransport | None = None):
        self.requests: list[httpx.Request] = []
        self.client = httpx.Client(
            timeout=60, verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), transport=transport, auth=AUTH,
            event_hooks={"request": [self.requests.append]},
        )

    def uploaded(self) -> list[str]:
        """Digests of the blobs whose bytes were sent (the PUT that ends an upload)."""
        return [r.url.params["digest"] for r in self.requests if r.method == "PUT" and "/blobs/uploads/" in r.url.path]


def delete_manifest(registry: str, reference: str) -> None:
    name, _, digest = reference.removeprefix(f"{registry}/").partition("@")
    http.delete(f"http://{registry}/v2/{name}/manifests/{digest}")


def manifest(registry: str, reference: str) -> dict:
    name, _, digest = reference.removeprefix(f"{registry}/").partition("@")
    response = http.get(f"http://{registry}/v2/{name}/manifests/{digest}", headers={"Accept": DOCKER_MANIFEST})
    response.raise_for_status()
    return response.json()


def base_config(registry: str, base: str) -> dict:
    repository, _, tag = base.rpartition(":")
    found = http.get(f"http://{registry}/v2/{repository}/manifests/{tag}", headers={"Accept": DOCKER_MANIFEST}).json()
    return http.get(f"http://{registry}/v2/{repository}/blobs/{found['config']['digest']}").json()


def test_appended_image_pulls_and_runs_the_slug(registry, base, engine, slug):
    changes = ImageConfigChanges(env={"GREETING": "hi", "LANG": "C"}, labels={"paas.test": "yes"})
    reference = append_layer(registry, base, "paas-test-registry/run", "v1", slug, config=changes, auth=CREDENTIALS)
    assert reference.startswith(f"{registry}/paas-test-registry/run@sha256:")
    image = engine.images.pull(reference, auth_config=docker_auth(CREDENTIALS))
    try:
        random = (slug.path.parent / "build" / "random.txt").read_text()
        output = engine.containers.run(reference, ["/app/hello.sh"], remove=True, network_disabled=True)
        assert output.decode().strip() == f"hello from /app hi {random}"

        run_config = image.attrs["Config"]
        base_run = base_config(registry, base)["config"]
        assert run_config["WorkingDir"] == "/app"
        assert "GREETING=hi" in run_config["Env"] and "LANG=C" in run_config["Env"]
        assert not any(e.startswith("LANG=") and e != "LANG=C" for e in run_config["Env"])
        # The app's labels are added to the stack's own (its revision label stays).
        assert run_config["Labels"] == {**(base_run.get("Labels") or {}), "paas.test": "yes"}
        assert run_config["Cmd"] == base_run["Cmd"] and run_config["Entrypoint"] == base_run["Entrypoint"]
        assert image.attrs["RootFS"]["Layers"][-1] == slug.diff_id
        # The tag points at the same image.
        tagged = http.get(f"http://{registry}/v2/paas-test-registry/run/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
        assert tagged.headers["Docker-Content-Digest"] == reference.split("@")[1]
    finally:
        engine.images.remove(image.id, force=True)
        delete_manifest(registry, reference)


def test_second_append_of_the_same_slug_uploads_no_layer(registry, base, slug):
    first, second = Recorder(), Recorder()
    one = append_layer(registry, base, "paas-test-registry/reuse", "a", slug, client=first.client)
    two = append_layer(registry, base, "paas-test-registry/reuse", "b", slug, client=second.client)
    try:
        assert slug.digest in first.uploaded()
        assert len(second.uploaded()) == 1 and slug.digest not in second.uploaded()  # only the new config
        assert manifest(registry, one)["layers"] == manifest(registry, two)["layers"]
        assert manifest(registry, two)["layers"][-1] == {
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": slug.size, "digest": slug.digest,
        }
        # Base layers were mounted, never sent.
        base_layers = {layer["digest"] for layer in manifest(registry, one)["layers"][:-1]}
        assert not base_layers & set(first.uploaded())
    finally:
        first.client.close()
        second.client.close()
        delete_manifest(registry, one)
        delete_manifest(registry, two)


def test_bad_base_is_a_registry_error(registry, slug):
    with pytest.raises(RegistryError, match="reading base image paas/no-such-stack:nope .*HTTP 404"):
        append_layer(registry, "paas/no-such-stack:nope", "paas-test-registry/bad", "v1", slug, auth=CREDENTIALS)


def test_unreachable_registry_is_a_registry_error(slug):
    with pytest.raises(RegistryError, match="ConnectError"):
        append_layer("127.0.0.1:1", "paas/stack:bookworm", "paas-test-registry/bad", "v1", slug)


def test_refused_mount_copies_the_blob(registry):
    """A registry that does not mount answers 202 with an upload session: the layer is copied."""
    blob = os.urandom(100_000)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    with httpx.Client(auth=AUTH) as plain:
        api = registry_module._Registry(plain, registry)
        api.upload("paas-test-registry/source", digest, len(blob), blob)

    class NoMount(httpx.HTTPTransport):
        def handle_request(self, request):
            if "mount" in request.url.params:
                request.url = request.url.copy_remove_param("mount").copy_remove_param("from")
            return super().handle_request(request)

    recorder = Recorder(NoMount())
    with recorder.client as client:
        registry_module._Registry(client, registry).mount(
            "paas-test-registry/copy", "paas-test-registry/source", {"digest": digest, "size": len(blob)},
        )
    assert recorder.uploaded() == [digest]
    copied = http.get(f"http://{registry}/v2/paas-test-registry/copy/blobs/{digest}")
    assert copied.content == blob


def test_new_config_keeps_the_base_and_adds_the_layer():
    base = {
        "architecture": "amd64", "container": "abc",
        "config": {"Env": ["PATH=/usr/bin", "LANG=C.UTF-8"], "Cmd": ["/bin/bash"], "Entrypoint": ["/usr/local/bin/paas-launch"],
                   "Labels": {"a": "1"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:base"]},
        "history": [{"created": "2020-01-01T00:00:00Z"}],
    }
    layer = Slug(Path("/x"), 1, "sha256:gz", "sha256:tar")
    plain = registry_module._new_config(base, layer, None)
    assert plain["config"]["WorkingDir"] == "/app"
    assert plain["config"]["Env"] == base["config"]["Env"] and plain["config"]["Cmd"] == ["/bin/bash"]
    assert plain["rootfs"]["diff_ids"] == ["sha256:base", "sha256:tar"]
    assert len(plain["history"]) == 2 and "container" not in plain
    assert base["rootfs"]["diff_ids"] == ["sha256:base"]  # the base is not changed in place

    changed = registry_module._new_config(base, layer, ImageConfigChanges(
        env={"LANG": "C", "X": "1"}, labels={"b": "2"}, entrypoint=[], cmd=["web"],
    ))
    assert changed["config"]["Env"] == ["PATH=/usr/bin", "LANG=C", "X=1"]
    assert changed["config"]["Labels"] == {"a": "1", "b": "2"}
    assert changed["config"]["Entrypoint"] == [] and changed["config"]["Cmd"] == ["web"]


NAME = st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*){0,2}", fullmatch=True)
TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(name=NAME, tag=TAG, prefixed=st.booleans())
def test_reference_parsing(name, tag, prefixed):
    registry = "127.0.0.1:5000"
    prefix = f"{registry}/" if prefixed else ""
    assert registry_module._split(registry, f"{prefix}{name}:{tag}") == (name, tag)
    assert registry_module._split(registry, f"{prefix}{name}") == (name, "latest")
    assert registry_module._split(registry, f"{prefix}{name}@sha256:{'a' * 64}") == (name, "sha256:" + "a" * 64)


def test_config_changes_of_an_assembled_dockerfile():
    """What a Dockerfile's run config does to the base's (the assembled images' e2e test checks
    the same against buildah's): WORKDIR only when given, USER, EXPOSE added to the base's, and
    an ENTRYPOINT's cleared CMD written as Docker writes it (null)."""
    base = {"config": {"WorkingDir": "/base", "Cmd": ["/bin/bash"], "Entrypoint": ["/launch"], "Env": ["A=1"],
                       "ExposedPorts": {"22/tcp": {}}}, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}}
    layer = Slug(Path("layer.tgz"), 1, "sha256:" + "2" * 64, "sha256:" + "3" * 64)
    changes = ImageConfigChanges(env={"B": "2"}, entrypoint=["python3"], cmd=[], working_dir=None, user="1000:1000",
                                 exposed_ports=("5000/tcp",))
    run = registry_module._new_config(base, layer, changes)["config"]
    assert run["WorkingDir"] == "/base" and run["User"] == "1000:1000" and run["Env"] == ["A=1", "B=2"]
    assert run["Entrypoint"] == ["python3"] and run["Cmd"] is None
    assert run["ExposedPorts"] == {"22/tcp": {}, "5000/tcp": {}}
    slug = registry_module._new_config(base, layer, None)["config"]  # a slug's: /app, the rest the base's
    assert slug["WorkingDir"] == "/app" and slug["Cmd"] == ["/bin/bash"] and "User" not in slug
