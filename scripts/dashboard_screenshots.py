"""The README's screenshots of the dashboard (`make up` first): a demo app is pushed, given some
traffic and a config var, its pages are shot in Debian's chromium into docs/screenshots/, and the
app is deleted.

Usage: .venv/bin/python scripts/dashboard_screenshots.py
"""

import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from paas.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PAGES = {"apps": "", "overview": "/{app}", "deploys": "/{app}/deploys", "config": "/{app}/config",
         "resources": "/{app}/resources", "logs": "/{app}/logs", "metrics": "/{app}/metrics"}


def main() -> None:
    settings = Settings()
    token = settings.admin_token_file.read_text().strip()
    api = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    app = f"demo-{secrets.token_hex(2)}"
    work = Path(tempfile.mkdtemp(prefix="paas-shots-"))
    api.post("/apps", json={"name": app}).raise_for_status()
    try:
        shutil.copytree(ROOT / "tests" / "e2e" / "sample_app", work / "app")
        git = ["git", "-c", "user.email=demo@paas.localhost", "-c", "user.name=demo"]
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "The demo app"],
                     ["push", "-q", f"http://paas:{token}@{settings.api_url.removeprefix('http://')}/{app}.git", "main"]):
            subprocess.run(git + args, cwd=work / "app", check=True, capture_output=True, timeout=300)
        api.patch(f"/apps/{app}/config-vars", json={"GREETING": "hello", "DATABASE_POOL": "5"}).raise_for_status()
        router = f"http://{settings.router_host}:{settings.router_port}"
        for second in range(40):  # traffic for the plots and the log
            for _ in range(5 + second % 7):
                httpx.get(router + "/", headers={"Host": settings.app_host(app)}, timeout=10)
            time.sleep(0.5)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = chromium.new_page(base_url=settings.api_url, viewport={"width": 1280, "height": 800})
            page.goto("/dashboard/sign-in")
            page.get_by_label("Email").fill("admin@paas.localhost")
            page.get_by_label("Password").fill(settings.admin_password_file.read_text().strip())
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Apps").wait_for()
            for name, path in PAGES.items():
                page.goto("/dashboard/apps" + path.format(app=app))
                page.wait_for_timeout(1500)  # scripts: plots drawn, the log tail in
                page.screenshot(path=OUT / f"{name}.png")
                print(OUT / f"{name}.png")
            chromium.close()
    finally:
        api.delete(f"/apps/{app}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
