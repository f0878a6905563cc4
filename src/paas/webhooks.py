"""Sending app webhooks (paas.domain.webhooks keeps them): a thread of the runner process with an
event loop of its own, so a slow or dead receiver holds up only its own deliveries. One
delivery at a time per webhook, at most MAX_IN_FLIGHT in all, each at most `webhook_timeout`
seconds; to the addresses the outbound rule allows (paas.outbound). Each is signed as Heroku
signs them: Heroku-Webhook-Hmac-SHA256 is the base64 of the HMAC-SHA256 of the body with the
webhook's secret."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from paas import outbound, shapes
from paas.domain import webhooks
from paas.domain.crypto import ConfigCipher
from paas.settings import Settings
from paas.threads import name_this_thread

log = logging.getLogger("paas.webhooks")
MAX_IN_FLIGHT = 64
IDLE = 1.0  # seconds between looks when nothing wakes the sender (a retry's time may come)


@dataclass(frozen=True)
class Attempt:
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    body: bytes
    headers: dict[str, str]


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def attempt_of(cipher: ConfigCipher, delivery) -> Attempt:
    """The request for one attempt at a delivery (read while its session is open)."""
    hook, event = delivery.webhook, delivery.event
    kept = webhooks.secrets_of(cipher, hook)
    payload = {**shapes.webhook_payload(event), "webhook_metadata": {
        "attempt": {"id": str(uuid.uuid4())}, "delivery": {"id": str(delivery.id)},
        "event": {"id": str(event.id), "include": shapes.event_include(event)}, "webhook": {"id": str(hook.id)}}}
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "paas-webhooks",
               "Heroku-Webhook-Hmac-SHA256": signature(kept["secret"], body),
               **({"Authorization": kept["authorization"]} if kept.get("authorization") else {})}
    return Attempt(delivery.id, hook.id, hook.url, body, headers)


class Sender:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], cipher: ConfigCipher):
        self.settings, self.sessions, self.cipher = settings, sessions, cipher
        self.busy: set[uuid.UUID] = set()  # webhooks with a delivery under way
        self.sending: set[asyncio.Task] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.woken: asyncio.Event | None = None
        self.started = threading.Event()

    def start(self) -> "Sender":
        threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True, name="webhooks").start()
        self.started.wait(10)
        return self

    def wake(self, _batch=None) -> None:
        """New deliveries may be due (from any thread: the publisher's hook after its commit)."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.woken.set)

    async def _run(self) -> None:
        name_this_thread("webhooks")
        self.loop, self.woken = asyncio.get_running_loop(), asyncio.Event()
        self.started.set()
        while True:
            self.woken.clear()
            try:
                for attempt in await asyncio.to_thread(self._claim):
                    self.busy.add(attempt.webhook_id)
                    self.sending.add(asyncio.create_task(self._send(attempt)))  # held: the loop keeps only weak references
            except Exception:
                log.exception("looking for webhook deliveries failed; again in %g s", IDLE)
            try:
                await asyncio.wait_for(self.woken.wait(), IDLE)
            except TimeoutError:
                pass

    def _claim(self) -> list[Attempt]:
        room = MAX_IN_FLIGHT - len(self.busy)
        if room <= 0:
            return []
        lease = timedelta(seconds=self.settings.webhook_timeout + 30)
        with self.sessions() as db:
            return [attempt_of(self.cipher, d) for d in webhooks.claim(db, room, lease, set(self.busy))]

    async def _send(self, attempt: Attempt) -> None:
        try:
            code, error = None, None
            try:
                code = await outbound.post(self.settings, attempt.url, attempt.body, attempt.headers, self.settings.webhook_timeout)
            except outbound.OutboundError as refused:
                error = str(refused)[:60]  # what kind of failure, in the rule's own words (no secret is in them)
            except Exception as crashed:  # the receiver's doing or ours: it is failed, and said so, never raised
                log.warning("webhook delivery %s: %r", attempt.delivery_id, crashed)
                error = f"failed ({type(crashed).__name__})"[:60]
            await asyncio.to_thread(self._record, attempt.delivery_id, code, error)
        except Exception:
            log.exception("recording webhook delivery %s failed (it is due again after its lease)", attempt.delivery_id)
        finally:
            self.busy.discard(attempt.webhook_id)
            self.sending.discard(asyncio.current_task())
            self.woken.set()  # its webhook's next delivery may go

    def _record(self, delivery_id: uuid.UUID, code: int | None, error: str | None) -> None:
        with self.sessions() as db:
            webhooks.attempted(db, delivery_id, code, error, self.settings.webhook_retry_base)
