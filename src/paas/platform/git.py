"""`git push` over smart HTTP: dulwich behind token auth, with the build streamed to the pusher.

A push to main or master of app A builds the pushed commit while git waits: the `update` hook
(which runs after the objects are stored and before the ref moves) queues the build, relays its
output and then the release's start-up as `remote:` lines, and refuses the ref update when either
fails, so the branch keeps pointing at what is serving.
"""

import contextvars
import re
import uuid

from dulwich.errors import HookError, NotGitRepository
from dulwich.hooks import Hook
from dulwich.protocol import CAPABILITY_SIDE_BAND_64K, SIDE_BAND_CHANNEL_PROGRESS
from dulwich.server import Backend, ReceivePackHandler
from dulwich.web import make_wsgi_chain

from paas import messages
from paas.platform import services
from paas.platform.auth import token_from_authorization
from paas.platform.errors import Unauthorized
from paas.platform.models import Status, User
from paas.platform.names import APP_NAME
from paas.platform.repos import open_or_init

DEPLOY_REFS = (b"refs/heads/main", b"refs/heads/master")
ZERO_SHA = b"0" * 40
BUILD_TASK = "paas.builder.build"

# The authenticated user's id for the request being served (handlers never see the WSGI environ).
current_user_id: contextvars.ContextVar[uuid.UUID] = contextvars.ContextVar("current_user_id")


def app_name_from_path(path: str | bytes) -> str | None:
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    match = re.fullmatch(r"/*([^/]+?)(?:\.git)?/*", path)
    if match and APP_NAME.fullmatch(match.group(1)):
        return match.group(1)
    return None


class PaasBackend(Backend):
    def __init__(self, platform):
        self.platform = platform

    def open_repository(self, path):
        name = app_name_from_path(path)
        if name is None:
            raise NotGitRepository(f"no such app: {path!r}")
        with self.platform.sessionmaker() as db:
            if services.find_app_by_name(db, name) is None:
                raise NotGitRepository(f"no such app: {name}")
        return open_or_init(self.platform.settings, name)


class DeployingReceivePackHandler(ReceivePackHandler):
    def __init__(self, backend, args, proto, stateless_rpc=False, advertise_refs=False):
        super().__init__(backend, args, proto, stateless_rpc=stateless_rpc, advertise_refs=advertise_refs)
        self.app_name = app_name_from_path(args[0])
        self.repo.hooks["update"] = DeployHook(self)

    client_gone = False

    def progress(self, line: str) -> None:
        if self.client_gone or not self.has_capability(CAPABILITY_SIDE_BAND_64K):
            return
        try:
            self.proto.write_sideband(SIDE_BAND_CHANNEL_PROGRESS, (line + "\n").encode())
        except OSError:
            # The pusher hung up (Ctrl-C). The build and deploy go on; following them to the end
            # still lets the branch move when they succeed, so it keeps matching what serves.
            self.client_gone = True


class DeployHook(Hook):
    def __init__(self, handler: DeployingReceivePackHandler):
        self.handler = handler
        self.platform = handler.backend.platform

    def execute(self, ref: bytes, old: bytes, new: bytes):
        if new == ZERO_SHA:
            return b"", b""  # deleting a branch deploys nothing
        if ref not in DEPLOY_REFS:
            self.handler.progress(f"-----> Pushed to {ref.decode()}: only main or master deploy; not building.")
            return b"", b""
        self.deploy(new.decode())
        return b"", b""

    def deploy(self, commit: str) -> None:
        settings, progress = self.platform.settings, self.handler.progress
        with self.platform.sessionmaker() as db:
            app = services.get_app(db, self.handler.app_name)
            user = db.get(User, current_user_id.get())
            build = services.create_build(db, app, user, commit)
            db.commit()
        # Sent only after the commit, so the worker always finds the build row.
        self.platform.celery.send_task(BUILD_TASK, args=[str(build.id)])

        redis = self.platform.redis
        try:
            outcome = self.relay(
                messages.LogStream.for_build(redis, build.id), settings.build_idle_timeout, settings.build_pickup_timeout
            )
        except TimeoutError as timeout:
            self.abandon(build.id)
            progress(f"error: the build went silent ({timeout}); is the paas build worker running?")
            raise HookError("build timed out") from None
        if not outcome.ok:
            raise HookError(outcome.detail.get("reason", "build failed"))
        release_id, version = outcome.detail["release_id"], outcome.detail["version"]
        try:
            outcome = self.relay(messages.LogStream.for_release(redis, release_id), settings.boot_timeout + 60)
        except TimeoutError as timeout:
            progress(f"error: v{version} was built but its start went silent ({timeout}); is the paas runner running?")
            raise HookError(f"v{version} did not start") from None
        if not outcome.ok:
            raise HookError(outcome.detail.get("reason", f"v{version} did not start"))

    def relay(self, stream: messages.LogStream, idle_timeout: float, first_timeout: float | None = None) -> messages.End:
        for item in stream.follow(idle_timeout, first_timeout):
            if isinstance(item, messages.End):
                return item
            self.handler.progress(item)
        raise HookError("the build's output ended without an outcome")

    def abandon(self, build_id) -> None:
        """A build the push gave up on must not deploy later, when a worker finally picks it up."""
        with self.platform.sessionmaker() as db:
            build = services.get_build(db, build_id)
            if build.status is Status.pending:
                services.fail_build(db, build)
                db.commit()


def auth_middleware(app, platform):
    """WSGI: only callers with a valid token reach the repositories; git then asks its credential helper."""

    def middleware(environ, start_response):
        token = token_from_authorization(environ.get("HTTP_AUTHORIZATION"))
        try:
            with platform.sessionmaker() as db:
                user = services.user_for_token(db, token)
        except Unauthorized as error:
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Basic realm="paas"')],
            )
            return [f"{error.message}\n".encode()]
        current_user_id.set(user.id)
        return app(environ, start_response)

    return middleware


def make_git_app(platform):
    git_app = make_wsgi_chain(PaasBackend(platform), handlers={b"git-receive-pack": DeployingReceivePackHandler})
    return auth_middleware(git_app, platform)
