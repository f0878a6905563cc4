"""One-off runs (`paas run`, `heroku run`): the API asks through Redis, the runner starts the
process of the app's current release, each run in a thread of its own (a run may last hours).

Attached runs wait for their client (the API's WebSocket) before they start, so the client
sees every byte; stdin, end of input and hang-up come back through the run's channel. Detached
runs send their output to the app's logs, as every process does.
"""

import logging
import threading
import time
import uuid

import redis

from paas.channels.dynos import forget_runs, publish_run
from paas.channels.runs import ATTACH_TIMEOUT, RunChannel
from paas.domain.models import Release
from paas.runner.backend import OneOffTimeout

log = logging.getLogger(__name__)


class OneOffs:
    def __init__(self, reconciler):
        self.reconciler = reconciler
        self.settings = reconciler.settings

    def forget_previous(self) -> None:
        """The runs the runner before this one relayed ended with it (the sweep removes their
        containers): they are no longer listed as dynos."""
        try:
            forget_runs(self.reconciler.redis)
        except redis.RedisError as error:  # Redis is away: the runner starts anyway
            log.warning("could not clear the runs of the last runner: %s", error)

    def start(self, run_id: str) -> None:
        threading.Thread(target=self._run, args=(run_id,), daemon=True, name=f"run-{run_id[:8]}").start()

    def _run(self, run_id: str) -> None:
        channel = RunChannel(self.reconciler.redis, run_id)
        request = channel.take()
        if request is None:  # waited past its time (the runner was away)
            channel.exited(-1, "the run was not started: no runner took it in time")
            return
        channel.taken()
        try:
            self.run(channel, request)
        except Exception as error:
            log.exception("one-off run %s of %s failed", request["name"], request["app"])
            channel.exited(-1, f"paas could not run the command: {error}")

    def run(self, channel: RunChannel, request: dict) -> None:
        app, app_id, name, logs = request["app"], request["app_id"], request["name"], self.reconciler.logs
        with self.reconciler.sessionmaker() as db:
            release = db.get(Release, uuid.UUID(request["release_id"]))
            if release is None:
                channel.exited(-1, f"{app} no longer exists")
                return
            spec = self.reconciler.one_off(release, "run", request["command"], self.reconciler.networks_of(db, release.app),
                                           index=int(name.split(".")[1]), size=request["size"], env=request["env"])
        if request["attach"]:
            inputs = channel.inputs(block=1.0)
            if not wait_for_client(inputs):
                logs.event(app_id, name, "Error R13 (Attach error): no client attached within "
                                      f"{ATTACH_TIMEOUT:.0f} s; the command did not run")
                channel.exited(-1, "no client attached in time")
                return
        logs.event(app_id, name, f"Starting process with command `{request['command']}`")
        logs.event(app_id, name, "State changed from starting to up")
        redis = self.reconciler.redis
        publish_run(redis, app, name, {
            "id": channel.run_id, "name": name, "type": "run", "state": "up", "size": spec.size,
            "release_id": spec.release_id, "version": spec.version, "created_at": time.time(), "command": request["command"],
        })
        try:
            if request["attach"]:
                status = self.reconciler.backend.containers.run_attached(
                    spec, request["tty"], inputs, channel.output, self.settings.one_off_timeout
                )
            else:
                ended = threading.Event()
                threading.Thread(target=self.stop_on_hang_up, args=(channel, app, name, ended), daemon=True).start()
                try:
                    status = self.reconciler.backend.containers.run_once(spec, self.settings.one_off_timeout, lambda line: None)
                finally:
                    ended.set()
        except OneOffTimeout:
            status = 137
        finally:
            publish_run(redis, app, name, None)
        logs.event(app_id, name, f"Process exited with status {status}")
        logs.event(app_id, name, "State changed from up to complete")
        channel.exited(status)


    def stop_on_hang_up(self, channel: RunChannel, app: str, name: str, ended: threading.Event) -> None:
        """A detached run is stopped (`ps:stop run.N`) through its channel too."""
        for item in channel.inputs(block=1.0):
            if ended.is_set():
                return
            if item == "hangup":
                self.reconciler.backend.containers.remove_one_offs(app, name)
                return


def wait_for_client(inputs) -> bool:
    deadline = time.monotonic() + ATTACH_TIMEOUT
    for item in inputs:
        if item == "attached":
            return True
        if item == "hangup" or time.monotonic() > deadline:
            return False
    return False
