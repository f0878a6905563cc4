"""The runner's `setups` thread: moves app setups on once the worker has prepared them (see
paas.domain.app_setups): it queues the build once the add-ons' servers are up, and runs the
manifest's `postdeploy` once in a one-off dyno (`postdeploy.1`) of the live release, its output
kept with the setup. It also tears review apps down: their `pr-predestroy` (`predestroy.1`), then
the app and all it holds. Woken after each batch of events (an add-on, a build or a release
settled), and once a second besides.
"""

import logging
import threading
import uuid
from collections.abc import Callable

from paas.domain import app_setups, events, releases, review_apps
from paas.domain.models import AppSetup, Build, ReviewApp
from paas.repos import delete_repository
from paas.runner.backend import OneOffTimeout

log = logging.getLogger(__name__)
POLL = 1.0  # seconds between passes when nothing wakes it


class Setups:
    def __init__(self, reconciler, queue_build: Callable[[uuid.UUID], None]):
        self.reconciler, self.queue_build = reconciler, queue_build
        self.cipher, self.settings = reconciler.cipher, reconciler.settings
        self.woken = threading.Event()

    def start(self) -> "Setups":
        with self.reconciler.sessionmaker() as db:
            app_setups.interrupted(db, self.cipher)
            review_apps.interrupted(db)
            db.commit()
        threading.Thread(target=self.loop, daemon=True, name="setups").start()
        return self

    def wake(self, _batch=None) -> None:
        """After a batch of events is delivered (the publisher's `after` hook): look now."""
        self.woken.set()

    def loop(self) -> None:
        while True:
            self.woken.wait(POLL)
            self.woken.clear()
            try:
                for run in self.step():
                    run.start()
            except Exception:  # the database is away, say: the next pass tries again
                log.exception("moving app setups on failed")

    def step(self) -> list[threading.Thread]:
        """One pass over the pending setups: the postdeploy runs to start."""
        runs = []
        with self.reconciler.sessionmaker() as db:
            for setup in app_setups.pending(db):
                events.act_as(db, setup.user)
                outcome = app_setups.advance(db, self.cipher, setup)
                db.commit()
                if setup.status == "failed":
                    delete_repository(self.settings, setup.app_name)  # a review app's pushed commit
                if isinstance(outcome, Build):
                    self.queue_build(outcome.id)
                elif outcome == "postdeploy" and app_setups.claim_postdeploy(db, setup.id):
                    db.commit()
                    runs.append(threading.Thread(target=self.postdeploy, args=(setup.id,), daemon=True,
                                                 name=f"postdeploy-{setup.id.hex[:8]}"))
            review_apps.mark_stale(db)
            db.commit()
            for review in review_apps.deleting(db):
                release = releases.current_release(db, review.app) if review.app else None
                if review_apps.predestroy_of(review) and release is not None and release.image:
                    if review_apps.claim_predestroy(db, review):
                        db.commit()
                        runs.append(threading.Thread(target=self.predestroy, args=(review.id,), daemon=True,
                                                     name=f"predestroy-{review.id.hex[:8]}"))
                else:
                    self.destroy(db, review)
        return runs

    def destroy(self, db, review: ReviewApp) -> None:
        name = review.app.name if review.app else None
        events.act_as(db, review.user)
        review_apps.destroy(db, self.cipher, review)
        db.commit()
        if name:
            delete_repository(self.settings, name)

    def predestroy(self, review_id: uuid.UUID) -> None:
        """The review app's pr-predestroy, once, in its live release; then the app goes, whatever it exits with."""
        with self.reconciler.sessionmaker() as db:
            review = db.get(ReviewApp, review_id)
            script = review_apps.predestroy_of(review)
            spec = self.reconciler.one_off(releases.current_release(db, review.app), "predestroy", script,
                                           self.reconciler.networks_of(db, review.app))
        exit_code = self.run(spec, f"pr-predestroy: `{script}`", lambda line: None)
        with self.reconciler.sessionmaker() as db:
            review = db.get(ReviewApp, review_id, with_for_update=True)
            review.message = f"pr-predestroy exited with status {exit_code}"
            self.destroy(db, review)

    def run(self, spec, what: str, keep) -> int:
        """A one-off of a setup or a teardown to its end: its exit code (its output to `keep`)."""
        self.reconciler.logs.event(spec.app_id, spec.name, f"Running {what}")
        try:
            exit_code = self.reconciler.backend.containers.run_once(spec, self.settings.release_phase_timeout, keep)
        except OneOffTimeout as timeout:
            exit_code = 137
            keep(str(timeout))
        except Exception as error:
            log.exception("%s of %s failed", spec.name, spec.app)
            exit_code = -1
            keep(f"paas could not run it: {error}")
        self.reconciler.logs.event(spec.app_id, spec.name, f"Process exited with status {exit_code}")
        return exit_code

    def postdeploy(self, setup_id: uuid.UUID) -> None:
        """The manifest's postdeploy, once, in the live release; the setup ends with its status."""
        output: list[str] = []
        size = 0

        def keep(line: str) -> None:
            nonlocal size
            if size < app_setups.OUTPUT_LIMIT:
                output.append(line)
                size += len(line) + 1

        with self.reconciler.sessionmaker() as db:
            setup = db.get(AppSetup, setup_id)
            release = releases.current_release(db, setup.app)
            script = app_setups.postdeploy_of(setup)
            spec = self.reconciler.one_off(release, "postdeploy", script, self.reconciler.networks_of(db, setup.app))
        exit_code = self.run(spec, f"postdeploy: `{script}`", keep)
        with self.reconciler.sessionmaker() as db:
            setup = db.get(AppSetup, setup_id, with_for_update=True)
            events.act_as(db, setup.user)
            app_setups.postdeploy_done(db, self.cipher, setup, exit_code, "\n".join(output))
            db.commit()
