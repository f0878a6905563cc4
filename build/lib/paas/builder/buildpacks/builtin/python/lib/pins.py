"""Print the pinned runtime dependencies of a lock file as requirement lines.

    python3 pins.py poetry.lock|Pipfile.lock

Dev-only packages are left out. Runs with the stack's python3 (3.11 or newer: tomllib).
"""

import json
import sys
import tomllib


def poetry(path: str) -> list[str]:
    with open(path, "rb") as f:
        lock = tomllib.load(f)
    lines = []
    for package in lock.get("package", []):
        # Poetry 1.x marks each package with a category; 2.x lists the groups that need it.
        groups = package.get("groups")
        if groups is not None and "main" not in groups:
            continue
        if groups is None and package.get("category", "main") != "main":
            continue
        source = package.get("source") or {}
        if source.get("type") == "git":
            line = f"{package['name']} @ git+{source['url']}@{source.get('resolved_reference') or source.get('reference')}"
        elif source.get("type") in ("directory", "file"):
            line = f"{package['name']} @ file://{source['url']}" if source["url"].startswith("/") else source["url"]
        else:
            line = f"{package['name']}=={package['version']}"
        markers = package.get("markers")
        if isinstance(markers, dict):  # Poetry 2: markers per group
            markers = markers.get("main")
        if isinstance(markers, str) and markers:
            line += f" ; {markers}"
        lines.append(line)
    return lines


def pipenv(path: str) -> list[str]:
    with open(path) as f:
        lock = json.load(f)
    lines = []
    for name, spec in lock.get("default", {}).items():
        if "git" in spec:
            ref = spec.get("ref")
            line = f"{name} @ git+{spec['git']}" + (f"@{ref}" if ref else "")
        elif "path" in spec or "file" in spec:
            line = spec.get("path") or spec["file"]
        else:
            extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
            line = f"{name}{extras}{spec.get('version', '')}"
        if spec.get("markers"):
            line += f" ; {spec['markers']}"
        lines.append(line)
    return lines


if __name__ == "__main__":
    lock_path = sys.argv[1]
    pins = poetry(lock_path) if lock_path.endswith("poetry.lock") else pipenv(lock_path)
    print("\n".join(pins))
