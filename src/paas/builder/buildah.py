"""Rootless buildah, as the platform's build user: what Dockerfile builds run on.

Each app has an image store of its own (its layer cache, and a home for buildah's temporary
files); the stacks' run images sit in one more, `base`, which app stores read but no build
writes. So a build sees its own app's earlier layers and the platform's stacks, never another
app's images, and the Docker engine not at all (the build user may not open its socket). The
signature policy lets images come only from registries (`docker://`), so `FROM docker-daemon:...`
or `FROM dir:/...` is refused. buildah's configuration is the platform's, in a directory the
build user may read but not change."""

import base64
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from paas.builder.errors import BuildFailed
from paas.builder.files import hand_over, private_dirs, read_untrusted, write_private
from paas.builder.jail import jailed
from paas.builder.locks import private_directory
from paas.builder.sandbox import Sandbox
from paas.lines import Emit
from paas.settings import Settings

POLICY = {"default": [{"type": "reject"}], "transports": {"docker": {"": [{"type": "insecureAcceptAnything"}]}}}
# `FROM python:3.12` means Docker Hub's, as with docker build.
REGISTRIES = 'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "permissive"\n'
# The stores' places are given on every command line; the driver is said here too, or buildah
# complains of a storage.conf without one.
CONFIG = {"policy.json": json.dumps(POLICY), "registries.conf": REGISTRIES, "containers.conf": "",
          "storage.conf": '[storage]\ndriver = "overlay"\n'}
BLOB_INFO_CACHE = "containers/cache/blob-info-cache-v1.boltdb"
IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{64}")
INDENT = "       "  # Heroku's: output under a `-----> ` step is indented to line up with it
BOOKKEEPING = ("--> ", "COMMIT ", "Getting image source signatures", "Copying blob", "Copying config",
               "Writing manifest", "Storing signatures", "Successfully tagged")


def build_user(settings: Settings) -> tuple[int, int]:
    try:
        user = pwd.getpwnam(settings.build_user)
    except KeyError:
        raise RuntimeError(f"the build user {settings.build_user!r} does not exist (make up creates it)") from None
    return user.pw_uid, user.pw_gid


@dataclass(frozen=True)
class Store:
    """One image store and the buildah that works on it, as the build user."""

    settings: Settings
    path: Path  # absolute: buildah runs in the store's home, and the platform's may be given relative
    base: Path | None  # the read-only store of the stacks' images (None: this is it)

    @classmethod
    def for_app(cls, settings: Settings, path: Path) -> "Store":
        return cls(settings, path.absolute(), base_store(settings).path)

    @property
    def home(self) -> Path:
        return self.path / "home"

    def prepare(self) -> None:
        """The store and its home, the build user's; the shared configuration, the platform's."""
        uid, gid = build_user(self.settings)
        config = config_dir(self.settings)
        # Readable by the build user whatever the platform's umask (077: its home is private).
        private_directory(config.parent)
        config.mkdir(exist_ok=True)
        config.chmod(0o755)
        for name, text in CONFIG.items():
            if not (config / name).is_file() or (config / name).read_text() != text:
                (config / name).write_text(text)
            (config / name).chmod(0o644)
        for relative in ("root", "run", "home/tmp", "home/run"):
            private_dirs(self.path.parent, f"{self.path.name}/{relative}", uid, gid)
        private_dirs(self.data.parent, f"{self.data.name}/{Path(BLOB_INFO_CACHE).parent}", uid, gid)
        if self.base is not None:  # an app's: a fresh copy of what the platform's pushes learnt
            shared = shared_data(self.settings) / BLOB_INFO_CACHE
            if shared.is_file():
                copy = self.data / f"{BLOB_INFO_CACHE}.{secrets.token_hex(4)}"
                shutil.copyfile(shared, copy)
                os.chown(copy, uid, gid)
                copy.replace(self.data / BLOB_INFO_CACHE)

    @property
    def data(self) -> Path:
        """XDG_DATA_HOME: where buildah keeps what it learnt of registries (which layers a registry
        has already, so a push sends only the app's own). The base store's is the platform's: it
        pushes the stacks' layers. Each app's is its own, a copy of that one made before each
        build: never shared between apps (a build that got out of its jail could poison it)."""
        return shared_data(self.settings) if self.base is None else self.path / "data"

    def command(self, *args: str, context: Path | None = None) -> list[str]:
        """buildah as the build user, in a jail that holds of the host's files only the system's and
        this store's, the shared configuration, and the build's `context` (jail.py)."""
        uid, gid = build_user(self.settings)
        read_only_base = ["--storage-opt", f"overlay.imagestore={self.base / 'root'}"] if self.base else []
        read_only = [config_dir(self.settings), *([self.base / "root"] if self.base else []), *([context] if context else [])]
        return jailed([
            "setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
            "buildah", "--root", str(self.path / "root"), "--runroot", str(self.path / "run"),
            "--storage-driver", "overlay", *read_only_base, *args,
        ], writable=[self.path] if self.base else [self.path, self.data], read_only=read_only, var_tmp=self.home / "tmp")

    def env(self) -> dict[str, str]:
        config = config_dir(self.settings)
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.home / "run"), "TMPDIR": str(self.home / "tmp"),
            "XDG_DATA_HOME": str(self.data),
            "CONTAINERS_REGISTRIES_CONF": str(config / "registries.conf"),
            "CONTAINERS_CONF": str(config / "containers.conf"), "CONTAINERS_STORAGE_CONF": str(config / "storage.conf"),
        }

    def run(self, *args: str) -> str:
        """A short command (pull, tag, push): its output, or RuntimeError with buildah's."""
        done = subprocess.run(self.command(*args), env=self.env(), capture_output=True, text=True, cwd=self.home, check=False)
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
        write_private(path, json.dumps({"auths": {self.settings.registry: {"auth": token}}}), *build_user(self.settings))
        try:
            yield [*options, "--authfile", str(path)]
        finally:
            path.unlink(missing_ok=True)

    def build(self, context: Path, dockerfile: str, sandbox: Sandbox, emit: Emit) -> str:
        """`buildah bud` of the context's `dockerfile` (the file that was checked); returns the image's id. Each output line goes
        to `emit` (buildah's bookkeeping left out); BuildFailed says why a build did not finish.
        The image gets no name: an unchanged app then gets the very image of its last build,
        straight from the layer cache (naming it would copy it)."""
        uid, gid = build_user(self.settings)
        image_id_file = self.home / "tmp" / f"image-{secrets.token_hex(8)}"
        hand_over(context, (uid, gid))  # the build user reads the context (it was unpacked as root)...
        context.parent.chmod(0o711)  # ...through the build's private directory: passing, not listing
        command = self.command(
            "bud", "--signature-policy", str(config_dir(self.settings) / "policy.json"), "--layers", "--format", "docker",
            # RUN steps share the sandbox's network (which buildah enters); each is a container of its own.
            "--isolation", "oci", "--network", "host", "--iidfile", str(image_id_file),
            "--file", str(context / dockerfile), str(context), context=context,
        )
        try:
            run_streaming(sandbox.wrap(command), self.env(), self.home, self.settings, emit, pass_fds=(sandbox.net_fd,))
            image = (read_untrusted(image_id_file, 200) or "").strip()
        finally:
            image_id_file.unlink(missing_ok=True)
        if not IMAGE_ID.fullmatch(image):
            raise RuntimeError("buildah finished without naming the image it built")
        return image

    def triggers(self, image: str, sandbox: Sandbox, emit: Emit) -> list[str]:
        """The ONBUILD steps of a base image, pulled into this store first (from the build's
        sandbox, on its network, as the build itself would pull it)."""
        policy = str(config_dir(self.settings) / "policy.json")
        emit(f"-----> Pulling {image}")
        run_streaming(sandbox.wrap(self.command("pull", "--signature-policy", policy, "--quiet", image)), self.env(),
                      self.home, self.settings, lambda line: None, pass_fds=(sandbox.net_fd,))
        found = self.run("inspect", "--type", "image", "--format", "{{json .Docker.Config.OnBuild}}", image)
        return [str(step) for step in json.loads(found or "null") or []]

    def push(self, image: str, destination: str) -> str:
        """Push to `destination` (`<registry>/<repository>:<tag>`) and return the digest there."""
        digest_file = self.home / "tmp" / f"digest-{secrets.token_hex(8)}"
        try:
            with self.registry_login() as login:
                self.run("push", *login, "--digestfile", str(digest_file), image, f"docker://{destination}")
            digest = (read_untrusted(digest_file, 200) or "").strip()
        finally:
            digest_file.unlink(missing_ok=True)
        if not IMAGE_ID.fullmatch(digest) or not digest.startswith("sha256:"):
            raise RuntimeError("buildah pushed without telling the image's digest")
        return digest


def config_dir(settings: Settings) -> Path:
    return settings.build_stores.absolute() / "config"


def shared_data(settings: Settings) -> Path:
    return settings.build_stores.absolute() / "data"


def base_store(settings: Settings) -> Store:
    return Store(settings, settings.build_stores.absolute() / "base", None)


def run_streaming(command: list[str], env: dict[str, str], cwd: Path, settings: Settings, emit: Emit,
                  pass_fds: tuple[int, ...] = ()) -> None:
    """Run a build, its output to `emit` line by line; stopped (the whole process group) past
    the build's time or output limit. buildah's last `Error:` line is why it failed; an earlier
    one was the build's own output."""
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        pass_fds=pass_fds,
    )
    stopped: list[str] = []

    def stop(why: str) -> None:
        if not stopped:
            stopped.append(why)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    timeout, limit = settings.build_timeout, settings.build_output_limit
    timer = threading.Timer(timeout, stop, args=(f"the build took longer than {timeout:.0f} s and was stopped",))
    timer.daemon = True
    timer.start()
    error, size = None, 0
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            size += len(raw)
            if size > limit:
                stop(f"the build printed more than {limit / 2**20:g} MB of output and was stopped")
                break
            line = raw.decode(errors="replace").rstrip()
            if error is not None:
                emit(INDENT + "Error: " + error)
                error = None
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
    if error is not None:
        emit(INDENT + "Error: " + error)


def is_bookkeeping(line: str) -> bool:
    """buildah's own bookkeeping between steps (commits, image ids, copies): noise to the pusher."""
    return line == "COMMIT" or line.startswith(BOOKKEEPING) or (len(line) == 64 and all(c in "0123456789abcdef" for c in line))


def last_error(output: str) -> str | None:
    errors = [line.removeprefix("Error: ") for line in output.splitlines() if line.startswith("Error: ")]
    return errors[-1] if errors else None


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1:].split("]")[0]
    return host in ("localhost", "::1") or host.startswith("127.")
