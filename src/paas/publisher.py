"""The one publisher of events (paas.domain.events): once a change has committed, it gives its
events their positions (the order live readers resume from) and delivers them, in that order,
at least once, to every consumer (the runner's wake-up, the app's `app[api]` log lines,
webhooks' deliveries) in the same transaction, then tells live readers.

It runs as a thread of the runner process. A Postgres advisory lock keeps it to one per
installation (a second runner's waits, and takes over when the first one's connection goes). A
notification at each commit wakes it; it also looks every second, for one lost with a
connection. A consumer that fails (Redis restarting) rolls the batch back: it is delivered again.
After ISOLATE_AFTER failures in a row, each consumer that still fails is given the events one at a
time, so that an event one consumer cannot take (a bug) does not hold up every other event: it is
skipped for that consumer, and logged, as soon as the consumer takes another event of the batch."""

import logging
import threading
import uuid
from collections.abc import Callable

import psycopg
import redis
from sqlalchemy.orm import Session, sessionmaker

from paas.domain import events
from paas.domain.models import Event
from paas.threads import name_this_thread

log = logging.getLogger("paas.publisher")
LOCK = 0x7061617345564E54  # "paasEVNT": the publisher's advisory lock
POLL = 1.0  # seconds
BATCH = 200
ISOLATE_AFTER = 3  # failed deliveries in a row before a failing consumer gets the events one at a time

# A batch of events, in order, in the transaction that marks them delivered (a consumer that
# writes to the database, as webhooks' does, delivers exactly once).
Consumer = Callable[[Session, list[Event]], None]
Hook = Callable[[list[Event]], None]  # after that transaction committed


def live_channel(app_id: uuid.UUID | str) -> str:
    """Where live readers of an app's events hear that there are new ones."""
    return f"paas:events:{app_id}"


class Publisher:
    def __init__(self, sessions: sessionmaker[Session], redis_client: redis.Redis, consumers: list[Consumer],
                 after: list[Hook] = ()):
        self.sessions, self.redis, self.consumers, self.after = sessions, redis_client, consumers, [self.announce, *after]
        self.stopping = threading.Event()
        self.failures = 0  # deliveries that failed in a row

    def run(self) -> None:
        """Until stopped (its thread's target): Postgres or Redis may be away for a while."""
        name_this_thread("publisher")
        while not self.stopping.is_set():
            try:
                self._serve()
            except Exception:
                log.exception("publishing events failed; again in 1 s")
                self.stopping.wait(1)

    def _serve(self) -> None:
        # A connection of its own, not the pool's: closed on any failure, it lets go of the lock.
        url = self.sessions.kw["bind"].url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as listener:
            while not listener.execute("SELECT pg_try_advisory_lock(%s)", (LOCK,)).fetchone()[0]:
                if self.stopping.wait(POLL):  # another runner publishes
                    return
            listener.execute(f"LISTEN {events.CHANNEL}")
            # One connection throughout: no check-out (and ping) of the pool's per batch.
            with self.sessions.kw["bind"].connect() as connection, self.sessions(bind=connection) as db:
                while not self.stopping.is_set():
                    while self.deliver(db) == BATCH:
                        pass
                    for _ in listener.notifies(timeout=POLL, stop_after=1):
                        pass

    def deliver(self, db: Session | None = None) -> int:
        """Deliver what is waiting (a batch at most); how many were delivered."""
        if db is None:
            with self.sessions() as db:
                return self.deliver(db)
        batch = events.publish(db, BATCH)
        try:
            for consume in self.consumers if batch else ():
                if self.failures >= ISOLATE_AFTER:
                    self._one_at_a_time(db, consume, batch)
                else:
                    consume(db, batch)
        except Exception:
            self.failures += 1
            raise
        self.failures = 0
        db.commit()  # (an empty batch too: its transaction ends)
        if batch:
            for hook in self.after:
                hook(batch)
        return len(batch)

    @staticmethod
    def _one_at_a_time(db: Session, consume: Consumer, batch: list[Event]) -> None:
        """The batch, and if it fails the events one by one (each in a savepoint). A consumer that
        fails on every one (Redis away) fails the batch, to be tried again; one that takes some
        skips the others, which it will never take."""
        try:
            with db.begin_nested():
                consume(db, batch)
            return
        except Exception:
            pass
        failed = []
        for event in batch:
            try:
                with db.begin_nested():
                    consume(db, [event])
            except Exception as error:
                failed.append((event, error))
        if len(failed) == len(batch):
            raise failed[-1][1]
        for event, error in failed:
            log.error("%s failed on event %s (%s.%s of %s): %r; skipped for it",
                      getattr(consume, "__qualname__", consume), event.id, event.resource, event.action, event.app_name, error)

    def announce(self, batch: list[Event]) -> None:
        """Live readers of the apps hear there is more (paas.platform.api.events)."""
        for app_id in {event.app_id for event in batch}:
            self.redis.publish(live_channel(app_id), "")
