"""What a build may not do, tried from inside builds: reach the host's services (the registry,
the API, the router and its admin API, Postgres, Redis, a service listening on every address),
use the Docker engine, or build on another app's images. Dockerfile builds run rootless buildah
in a sandbox of their own; buildpack builds run in a container on the same fenced-in bridge."""

import http.server
import io
import re
import subprocess
import sys
import tarfile
import textwrap
import threading

import httpx
import pytest

from tests.e2e.conftest import SAMPLE_APP, eventually

pytestmark = pytest.mark.e2e

# Tries every target at once and prints what answered; fails (so the build fails) if any did.
PROBE = """\
import concurrent.futures, socket, sys
gateway = next(socket.inet_ntoa(bytes.fromhex(f[2])[::-1]) for f in (l.split() for l in open("/proc/net/route"))
               if f[1] == "00000000")
def reached(target):
    s = socket.socket(); s.settimeout(3)
    try:
        return s.connect_ex(target) == 0
    finally:
        s.close()
targets = [(host, port) for host in ("127.0.0.1", gateway) for port in map(int, sys.argv[1:])]
with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
    answered = [f"{h}:{p}" for (h, p), yes in zip(targets, pool.map(reached, targets)) if yes]
print("probe: reached", " ".join(answered) if answered else "nothing", "of", len(targets), "targets")
sys.exit(1 if answered else 0)
"""
# The memory limit of the cgroup a RUN step is in (cgroup v1, else v2).
MEMORY_LIMIT = (
    "group=$(sed -n 's/^[0-9]*:memory://p; s/^0:://p' /proc/self/cgroup | head -1); "
    "echo memory limit: $(cat /sys/fs/cgroup/memory$group/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup$group/memory.max)"
)
SERVE = 'COPY . /app\nCMD ["python3", "-u", "/app/server.py"]\n'  # the sample app's web process


@pytest.fixture
def listener_everywhere():
    """A service of this test's on every address of the host (as sshd would be): its port."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    assert httpx.get(f"http://127.0.0.1:{server.server_port}/", timeout=5).status_code == 200  # it answers the host
    yield server.server_port
    server.shutdown()


def parse_bytes(size: str) -> int:
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    return int(size[:-1]) * units[size[-1].lower()] if size[-1].lower() in units else int(size)


def host_ports(settings, extra: int) -> list[str]:
    return [str(p) for p in (5000, settings.api_port, settings.router_port, 8443, 2019, 5432, 6379, extra)]


def test_a_dockerfile_build_reaches_no_service_of_the_host(checkout, settings, engine, listener_everywhere):
    checkout.write("probe.py", PROBE)
    checkout.write("Dockerfile", "FROM paas/stack:bookworm\nCOPY probe.py /probe.py\n"
                   f"RUN python3 /probe.py {' '.join(host_ports(settings, listener_everywhere))}\n"
                   f"RUN {MEMORY_LIMIT}\n{SERVE}")
    checkout.commit("probe the host")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "probe: reached nothing of 16 targets" in pushed.stderr
    assert f"memory limit: {parse_bytes(settings.build_memory)}" in pushed.stderr  # the sandbox's, not the host's

    # What stays is at most one sandbox, kept for the next build.
    def sandboxes():
        return engine.containers.list(filters={"label": ["paas.build-sandbox", f"paas.instance={settings.instance}"]}, ignore_removed=True)
    eventually(lambda: len(sandboxes()) <= 1, 30, "the build's sandbox to go")


# A RUN step that leaves a daemon behind (detached from the step, listening on the sandbox's
# network).
LEAVE_DAEMON = """\
import os, socket, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 7777)); s.listen()
        time.sleep(600)
    os._exit(0)
time.sleep(0.5)
print("left a daemon on", 7777 if socket.create_connection(("127.0.0.1", 7777), 3) else None, flush=True)
"""


def test_a_build_leaves_nothing_running_for_the_next_build(new_app):
    """Sandboxes serve one build after another: whatever a build started is gone before the next
    one (another app's) runs in the same sandbox."""
    (_, first), (_, second) = new_app(SAMPLE_APP), new_app(SAMPLE_APP)
    first.write("leave.py", LEAVE_DAEMON)
    first.write("Dockerfile", "FROM paas/stack:bookworm\nCOPY leave.py /leave.py\nRUN python3 /leave.py\n"
                "RUN cat /sys/class/net/eth0/address\n" + SERVE)
    first.commit("leave a daemon")
    pushed = first.push()
    assert pushed.returncode == 0 and "left a daemon on 7777" in pushed.stderr, pushed.stderr
    second.write("Dockerfile", "FROM paas/stack:bookworm\nRUN cat /sys/class/net/eth0/address\n"
                 "RUN python3 -c 'import socket; print(\"daemon found:\", socket.socket().connect_ex((\"127.0.0.1\", 7777)) == 0)'\n"
                 + SERVE)
    second.commit("look for it")
    found = second.push()
    assert found.returncode == 0 and "daemon found: False" in found.stderr, found.stderr
    mac = re.compile(r"^remote:\s+([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s*$", re.M)
    assert mac.findall(pushed.stderr) == mac.findall(found.stderr) != [], "the second build is not in the first one's sandbox"


def test_a_buildpack_build_reaches_no_service_of_the_host(api, new_app, settings, listener_everywhere, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    ports = " ".join(host_ports(settings, listener_everywhere))
    scripts = {
        "bin/detect": "#!/bin/sh\necho Probe\n",
        "bin/compile": f"#!/bin/sh\nset -e\npython3 \"$1/probe.py\" {ports}\n",
        "bin/release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: exec python3 -m http.server $PORT\\n'\n",
    }
    with tarfile.open(served / "probe.tgz", "w:gz") as archive:
        for rel, text in scripts.items():
            info = tarfile.TarInfo(f"probe-main/{rel}")
            info.size, info.mode = len(text.encode()), 0o755
            archive.addfile(info, io.BytesIO(text.encode()))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = tmp_path / "probe-app"
        source.mkdir()
        (source / "probe.py").write_text(PROBE)
        name, app = new_app(source)
        url = f"http://127.0.0.1:{server.server_port}/probe.tgz"
        api.patch(f"/apps/{name}/config-vars", json={"BUILDPACK_URL": url}).raise_for_status()
        pushed = app.push()
    finally:
        server.shutdown()
    assert pushed.returncode == 0, pushed.stderr
    assert "probe: reached nothing of 16 targets" in pushed.stderr


def test_a_build_cannot_list_the_registry_or_read_the_routers_configuration(checkout, settings):
    for what, url in (("registry", f"http://{settings.registry}/v2/_catalog"), ("router", "http://127.0.0.1:2019/config/")):
        checkout.write("Dockerfile", f"FROM paas/stack:bookworm\nADD {url} /fetched\nCMD cat /fetched\n")
        checkout.commit(f"read the {what}")
        pushed = checkout.push()
        assert pushed.returncode != 0, pushed.stderr
        assert "connection refused" in pushed.stderr.lower(), pushed.stderr
        assert "repositories" not in pushed.stderr and "paas-tls" not in pushed.stderr


def test_a_build_cannot_use_the_docker_engine(checkout, settings):
    # The user that Dockerfile builds run as may not open the engine's socket at all.
    probe = "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock')"
    tried = subprocess.run(["setpriv", f"--reuid={settings.build_user}", f"--regid={settings.build_user}", "--init-groups",
                            sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert tried.returncode != 0 and "PermissionError" in tried.stderr, tried.stderr

    checkout.write("Dockerfile", textwrap.dedent("""\
        FROM paas/stack:bookworm
        RUN if [ -e /var/run/docker.sock ] || [ -e /run/docker.sock ]; then echo "SOCKET-$((40 + 2))"; exit 1; fi
        """) + SERVE)
    checkout.commit("look for the socket")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "SOCKET-42" not in pushed.stderr

    # Nor through an image transport that reads from the engine (or from any local path).
    # (The engine's socket is not even in the build's jail: "Cannot connect".)
    for source, reasons in (("docker-daemon:paas/stack:bookworm", ("rejected by policy", "permission denied", "Cannot connect to the Docker daemon")),
                            ("dir:/etc", ("manifest.json",)), ("oci:/var/lib", ("index.json",))):
        checkout.write("Dockerfile", f"FROM {source}\nCMD sleep 1\n")
        checkout.commit(f"from {source}")
        pushed = checkout.push()
        assert pushed.returncode != 0, pushed.stderr
        assert "build failed" in pushed.stderr and any(why in pushed.stderr for why in reasons), pushed.stderr


def test_a_build_mounts_nothing_from_outside_it(checkout):
    """buildah 1.28's bind and cache mounts reach outside the build (a cache shared by every
    app; CVE-2024-1753 and CVE-2024-9675): they are refused before anything runs."""
    # (A link in the source to the host's root would not get this far: tests/e2e/test_source_attacks.py.)
    for mount in ("type=cache,target=/root/.cache/pip", "type=cache,id=../../..,target=/up",
                  "type=bind,source=.,target=/host", "type=bind,from=paas/stack:bookworm,source=/,target=/x"):
        checkout.write("Dockerfile", f"FROM paas/stack:bookworm\nRUN --mount={mount} ls /host /up /x\n")
        checkout.commit(f"mount {mount}")
        pushed = checkout.push()
        assert pushed.returncode != 0, pushed.stderr
        assert "is not available in paas builds" in pushed.stderr and "STEP 1" not in pushed.stderr, pushed.stderr


def test_a_build_cannot_build_on_another_apps_image(new_app, api, settings):
    (theirs, their_checkout), (mine, my_checkout) = new_app("backing"), new_app("backing")
    pushed = their_checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    [their_image] = [line.split()[-1] for line in pushed.stderr.splitlines() if f"{settings.registry}/{theirs}@" in line]
    their_store = settings.build_cache_root.absolute() / "apps" / api.get(f"/apps/{theirs}").json()["id"] / "dockerfile-1"
    image_ids = [p.name for p in (their_store / "root" / "overlay-images").iterdir() if len(p.name) == 64]
    assert image_ids, "their build left its layer cache in their store"
    spec = f"overlay@{their_store}/root+{their_store}/run"

    attempts = {
        their_image: ("connection refused",),  # the registry is not reachable from a build
        image_ids[0]: ("64-byte hexadecimal", "not known", "does not exist"),  # not in my store
        # Their store, named by path: refused (the signature policy takes images from registries only;
        # buildah refuses an image of another store that has no name even before the policy; and
        # their store is not in my build's jail, where buildah may not make it: "mkdir ...: permission denied").
        f"containers-storage:[{spec}]{image_ids[0]}": ("rejected by policy", "could not get an image name",
                                                       f"mkdir {their_store.parent}: permission denied"),
    }
    for source, reasons in attempts.items():
        my_checkout.write("Dockerfile", f"FROM {source}\nCMD sleep 1\n")
        my_checkout.commit(f"from {source}")
        pushed = my_checkout.push()
        assert pushed.returncode != 0, (source, pushed.stderr)
        assert any(why in pushed.stderr for why in reasons), (source, pushed.stderr)
    assert api.get(f"/apps/{mine}/releases").json()[-1]["version"] == 1  # nothing was released


def test_the_build_output_hides_no_failure(checkout):
    """A RUN step that fails fails the push, naming the step, and the app keeps its release."""
    checkout.write("Dockerfile", "FROM paas/stack:bookworm\nRUN echo about to fail && exit 3\n")
    checkout.commit("fail")
    pushed = checkout.push()
    assert pushed.returncode != 0
    assert "about to fail" in pushed.stderr and "exit status 3" in pushed.stderr, pushed.stderr
    assert "keeps running its current release" in pushed.stderr


# Says, for each path, what `ls -d` says of it: `present PATH` or the error (no such file...).
LOOK = 'for p in "$@"; do if out=$(ls -d "$p" 2>&1); then echo "present $p"; else echo "$out"; fi; done; cat "$CONTEXT/mine"'


def test_buildah_sees_only_its_own_builds_files(new_app, api, settings):
    """What a host-path mount of buildah's (CVE-2024-1753, CVE-2024-9675 or the next) could
    reach: buildah's own view, in its user namespace, as the builder runs it. The platform's home,
    another app's image store, another build's context, /root are not in it; this build's are."""
    import os
    import secrets
    import shutil
    import tempfile
    from pathlib import Path

    from paas.builder.buildah import Store, build_user

    stores = {}
    for which in ("mine", "theirs"):
        name, app = new_app(SAMPLE_APP)
        app.write("Dockerfile", (SAMPLE_APP / "Dockerfile").read_text() + "RUN echo built by buildah\n")
        app.commit("a step that runs: buildah builds it, in the app's image store")
        pushed = app.push()
        assert pushed.returncode == 0, pushed.stderr
        app_caches = settings.build_cache_root.absolute() / "apps" / api.get(f"/apps/{name}").json()["id"]
        [stores[which]] = [path for path in app_caches.glob("dockerfile-*") if path.is_dir()]
    contexts = {}
    for which in ("mine", "theirs"):  # made as the worker makes a build's context
        contexts[which] = Path(tempfile.mkdtemp(prefix=f"paas-build-{secrets.token_hex(16)}-")) / "build"
        contexts[which].mkdir()
        (contexts[which] / "mine").write_text(f"the {which} context\n")
        os.chown(contexts[which], *build_user(settings))
        os.chown(contexts[which] / "mine", *build_user(settings))
        contexts[which].parent.chmod(0o711)
    hidden = [settings.admin_token_file.absolute(), settings.home.absolute() / "repos", stores["theirs"] / "root",
              contexts["theirs"], Path("/root"), Path("/var/lib/docker")]
    shown = [stores["mine"] / "root" / "overlay-images", contexts["mine"]]
    paths = [str(p) for p in hidden + shown]
    try:
        store = Store.for_app(settings, stores["mine"])
        env = {**store.env(), "CONTEXT": str(contexts["mine"])}
        jailed = subprocess.run(store.command("unshare", "sh", "-c", LOOK, "look", *paths, context=contexts["mine"]),
                                env=env, cwd=store.home, capture_output=True, text=True, timeout=60)
        # Positive controls: the same look, as root and as the build user, outside the jail.
        uid, gid = build_user(settings)
        outside = subprocess.run(["sh", "-c", LOOK, "look", *paths], env=env, capture_output=True, text=True, timeout=60)
        as_user = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "sh", "-c", LOOK, "look",
                                  str(stores["theirs"] / "root"), str(contexts["theirs"])],
                                 env=env, capture_output=True, text=True, timeout=60)
    finally:
        for context in contexts.values():
            shutil.rmtree(context.parent)
    assert jailed.returncode == 0, jailed.stderr
    for path in hidden:
        assert f"ls: cannot access '{path}': No such file or directory" in jailed.stdout, (path, jailed.stdout)
    for path in shown:
        assert f"present {path}" in jailed.stdout, (path, jailed.stdout)
    assert "the mine context" in jailed.stdout
    assert outside.stdout.count("present ") == len(paths), outside.stdout
    # Without the jail, the build user reaches another build's context; another app's store sits
    # in the platform's home, which is private (0700) besides: the build user cannot pass it.
    assert f"present {contexts['theirs']}" in as_user.stdout, as_user.stdout
    assert f"ls: cannot access '{stores['theirs'] / 'root'}': Permission denied" in as_user.stdout, as_user.stdout
