"""What collecting apps' metrics costs, simulated: of 1,000 apps, 500 run 2 web dynos each.
Every 10 s of simulated time, each running app's Window takes N router requests and one cgroup
read and sample per dyno (from a fake cgroup v1 tree on disk), closes its bucket and writes the
points to a Store in a temporary directory. Prints the CPU used (time.process_time) per
simulated minute as a share of a core, split by phase, the cost of one real cgroup read on this
host if Docker runs containers here, and the disk used. Parsing the router's access lines is
not included (the router's access log parses them already).

Usage: python bench/metrics_collect.py [--apps 1000] [--running 500] [--dynos 2] [--requests 100] [--minutes 5]
(from a checkout whose package is installed, or with PYTHONPATH=src)
"""

import argparse
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from paas.metrics.aggregate import Window
from paas.metrics.cgroups import CGROUP_ROOT, container_usage
from paas.metrics.store import RECORD, RINGS, Store


def fake_cgroups(root: Path, container_ids: list[str]) -> None:
    for container_id in container_ids:
        (root / "cpuacct" / "docker" / container_id).mkdir(parents=True)
        (root / "cpuacct" / "docker" / container_id / "cpuacct.usage").write_text("72959456\n")
        memory = root / "memory" / "docker" / container_id
        memory.mkdir(parents=True)
        (memory / "memory.usage_in_bytes").write_text("10108928\n")
        (memory / "memory.limit_in_bytes").write_text("536870912\n")
        (memory / "memory.stat").write_text("cache 8192\nrss 9445376\ntotal_cache 8192\ntotal_inactive_file 8192\n" * 3)


def real_read_us() -> float | None:
    """One real cgroup read on this host (v1, cgroupfs driver), if Docker runs containers here."""
    try:
        ids = [name for name in os.listdir(CGROUP_ROOT / "cpuacct" / "docker") if len(name) == 64]
    except FileNotFoundError:
        return None
    if not ids:
        return None
    started, reads = time.process_time(), 0
    while time.process_time() - started < 0.5:
        container_usage(ids[reads % len(ids)])
        reads += 1
    return (time.process_time() - started) / reads * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--running", type=int, default=500)
    parser.add_argument("--dynos", type=int, default=2)
    parser.add_argument("--requests", type=int, default=100, help="per running app per 10 s")
    parser.add_argument("--minutes", type=int, default=5, help="of simulated time")
    args = parser.parse_args()

    rng = random.Random(1)
    # Made beforehand, so that making them is not measured.
    traffic = [(rng.choice((200,) * 8 + (302, 404, 500)), rng.lognormvariate(3, 1)) for _ in range(10_007)]
    app_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(args.apps)]
    running = app_ids[:args.running]
    dynos = {app_id: [(f"web.{n}", f"{rng.getrandbits(256):064x}") for n in range(1, args.dynos + 1)] for app_id in running}

    with tempfile.TemporaryDirectory() as tmp:
        cgroups, store = Path(tmp) / "cgroup", Store(Path(tmp) / "metrics")
        fake_cgroups(cgroups, [container_id for pairs in dynos.values() for _, container_id in pairs])
        start = int(time.time() // 60 * 60)
        windows = {app_id: Window(start) for app_id in running}
        phases = {"requests": 0.0, "cgroup reads and samples": 0.0, "close and write": 0.0}
        offset = 0
        for tick in range(args.minutes * 6):
            now = start + 10 * tick
            began = time.process_time()
            for app_id in running:
                window = windows[app_id]
                for status, ms in traffic[offset:offset + args.requests]:
                    window.request(status, ms)
                offset = (offset + args.requests) % (len(traffic) - args.requests)
            sampled = time.process_time()
            for app_id in running:
                window = windows[app_id]
                for dyno, container_id in dynos[app_id]:
                    usage = container_usage(container_id, cgroups)
                    window.dyno_sample(dyno, usage.cpu_seconds_total + tick, usage.memory_bytes, usage.limit_bytes or 0, now + 5)
            closing = time.process_time()
            for app_id in running:
                for step, point in windows[app_id].close(now + 10):
                    store.write(app_id, "web", step, point)
            ended = time.process_time()
            phases["requests"] += sampled - began
            phases["cgroup reads and samples"] += closing - sampled
            phases["close and write"] += ended - closing

        used = sum(f.stat().st_blocks * 512 for f in store.root.rglob("*.ring"))
        full = sum(slots for _, slots in RINGS.values()) * RECORD.size

    print(f"{args.apps} apps, {args.running} running x {args.dynos} dynos, {args.requests} requests per app per 10 s, {args.minutes} simulated minutes")
    for phase, seconds in phases.items():
        print(f"  {phase}: {seconds / args.minutes * 1000:.1f} ms CPU per minute")
    total = sum(phases.values()) / args.minutes
    print(f"collection: {total:.3f} s CPU per minute = {total / 60 * 100:.2f}% of a core")
    real = real_read_us()
    if real is not None:
        print(f"one real cgroup read here: {real:.1f} us (x {args.running * args.dynos} dynos every 10 s = {real * args.running * args.dynos * 6 / 60 / 1e4:.2f}% of a core)")
    print(f"disk: {used / 1e6:.1f} MB used after {args.minutes} minutes; {full:,} bytes per process type when full (7 days),"
          f" {full * args.apps / 1e6:.0f} MB for {args.apps} apps of one process type")


if __name__ == "__main__":
    main()
