"""Events: change-to-webhook latency, and the publisher's throughput and cost, against the running
platform (`make up` with PAAS_OUTBOUND_ALLOW=127.0.0.1/32 so webhooks may reach this host).

- latency: `--changes` config changes of an app, one after another, each with a notify webhook
  to a receiver of this script's on 127.0.0.1; from the API call's start until the receiver
  has the delivery. p50 and p99.
- throughput (last): `--burst` config changes made in one transaction (straight through the domain
  services, as an API call would), then the time until the publisher has delivered all their
  events: events per second.
- cost: CPU (user + system, from /proc) as a share of one core of the publisher's thread, the
  webhook sender's and the whole runner process, over `--seconds` idle first, then over as long
  at 1,000 changes a minute.

- then push-to-live and rollback of the Dockerfile sample (a no-change redeploy and a one-file
  change) on the platform at `--before` (default: main before events) and on this checkout's,
  alternating (bench/before_after.py); `--runs 0` skips that.

Only 127.0.0.1 is sent traffic; every loop is bounded. Prints the numbers.
Usage: python bench/events.py [--changes 200] [--burst 2000] [--seconds 30] [--before REV] [--runs 5] [--rounds 2]
"""

import secrets
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import before_after  # beside this script
import platform_clients
from sqlalchemy import func, select

from paas.domain import accounts, apps, config
from paas.domain.crypto import ConfigCipher, load_keys
from paas.domain.db import make_sessionmaker
from paas.domain.models import Event

TIMEOUT = 60.0
BEFORE = "333bd1f"  # main before events
BENCHES = [("Dockerfile sample, no-change redeploy", ["push_to_live.py"], "median"),
           ("Dockerfile sample, one-file change", ["push_to_live.py", "--change"], "median")]


class Receiver:
    """Notes when each delivery arrives, by the config change it tells of."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.monotonic()
                with receiver.got:
                    receiver.arrived[body.decode()] = now
                    receiver.got.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, text: str) -> float:
        deadline = time.monotonic() + TIMEOUT
        with self.got:
            while True:
                for body, at in self.arrived.items():
                    if text in body:
                        return at
                if not self.got.wait(max(0.0, deadline - time.monotonic())):
                    raise SystemExit(f"no delivery of {text!r} within {TIMEOUT:.0f} s (is 127.0.0.1 allowed?)")


def cpu(pid: int) -> dict[str, float]:
    return {what: platform_clients.cpu_seconds(pid, thread) for what, thread in (("runner", None), ("publisher", "publisher"), ("webhooks", "webhooks"))}


def shares(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    return {what: (after[what] - before[what]) / seconds * 100 for what in before}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = before_after.options(__doc__.splitlines()[0], BEFORE, runs=5)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    options = parser.parse_args()
    platform = platform_clients.connect()
    api, settings = platform.api, platform.settings
    receiver = Receiver()
    app = "bench-ev-" + secrets.token_hex(3)
    api.post("/apps", json={"name": app}).raise_for_status()
    runner = int((settings.home / "run" / "runner.pid").read_text())
    try:
        api.post(f"/apps/{app}/webhooks", json={"include": ["api:config-vars"], "level": "notify", "url": receiver.url}).raise_for_status()
        before = cpu(runner)
        time.sleep(options.seconds)
        idle = shares(before, cpu(runner), options.seconds)

        latencies = []
        for n in range(options.changes):
            started = time.monotonic()
            api.patch(f"/apps/{app}/config-vars", json={f"L{n}": "1"}).raise_for_status()
            latencies.append(receiver.wait_for(f'"set": ["L{n}"]') - started)
        print(f"change-to-webhook over {options.changes} changes: p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")

        before, started, n = cpu(runner), time.monotonic(), 0
        while time.monotonic() - started < options.seconds:
            api.patch(f"/apps/{app}/config-vars", json={"R": str(n)}).raise_for_status()
            n += 1
            time.sleep(max(0.0, started + n * 0.06 - time.monotonic()))  # 1,000 a minute
        busy = shares(before, cpu(runner), time.monotonic() - started)
        receiver.wait_for('"set": ["R"]')
        print(f"CPU, % of a core, idle -> at {n / (time.monotonic() - started) * 60:.0f} changes a minute: "
              + ", ".join(f"{what} {idle[what]:.1f} -> {busy[what]:.1f}" for what in busy)
              + " (the runner's reconciles of the app are in its own)")

        sessions = make_sessionmaker(settings)
        cipher = ConfigCipher(load_keys(settings))
        with sessions() as db:
            made = apps.get_app(db, app)
            owner = accounts.find_user(db, api.get("/account").json()["email"])
            for n in range(options.burst):
                config.update_config(db, cipher, made, owner, {f"B{n % 50}": str(n)})
            last = db.scalar(select(func.max(Event.seq)))
            started = time.monotonic()
            db.commit()
        with sessions() as db:
            deadline = started + TIMEOUT * 5
            while db.scalar(select(Event.position).where(Event.seq == last)) is None:
                if time.monotonic() > deadline:
                    raise SystemExit("the burst was not delivered in time")
                time.sleep(0.01)
                db.rollback()
        took = time.monotonic() - started
        print(f"publisher: {options.burst * 2} events (a burst of {options.burst} changes) delivered in {took:.2f} s: "
              f"{options.burst * 2 / took:.0f} events/s")
    finally:
        api.delete(f"/apps/{app}")
        receiver.server.shutdown()
    if options.runs:
        before_after.compare(BENCHES, options.before, options.runs, options.rounds)


if __name__ == "__main__":
    main()
