"""A build's or a release's output: the builder and the runner append lines to a Redis stream
per build or release, closed by an end entry carrying the outcome; the git receiver follows them
live and a later reader can replay them (streams are kept for a day)."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis

STREAM_TTL_SECONDS = 24 * 3600


@dataclass
class End:
    """The last entry of a log stream."""

    ok: bool
    detail: dict


class LogStream:
    def __init__(self, client: redis.Redis, key: str):
        self.client, self.key = client, key

    @classmethod
    def for_build(cls, client: redis.Redis, build_id: object) -> "LogStream":
        return cls(client, f"paas:log:build:{build_id}")

    @classmethod
    def for_release(cls, client: redis.Redis, release_id: object) -> "LogStream":
        return cls(client, f"paas:log:release:{release_id}")

    def write(self, line: str) -> None:
        self.client.xadd(self.key, {"line": line.rstrip("\n")})
        self.client.expire(self.key, STREAM_TTL_SECONDS)

    def end(self, ok: bool, **detail: object) -> None:
        self.client.xadd(self.key, {"end": json.dumps({"ok": ok, **detail}, default=str)})
        self.client.expire(self.key, STREAM_TTL_SECONDS)

    def follow(self, idle_timeout: float) -> Iterator[str | End]:
        """Yield lines from the start, then the End; TimeoutError after `idle_timeout` s of silence."""
        silent_since = time.monotonic()
        for item in self.entries(tick=min(idle_timeout, 1.0)):
            if item is None:
                if time.monotonic() - silent_since >= idle_timeout:
                    raise TimeoutError(f"no output for {idle_timeout:.0f} s")
                continue
            silent_since = time.monotonic()
            yield item
            if isinstance(item, End):
                return

    def entries(self, tick: float) -> Iterator[str | End | None]:
        """Lines from the start, then the End; None after each `tick` s without news, so a
        follower can look around (is the worker alive? where is it in the queue?)."""
        for fields in from_start(self.client, self.key, tick):
            item = None if fields is None else log_item(fields)
            yield item
            if isinstance(item, End):
                return

    def exists(self) -> bool:
        return bool(self.client.exists(self.key))

    def lines(self) -> list[str]:
        """Everything written so far (without the End)."""
        return [fields["line"] for _id, fields in self.client.xrange(self.key) if "line" in fields]


def from_start(client: redis.Redis, key: str, tick: float) -> Iterator[dict | None]:
    """A Redis stream's entries (their fields) from its start, as they come, for ever; None after
    each `tick` s without news."""
    last_id = "0-0"
    while True:
        batch = client.xread({key: last_id}, block=max(1, int(tick * 1000)), count=100)
        if not batch:
            yield None
            continue
        for entry_id, fields in batch[0][1]:
            last_id = entry_id
            yield fields


def log_item(fields: dict) -> str | End:
    """A log stream's entry: a line, or the End."""
    if "end" in fields:
        data = json.loads(fields["end"])
        return End(ok=data.pop("ok"), detail=data)
    return fields["line"]
