"""One one-off run: the API asks, the runner runs, and an attached client talks through Redis."""

import base64
import json
from collections.abc import Iterator

import redis

from paas.channels.output import STREAM_TTL_SECONDS, from_start
from paas.channels.runner import RUN_QUEUE

RUN_REQUEST_TTL = 60  # seconds the runner has to take a run the API asked for
ATTACH_TIMEOUT = 60.0  # seconds an attached run waits for its client before it is given up
ENDED_RUN_TTL = 600  # seconds a run's channel is kept once it has ended


class RunChannel:
    """One one-off run. The request (taken once by the runner); its output, then its exit code,
    as a stream the attached client reads from the start; its input (stdin bytes, end of input,
    hang-up), as a stream the runner reads. Bytes travel base64-encoded. Its grant: whose token
    asked for it, so that its attached client is let in (and kept) only while that token may."""

    def __init__(self, client: redis.Redis, run_id: str):
        self.client, self.run_id = client, run_id
        self.request_key, self.output_key, self.input_key, self.grant_key = (
            f"paas:run:{run_id}:request", f"paas:run:{run_id}:out", f"paas:run:{run_id}:in", f"paas:run:{run_id}:grant",
        )

    def grant(self, token_hash: str, app_id: str) -> None:
        """The token's hash, never the token; kept as long as the attach URL opens."""
        self.client.set(self.grant_key, json.dumps({"token_hash": token_hash, "app_id": app_id}), ex=int(ATTACH_TIMEOUT) + 5)

    def ask(self, request: dict) -> None:
        """The request, for the runner to take when the run's event tells it to (`start`)."""
        self.client.set(self.request_key, json.dumps(request), ex=RUN_REQUEST_TTL)

    def start(self) -> None:
        """The runner's inbox gets the run (its consumer of events does this)."""
        self.client.rpush(RUN_QUEUE, self.run_id)

    def take(self) -> dict | None:
        """The request, once (it carries the run's env, so it does not stay in Redis)."""
        data = self.client.getdel(self.request_key)
        return json.loads(data) if data else None

    def _add(self, key: str, fields: dict) -> None:
        self.client.xadd(key, fields, maxlen=10_000, approximate=True)
        self.client.expire(key, STREAM_TTL_SECONDS)

    def output(self, data: bytes) -> None:
        self._add(self.output_key, {"data": base64.b64encode(data).decode()})

    def taken(self) -> None:
        """The runner has the run (the attached client waits for it, not for a runner that is down)."""
        self._add(self.output_key, {"taken": "1"})

    def exited(self, status: int, message: str = "") -> None:
        self._add(self.output_key, {"exit": str(status), "message": message})
        for key in (self.output_key, self.input_key):  # its output may hold secrets (`run env`)
            self.client.expire(key, ENDED_RUN_TTL)

    def hang_up(self) -> None:
        self._add(self.input_key, {"event": "hangup"})

    def inputs(self, block: float) -> Iterator[bytes | str | None]:
        """Stdin bytes; "attached", "eof" and "hangup" as they come; None every `block` s of silence."""
        for fields in from_start(self.client, self.input_key, block):
            if fields is None:
                yield None
            else:
                yield base64.b64decode(fields["data"]) if "data" in fields else fields["event"]
