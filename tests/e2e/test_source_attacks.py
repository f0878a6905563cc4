"""Attacks on the build's input, tried as a second user who is no admin: a source tarball whose
links or hard links lead to the host's files, a tarball or a push that inflates past the limits,
a Containerfile beside a clean Dockerfile, and Dockerfile directives read one way by the check and
another by buildah. Each fails with a clear error, never shows a host file, and the same route with
clean input builds (the positive control)."""

import io
import secrets
import string
import subprocess
import tarfile

import httpx
import pytest

from tests.e2e.conftest import SAMPLE_APP, Checkout, eventually

pytestmark = pytest.mark.e2e
DEPTH = 12
# The mount that listed the host's root on main (CVE-2024-9675 in buildah 1.28).
HOST_MOUNT = "RUN --mount=type=cache,id=../../../../../../../../../..,target=/h ls -la /h/ /h/root"


class Tenant:
    """A user of their own (no admin), with an app of their own."""

    def __init__(self, settings, token: str, email: str):
        self.settings, self.token, self.email = settings, token, email
        self.api = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.app = "t-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
        made = self.api.post("/apps", json={"name": self.app})
        assert made.status_code == 201, made.text

    def remote(self) -> str:
        return f"http://paas:{self.token}@{self.settings.api_url.removeprefix('http://')}/{self.app}.git"

    def build_tarball(self, data: bytes) -> tuple[dict, str]:
        """Upload a source tarball and build it: the finished build and its output."""
        blob = self.api.post("/sources").json()["source_blob"]
        httpx.put(blob["put_url"], content=data, timeout=60).raise_for_status()
        made = self.api.post(f"/apps/{self.app}/builds", json={"source_blob": {"url": blob["get_url"], "version": "v1"}})
        assert made.status_code == 201, made.text
        output = httpx.get(made.json()["output_stream_url"], timeout=300).text
        build = eventually(lambda: (b := self.api.get(f"/apps/{self.app}/builds/{made.json()['id']}").json())["status"] != "pending" and b,
                           60, "the build to finish")
        return build, output


@pytest.fixture
def tenant(api, settings):
    email = f"tenant-{secrets.token_hex(4)}@example.com"
    made = api.post("/accounts", json={"email": email})
    assert made.status_code == 201, made.text
    assert not made.json().get("admin", False)
    tenant = Tenant(settings, made.json()["token"], email)
    assert tenant.api.get("/account").json()["email"] == email
    yield tenant
    api.delete(f"/apps/{tenant.app}")
    api.delete(f"/accounts/{email}")


def tarball(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def member(name: str, data: bytes | None = None, *, symlink: str | None = None, hardlink: str | None = None):
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    if symlink is not None:
        info.type, info.linkname = tarfile.SYMTYPE, symlink
    if hardlink is not None:
        info.type, info.linkname = tarfile.LNKTYPE, hardlink
    return info, data


def sample_app() -> list:
    return [member(f"app/{p.name}", p.read_bytes()) for p in sorted(SAMPLE_APP.iterdir())]


def admin_token_path(settings) -> str:
    """The admin token as the worker (root, in the checkout) would reach it from a build's files."""
    return f"proc/self/cwd/{settings.admin_token_file}" if not settings.admin_token_file.is_absolute() else \
        str(settings.admin_token_file).lstrip("/")


def test_a_chain_of_links_in_a_source_tarball_reads_no_host_file(tenant, settings, token):
    chain = "/".join(f"d{i}" for i in range(DEPTH))
    escape = chain + "/.." * DEPTH + "/" + admin_token_path(settings)
    build, output = tenant.build_tarball(tarball([*sample_app(), member(f"app/{chain}", symlink="../" * (DEPTH - 1)),
                                                    member("app/Procfile", symlink=escape.removeprefix("/"))]))
    assert build["status"] == "failed", output
    assert "points outside the source" in output, output
    assert token not in output and token not in str(build)
    # The positive control: the same route with the same app and a link that stays inside builds.
    build, output = tenant.build_tarball(tarball([*sample_app(), member("app/config/Procfile", b"web: python3 -u /app/server.py\n"),
                                                    member("app/Procfile", symlink="config/Procfile")]))
    assert build["status"] == "succeeded", output
    assert "Process types: web" in output


def test_a_hard_link_in_a_source_tarball_reads_no_host_file(tenant, settings, token):
    for target in ("/" + admin_token_path(settings), "../" * DEPTH + admin_token_path(settings), "app/up/x"):
        build, output = tenant.build_tarball(tarball([*sample_app(), member("app/up", symlink=".."),
                                                        member("app/Procfile", hardlink=target)]))
        assert build["status"] == "failed", output
        assert any(why in output for why in ("outside the source", "names no file of the source")), output
        assert token not in output
    build, output = tenant.build_tarball(tarball([*sample_app(), member("app/Procfile.txt", b"web: python3 -u /app/server.py\n"),
                                                    member("app/Procfile", hardlink="app/Procfile.txt")]))
    assert build["status"] == "succeeded", output


def test_a_source_tarball_over_the_unpacked_limit_is_refused(tenant, settings):
    """A member that says it is larger than the limit: refused at its header, before any byte is written."""
    bomb, _ = member("app/zeros")
    bomb.size = settings.source_unpacked_limit + 1
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        tar.addfile(bomb)  # the header alone: a tarball that ends early is all the build may read
    build, output = tenant.build_tarball(raw.getvalue())
    assert build["status"] == "failed" and f"over the limit of {settings.source_unpacked_limit // 2**20} MB unpacked" in output, output


def test_a_push_that_inflates_past_the_limit_is_refused(tenant, settings, tmp_path):
    checkout = Checkout(tmp_path / "app", tenant.remote())
    size = settings.source_unpacked_limit + 2**20
    # Zeros straight into git's object store (never a file of that size in the working tree).
    zeros = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], stdin=zeros.stdout, cwd=checkout.path,
                          capture_output=True, text=True, check=True).stdout.strip()
    zeros.wait()
    checkout.git("update-index", "--add", "--cacheinfo", f"100644,{blob},zeros")
    checkout.git("commit", "-q", "-m", "a bomb")
    pushed = checkout.push()
    assert pushed.returncode != 0, pushed.stderr
    assert "over the limits of" in pushed.stderr and "MB unpacked" in pushed.stderr, pushed.stderr
    # The positive control: without the bomb the same app builds from a push.
    checkout.git("rm", "-q", "--cached", "zeros")
    checkout.commit("no bomb")
    assert checkout.push().returncode == 0


def test_a_containerfile_is_not_built(tenant, tmp_path):
    """buildah prefers a Containerfile to the Dockerfile it was not checked for: the Dockerfile
    (the file checked) is what builds."""
    checkout = Checkout(tmp_path / "app", tenant.remote())
    checkout.write("Dockerfile", (SAMPLE_APP / "Dockerfile").read_text().replace("WORKDIR /app", "WORKDIR /app\nRUN echo built-from-the-Dockerfile"))
    checkout.write("Containerfile", f"FROM paas/stack:bookworm\n{HOST_MOUNT}\n")
    checkout.commit("a Containerfile beside")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "built-from-the-Dockerfile" in pushed.stderr
    assert "--mount" not in pushed.stderr and "admin-token" not in pushed.stderr and "/h/root" not in pushed.stderr


@pytest.mark.parametrize("dockerfile", [
    f"# a_b=1\n# escape=`\nFROM paas/stack:bookworm\nMAINTAINER x`\n{HOST_MOUNT}\n",
    f"FROM paas/stack:bookworm\nRUN --mo\\\n{HOST_MOUNT.removeprefix('RUN --mo')}\n",
])
def test_a_mount_hidden_from_the_check_is_still_refused(tenant, tmp_path, dockerfile):
    checkout = Checkout(tmp_path / "app", tenant.remote())
    checkout.write("Dockerfile", dockerfile)
    checkout.commit("hide a mount")
    pushed = checkout.push()
    assert pushed.returncode != 0, pushed.stderr
    assert "is not available in paas builds" in pushed.stderr and "STEP 1" not in pushed.stderr, pushed.stderr
