"""Collects the apps' logs into the log store, in one asyncio thread of the runner.

- App output: every process runs with Docker's fluentd logging driver pointed here, in async
  mode, so Docker reads the process's stdout and stderr itself and a slow or absent collector
  never blocks the app. While the runner restarts Docker keeps up to 10,000 lines per process and
  sends them once it is back; the one line in flight when the collector stopped is lost (Docker's
  acknowledged mode would keep it, but waits for every line: measured under 3,000 lines a second).
  Each record carries the process's labels (app, installation) and its DYNO (its dyno name).
  On the swarm the collector listens where every node reaches it, and so may a task: there it
  takes a connection's lines only if they come from a container the swarm says is one of this
  installation's, from that container's own node, and only for that container's app (the
  `sources` the backend tells; a container the collector does not know yet is looked up again
  for a while, as a new task's first lines may come before the swarm reports its container).
- The router's access lines: read from the file Caddy writes (see paas.router.access_log); the
  position is kept in Redis, so a restarted runner goes on where it stopped.
Every app may write `rate` lines a second; past that lines are dropped and counted, and the
count shows up in its logs as Heroku's L10 error. The router's lines have a budget of their own
(`router_rate`, and a stream of their own: see paas.logs), so outside traffic never takes the
app's share. Writes to Redis are batched.
"""

import asyncio
import ipaddress
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgpack
import redis.asyncio

from paas.logs import LogLine, add, stamp
from paas.router.access_log import AccessLogParser
from paas.runner.containers import LABEL_APP_ID, LABEL_INSTANCE, LABEL_NAME

log = logging.getLogger(__name__)
FLUSH_EVERY = 0.05  # seconds
ROUTER_LOG_POLL = 0.25  # seconds
ROUTER_LOG_POSITION = "paas:router-log:position"
SOURCES_EVERY = 0.5  # seconds at least between two looks at which containers run where
IDENTIFY_WAIT = 10.0  # seconds a connection from a container not known yet waits to be known


class Bucket:
    """Lines an app may still write now (a token bucket refilled at `rate` a second)."""

    def __init__(self, rate: int):
        self.rate, self.tokens, self.at = rate, float(rate), time.monotonic()
        self.dropped, self.dropped_since = 0, 0.0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        if not self.dropped:
            self.dropped_since = time.time()
        self.dropped += 1
        return False


class LogCollector:
    def __init__(
        self, redis_url: str, address: str, instance: str, *, max_lines: int, rate: int, router_rate: int | None = None,
        router_log: Path | None = None, parser: AccessLogParser | None = None,
        app_id_of: Callable[[str], str | None] = lambda name: None,
        sources: Callable[[], tuple[str, dict[str, tuple[str, str]]]] | None = None,
    ):
        self.redis_url, self.instance = redis_url, instance
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.max_lines, self.rate = max_lines, rate
        self.router_rate = rate if router_rate is None else router_rate
        self.router_log, self.parser, self.app_id_of = router_log, parser, app_id_of
        # None: every connection is trusted (one host: no container reaches the collector).
        self.sources = sources
        self.here, self.containers, self.sources_at = "", {}, 0.0
        self.pending: dict[str, list[LogLine]] = {}
        self.buckets: dict[str, Bucket] = {}  # by app id: its processes' lines
        self.router_buckets: dict[str, Bucket] = {}  # by app id: the router's lines of it
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the collector's thread (once; it starts its loop again if it fails) and wait
        until it listens."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._run_forever, daemon=True, name="logs")
            self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError(f"the log collector could not listen on {self.host}:{self.port}")

    # -- in the collector's thread ---------------------------------------------------------

    def _run_forever(self) -> None:
        while True:
            try:
                asyncio.run(self._main())
            except Exception:
                log.exception("the log collector stopped; again in 1 s")
            time.sleep(1)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.redis = redis.asyncio.Redis.from_url(self.redis_url, decode_responses=True)
        self.looking = asyncio.Lock()
        server = await asyncio.start_server(self._connection, self.host, self.port, reuse_address=True)
        self.ready.set()
        tasks = [self._flusher()] + ([self._follow_router_log()] if self.router_log else [])
        async with server:
            await asyncio.gather(*tasks)

    def _add(self, app: str, line: LogLine) -> None:
        if self._within_rate(app):
            self.pending.setdefault(app, []).append(line)

    def _within_rate(self, app: str) -> bool:
        bucket = self.buckets.get(app) or self.buckets.setdefault(app, Bucket(self.rate))
        return bucket.take()

    def _admit_router_line(self, app_name: str) -> bool:
        app_id = self.app_id_of(app_name)
        if app_id is None:
            return False
        bucket = self.router_buckets.get(app_id) or self.router_buckets.setdefault(app_id, Bucket(self.router_rate))
        return bucket.take()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One per process: Docker's driver sends [tag, time, record, options] in msgpack."""
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=16 * 2**20)
        peer = (writer.get_extra_info("peername") or ("",))[0]
        sender: tuple[str, str] | None = None  # the connection's container and its app, once known
        try:
            while data := await reader.read(65536):
                unpacker.feed(data)
                for message in unpacker:
                    entries = _entries(message)
                    if self.sources is not None and sender is None and entries:
                        sender = await self._sender(peer, entries[0][1].get("container_id"))
                        if sender is None:
                            return
                    if not self._message(entries, sender):
                        log.warning("dropped a log connection from %s: a line of another container or app", peer)
                        return
        except (ConnectionError, ValueError, msgpack.UnpackException) as error:
            log.warning("dropped a log connection: %s", error)
        finally:
            writer.close()

    async def _sender(self, peer: str, container: object) -> tuple[str, str] | None:
        """(container id, app id) if `container` is one of this installation's and runs on the
        node `peer` is (this node's engine may also send from loopback); else None, and the
        connection is dropped."""
        deadline = time.monotonic() + IDENTIFY_WAIT
        while isinstance(container, str):
            node = self.here if _is_loopback(peer) else peer
            if container in self.containers:
                app, where = self.containers[container]
                if where == node and node:
                    return container, app
                break
            if time.monotonic() > deadline:
                break
            await self._look_at_sources()
        log.warning("dropped a log connection from %s: its lines claim a container not of this installation on that node (%s)",
                    peer, str(container)[:64])
        return None

    async def _look_at_sources(self) -> None:
        """Which containers run where, as the backend tells; at most every SOURCES_EVERY."""
        async with self.looking:
            wait = self.sources_at + SOURCES_EVERY - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                self.here, self.containers = await asyncio.to_thread(self.sources)
            except Exception as error:  # Docker away: the last view stays
                log.warning("could not tell which containers run where: %s", error)
            self.sources_at = time.monotonic()

    def _message(self, entries: list, sender: tuple[str, str] | None = None) -> bool:
        """Takes the entries' lines; False if one claims another container or app than `sender`."""
        for entry in entries:
            record = entry[1]
            # The engine's copy of its environment's DYNO; the label, from processes started
            # before the dyno name came that way.
            app, dyno = record.get(LABEL_APP_ID), record.get("DYNO") or record.get(LABEL_NAME)
            if record.get(LABEL_INSTANCE) != self.instance or not app or not isinstance(app, str) or not isinstance(dyno, str):
                continue
            if sender is not None and (record.get("container_id"), app) != sender:
                return False  # an engine sends each container's lines on a connection of its own
            text = record.get("log", "")
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            self._add(app, LogLine(event_time(entry[0]), "app", dyno, str(text).rstrip("\r\n")))
        return True

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            self._note_drops()
            if not self.pending:
                continue
            batch, self.pending = self.pending, {}
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for app, lines in batch.items():
                        for line in lines:
                            add(pipe, app, line, self.max_lines)
                    await pipe.execute()
            except redis.RedisError as error:
                # Redis is away: these lines are lost, counted, and the next batch tries again.
                log.warning("could not store %d log lines: %s", sum(map(len, batch.values())), error)

    def _note_drops(self) -> None:
        # The router's drops are told among the router's lines, so a flood of requests adds
        # nothing to the app's own.
        for buckets, dyno, what in ((self.buckets, "logplex", "messages"), (self.router_buckets, "router", "router messages")):
            now = time.time()
            for app, bucket in list(buckets.items()):
                if bucket.dropped and now - bucket.dropped_since >= 1:
                    text = f"Error L10 (output buffer overflow): {bucket.dropped} {what} dropped since {stamp(bucket.dropped_since)}."
                    self.pending.setdefault(app, []).append(LogLine(now, "heroku", dyno, text))
                    bucket.dropped = 0
                elif not bucket.dropped and time.monotonic() - bucket.at > 60:  # full again long since
                    del buckets[app]  # quiet for a minute: forget it (1,000 apps, most of them idle)

    async def _follow_router_log(self) -> None:
        """Read the file as Caddy appends to it, from where the last runner stopped (or, with no
        such mark, from its end: old lines are not replayed). The file is kept open, so when
        Caddy rolls it over its last lines are still read before the new file."""
        assert self.router_log is not None and self.parser is not None
        position = await self.redis.get(ROUTER_LOG_POSITION)
        file, pending = None, b""
        try:
            while True:
                if file is None:
                    file = open_log(self.router_log, position)
                    if file is None:  # not written yet: once it is, from its start
                        position = "new"
                        await asyncio.sleep(ROUTER_LOG_POLL)
                        continue
                data = file.read(8 * 2**20)
                if not data:
                    if rolled_over(file, self.router_log):
                        file.close()
                        file, pending = open_log(self.router_log, "new"), b""
                        continue
                    await asyncio.sleep(ROUTER_LOG_POLL)
                    continue
                data, pending = pending + data, b""
                complete = data.rfind(b"\n") + 1  # a line Caddy is still writing waits for the next round
                data, pending = data[:complete], data[complete:]
                for raw in data.decode("utf-8", "replace").splitlines():
                    line = self.parser.feed(raw, admit=self._admit_router_line)
                    if line is not None:  # admitted: its app is known, and within its rate
                        self.pending.setdefault(self.app_id_of(line.app), []).append(
                            LogLine(line.at, "heroku", "router", line.text))
                try:
                    await self.redis.set(ROUTER_LOG_POSITION, f"{os.fstat(file.fileno()).st_ino}:{file.tell() - len(pending)}")
                except redis.RedisError:
                    pass
        finally:
            if file is not None:
                file.close()


def _entries(message: object) -> list:
    """A forward-protocol message's [time, record] entries (forward mode carries many)."""
    if not isinstance(message, list) or len(message) < 3:
        return []
    entries = message[1] if isinstance(message[1], list) else [message[1:3]]
    return [e for e in entries if isinstance(e, (list, tuple)) and len(e) >= 2 and isinstance(e[1], dict)]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def open_log(path: Path, position: str | None):
    """The router's log file, at `position` ("inode:offset") if it is still that file, at its
    start for "new" (a file Caddy just began), else at its end; None while there is none."""
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return None
    inode, size = os.fstat(file.fileno()).st_ino, os.fstat(file.fileno()).st_size
    if position == "new":
        return file
    saved_inode, _, saved_offset = (position or "").partition(":")
    if saved_inode == str(inode) and saved_offset.isdigit() and int(saved_offset) <= size:
        file.seek(int(saved_offset))
    else:
        file.seek(size)
    return file


def rolled_over(file, path: Path) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(file.fileno()).st_ino
    except FileNotFoundError:
        return False  # between Caddy's rename and its new file: look again next round


def event_time(value: object) -> float:
    """fluentd's EventTime (msgpack ext 0: seconds, nanoseconds) or plain seconds."""
    if isinstance(value, msgpack.ExtType) and value.code == 0 and len(value.data) == 8:
        seconds, nanoseconds = struct.unpack(">II", value.data)
        return seconds + nanoseconds / 1e9
    if isinstance(value, (int, float)):
        return float(value)
    return time.time()


def dyno_at(published: Callable[[], dict[str, list[dict]]]) -> Callable[[str, str], str | None]:
    """The dyno name of an upstream address, from the runner's published view of the apps;
    remembered, so a process that has just been stopped is still named in its last lines."""
    seen: dict[tuple[str, str], str] = {}

    def find(app: str, address: str) -> str | None:
        for dyno in published().get(app, []):
            if dyno.get("address") == address:
                seen[app, address] = dyno["name"]
        return seen.get((app, address))

    return find
