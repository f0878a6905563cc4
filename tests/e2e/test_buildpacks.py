"""Buildpack builds end to end: the real git CLI pushes plain source through the running platform,
and the app answers through Caddy."""

import functools
import http.server
import subprocess
import tarfile
import textwrap
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import APPS

pytestmark = pytest.mark.e2e


def body_has(text):
    return lambda response: response.status_code == 200 and text in response.text


def pushed_ok(checkout):
    result = checkout.push()
    assert result.returncode == 0, result.stderr
    return result.stderr


def rejected(checkout):
    """The push is refused and the branch does not move; what the pusher was told."""
    before = checkout.remote_refs().get("refs/heads/main")
    result = checkout.push()
    assert result.returncode != 0 and "[remote rejected]" in result.stderr, result.stderr
    assert checkout.remote_refs().get("refs/heads/main") == before
    return result.stderr


def test_flask_app_cold_warm_and_cache_purge(api, router, new_app):
    name, checkout = new_app("flask")
    output = pushed_ok(checkout)
    assert "remote: -----> Python app detected" in output
    assert "Installing" in output or "installing" in output
    assert router.get(name).text == "flask-app version=1 greeting=\n"
    shown = api.get(f"/apps/{name}").json()
    assert shown["stack"]["name"] == "bookworm" and shown["slug_size"] > 0
    assert shown["buildpack_provided_description"] == "Python"

    # Only code changed: nothing is installed, and the new code serves.
    checkout.write("VERSION", "2\n")
    checkout.commit("version 2")
    output = pushed_ok(checkout)
    assert "nothing to install" in output, output
    assert router.get(name).text == "flask-app version=2 greeting=\n"

    # Config vars reach the app (a new release of the same slug).
    api.patch(f"/apps/{name}/config-vars", json={"GREETING": "hi"})
    assert router.wait_for(name, body_has("greeting=hi")).status_code == 200

    # After a purge the next build installs again.
    assert api.delete(f"/apps/{name}/build-cache").status_code == 202
    checkout.commit("after purge")
    output = pushed_ok(checkout)
    assert "nothing to install" not in output


def test_django_collectstatic_and_psycopg_without_a_binary_wheel(router, new_app):
    name, checkout = new_app("django")
    output = pushed_ok(checkout)
    assert "collectstatic" in output
    answer = router.get(name).text
    assert answer.startswith("django-app collected=True psycopg=3.") and "impl=python" in answer, answer


def test_a_python_version_only_forky_has_runs_on_it(api, router, new_app):
    name, checkout = new_app("pinned")
    pushed_ok(checkout)
    assert router.get(name).text == "pinned-app python=3.14\n"
    assert api.get(f"/apps/{name}").json()["stack"]["name"] == "forky"


def test_the_newest_stack_with_the_version_unless_the_app_chose_one(api, router, new_app):
    name, checkout = new_app("pinned")
    checkout.write(".python-version", "3.13\n")
    checkout.commit("python 3.13")
    pushed_ok(checkout)  # trixie and forky both have 3.13: the newest builds it
    assert api.get(f"/apps/{name}").json()["stack"]["name"] == "forky"
    api.patch(f"/apps/{name}", json={"build_stack": "trixie"}).raise_for_status()
    checkout.commit("again, on trixie")
    output = pushed_ok(checkout)
    assert "(trixie stack)" in output, output
    assert router.get(name).text == "pinned-app python=3.13\n"
    assert api.get(f"/apps/{name}").json()["stack"]["name"] == "trixie"


def test_a_python_version_no_stack_has_is_rejected_with_the_list(router, new_app):
    name, checkout = new_app("pinned")
    checkout.write(".python-version", "3.9\n")
    checkout.commit("old python")
    told = rejected(checkout)
    assert "3.9" in told and "3.11, 3.13, 3.14" in told, told


POETRY_LOCK = """\
[[package]]
name = "packaging"
version = "24.0"
groups = ["main"]
"""
PIPFILE_LOCK = '{"_meta": {}, "default": {"packaging": {"version": "==23.2"}}, "develop": {"pytest": {"version": "==8.2.0"}}}'
PACKAGE_PYPROJECT = """\
[project]
name = "pydeps-app"
version = "1.0.0"
dependencies = ["packaging==23.1"]

[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
py-modules = ["server"]
"""


def test_python_dependencies_from_uv_lock_poetry_lock_pipfile_lock_and_a_package(router, new_app, settings):
    name, checkout = new_app("pydeps")
    # uv.lock made as its user would make it, with uv (the build image's).
    subprocess.run(["docker", "run", "--rm", "-v", f"{checkout.path}:/src", "-w", "/src",
                    "paas/stack:bookworm-build", "uv", "lock", "--quiet"], check=True, capture_output=True, timeout=120)
    steps = [
        ("uv.lock", {}, [], "24.1"),
        ("poetry.lock", {"poetry.lock": POETRY_LOCK}, ["uv.lock"], "24.0"),
        ("Pipfile.lock", {"Pipfile": "[packages]\npackaging = '==23.2'\n", "Pipfile.lock": PIPFILE_LOCK},
         ["poetry.lock"], "23.2"),
        ("pyproject.toml", {"pyproject.toml": PACKAGE_PYPROJECT}, ["Pipfile", "Pipfile.lock"], "23.1"),
    ]
    for declared, files, removed, version in steps:
        for gone in removed:
            (checkout.path / gone).unlink()
        for rel, text in {**files, "DECLARED": declared + "\n"}.items():
            checkout.write(rel, text)
        checkout.commit(f"dependencies from {declared}")
        output = pushed_ok(checkout)
        assert f"dependencies from {declared}, installed with uv" in output, output
        answer = router.get(name).text
        assert answer == f"pydeps-app declared={declared} packaging={version}\n", (answer, output)


def test_node_app_on_the_stack_its_engines_ask_for(api, router, new_app):
    name, checkout = new_app("node")
    output = pushed_ok(checkout)
    assert "Node.js app detected" in output or "Nodejs app detected" in output, output
    assert router.get(name).text == "node-app node=24 ms=172800000 built at build time env=production\n"
    assert api.get(f"/apps/{name}").json()["stack"]["name"] == "forky"


def test_static_site(router, new_app):
    name, checkout = new_app("static")
    pushed_ok(checkout)
    assert "static-site says hello" in router.get(name).text
    assert router.get(name, "/asset.txt").text == "static-site asset\n"
    assert router.get(name, "/missing").status_code == 404


def test_procfile_only_app_records_every_process_type(router, new_app, settings):
    name, checkout = new_app("procfile")
    output = pushed_ok(checkout)
    assert "Procfile" in output
    assert router.get(name, "/index.txt").text == "procfile-app ok\n"
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as db:
        types = db.execute(
            sa.text("SELECT r.process_types FROM releases r JOIN apps a ON a.id = r.app_id "
                    "WHERE a.name = :n ORDER BY r.version DESC LIMIT 1"), {"n": name}
        ).scalar_one()
    engine.dispose()
    assert types == {"web": "cd site && exec python3 -m http.server $PORT", "worker": "sleep infinity"}


def test_multi_buildpack_runs_each_in_order(api, router, new_app):
    name, checkout = new_app("multi")
    api.put(f"/apps/{name}/buildpack-installations",
            json={"updates": [{"buildpack": "heroku/nodejs"}, {"buildpack": "heroku/python"}]}).raise_for_status()
    output = pushed_ok(checkout)
    assert output.index("Node") < output.index("Python app detected")
    assert router.get(name).text == "multi-app python+flask, node built this\n"


def test_malformed_procfile_is_rejected_naming_the_line(router, new_app):
    name, checkout = new_app("flask")
    checkout.write("Procfile", "web: gunicorn app:app --bind 0.0.0.0:$PORT\nthis line has no colon\n")
    checkout.commit("bad procfile")
    told = rejected(checkout)
    assert "line 2" in told and "this line has no colon" in told, told


# --- custom buildpacks, served over HTTP from 127.0.0.1 ---------------------------------

GREETER = {
    "bin/detect": """\
        #!/bin/sh
        [ -f "$1/greeting.txt" ] && echo Greeter && exit 0
        exit 1
        """,
    "bin/compile": """\
        #!/bin/sh
        set -e
        build=$1 cache=$2 env=$3
        count=$(cat "$cache/count" 2>/dev/null || echo 0)
        count=$((count + 1))
        echo "$count" > "$cache/count"
        greeting=$(cat "$env/GREETING" 2>/dev/null || echo none)
        echo "-----> Greeter: greeting from ENV_DIR is $greeting, build number $count from CACHE_DIR"
        echo "greeting=$greeting builds=$count" > "$build/answer.txt"
        mkdir -p "$build/.profile.d"
        echo 'export GREETER_READY=yes' > "$build/.profile.d/greeter.sh"
        """,
    "bin/release": """\
        #!/bin/sh
        echo '---'
        echo 'default_process_types:'
        echo '  web: echo "ready=$GREETER_READY" > ready.txt && exec python3 -m http.server $PORT'
        """,
}


# Who the build's processes are and what they may do, as the kernel tells each process.
WHO_AM_I = "echo uid=$(id -u) gid=$(id -g) $(grep -E '^(CapPrm|CapEff|NoNewPrivs):' /proc/self/status | tr -d '\\t' | tr ':\\n' '= ')"

WHOAMI = {
    "bin/detect": "#!/bin/sh\necho Whoami\n",
    "bin/compile": f"""\
        #!/bin/bash
        echo "-----> compile sees $({WHO_AM_I})"
        echo compiled > "$1/compiled.txt"
        """,
    "bin/release": """\
        #!/bin/sh
        echo '---'
        echo 'default_process_types:'
        echo '  web: echo "uid=$(id -u) owner=$(stat -c %u compiled.txt) writable=$(test -w compiled.txt && echo yes)" > run.txt && exec python3 -m http.server $PORT'
        """,
}


def write_buildpack(source: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        path.chmod(0o755)


@pytest.fixture
def buildpack_server(tmp_path):
    """The greeter buildpack as a .tgz and as a git repository, and the whoami one as a .tgz, on
    an HTTP server on 127.0.0.1."""
    root, source = tmp_path / "served", tmp_path / "greeter"
    root.mkdir()
    write_buildpack(source, GREETER)
    write_buildpack(tmp_path / "whoami", WHOAMI)
    with tarfile.open(root / "greeter.tgz", "w:gz") as archive:
        archive.add(source, arcname="greeter-main")
    with tarfile.open(root / "whoami.tgz", "w:gz") as archive:
        archive.add(tmp_path / "whoami", arcname="whoami")
    git = functools.partial(subprocess.run, check=True, capture_output=True)
    git(["git", "init", "-q", "-b", "main", str(source)])
    git(["git", "-C", str(source), "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"])
    git(["git", "-C", str(source), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "greeter"])
    git(["git", "clone", "-q", "--bare", str(source), str(root / "greeter.git")])
    git(["git", "-C", str(root / "greeter.git"), "update-server-info"])  # git's "dumb" HTTP protocol
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def greeter_app(tmp_path: Path) -> Path:
    source = tmp_path / "greeter-app"
    source.mkdir()
    (source / "greeting.txt").write_text("hello\n")
    return source


def test_custom_buildpack_from_a_tarball_and_from_git(api, router, new_app, buildpack_server, tmp_path):
    name, checkout = new_app(greeter_app(tmp_path))
    api.patch(f"/apps/{name}/config-vars",
              json={"BUILDPACK_URL": f"{buildpack_server}/greeter.tgz", "GREETING": "bonjour"}).raise_for_status()
    output = pushed_ok(checkout)
    assert "Greeter: greeting from ENV_DIR is bonjour, build number 1 from CACHE_DIR" in output
    assert router.get(name, "/answer.txt").text == "greeting=bonjour builds=1\n"
    assert router.get(name, "/ready.txt").text == "ready=yes\n"  # .profile.d ran before the process

    # The same buildpack from git, with a ref; CACHE_DIR persisted between the builds.
    api.patch(f"/apps/{name}/config-vars", json={"BUILDPACK_URL": None}).raise_for_status()
    api.put(f"/apps/{name}/buildpack-installations",
            json={"updates": [{"buildpack": f"{buildpack_server}/greeter.git#main"}]}).raise_for_status()
    checkout.commit("again")
    output = pushed_ok(checkout)
    assert "build number 2 from CACHE_DIR" in output
    assert router.get(name, "/answer.txt").text == "greeting=bonjour builds=2\n"


def test_a_buildpacks_compile_runs_as_the_dyno_user_with_no_capabilities(api, router, new_app, buildpack_server,
                                                                         tmp_path, settings, engine):
    name, checkout = new_app(greeter_app(tmp_path))
    api.put(f"/apps/{name}/buildpack-installations",
            json={"updates": [{"buildpack": f"{buildpack_server}/whoami.tgz"}]}).raise_for_status()
    output = pushed_ok(checkout)
    uid, gid = settings.dyno_ids
    assert f"compile sees uid={uid} gid={gid} CapPrm=0000000000000000 CapEff=0000000000000000 NoNewPrivs=1" in output, output
    # What it built is the dyno user's at run time, writable as on Heroku.
    assert router.get(name, "/run.txt").text == f"uid={uid} owner={uid} writable=yes\n"
    # Positive control: the same probe in the build image with Docker's defaults sees root and its powers.
    stack = api.get(f"/apps/{name}").json()["stack"]["name"]
    control = engine.containers.run(f"paas/stack:{stack}-build", ["bash", "-c", WHO_AM_I], remove=True).decode()
    assert control.startswith("uid=0 gid=0 ") and "CapEff=0000000000000000" not in control, control


def test_a_buildpack_that_cannot_be_fetched_rejects_the_push(api, new_app, buildpack_server, tmp_path):
    name, checkout = new_app(greeter_app(tmp_path))
    missing = f"{buildpack_server}/nothing-here.tgz"
    api.put(f"/apps/{name}/buildpack-installations", json={"updates": [{"buildpack": missing}]}).raise_for_status()
    told = rejected(checkout)
    assert missing in told and "404" in told, told


def test_build_from_a_source_tarball_through_the_builds_api(api, router, new_app, tmp_path):
    import httpx

    name, _checkout = new_app("flask")
    tarball = tmp_path / "source.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(APPS / "flask", arcname="flask-app")
    blob = api.post("/sources").json()["source_blob"]
    httpx.put(blob["put_url"], content=tarball.read_bytes()).raise_for_status()
    build = api.post(f"/apps/{name}/builds", json={"source_blob": {"url": blob["get_url"], "version": "v9"}}).json()
    # The output URL streams the log while the build runs and ends when it ends.
    log = httpx.get(build["output_stream_url"], timeout=300).text
    assert "Python app detected" in log and "released v" in log, log
    finished = api.get(f"/apps/{name}/builds/{build['id']}").json()
    assert finished["status"] == "succeeded" and finished["release"]["id"]
    assert router.wait_for(name, body_has("flask-app version=1"), timeout=60).status_code == 200
    assert httpx.get(build["output_stream_url"]).text == log  # kept whole after the end
