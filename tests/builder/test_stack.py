"""Stacks: the pure parts (package lists, apt sources, debootstrap), then the default stack's
images for real (`make up` makes them; the first run on a machine takes a few minutes)."""

import zipfile

import httpx
import pytest

from paas.builder import stack
from paas.domain.stacks import DEFAULT_STACK, STACKS
from paas.registry_auth import registry_auth


def test_sources_of_both_formats_name_the_mirrors():
    one_line = "deb [arch=amd64] http://mirror.example/debian bookworm main\n" \
               "deb http://security.example/debian-security bookworm-security main\n"
    deb822 = "Types: deb\nURIs: http://m2.example/debian\nSuites: trixie\n\n" \
             "Types: deb\nURIs: http://s2.example/debian-security\nSuites: trixie-security\n"
    assert stack.mirrors_from_sources([one_line]) == ("http://mirror.example/debian", "http://security.example/debian-security")
    assert stack.mirrors_from_sources([deb822]) == ("http://m2.example/debian", "http://s2.example/debian-security")
    assert stack.mirrors_from_sources([]) == (stack.DEFAULT_MIRROR, stack.DEFAULT_SECURITY_MIRROR)


def test_a_suite_this_debootstrap_does_not_know_uses_sids_script(tmp_path):
    (tmp_path / "bookworm").touch()
    (tmp_path / "sid").touch()
    known = stack.debootstrap_command("bookworm", tmp_path / "root", "http://m/debian", scripts=tmp_path)
    unknown = stack.debootstrap_command("forky", tmp_path / "root", "http://m/debian", scripts=tmp_path)
    assert known[-1] == "http://m/debian"
    assert unknown[-1] == str(tmp_path / "sid")


def test_package_lists_follow_the_stack():
    forky, bookworm = STACKS["forky"], STACKS["bookworm"]
    assert {"python3.14", "python3.13", "nodejs", "libssl3t64"} <= set(stack.run_packages(forky))
    assert {"libpq5", "tzdata", "ca-certificates", "libssl3"} <= set(stack.run_packages(bookworm))
    assert {"build-essential", "libpq-dev", "python3.14-dev"} <= set(stack.build_packages(forky))
    assert len(stack.run_packages(forky)) == len(set(stack.run_packages(forky)))


def test_uv_comes_out_of_its_wheel(tmp_path):
    wheel = tmp_path / "uv-1.0-py3-none-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("uv-1.0.data/scripts/uv", b"\x7fELF uv")
        archive.writestr("uv-1.0.data/scripts/uvx", b"\x7fELF uvx")
        archive.writestr("uv/__init__.py", b"")
    written = stack.uv_binaries(wheel, tmp_path)
    assert sorted(p.name for p in written) == ["uv", "uvx"]
    assert (tmp_path / "uv").read_bytes() == b"\x7fELF uv" and (tmp_path / "uv").stat().st_mode & 0o111
    empty = tmp_path / "empty.whl"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(stack.StackBuildError):
        stack.uv_binaries(empty, tmp_path)


def test_revisions_and_image_names():
    assert stack.split_image("paas/stack:bookworm") == ("paas/stack", "bookworm")
    assert stack.split_image("127.0.0.1:5000/paas/stack") == ("127.0.0.1:5000/paas/stack", "latest")
    assert stack.revision_of({stack.REVISION_LABEL: "bad"}) == 0
    assert stack.is_current(stack.STACK_REVISION) and not stack.is_current(stack.STACK_REVISION - 1)


def test_the_launcher_sources_profile_d_before_the_command():
    script = stack.launcher_script()
    assert script.index("/app/.profile.d/*.sh") < script.index('exec "$@"')


# --- the default stack's images, for real ---------------------------------------------------

@pytest.fixture(scope="module")
def images(settings, engine):
    lines = []
    images = stack.ensure_stack(settings, engine, DEFAULT_STACK, lines.append)
    return images


def run(engine, image, command):
    return engine.containers.run(image, command, remove=True, network_disabled=True).decode()


def test_ensure_is_quick_and_silent_once_made(settings, engine, images):
    said = []
    assert stack.ensure_stack(settings, engine, DEFAULT_STACK, said.append) == images
    assert said == []
    assert images.run == settings.stack_image


def test_run_image_has_python_the_runtime_libraries_and_the_ca_bundle(engine, images):
    assert run(engine, images.run, ["python3", "-c", "import ssl,sys; print(sys.version)"]).startswith("3.11.")
    assert "libpq.so.5" in run(engine, images.run, ["sh", "-c", "ldconfig -p"])
    env = engine.images.get(images.run).attrs["Config"]["Env"]
    assert f"PIP_CERT={stack.CA_PATH}" in env and "LANG=C.UTF-8" in env
    assert "no compiler" in run(engine, images.run, ["sh", "-c", "command -v gcc || echo no compiler"])


def test_build_image_adds_compilers_headers_and_uv(engine, images):
    found = run(engine, images.build, ["bash", "-c", "command -v gcc uv && ls /usr/include/postgresql/libpq-fe.h"])
    assert "/gcc" in found and "/uv" in found and "libpq-fe.h" in found


def test_the_launcher_sources_the_slugs_profile_d(engine, images, tmp_path):
    (tmp_path / ".profile.d").mkdir()
    (tmp_path / ".profile.d" / "a.sh").write_text("export FROM_PROFILE=yes\n")
    output = engine.containers.run(
        images.run, ["sh", "-c", "echo $FROM_PROFILE $HOME $(pwd)"], remove=True, network_disabled=True,
        volumes={str(tmp_path): {"bind": "/app", "mode": "ro"}},
    ).decode()
    assert output.strip() == "yes /app /app"


def test_registry_has_the_run_image(settings, engine, images):
    repository, tag = stack.split_image(images.run)
    response = httpx.get(f"http://{settings.registry}/v2/{repository}/tags/list", timeout=10,
                         auth=registry_auth(settings.registry_auth("builder")))
    assert response.status_code == 200 and tag in response.json()["tags"]
    assert stack.registry_current(engine, images, settings.registry, settings.registry_auth("builder"))


def test_local_stack_images_need_no_registry(settings, engine, images):
    """`make stack` (the compose path) where no registry runs: a closed port stands for it."""
    closed = settings.model_copy(update={"registry": "127.0.0.1:9"})
    said = []
    assert stack.ensure_local_stack(closed, engine, DEFAULT_STACK, said.append) == stack.stack_images(closed, STACKS[DEFAULT_STACK])
    assert said == []
    # The same settings are refused where the registry is needed: so the probe above was real.
    with pytest.raises(httpx.ConnectError):
        stack.ensure_stack(closed, engine, DEFAULT_STACK, said.append)
