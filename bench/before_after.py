"""Benchmarks run on the platform at an older revision and on this checkout's, in one run on
this machine, in rounds: before then after, then after then before, and so on (this machine
gets slower as a long run goes on: alternating shares that out). Both use this machine's
services and PAAS_HOME, each on its own schema (the database is migrated down to the older
revision's newest migration while that one is measured, by this checkout's migrations, and up
again after): the older revision's platform processes are started from a git worktree (with this checkout's
virtualenv), or this checkout's, for each measurement. Prints the median over the rounds of
each median. Used by build_isolation.py and events.py.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIAN = re.compile(r"^(?P<what>[^:]+):\s*(?P<value>[0-9.]+) (?P<unit>s|MB)\b")
Bench = tuple[str, list[str], str]  # a title, the script and its options, what its median lines start with


def platform(root: Path, action: str, env: dict[str, str]) -> None:
    subprocess.run([str(root / "scripts" / "platform.sh"), action], env=env, check=True, capture_output=True)


def schema_head(root: Path) -> str:
    """The newest migration of a checkout (its files' names begin with their revision)."""
    return max(path.name.split("_", 1)[0] for path in (root / "migrations" / "versions").glob("[0-9]*_*.py"))


def migrate(revision: str, env: dict[str, str]) -> None:
    command = "upgrade" if revision == "head" else "downgrade"
    subprocess.run([str(ROOT / ".venv" / "bin" / "alembic"), command, revision], cwd=ROOT, env=env, check=True, capture_output=True)


def measure(root: Path, benches: list[Bench], runs: int, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """{bench: {what: number}} from each bench's median lines (`<what>: <number> s|MB ...`)."""
    migrate("head" if root == ROOT else schema_head(root), env)
    platform(root, "up", env)
    try:
        results = {}
        for title, args, wanted in benches:
            # The bench itself is this checkout's, with its code (a client of either platform).
            bench_env = {key: value for key, value in env.items() if key != "PYTHONPATH"}
            done = subprocess.run([sys.executable, str(ROOT / "bench" / args[0]), *args[1:], "--runs", str(runs)],
                                  env=bench_env, capture_output=True, text=True, timeout=1800, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{title} failed on {root}:\n{done.stdout}\n{done.stderr}")
            found = (MEDIAN.match(line) for line in done.stdout.splitlines() if wanted in line)
            results[title] = {f"{m['what']} ({m['unit']})": float(m["value"]) for m in found if m}
        return results
    finally:
        platform(root, "down", env)


def options(description: str, before: str, runs: int = 3) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--before", default=before)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--rounds", type=int, default=2)
    return parser


def compare(benches: list[Bench], before: str, runs: int, rounds: int) -> None:
    """Each bench on `before` and on this checkout, alternating, `rounds` times; prints the medians."""
    home = Path(os.environ.get("PAAS_HOME", ROOT / ".paas")).resolve()
    env = {**os.environ, "PAAS_HOME": str(home)}
    worktree = Path(tempfile.mkdtemp(prefix="paas-before-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(worktree), before], check=True)
    sides = {"before": (worktree, {**env, "PYTHONPATH": str(worktree / "src")}), "after": (ROOT, env)}
    results: dict[str, list] = {"before": [], "after": []}
    try:
        (worktree / ".venv").symlink_to(ROOT / ".venv")
        platform(ROOT, "down", env)
        for round_ in range(rounds):
            for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                root, side_env = sides[side]
                results[side].append(measure(root, benches, runs, side_env))
                print(f"round {round_ + 1}, {side}: {results[side][-1]}", flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
        migrate("head", env)
        platform(ROOT, "up", env)
    print(f"\nmedians over {rounds} rounds of {runs} runs (before = {before}):")
    for title, _, _ in benches:
        print(f"{title}:")
        for what in results["after"][0][title]:
            before = statistics.median(r[title][what] for r in results["before"])
            after = statistics.median(r[title][what] for r in results["after"])
            print(f"  {what:<45} before {before:6.2f}   after {after:6.2f}   difference {after - before:+.2f}")
