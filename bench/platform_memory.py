"""Memory of the platform's own processes at idle (`make up` first): the API, the build worker
(with its pool) and the runner, each with its children, as proportional set size (PSS, shared
pages split between the processes that share them), so the total is what they really cost.

Usage: python bench/platform_memory.py
"""

from pathlib import Path

import platform_clients  # beside this script


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found + [grand for child in found for grand in children(child)]


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    settings = platform_clients.connect().settings
    total = 0
    for name in ("api", "worker", "runner"):
        pid = int((settings.home / "run" / f"{name}.pid").read_text())
        pids = [pid, *children(pid)]
        kib = sum(pss_kib(p) for p in pids)
        total += kib
        print(f"{name}: {kib / 1024:.0f} MB in {len(pids)} process(es)")
    print(f"platform processes together: {total / 1024:.0f} MB (target < 250 MB)")


if __name__ == "__main__":
    main()
