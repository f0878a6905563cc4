"""Build and release output, followed live by the API without a thread or a Redis connection per
reader: one blocking XREAD, over every log stream someone follows in this process, hands each new
batch of entries to that stream's readers. A reader first reads what was written before it came
(from the start), then takes the batches, skipping what it has already seen.

So a thousand open output URLs cost a thousand sockets and queues, one Redis connection for the
news and a few shared ones for the readers' first reads."""

import asyncio
import logging
from collections.abc import AsyncIterator

import redis.asyncio
from redis.exceptions import RedisError
from paas.channels.output import End, log_item


log = logging.getLogger(__name__)

NEWS_BLOCK_MS = 250  # how long one XREAD waits; a stream followed since less waits up to this for its first news
READERS_CONNECTIONS = 16  # shared by the readers' first reads; one more is the news' own
BATCH = 500
WAKE_AT_ONCE = 50  # readers given news in one go of the event loop


def entry_key(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence)


class Followers:
    """One per API process (and event loop: each has its own connections and news task)."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is self.loop:
            return
        self.loop = loop
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            self.redis_url, decode_responses=True, max_connections=READERS_CONNECTIONS + 1, timeout=None)
        self.client = redis.asyncio.Redis(connection_pool=pool)
        self.readers: dict[str, set[asyncio.Queue]] = {}  # stream key -> its readers' queues
        self.after: dict[str, str] = {}  # stream key -> the last entry id handed out
        self.news: asyncio.Task | None = None

    async def follow(self, key: str, tick: float) -> AsyncIterator[list[str | End]]:
        """The stream's items from its start, in batches, until its End (included); an empty
        batch after each `tick` seconds without news."""
        self._bind()
        queue: asyncio.Queue = asyncio.Queue()
        self.readers.setdefault(key, set()).add(queue)
        try:
            if key not in self.after:
                # The news starts after what is there now; this reader reads that part itself.
                newest = await self.client.xrevrange(key, count=1)
                self.after.setdefault(key, newest[0][0] if newest else "0-0")
            if self.news is None:
                self.news = asyncio.create_task(self._read_news())
            last = "0-0"
            while found := await self.client.xread({key: last}, count=BATCH):  # what was there (no block)
                entries = found[0][1]
                last = entries[-1][0]
                items = [log_item(fields) for _id, fields in entries]
                yield items
                if isinstance(items[-1], End):
                    return
            while True:
                try:
                    async with asyncio.timeout(tick):  # (no task per wait, unlike wait_for)
                        entries = await queue.get()
                except TimeoutError:
                    yield []
                    continue
                fresh = [(entry_id, fields) for entry_id, fields in entries if entry_key(entry_id) > entry_key(last)]
                if not fresh:
                    continue
                last = fresh[-1][0]
                items = [log_item(fields) for _id, fields in fresh]
                yield items
                if isinstance(items[-1], End):
                    return
        finally:
            readers = self.readers.get(key, set())
            readers.discard(queue)
            if not readers:
                self.readers.pop(key, None)
                self.after.pop(key, None)

    async def _read_news(self) -> None:
        try:
            while self.after:
                try:
                    found = await self.client.xread(dict(self.after), count=BATCH, block=NEWS_BLOCK_MS)
                except (RedisError, OSError) as error:  # Redis restarting: the readers wait, then get the news
                    log.warning("following output streams: %s", error)
                    await asyncio.sleep(1)
                    continue
                for key, entries in found or []:
                    if key not in self.after:
                        continue  # its last reader left meanwhile
                    self.after[key] = entries[-1][0]
                    for n, queue in enumerate(list(self.readers.get(key, ())), 1):
                        queue.put_nowait(entries)
                        if n % WAKE_AT_ONCE == 0:
                            # Readers woken together answer in one go of the event loop: a
                            # thousand at once would hold up every other request meanwhile.
                            await asyncio.sleep(0)
        finally:
            self.news = None
