"""An app image made in the registry itself: the stack's run image plus the slug as one layer.

Only the Docker Registry HTTP API v2 (no docker daemon, no docker build): read the base image's
manifest and config, mount its layers into the app's repository (the registry links them, no
bytes move), upload the slug unless the registry has it already, then a new config and
manifest. A redeploy of an unchanged slug uploads a ~2 KB config and a manifest, nothing more.
"""

import copy
import hashlib
import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from paas.builder.slug import Slug
from paas.registry_auth import registry_auth

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# manifest media type -> (config media type, gzip layer media type)
MEDIA_TYPES = {
    DOCKER_MANIFEST: ("application/vnd.docker.container.image.v1+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"),
    OCI_MANIFEST: ("application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"),
}
TIMEOUT = httpx.Timeout(60, connect=5)


class RegistryError(Exception):
    """The registry refused or failed a step; the message says which."""


@dataclass(frozen=True)
class ImageConfigChanges:
    """Changes to the base image's run config."""

    env: Mapping[str, str] = field(default_factory=dict)  # added, or replacing the base's value
    labels: Mapping[str, str] = field(default_factory=dict)
    entrypoint: Sequence[str] | None = None  # None keeps the base's
    cmd: Sequence[str] | None = None  # None keeps the base's; empty clears it
    working_dir: str | None = "/app"  # a slug's place; None keeps the base's
    user: str | None = None  # None keeps the base's
    exposed_ports: Sequence[str] = ()  # added to the base's ("5000/tcp")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _split(registry: str, reference: str) -> tuple[str, str]:
    """`paas/stack:bookworm` (or with `<registry>/` in front, or `@sha256:...`) -> (repo, tag or digest)."""
    reference = reference.removeprefix(f"{registry}/")
    if "@" in reference:
        repository, _, ref = reference.partition("@")
        return repository, ref
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        return reference, "latest"
    return repository, tag


def registry_client(auth: tuple[str, str] | None = None, timeout: httpx.Timeout | float = TIMEOUT) -> httpx.Client:
    """A client of the platform's registry. It speaks plain HTTP only, so its TLS context trusts
    nothing: loading the CA bundle costs each new client 20-55 ms, on every build's path."""
    return httpx.Client(timeout=timeout, verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), auth=registry_auth(auth))


class _Registry:
    def __init__(self, client: httpx.Client, registry: str):
        self.client = client
        self.url = f"http://{registry}/v2"  # a local registry: Docker also allows 127.0.0.1 without TLS

    def call(self, method: str, path_or_url: str, what: str, ok: tuple[int, ...], **kwargs) -> httpx.Response:
        url = path_or_url if path_or_url.startswith("http") else self.url + path_or_url
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise RegistryError(f"{what}: {type(error).__name__}: {error}") from None
        if response.status_code not in ok:
            raise RegistryError(f"{what}: HTTP {response.status_code}{_explain(response)}")
        return response

    def upload_url(self, response: httpx.Response, digest: str) -> httpx.URL:
        """Where to PUT the blob of the upload session a POST opened (its Location)."""
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"the registry opened an upload without a Location (HTTP {response.status_code})")
        return httpx.URL(self.url).join(location).copy_merge_params({"digest": digest})

    def put_blob(self, session: httpx.Response, repository: str, digest: str, size: int, content) -> None:
        self.call(
            "PUT", str(self.upload_url(session, digest)), f"upload of {digest} to {repository}", (201,),
            content=content, headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )

    def upload(self, repository: str, digest: str, size: int, content) -> None:
        session = self.call("POST", f"/{repository}/blobs/uploads/", f"starting an upload to {repository}", (202,))
        self.put_blob(session, repository, digest, size, content)

    def has_blob(self, repository: str, digest: str) -> bool:
        response = self.call("HEAD", f"/{repository}/blobs/{digest}", f"checking {digest} in {repository}", (200, 404))
        return response.status_code == 200

    def mount(self, repository: str, source: str, layer: dict) -> None:
        """Link a base layer into repository; copy it when the registry will not mount it."""
        digest = layer["digest"]
        response = self.call(
            "POST", f"/{repository}/blobs/uploads/", f"mounting {digest} from {source} into {repository}", (201, 202),
            params={"mount": digest, "from": source},
        )
        if response.status_code == 201:
            return
        # 202: no mount, but an upload session instead: fill it with the base's bytes.
        with self.client.stream("GET", f"{self.url}/{source}/blobs/{digest}", follow_redirects=True) as blob:
            if blob.status_code != 200:
                raise RegistryError(f"reading base layer {digest} from {source}: HTTP {blob.status_code}")
            self.put_blob(response, repository, digest, layer["size"], blob.iter_raw())


def _explain(response: httpx.Response) -> str:
    """The registry's own words (`{"errors": [{"code", "message"}]}`), when it gave any."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return ""
    return "".join(f" {e.get('code', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict))


def _new_config(base: dict, layer: Slug, changes: ImageConfigChanges | None) -> dict:
    config = copy.deepcopy(base)
    run = dict(config.get("config") or {})
    changes = changes or ImageConfigChanges()
    if changes.working_dir is not None:
        run["WorkingDir"] = changes.working_dir
    if changes.user is not None:
        run["User"] = changes.user
    if changes.exposed_ports:
        run["ExposedPorts"] = {**(run.get("ExposedPorts") or {}), **{port: {} for port in changes.exposed_ports}}
    env = [entry for entry in run.get("Env") or [] if entry.split("=", 1)[0] not in changes.env]
    run["Env"] = env + [f"{key}={value}" for key, value in changes.env.items()]
    if changes.labels:
        run["Labels"] = {**(run.get("Labels") or {}), **changes.labels}
    if changes.entrypoint is not None:
        run["Entrypoint"] = list(changes.entrypoint)
    if changes.cmd is not None:
        run["Cmd"] = list(changes.cmd) or None
    config["config"] = run
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    config["created"] = now
    config.pop("container", None)  # the id of the container that made the base: not ours
    config["rootfs"] = {"type": "layers", "diff_ids": [*config["rootfs"]["diff_ids"], layer.diff_id]}
    config["history"] = [*(config.get("history") or []), {"created": now, "created_by": f"paas slug {layer.digest}"}]
    return config


def has_manifest(registry: str, reference: str, auth: tuple[str, str] | None = None) -> bool:
    """Does the registry still hold this image (`<registry>/<repo>@sha256:...` or with a tag)?"""
    repository, ref = _split(registry, reference)
    with registry_client(auth, timeout=10) as client:
        response = _Registry(client, registry).call(
            "HEAD", f"/{repository}/manifests/{ref}", f"checking {reference}", (200, 404), headers={"Accept": DOCKER_MANIFEST},
        )
    return response.status_code == 200


def append_layer(
    registry: str, base: str, target_repo: str, tag: str, layer: Slug,
    *, config: ImageConfigChanges | None = None, client: httpx.Client | None = None, auth: tuple[str, str] | None = None,
) -> str:
    """Make `<registry>/<target_repo>:<tag>` = base + layer; return `<registry>/<target_repo>@sha256:...`.

    base is an image in the same registry (`paas/stack:bookworm`). client is for tests (counting
    requests); by default a client of its own is used.
    """
    base_repo, base_ref = _split(registry, base)
    http = client or registry_client(auth)
    try:
        api = _Registry(http, registry)
        found = api.call(
            "GET", f"/{base_repo}/manifests/{base_ref}", f"reading base image {base} from {registry}", (200,),
            headers={"Accept": f"{DOCKER_MANIFEST}, {OCI_MANIFEST}"},
        )
        manifest = found.json()
        media_type = manifest.get("mediaType") or found.headers.get("Content-Type", "").split(";")[0]
        if media_type not in MEDIA_TYPES:
            raise RegistryError(f"base image {base} is a {media_type or 'manifest of unknown type'}, not one image")
        config_type, layer_type = MEDIA_TYPES[media_type]
        config_digest = manifest["config"]["digest"]
        raw = api.call(
            "GET", f"/{base_repo}/blobs/{config_digest}", f"reading the config of {base}", (200,), follow_redirects=True,
        ).content
        if _sha256(raw) != config_digest:
            raise RegistryError(f"the config of {base} does not match its digest {config_digest}")
        base_config = json.loads(raw)
        if len(base_config["rootfs"]["diff_ids"]) != len(manifest["layers"]):
            raise RegistryError(f"base image {base} has {len(manifest['layers'])} layers but its config lists "
                                f"{len(base_config['rootfs']['diff_ids'])}")

        if target_repo != base_repo:
            for base_layer in manifest["layers"]:
                api.mount(target_repo, base_repo, base_layer)
        if not api.has_blob(target_repo, layer.digest):  # an unchanged slug is there already
            with layer.path.open("rb") as f:  # httpx streams a file in 64 KiB reads
                api.upload(target_repo, layer.digest, layer.size, f)

        new_config = json.dumps(_new_config(base_config, layer, config), separators=(",", ":")).encode()
        new_config_digest = _sha256(new_config)
        api.upload(target_repo, new_config_digest, len(new_config), new_config)
        new_manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "size": len(new_config), "digest": new_config_digest},
            "layers": [*manifest["layers"], {"mediaType": layer_type, "size": layer.size, "digest": layer.digest}],
        }, separators=(",", ":")).encode()
        put = api.call(
            "PUT", f"/{target_repo}/manifests/{tag}", f"writing the manifest {target_repo}:{tag}", (201,),
            content=new_manifest, headers={"Content-Type": media_type},
        )
        digest = _sha256(new_manifest)
        if put.headers.get("Docker-Content-Digest") != digest:
            raise RegistryError(f"the registry stored {target_repo}:{tag} as "
                                f"{put.headers.get('Docker-Content-Digest')}, not {digest}")
        return f"{registry}/{target_repo}@{digest}"
    except (KeyError, TypeError, ValueError) as error:  # JSON that is not a manifest/config
        raise RegistryError(f"base image {base} in {registry} is not a usable image: {error!r}") from None
    finally:
        if client is None:
            http.close()
