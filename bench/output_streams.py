"""The API's latency with many open build output streams, against the running platform (`make up` first).

A real build prints a line every second for a few minutes (a Dockerfile whose RUN step ticks).
The bench opens --streams of its signed `output_stream_url` at once (an httpx AsyncClient to the
API, in a process of its own) and counts a stream open once it has read a tick line. It measures
GET /account (a cheap authenticated call, by a user of the bench's own) --calls times in a row,
with no stream open and then with all of them open: p50 and p99, each call given 10 s (a call
that takes longer counts as a timeout, and the probe stops after 60 s). Then it closes the
streams, deletes the app and disables its user.

One command:  .venv/bin/python bench/output_streams.py [--streams 1000] [--calls 300]
"""

import argparse
import asyncio
import io
import multiprocessing
import secrets
import statistics
import tarfile
import time

import httpx
import platform_clients  # beside this script

CALL_TIMEOUT = 10.0
PROBE_BUDGET = 60.0  # seconds: a starved API must not keep the bench for calls x CALL_TIMEOUT
OPEN_BUDGET = 120.0


def ticking_source(seconds: int, every: int) -> bytes:
    """A Dockerfile app whose build prints `tick N` every `every` seconds for `seconds`, as a .tar.gz."""
    files = {
        "Dockerfile": "FROM paas/stack:bookworm\n"
                      f"RUN for i in $(seq 1 {max(1, seconds // every)}); do echo \"tick $i\"; sleep {every}; done\n"
                      'CMD ["python3", "-m", "http.server", "--bind", "0.0.0.0", "5000"]\n',
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def start_ticking_build(api: httpx.Client, app: str, seconds: int, every: int) -> dict:
    blob = api.post("/sources").raise_for_status().json()["source_blob"]
    httpx.put(blob["put_url"], content=ticking_source(seconds, every), timeout=30).raise_for_status()
    return api.post(f"/apps/{app}/builds", json={"source_blob": {"url": blob["get_url"], "version": "ticks"}}).raise_for_status().json()


def wait_for_tick(url: str, timeout: float = 300) -> None:
    """Until the build runs its RUN step (it may wait for a free build worker first)."""
    with httpx.stream("GET", url, timeout=httpx.Timeout(timeout)) as response:
        deadline = time.monotonic() + timeout
        for line in response.iter_lines():
            if line.strip().startswith("tick "):
                return
            if time.monotonic() > deadline:
                break
    raise SystemExit(f"the build printed no tick within {timeout:.0f} s")


class Streams:
    """`count` open output streams, held by an event loop in a process of its own (so that the
    probe's latency is the API's, not this process' time shared with a thousand readers)."""

    def __init__(self, url: str, count: int):
        self.url, self.count = url, count
        self.live = multiprocessing.Value("i", 0)  # streams that have read a tick line
        self.failures = multiprocessing.Queue()
        self.stopping = multiprocessing.Event()
        self.process = multiprocessing.Process(target=lambda: asyncio.run(self.hold()), daemon=True)

    async def hold(self) -> None:
        limits = httpx.Limits(max_connections=self.count + 10, max_keepalive_connections=0)
        # No read timeout: a stream waits for the next line as long as the bench holds it.
        timeout = httpx.Timeout(OPEN_BUDGET, read=None)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            tasks = [asyncio.create_task(self.one(client)) for _ in range(self.count)]
            while not self.stopping.is_set():
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def one(self, client: httpx.AsyncClient) -> None:
        try:
            async with client.stream("GET", self.url) as response:
                if response.status_code != 200:
                    self.failures.put(f"HTTP {response.status_code}")
                    return
                counted = False
                async for line in response.aiter_lines():
                    if not counted and line.strip().startswith("tick "):
                        counted = True
                        with self.live.get_lock():
                            self.live.value += 1
        except httpx.HTTPError as error:
            self.failures.put(type(error).__name__)

    def __enter__(self) -> "Streams":
        self.process.start()
        deadline = time.monotonic() + OPEN_BUDGET
        while self.live.value < self.count and time.monotonic() < deadline and self.process.is_alive():
            time.sleep(0.1)
        return self

    def failed(self) -> list[str]:
        found = []
        while not self.failures.empty():
            found.append(self.failures.get())
        return found

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.process.join(60)


def probe(client: httpx.Client, calls: int) -> tuple[list[float], int]:
    """Seconds of each GET /account that answered 200, and how many did not (timeouts, errors)."""
    took, failed = [], 0
    budget = time.monotonic() + PROBE_BUDGET
    for _ in range(calls):
        if time.monotonic() > budget:
            break
        started = time.monotonic()
        try:
            ok = client.get("/account").status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            took.append(time.monotonic() - started)
        else:
            failed += 1
    return took, failed


def summary(took: list[float], failed: int) -> str:
    if len(took) < 2:
        return f"{len(took)} answered, {failed} failed or timed out (> {CALL_TIMEOUT:.0f} s)"
    cuts = statistics.quantiles(took, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms ({len(took)} answered, {failed} failed or timed out)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--build-seconds", type=int, default=180, help="how long the build ticks")
    parser.add_argument("--every", type=int, default=1, help="seconds between ticks (0 < every < build-seconds)")
    options = parser.parse_args()
    platform = platform_clients.connect()
    api = platform.api
    name = f"bench-{secrets.token_hex(3)}"
    user = api.post("/accounts", json={"email": f"{name}@bench.example.com"}).raise_for_status().json()
    prober = httpx.Client(base_url=platform.settings.api_url, headers={"Authorization": f"Bearer {user['token']}"},
                          timeout=CALL_TIMEOUT)
    api.post("/apps", json={"name": name}).raise_for_status()
    try:
        build = start_ticking_build(api, name, options.build_seconds, options.every)
        url = build["output_stream_url"]
        wait_for_tick(url)
        before = probe(prober, options.calls)
        print(f"GET /account, no stream open:       {summary(*before)}", flush=True)
        started = time.monotonic()
        with Streams(url, options.streams) as streams:
            opened = time.monotonic() - started
            failed = streams.failed()
            print(f"{streams.live.value} of {options.streams} streams open and live in {opened:.1f} s"
                  + (f" ({len(failed)} failed: {sorted(set(failed))})" if failed else ""), flush=True)
            during = probe(prober, options.calls)
            print(f"GET /account, {streams.live.value} streams open: {summary(*during)}", flush=True)
        after = probe(prober, min(options.calls, 100))
        print(f"GET /account, streams closed:       {summary(*after)}", flush=True)
    finally:
        api.delete(f"/apps/{name}")
        api.delete(f"/accounts/{user['id']}")
        prober.close()


if __name__ == "__main__":
    main()
