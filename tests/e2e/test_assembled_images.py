"""A Dockerfile that runs nothing is assembled without buildah (builder/dockerfile.Assembly): the
same source built both ways, assembled and by buildah, gives the same files and the same run
config (a CMD before the ENTRYPOINT kept, as Docker keeps it), and both serve; a source with an
ignore file goes to buildah, which leaves out what it names."""

import os
import shutil

import pytest

from tests.e2e.conftest import SAMPLE_APP

pytestmark = pytest.mark.e2e

DOCKERFILE = """\
FROM paas/stack:bookworm
WORKDIR /code
COPY . .
ENV GREETING=same MODE=both
LABEL team=core
EXPOSE 5000
USER 1000:1000
CMD ["-u", "/code/server.py"]
ENTRYPOINT ["python3"]
"""
# Not an instruction an assembly takes (so buildah builds it), and it changes no file.
BY_BUILDAH = "STOPSIGNAL SIGTERM\n"
COMPARED = ("WorkingDir", "Env", "Entrypoint", "Cmd", "User", "ExposedPorts")
# Each entry of /code: its path, type, mode, owner, size, link target; the time of files (a commit's
# files have one; directories and links are made when each source is unpacked, at its time).
LISTING = r"%P %y %m %U:%G %s %l|%T@\n"


def source(tmp_path, name: str, dockerfile: str):
    path = tmp_path / name
    shutil.copytree(SAMPLE_APP, path)
    (path / "Dockerfile").write_text(dockerfile)
    (path / "bin").mkdir()
    (path / "bin" / "start.sh").write_text("#!/bin/sh\nexec python3 /code/server.py\n")
    (path / "bin" / "start.sh").chmod(0o755)
    (path / "static" / "deep").mkdir(parents=True)
    (path / "static" / "a file.txt").write_text("spaces in a name\n")
    (path / "static" / "deep" / "x.css").write_text("body {}\n")
    return path


def files(engine, image: str) -> list[str]:
    output = engine.containers.run(image, ["/code", "-printf", LISTING], entrypoint=["find"], user="0", remove=True,
                                   network_disabled=True).decode()
    entries = []
    for line in sorted(output.splitlines()):
        entry, _, when = line.partition("|")
        if not entry.startswith("Dockerfile "):  # the one file the two sources differ in
            entries.append(f"{entry} {when}" if entry.split(" ")[1] == "f" else entry)
    return entries


def test_a_dockerfile_that_runs_nothing_gives_the_image_buildah_would(new_app, api, engine, router, tmp_path):
    assembled_app, assembled = new_app(source(tmp_path, "assembled", DOCKERFILE))
    built_app, built = new_app(source(tmp_path, "built", DOCKERFILE + BY_BUILDAH))
    for checkout in (assembled, built):  # a link, which copying the source would have followed
        os.symlink("../VERSION", checkout.path / "static" / "version")
        checkout.commit("a link")

    pushed = assembled.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "Nothing in it runs: the source goes into /code as one layer" in pushed.stderr and "STEP 1" not in pushed.stderr
    pushed = built.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "STEP 1/10: FROM paas/stack:bookworm" in pushed.stderr and "Nothing in it runs" not in pushed.stderr

    assert router.get(assembled_app).text == router.get(built_app).text == "sample-app version=1 greeting=same\n"
    images = [api.get(f"/apps/{app}/releases/2").json()["image"] for app in (assembled_app, built_app)]
    listed = [files(engine, image) for image in images]
    assert listed[0] == listed[1]
    link = next(e for e in listed[0] if e.startswith("static/version "))
    assert link.split(" ")[1:4] == ["l", "777", "0:0"] and link.endswith(" ../VERSION")
    assert any(e.startswith("bin/start.sh f 755 0:0 ") for e in listed[0])
    assert next(e for e in listed[0] if e.startswith(" ")).startswith(" d 755 0:0 ")  # /code itself

    configs = [engine.images.get(image).attrs["Config"] for image in images]
    assert [{key: config.get(key) for key in COMPARED} for config in configs[:1]] == \
        [{key: config.get(key) for key in COMPARED} for config in configs[1:]]
    labels = [{k: v for k, v in (config.get("Labels") or {}).items() if not k.startswith("io.buildah.")} for config in configs]
    assert labels[0] == labels[1] and labels[0]["team"] == "core"
    assert configs[0]["User"] == "1000:1000" and configs[0]["Cmd"] == ["-u", "/code/server.py"]


def test_a_source_with_an_ignore_file_is_built_by_buildah(new_app, engine, api, tmp_path):
    name, checkout = new_app(source(tmp_path, "ignoring", DOCKERFILE))
    checkout.write("secret.env", "TOKEN=not-for-the-image\n")
    checkout.write(".containerignore", "secret.env\n")
    checkout.commit("a file the image must not have")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "STEP 1/9: FROM paas/stack:bookworm" in pushed.stderr and "Nothing in it runs" not in pushed.stderr
    listed = files(engine, api.get(f"/apps/{name}/releases/2").json()["image"])
    assert any(e.startswith("server.py ") for e in listed) and not any(e.startswith("secret.env ") for e in listed)
