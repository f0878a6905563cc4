"""Apps' logs, as Heroku's logplex keeps them: one bounded store per app of timestamped lines,
each from a source (`app` or `heroku`) and a dyno (`web.1`, `router`, `api`, `run.1`), read as
`2026-12-01T08:00:00.123456+00:00 app[web.1]: text`.

The store is a Redis stream per app, trimmed to about `max_lines` on every write (Redis trims
whole blocks, so a few more may be kept), so it outlives deploys, removed containers and
restarts of the platform's processes, and never grows without bound. The router's access lines
(`heroku[router]`) are kept in a second stream of the app's, trimmed alike: they come from
outside traffic, which must never push the app's own lines out. Writers: the runner (every
line the app's processes print, the router's access lines, process events), the publisher of events
(`app[api]` lines). Readers: log sessions (`heroku logs`, `paas logs`), which see
both streams as one.
"""

import heapq
from itertools import groupby
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import redis
import redis.asyncio

log = logging.getLogger(__name__)
MAX_LINE_BYTES = 10_000  # longer lines are cut, as logplex does
SOURCES = ("app", "heroku")
GONE_TTL = 600  # seconds the late lines of a deleted app are kept (then nothing is)


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class LogLine:
    at: float  # epoch seconds
    source: str  # "app" or "heroku"
    dyno: str  # web.1, router, api
    text: str

    def format(self) -> str:
        return f"{stamp(self.at)} {self.source}[{self.dyno}]: {self.text}"

    def fields(self) -> dict[str, str]:
        text = self.text
        if len(text) > MAX_LINE_BYTES:  # cheap test first; the exact cut is on bytes
            text = text.encode()[:MAX_LINE_BYTES].decode("utf-8", "ignore")
        return {"at": f"{self.at:.6f}", "source": self.source, "dyno": self.dyno, "text": text}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> "LogLine":
        return cls(float(fields["at"]), fields["source"], fields["dyno"], fields["text"])


@dataclass(frozen=True)
class LogFilter:
    """What a log session shows: a dyno (`web.1`) or every dyno of a type (`web`), a source."""

    dyno: str | None = None
    source: str | None = None

    def __call__(self, line: LogLine) -> bool:
        if self.source and line.source != self.source:
            return False
        return not self.dyno or line.dyno == self.dyno or line.dyno.startswith(self.dyno + ".")


def key(app_id: str) -> str:
    """By the app's id, not its name: a later app of the same name starts with its own logs."""
    return f"paas:logs:{app_id}"


def router_key(app_id: str) -> str:
    """The app's router lines, apart."""
    return f"paas:logs:{app_id}:router"


ROUTER_LINE = LogLine(0.0, "heroku", "router", "")


def stream_of(app: str, line: LogLine) -> str:
    return router_key(app) if (line.source, line.dyno) == (ROUTER_LINE.source, ROUTER_LINE.dyno) else key(app)


def add(pipe, app: str, line: LogLine, max_lines: int) -> None:
    """Queue one line on a Redis pipeline (sync or asyncio), trimming the stream it goes to."""
    pipe.xadd(stream_of(app, line), line.fields(), maxlen=max_lines, approximate=True)


def streams(app: str, wanted: LogFilter) -> list[str]:
    """The app's streams that may hold lines `wanted` keeps."""
    return [key(app), router_key(app)] if wanted(ROUTER_LINE) else [key(app)]


def cursor(last: dict[str, str], app: str) -> str:
    """Where a reader of the app's logs is: the last id it read of each stream."""
    return " ".join(last.get(stream, "0-0") for stream in (key(app), router_key(app)))


def positions(after: str, app: str) -> dict[str, str]:
    own, _, router = after.partition(" ")
    return {key(app): own, router_key(app): router or own}


def merged(*runs: list[dict[str, str]]) -> Iterable[dict[str, str]]:
    """Entries of the app's streams as one log: each stream in its own order, the two
    interleaved by the lines' times (Redis' ids tell the order within a stream only); a mark
    without a time (`gone`) after the lines beside it."""
    return heapq.merge(*runs, key=lambda fields: float(fields.get("at", "inf")))


class LogStore:
    def __init__(self, client: redis.Redis, max_lines: int):
        self.client, self.max_lines = client, max_lines

    def append(self, app: str, lines: Iterable[LogLine]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for line in lines:
            add(pipe, app, line, self.max_lines)
        pipe.execute()

    def event(self, app: str, dyno: str, text: str, source: str = "heroku") -> None:
        """One line the platform itself writes: `heroku[web.1]: State changed ...`, `app[api]: ...`.
        Best effort: the change it tells of has happened, so a Redis outage must not undo or fail it."""
        try:
            self.append(app, [LogLine(time.time(), source, dyno, text)])
        except redis.RedisError as error:
            log.warning("could not write to the logs of %s: %s", app, error)

    def recent(self, app: str, count: int, wanted: LogFilter = LogFilter()) -> tuple[list[LogLine], str]:
        """The last `count` lines that `wanted` keeps, oldest first, and the cursor to follow from."""
        runs: list[list[dict[str, str]]] = []
        last: dict[str, str] = {}
        for stream in (key(app), router_key(app)):
            newest = self.client.xrevrange(stream, count=1)
            last[stream] = newest[0][0] if newest else "0-0"
            if newest and stream in streams(app, wanted):
                runs.append(self._recent(stream, last[stream], count, wanted))
        found = [LogLine.from_fields(fields) for fields in merged(*runs)]
        return found[-count:] if count else [], cursor(last, app)

    def _recent(self, stream: str, upper: str, count: int, wanted: LogFilter) -> list[dict[str, str]]:
        """The stream's last `count` lines that `wanted` keeps, oldest first."""
        found: list[dict[str, str]] = []
        while len(found) < count:
            batch = self.client.xrevrange(stream, max=upper, count=1000)
            if not batch:
                break
            found += [f for _id, f in batch if "text" in f and wanted(LogLine.from_fields(f))]
            upper = "(" + batch[-1][0]
        return found[:count][::-1]

    def delete(self, app: str) -> None:
        """The app is gone. Lines of its last processes may still come: they go to a stream that
        expires on its own; and a tail that follows the app ends at the mark left here."""
        pipe = self.client.pipeline()
        # The mark is added, not the stream made anew: its id comes after every line's, so a
        # follower reads it.
        for stream in (key(app), router_key(app)):
            pipe.xadd(stream, {"gone": "1"})
            pipe.xtrim(stream, maxlen=1, approximate=False)
            pipe.expire(stream, GONE_TTL)
        pipe.execute()


async def follow(client: redis.asyncio.Redis, app: str, after: str, wanted: LogFilter) -> AsyncIterator[LogLine | None]:
    """Lines written after the cursor `after` (from `recent`), as they come, until the app is
    deleted; None every few seconds of silence (so a streaming answer can notice its client left)."""
    reading = {stream: at for stream, at in positions(after, app).items() if stream in streams(app, wanted)}
    while True:
        batch = await client.xread(reading, block=5000, count=500)
        if not batch:
            yield None
            continue
        runs = []
        for stream, items in batch:
            reading[stream] = items[-1][0]
            runs.append([fields for _id, fields in items])
        for fields in merged(*runs):
            if "gone" in fields:
                return
            if "text" in fields and wanted(line := LogLine.from_fields(fields)):
                yield line


def api_lines(event) -> list[str]:
    """What Heroku's API writes in an app's logs (`app[api]: ...`) of an event."""
    data, by = event.data, (event.actor or {}).get("email")
    match event.resource, event.action:
        case "build", "create":
            return [f"Build started by {data['user']['email']}"]
        case "build", "update" if event.previous_data.get("status") == "pending":
            return [f"Build {data['status']}"]
        case "release", "create":  # `Set FOO config vars by x`, then `Release v5 created by x`
            return [f"{data['description']} by {data['user']['email']}", f"Release v{data['version']} created by {data['user']['email']}"]
        case "formation", "update":
            return [f"Scaled to {data['type']}@{data['quantity']}:{data['size']} by {by}"]
        case "dyno", "create":
            return [f"Starting process with command `{data['command']}` by {by}"]
        case "dyno", "stop":
            return [f"Stop {data['name']} by {by}"]
        case "dyno", "restart":
            return [f"Restart {'all processes' if data['scope'] == 'all' else data['scope']} by {by}"]
    return []


def writer(store: LogStore):
    """The logs' consumer of events: their `app[api]` lines; an app destroyed, its logs too."""

    def write(_db, batch) -> None:
        for app_id, of_app in groupby(batch, key=lambda event: str(event.app_id)):  # an app's in a row: at once
            of_app = list(of_app)
            if any((e.resource, e.action) == ("app", "destroy") for e in of_app):
                store.delete(app_id)  # its log goes with it
            elif lines := [LogLine(e.created_at.timestamp(), "app", "api", text) for e in of_app for text in api_lines(e)]:
                store.append(app_id, lines)

    return write
