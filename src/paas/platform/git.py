"""`git push` over smart HTTP: dulwich behind token auth, with the build streamed to the pusher.

A push to main or master of app A builds the pushed commit while git waits: the `update` hook
(which runs after the objects are stored and before the ref moves) queues the build, relays its
output and then the release's start-up as `remote:` lines, and refuses the ref update when either
fails, so the branch keeps pointing at what is serving.

Another branch pushed to an app of a pipeline whose review apps are on makes (or deploys to) that
branch's review app, the same way; deleting the branch has it torn down (paas.domain.review_apps).
"""

import contextvars
import logging
import re
import sys
import time
import uuid
from pathlib import Path

from dulwich.errors import HookError, NotGitRepository
from dulwich.hooks import Hook
from dulwich.objects import Commit
from dulwich.protocol import CAPABILITY_SIDE_BAND_64K, SIDE_BAND_CHANNEL_PROGRESS
from dulwich.server import Backend, ReceivePackHandler
from dulwich.web import make_wsgi_chain
from redis.exceptions import LockError
from sqlalchemy import func

from paas.celery_app import SETUP_TASK
from paas.domain import access, accounts, app_setups, apps, audit, events, review_apps
from paas.domain.errors import Forbidden, NotFound, PaasError, Unauthorized
from paas.domain.models import AppSetup, User
from paas.domain.names import APP_NAME
from paas.platform.auth import token_from_authorization
from paas.repos import open_or_init

DEPLOY_REFS = (b"refs/heads/main", b"refs/heads/master")
ZERO_SHA = b"0" * 40

log = logging.getLogger(__name__)

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
            try:
                access.app_for(db, name, db.get(User, current_user_id.get()), access.VIEW)
            except PaasError:  # unknown, or somebody else's: either way there is nothing here for the caller
                raise NotGitRepository(f"no such app: {name}") from None
        return open_or_init(self.platform.settings, name)


class DeployingReceivePackHandler(ReceivePackHandler):
    def __init__(self, backend, args, proto, stateless_rpc=False, advertise_refs=False):
        super().__init__(backend, args, proto, stateless_rpc=stateless_rpc, advertise_refs=advertise_refs)
        self.platform = backend.platform
        self.app_name = app_name_from_path(args[0])
        self.push_lock = None
        self.repo.hooks["pre-receive"] = PushGate(self)
        self.repo.hooks["update"] = DeployHook(self)

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            private_packs(Path(self.repo.controldir()))
            if self.push_lock is not None:
                try:
                    self.push_lock.release()
                except LockError:  # it expired: a push that ran this long has nobody to block
                    pass

    def progress(self, line: str) -> None:
        # A pusher that hung up does not stop the deploy: writes to it are dropped by the server,
        # and following the deploy to its end still moves the branch when it succeeds.
        if self.has_capability(CAPABILITY_SIDE_BAND_64K):
            self.proto.write_sideband(SIDE_BAND_CHANNEL_PROGRESS, (line + "\n").encode())


def private_packs(repository: Path) -> None:
    """dulwich makes each pack it receives 0444; the platform's home keeps its files its own."""
    for pack in (repository / "objects" / "pack").glob("*.pack"):
        if pack.stat().st_mode & 0o077:
            pack.chmod(0o400)


class PushGate(Hook):
    """pre-receive: runs before the pack is read. One deploying push per app at a time."""

    def __init__(self, handler: DeployingReceivePackHandler):
        self.handler = handler

    def execute(self, refs):
        deploying = [ref for _old, new, ref in refs if ref in DEPLOY_REFS and new != ZERO_SHA]
        if len(deploying) > 1:
            raise HookError("push main or master, not both at once")
        if deploying:
            settings = self.handler.platform.settings
            lock = self.handler.platform.redis.lock(
                f"paas:push:{self.handler.app_name}",
                timeout=settings.build_idle_timeout + settings.boot_timeout + 120,  # outlives a crashed holder
                blocking=False,
            )
            if not lock.acquire():
                raise HookError(f"another push to {self.handler.app_name} is deploying; push again when it is done")
            self.handler.push_lock = lock
        return b"", b""


class DeployHook(Hook):
    """update: runs after the objects are stored and before the ref moves."""

    def __init__(self, handler: DeployingReceivePackHandler):
        self.handler = handler
        self.platform = handler.platform

    def execute(self, ref: bytes, old: bytes, new: bytes):
        if ref not in DEPLOY_REFS:
            branch = ref.decode()[len("refs/heads/"):] if ref.startswith(b"refs/heads/") else None
            if branch is None or not self.review(branch, new):
                if new != ZERO_SHA:
                    self.handler.progress(f"-----> Pushed to {ref.decode()}: only main or master deploy; not building.")
            return b"", b""
        if new == ZERO_SHA:
            return b"", b""  # deleting a branch deploys nothing
        if not isinstance(self.handler.repo.object_store[new], Commit):
            raise HookError(f"{ref.decode()} must point to a commit")
        try:
            self.deploy(new.decode())
        except HookError:
            raise
        except Exception as error:  # Redis or Postgres trouble, the app deleted mid-push...
            log.exception("deploying %s of %s failed", new[:7], self.handler.app_name)
            self.handler.progress(f"error: paas failed while deploying: {error}")
            raise HookError("deploy failed inside paas") from None
        self.handler.repo.refs.set_symbolic_ref(b"HEAD", ref)  # a clone checks out what is deployed
        return b"", b""

    def deploy(self, commit: str) -> None:
        deploys = self.platform.deploys
        if not deploys.worker_available():
            self.handler.progress("error: no paas build worker is running (start it with `make up`)")
            raise HookError("no build worker")
        with self.platform.sessionmaker() as db:
            app = apps.get_app(db, self.handler.app_name)
            user = db.get(User, current_user_id.get())
            events.act_as(db, user)
            build = deploys.start(db, app, user, source_version=commit)
            audit.record(db, user.email, f"git push {commit[:7]}", app.name)
            db.commit()
        outcome = deploys.follow(build.id, self.handler.progress)
        if not outcome.ok:
            raise HookError(outcome.reason)


    def review(self, branch: str, new: bytes) -> bool:
        """A branch pushed to (or deleted from) an app of a pipeline whose review apps are on: its
        review app is made, deployed to, or torn down. False when review apps are not on here."""
        settings = self.platform.settings
        with self.platform.sessionmaker() as db:
            app = apps.get_app(db, self.handler.app_name)
            found = review_apps.for_push(db, app)
            if found is None:
                return False
            pipeline, user = found[0], db.get(User, current_user_id.get())
            events.act_as(db, user)
            existing = review_apps.of_branch(db, pipeline, branch)
            if new == ZERO_SHA:
                if existing is not None and existing.app is not None:
                    access.app_for(db, existing.app.name, user, access.MANAGE)
                    review_apps.request_delete(existing, "its branch was deleted")
                    db.commit()
                    self.handler.progress(f"-----> Deleting review app {existing.app.name} (its pr-predestroy runs first)")
                return True
            if not isinstance(self.handler.repo.object_store[new], Commit):
                raise HookError(f"{branch} must point to a commit")
            access.app_for(db, app.name, user, access.DEPLOY)
            commit = new.decode()
            status = review_apps.status_of(existing) if existing is not None else None
            if status == "created":
                target = access.app_for(db, existing.app.name, user, access.DEPLOY)
                existing.updated_at = func.now()  # not stale
                self.copy_commit(new, target.name)
                self.handler.progress(f"-----> Deploying {branch} to its review app {target.name}")
                build = self.platform.deploys.start(db, target, user, source_version=commit)
                outcome = self.platform.deploys.follow(build.id, self.handler.progress)
                if not outcome.ok:
                    raise HookError(outcome.reason)
                self.handler.progress(f"-----> Review app {target.name} is live at {settings.web_url(target.name)}")
                return True
            if status in ("creating", "deleting"):
                raise HookError(f"the review app of {branch} is being {'made' if status == 'creating' else 'deleted'}; push again when it is")
            review = review_apps.create(db, self.platform.cipher, settings, user, pipeline, branch, None, commit)
            name, setup_id = review.app.name, review.app_setup_id
            db.commit()
        self.copy_commit(new, name)  # before the worker reads it
        self.handler.progress(f"-----> Creating review app {name} for {branch} (app.json's review environment)")
        self.platform.celery.send_task(SETUP_TASK, args=[str(setup_id)])
        self.follow_setup(setup_id, name)
        return True

    def copy_commit(self, commit: bytes, app_name: str) -> None:
        """The pushed commit (and what it needs) into the review app's own repository."""
        target = open_or_init(self.platform.settings, app_name)
        self.handler.repo.fetch(target, determine_wants=lambda refs, depth=None: [commit])
        target.refs[b"refs/heads/main"] = commit
        private_packs(Path(target.controldir()))

    def follow_setup(self, setup_id: uuid.UUID, name: str) -> None:
        """Relay the review app's setup: its build and start-up, then postdeploy; refuse the
        branch if it fails (the app is gone then)."""
        deadline, followed = time.monotonic() + app_setups.TIMEOUT.total_seconds(), False
        while time.monotonic() < deadline:
            with self.platform.sessionmaker() as db:
                setup = db.get(AppSetup, setup_id)
                status, build_id, message = setup.status, setup.build_id, setup.failure_message
                errors, postdeploy = setup.manifest_errors, setup.postdeploy_exit_code
            if status == "failed":
                for error in errors:
                    self.handler.progress(f"       {error}")
                raise HookError(f"review app not made: {message}")
            if status == "succeeded":
                if postdeploy is not None:
                    self.handler.progress(f"-----> postdeploy exited with status {postdeploy}")
                self.handler.progress(f"-----> Review app {name} is live at {self.platform.settings.web_url(name)}")
                return
            if build_id is not None and not followed:
                followed = True
                self.platform.deploys.follow(build_id, self.handler.progress)
            time.sleep(0.3)
        raise HookError(f"the review app {name} was not made within {app_setups.TIMEOUT.seconds // 60} minutes")


def auth_middleware(app, platform):
    """WSGI: only callers with a valid token reach the repositories; git then asks its credential helper."""

    def middleware(environ, start_response):
        token = token_from_authorization(environ.get("HTTP_AUTHORIZATION"))
        try:
            with platform.sessionmaker() as db:
                user = accounts.user_for_token(db, token)
        except Unauthorized as error:
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Basic realm="paas"')],
            )
            return [f"{error.message}\n".encode()]
        current_user_id.set(user.id)
        refused = refusal(platform, user.id, environ)
        if refused is not None:
            status, message = refused
            start_response(status, [("Content-Type", "text/plain")])
            return [f"{message}\n".encode()]
        if environ.get("PATH_INFO", "").endswith("/git-receive-pack"):
            return limited(app, environ, start_response, platform.settings.push_size_limit)
        return app(environ, start_response)

    return middleware


class PushTooLarge(Exception):
    pass


class CountingInput:
    """The pushed pack, read through a meter: past the limit the read fails, and the push with it."""

    def __init__(self, stream, limit: int):
        self.stream, self.limit, self.seen = stream, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.seen += len(data)
        if self.seen > self.limit:
            raise PushTooLarge()
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size) if size >= 0 else self.stream.readline()


def limited(app, environ, start_response, limit: int):
    """A push over `limit` bytes is refused with 413, declared or streamed (git streams big packs
    chunked), before any ref moves; what it sent is dropped with it."""
    message = f"the push is over the limit of {limit // 2**20} MB (PAAS_PUSH_SIZE_LIMIT)\n".encode()
    if environ.get("HTTP_CONTENT_ENCODING"):  # a compressed pack would be counted compressed
        start_response("415 Unsupported Media Type", [("Content-Type", "text/plain")])
        return [b"compressed pushes are not taken: push without Content-Encoding\n"]
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        start_response("413 Request Entity Too Large", [("Content-Type", "text/plain")])
        return [message]
    environ["wsgi.input"] = CountingInput(environ["wsgi.input"], limit)
    try:
        return list(app(environ, start_response))
    except PushTooLarge:
        start_response("413 Request Entity Too Large", [("Content-Type", "text/plain")], sys.exc_info())
        return [message]


def refusal(platform, user_id: uuid.UUID, environ) -> tuple[str, str] | None:
    """Fetching needs view access to the app, pushing deploy access: 404 for an app the caller
    may not see (as for none at all), 403 for one they may see but not push to."""
    name = app_name_from_path(environ.get("PATH_INFO", "").split(".git/")[0].split("/info/")[0])
    if name is None:
        return None  # dulwich answers what is no app's repository
    pushing = "git-receive-pack" in environ.get("PATH_INFO", "") + environ.get("QUERY_STRING", "")
    try:
        with platform.sessionmaker() as db:
            access.app_for(db, name, db.get(User, user_id), access.DEPLOY if pushing else access.VIEW)
    except Forbidden as error:
        return "403 Forbidden", error.message
    except NotFound as error:
        return "404 Not Found", error.message
    return None


def make_git_app(platform):
    git_app = make_wsgi_chain(PaasBackend(platform), handlers={b"git-receive-pack": DeployingReceivePackHandler})
    return auth_middleware(git_app, platform)
