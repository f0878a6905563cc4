"""What build isolation costs a push, before and after, in one run on this machine.

Runs the push-to-live benchmarks (the Dockerfile sample: a no-change redeploy and a one-file
change; the Flask sample through the python buildpack: cold and warm) on the platform at
`--before` (a git revision; default: the last commit before Dockerfile builds moved to rootless
buildah in a sandbox), then on this checkout's. Both use this machine's services and PAAS_HOME:
the bench stops this checkout's platform processes, starts the older revision's from a git
worktree (with this checkout's virtualenv), measures, then starts this checkout's again and
measures. `make up` first.

Usage: python bench/build_isolation.py [--before REV] [--runs N]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "51fdf25"  # main before build isolation
BENCHES = [("Dockerfile sample, no-change redeploy", ["push_to_live.py"], "push-to-live median"),
           ("Dockerfile sample, one-file change", ["push_to_live.py", "--change"], "push-to-live median"),
           ("Flask buildpack sample", ["buildpack_push.py"], "median")]


def platform(root: Path, action: str, env: dict[str, str]) -> None:
    subprocess.run([str(root / "scripts" / "platform.sh"), action], env=env, check=True, capture_output=True)


def measure(root: Path, runs: int, env: dict[str, str]) -> dict[str, list[str]]:
    platform(root, "up", env)
    try:
        results = {}
        for title, args, wanted in BENCHES:
            done = subprocess.run([sys.executable, str(ROOT / "bench" / args[0]), *args[1:], "--runs", str(runs)],
                                  env=env, capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                raise SystemExit(f"{title} failed on {root}:\n{done.stdout}\n{done.stderr}")
            results[title] = [line for line in done.stdout.splitlines() if wanted in line]
        return results
    finally:
        platform(root, "down", env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    home = Path(os.environ.get("PAAS_HOME", ROOT / ".paas")).resolve()
    env = {**os.environ, "PAAS_HOME": str(home)}
    worktree = Path(tempfile.mkdtemp(prefix="paas-before-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(worktree), options.before], check=True)
    try:
        (worktree / ".venv").symlink_to(ROOT / ".venv")
        platform(ROOT, "down", env)
        before = measure(worktree, options.runs, {**env, "PYTHONPATH": str(worktree / "src")})
        after = measure(ROOT, options.runs, env)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
        platform(ROOT, "up", env)
    for title, _, _ in BENCHES:
        print(f"{title}:")
        for label, results in ((f"before ({options.before})", before), ("after", after)):
            for line in results[title]:
                print(f"  {label:<18} {' '.join(line.split())}")


if __name__ == "__main__":
    main()
