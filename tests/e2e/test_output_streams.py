"""Build output URLs end to end, on a real build that prints a tick a second: a thousand open
streams hold no thread (the API answers everything else at once, and closing them frees their
sockets); a stream ends within seconds of its user's losing access; an expired URL is refused."""

import asyncio
import io
import re
import secrets
import tarfile
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis

from paas.domain.crypto import load_key
from paas.signing import Signer
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

STREAMS = 1000
TICK = re.compile(r"^\s*tick (\d+)$")


def ticking_source(seconds: int) -> bytes:
    """A Dockerfile app whose build prints `tick N` every second for `seconds`, as a .tar.gz."""
    dockerfile = ("FROM paas/stack:bookworm\n"
                  f'RUN for i in $(seq 1 {seconds}); do echo "tick $i"; sleep 1; done\n'
                  'CMD ["python3", "-m", "http.server", "--bind", "0.0.0.0", "5000"]\n').encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        archive.addfile(info, io.BytesIO(dockerfile))
    return buffer.getvalue()


def first_tick(url: str, timeout: float = 300) -> int:
    """The first tick read at `url` (the build may wait for a free worker first)."""
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if found := TICK.match(line):
                return int(found[1])
            assert time.monotonic() < deadline, "no tick in time"
    pytest.fail("the build ended before it ticked")


@pytest.fixture(scope="module")
def ticking(settings, token):
    """(app name, build id) of a build that ticks for two and a half minutes; the app goes after the module."""
    api = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    name = f"t-ticks-{secrets.token_hex(4)}"
    api.post("/apps", json={"name": name}).raise_for_status()
    try:
        blob = api.post("/sources").raise_for_status().json()["source_blob"]
        httpx.put(blob["put_url"], content=ticking_source(150), timeout=30).raise_for_status()
        build = api.post(f"/apps/{name}/builds", json={"source_blob": {"url": blob["get_url"], "version": "ticks"}}).json()
        first_tick(build["output_stream_url"])
        yield name, build["id"]
    finally:
        api.delete(f"/apps/{name}")
        api.close()


def api_pid(settings) -> int:
    return int((settings.home / "run" / "api.pid").read_text())


def open_sockets(pid: int) -> int:
    return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if fd.resolve().name.startswith("socket:"))


class Streams:
    """`count` streams of `url` read by an event loop in a thread; each keeps its latest tick."""

    def __init__(self, url: str, count: int):
        self.url, self.count = url, count
        self.ticks: list[int | None] = [None] * count  # the latest tick each stream read
        self.statuses: list[int | None] = [None] * count
        self.errors: list[str] = []
        self.finished = 0  # streams the API ended (not their client)
        self.ended = threading.Event()  # ... all of them
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.hold(),), daemon=True)

    async def hold(self) -> None:
        limits = httpx.Limits(max_connections=self.count + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120, read=None)) as client:
            tasks = [asyncio.create_task(self.one(client, i)) for i in range(self.count)]
            await self.stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def one(self, client: httpx.AsyncClient, i: int) -> None:
        try:
            async with client.stream("GET", self.url) as response:
                self.statuses[i] = response.status_code
                async for line in response.aiter_lines():
                    if found := TICK.match(line):
                        self.ticks[i] = int(found[1])
            self.finished += 1
            if self.finished == self.count:
                self.ended.set()
        except httpx.HTTPError as error:
            self.errors.append(repr(error))

    def live_past(self, tick: int) -> bool:
        """Has every stream read a tick after `tick`?"""
        return all(t is not None and t > tick for t in self.ticks)

    def newest(self) -> int:
        return max(t for t in self.ticks if t is not None)

    def __enter__(self) -> "Streams":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(60)
        assert not self.thread.is_alive()


def test_a_thousand_open_output_streams_leave_the_api_quick(api, settings, ticking):
    name, build_id = ticking
    url = api.get(f"/apps/{name}/builds/{build_id}").json()["output_stream_url"]
    pid = api_pid(settings)
    sockets_before = open_sockets(pid)
    store = redis.Redis.from_url(settings.redis_url)
    redis_clients_before = store.info("clients")["connected_clients"]
    with Streams(url, STREAMS) as streams:
        eventually(lambda: streams.live_past(0), timeout=120, what=f"all {STREAMS} streams reading ticks")
        assert streams.errors == [] and set(streams.statuses) == {200}
        # The API holds every one of them open (a socket each) and no Redis connection each.
        assert open_sockets(pid) >= sockets_before + STREAMS
        assert store.info("clients")["connected_clients"] < redis_clients_before + 200
        # Other calls answer at once, each of them, while the streams stay open.
        for _ in range(30):
            for path in ("/account", f"/apps/{name}", f"/apps/{name}/builds/{build_id}"):
                started = time.monotonic()
                assert api.get(path, timeout=10).status_code == 200
                assert time.monotonic() - started < 2, path
        # Live: every stream reads a tick printed after the calls above.
        now = streams.newest()
        eventually(lambda: streams.live_past(now), timeout=30, what=f"all {STREAMS} streams reading new ticks")
    # Closed by their clients: the API lets go of their sockets.
    eventually(lambda: open_sockets(pid) < sockets_before + 50, timeout=20, what="the streams' sockets closed")
    store.close()


def test_a_stream_ends_soon_after_its_user_loses_access(api, settings, ticking):
    name, build_id = ticking
    helpers = []
    for which in ("removed", "disabled"):
        made = api.post("/accounts", json={"email": f"{which}-{int(time.time() * 1000)}@example.com"}).json()
        assert api.post(f"/apps/{name}/collaborators", json={"user": made["email"]}).status_code == 201
        as_them = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {made['token']}"}, timeout=30)
        helpers.append((made, as_them.get(f"/apps/{name}/builds/{build_id}").json()["output_stream_url"]))
        as_them.close()
    owners = api.get(f"/apps/{name}/builds/{build_id}").json()["output_stream_url"]
    with Streams(helpers[0][1], 1) as removed, Streams(helpers[1][1], 1) as disabled, Streams(owners, 1) as kept:
        for streams in (removed, disabled, kept):  # all three read: the positive control
            eventually(lambda streams=streams: streams.live_past(0), timeout=30, what="the stream reading ticks")
        assert api.delete(f"/apps/{name}/collaborators/{helpers[0][0]['email']}").status_code == 200
        assert api.delete(f"/accounts/{helpers[1][0]['id']}").status_code == 200
        cut = time.monotonic()
        for streams in (removed, disabled):
            assert streams.ended.wait(20), "the stream did not end"
        assert time.monotonic() - cut < 15
        # The owner's stream goes on, reading ticks printed after the others ended.
        now = kept.newest()
        eventually(lambda: kept.live_past(now), timeout=30, what="the owner's stream still reading")
        assert not kept.ended.is_set()
    # Opening their URLs again is refused, with the API's error shape.
    for _user, url in helpers:
        refused = httpx.get(url, timeout=30)
        assert refused.status_code == 403 and set(refused.json()) == {"id", "message"}, refused.text
    api.delete(f"/accounts/{helpers[0][0]['id']}")


def test_an_expired_output_url_is_refused_and_a_fresh_one_opens(api, settings, ticking):
    name, build_id = ticking
    url = api.get(f"/apps/{name}/builds/{build_id}").json()["output_stream_url"]
    path, query = url.removeprefix(settings.api_url).split("?", 1)
    user = re.search(r"user=([0-9a-f-]+)", query)[1]
    expired = Signer(load_key(settings)).signed(settings.api_url, path, ttl=-1, user=user)
    refused = httpx.get(expired, timeout=30)
    assert refused.status_code == 403 and set(refused.json()) == {"id", "message"}, refused.text
    assert "expired" in refused.json()["message"]
    assert first_tick(url) > 0  # the fresh one, the same but for its expiry, streams
