"""Rootless buildah, as the platform's build user: what Dockerfile builds run on.

Each app has an image store of its own (its layer cache); the stacks' run images sit in one more,
`base`, which app stores read but no build writes. So a build sees its own app's earlier layers
and the platform's stacks, never another app's images, and the Docker engine not at all (the
build user may not open its socket). The signature policy lets images come only from registries
(`docker://`): no other transport, so a `FROM docker-daemon:...` or `FROM dir:/...` is refused."""

import base64
import json
import os
import pwd
import secrets
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from paas.builder.errors import BuildFailed
from paas.settings import Settings

Emit = Callable[[str], None]
POLICY = {"default": [{"type": "reject"}], "transports": {"docker": {"": [{"type": "insecureAcceptAnything"}]}}}
# `FROM python:3.12` means Docker Hub's, as with docker build.
REGISTRIES = 'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "permissive"\n'


@dataclass(frozen=True)
class Buildah:
    settings: Settings

    # Absolute: buildah runs in the build user's home, and the platform's may be given relative.
    @property
    def base(self) -> Path:
        return self.settings.build_stores.absolute() / "base"

    @property
    def home(self) -> Path:
        return self.settings.build_stores.absolute() / "home"

    def ids(self) -> tuple[int, int]:
        try:
            user = pwd.getpwnam(self.settings.build_user)
        except KeyError:
            raise RuntimeError(f"the build user {self.settings.build_user!r} does not exist (make up creates it)") from None
        return user.pw_uid, user.pw_gid

    def prepare(self, store: Path) -> None:
        """The build user's home (policy, registries, temporary files) and the store, owned by it."""
        uid, gid = self.ids()
        for path in (self.home, self.home / "run", self.home / "tmp", store):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
            path.chmod(0o700)
        self.settings.build_stores.chmod(0o755)
        for name, text in (("policy.json", json.dumps(POLICY)), ("registries.conf", REGISTRIES)):
            if not (self.home / name).is_file() or (self.home / name).read_text() != text:
                (self.home / name).write_text(text)

    def command(self, store: Path, *args: str) -> list[str]:
        uid, gid = self.ids()
        store = store.absolute()
        read_only_base = [] if store == self.base else ["--storage-opt", f"overlay.imagestore={self.base / 'root'}"]
        return [
            "setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
            "buildah", "--root", str(store / "root"), "--runroot", str(store / "run"),
            "--storage-driver", "overlay", *read_only_base, *args,
        ]

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.home / "run"), "TMPDIR": str(self.home / "tmp"),
            "CONTAINERS_REGISTRIES_CONF": str(self.home / "registries.conf"),
        }

    def run(self, store: Path, *args: str) -> str:
        """A short command (pull, tag, push): its output, or RuntimeError with buildah's."""
        done = subprocess.run(self.command(store, *args), env=self.env(), capture_output=True, text=True, cwd=self.home)
        if done.returncode != 0:
            raise RuntimeError(f"buildah {args[0]}: {last_error(done.stderr) or done.stderr.strip()}")
        return done.stdout

    @contextmanager
    def registry_login(self) -> Iterator[list[str]]:
        """Options that give buildah the builder's registry credentials, in a file of the build
        user's only while they are needed (never on a command line, which `ps` shows)."""
        # The registry on the host's loopback speaks plain HTTP, which Docker allows there too.
        options = ["--tls-verify=false"] if is_loopback(self.settings.registry) else []
        auth = self.settings.registry_auth("builder")
        if auth is None:
            yield options
            return
        path = self.home / "tmp" / f"auth-{secrets.token_hex(8)}.json"
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"auths": {self.settings.registry: {"auth": token}}}, handle)
            os.chown(path, *self.ids())
            yield [*options, "--authfile", str(path)]
        finally:
            path.unlink(missing_ok=True)

    def build(self, store: Path, context: Path, wrap: Callable[[list[str]], list[str]], emit: Emit) -> str:
        """`buildah bud` of the context's Dockerfile into the store; returns the image's id. Each
        output line goes to `emit` (buildah's bookkeeping left out); BuildFailed says why a build
        did not finish. The image gets no name: an unchanged app then gets the very image of its
        last build, straight from the layer cache (naming it would copy it)."""
        uid, gid = self.ids()
        image_id_file = self.home / "tmp" / f"image-{secrets.token_hex(8)}"
        chown_tree(context, uid, gid)  # the build user reads the context (it was unpacked as root)...
        context.parent.chmod(0o711)  # ...through the build's private directory: passing, not listing
        command = self.command(
            store, "bud", "--signature-policy", str(self.home / "policy.json"), "--layers", "--format", "docker",
            # RUN steps share the sandbox's network (which `wrap` enters); each is a container of its own.
            "--isolation", "oci", "--network", "host", "--iidfile", str(image_id_file), str(context),
        )
        process = subprocess.Popen(
            wrap(command), env=self.env(), cwd=self.home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a build that is stopped goes whole
        )
        stopped: list[str] = []

        def stop(why: str) -> None:
            if not stopped:
                stopped.append(why)
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        timeout = self.settings.build_timeout
        timer = threading.Timer(timeout, stop, args=(f"the build took longer than {timeout:.0f} s and was stopped",))
        timer.daemon = True
        timer.start()
        error, size, limit = None, 0, self.settings.build_output_limit
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                size += len(raw)
                if size > limit:
                    stop(f"the build printed more than {limit / 2**20:g} MB of output and was stopped")
                    break
                line = raw.decode(errors="replace").rstrip()
                if line.startswith("Error: "):
                    error = line.removeprefix("Error: ")
                elif line.strip() and not is_bookkeeping(line):
                    emit(INDENT + line)
        finally:
            timer.cancel()
            code = process.wait()
        if stopped:
            raise BuildFailed(stopped[0])
        if code != 0:
            raise BuildFailed(error or f"buildah exited with code {code}")
        try:
            return image_id_file.read_text().strip()
        finally:
            image_id_file.unlink(missing_ok=True)

    def push(self, store: Path, image: str, destination: str) -> str:
        """Push to `destination` (`<registry>/<repository>:<tag>`) and return the digest there."""
        digest_file = self.home / "tmp" / f"digest-{secrets.token_hex(8)}"
        try:
            with self.registry_login() as login:
                self.run(store, "push", *login, "--digestfile", str(digest_file), image, f"docker://{destination}")
            return digest_file.read_text().strip()
        finally:
            digest_file.unlink(missing_ok=True)


INDENT = "       "  # Heroku's: output under a `-----> ` step is indented to line up with it
BOOKKEEPING = ("--> ", "COMMIT ", "Getting image source signatures", "Copying blob", "Copying config",
               "Writing manifest", "Storing signatures", "Successfully tagged")


def is_bookkeeping(line: str) -> bool:
    """buildah's own bookkeeping between steps (commits, image ids, copies): noise to the pusher."""
    return line == "COMMIT" or line.startswith(BOOKKEEPING) or (len(line) == 64 and all(c in "0123456789abcdef" for c in line))


def last_error(output: str) -> str | None:
    errors = [line.removeprefix("Error: ") for line in output.splitlines() if line.startswith("Error: ")]
    return errors[-1] if errors else None


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1:].split("]")[0]
    return host in ("localhost", "::1") or host.startswith("127.")


def chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)

