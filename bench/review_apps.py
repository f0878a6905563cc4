"""Branch push to a serving review app, against the running platform (`make up` first): a pipeline
whose production app is the backing sample app (Postgres, a postdeploy that seeds a row), review
apps on; each run pushes a new branch and times `git push` (it returns once the review app is
live: a new app, its own new Postgres server, the build, postdeploy) until the review app answers
with its seeded row. Then the branch is deleted and the time until the review app and its server
are gone is measured too. Usage: python bench/review_apps.py [--runs 3]
"""

import argparse
import json
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import platform_clients  # beside this script
from push_to_live import git

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "tests" / "e2e" / "test_app_setups.py").read_text().split('SEED = """', 1)[1].split('"""', 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    platform = platform_clients.connect()
    api, router, router_url, settings = platform.api, platform.router, platform.router_url, platform.settings
    prod = f"bench-{secrets.token_hex(3)}"
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    try:
        source = workdir / "source"
        shutil.copytree(ROOT / "tests" / "e2e" / "apps" / "backing", source)
        (source / "seed.py").write_text(SEED)
        (source / "app.json").write_text(json.dumps({"addons": ["heroku-postgresql"], "scripts": {"postdeploy": "python3 /app/seed.py"}}))
        api.post("/apps", json={"name": prod}).raise_for_status()
        app_dir = platform_clients.checkout(source, workdir / "app")
        remote = platform.remote(prod)
        if (pushed := git(app_dir, "push", remote, "main")).returncode != 0:
            raise SystemExit(f"push failed:\n{pushed.stderr}")
        api.post("/pipelines", json={"name": prod}).raise_for_status()
        api.post("/pipeline-couplings", json={"app": prod, "pipeline": prod, "stage": "production"}).raise_for_status()
        api.post(f"/pipelines/{prod}/review-app-config", json={}).raise_for_status()
        up, down = [], []
        for run in range(1, runs + 1):
            branch = f"feature-{run}"
            git(app_dir, "checkout", "-q", "-b", branch)
            (app_dir / "NOTES").write_text(f"{run}\n")
            git(app_dir, "add", "NOTES")
            git(app_dir, "commit", "-qm", branch)
            started = time.monotonic()
            if (pushed := git(app_dir, "push", remote, branch)).returncode != 0:
                raise SystemExit(f"branch push failed:\n{pushed.stderr}")
            review = next(r for r in api.get(f"/pipelines/{prod}/review-apps").json() if r["branch"] == branch)
            name = api.get(f"/apps/{review['app']['id']}").json()["name"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answer = router.get(f"{router_url}db/read", headers={"Host": settings.app_host(name)})
                if answer.status_code == 200 and answer.json()["rows"] == ["seeded"]:
                    break
                time.sleep(0.05)
            up.append(time.monotonic() - started)
            started = time.monotonic()
            git(app_dir, "push", remote, f":{branch}")
            while api.get(f"/review-apps/{review['id']}").json()["status"] != "deleted" and time.monotonic() - started < 120:
                time.sleep(0.1)
            down.append(time.monotonic() - started)
            git(app_dir, "checkout", "-q", "main")
            print(f"run {run}: branch push to a serving review app {up[-1]:.1f} s; branch deleted to app destroyed {down[-1]:.1f} s", flush=True)
        print(f"branch push to serving review app (new Postgres, build, postdeploy): median {statistics.median(up):.1f} s, max {max(up):.1f} s")
        print(f"branch deletion to review app destroyed (no pr-predestroy here; its server is removed right after): median {statistics.median(down):.1f} s")
    finally:
        api.delete(f"/pipelines/{prod}")
        api.delete(f"/apps/{prod}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
