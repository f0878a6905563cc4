"""The dashboard with many apps (`make up` first): what each page costs the server, what a first
visit transfers, how soon a change reaches an open page, and what collecting metrics costs.

Creates --apps apps (no code) and pushes the sample app to one of them, signs in as the admin
(who sees every app), then:
- server time of each page: --requests GETs of each, one client, p50 and p95 (target p95 < 50 ms);
- bytes a first visit transfers: the apps page and every script and style sheet it loads
  (target < 150 kB);
- change-to-screen: Debian's chromium (Playwright) shows the app's overview; a config var is set
  through the API; the page's own clock notes when the activity list shows it (target < 1 s);
- metrics: the runner's collector thread's CPU over --seconds while --rps requests a second reach
  the app, and the simulated 1,000 apps of bench/metrics_collect.py (target < 2% of a core).
Deletes every app it made at the end.

Usage: python bench/dashboard.py [--apps 1000] [--requests 50] [--changes 10] [--seconds 30] [--rps 50]
"""

import argparse
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

import platform_clients  # beside this script

SAMPLE_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "sample_app"
CHROMIUM = "/usr/bin/chromium"
PAGES = ("/apps", "/apps/{app}", "/apps/{app}/deploys", "/apps/{app}/config", "/apps/{app}/resources",
         "/apps/{app}/domains", "/apps/{app}/access", "/apps/{app}/logs", "/apps/{app}/metrics", "/apps/{app}/settings",
         "/account", "/admin/users", "/admin/audit")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def signed_in(settings) -> httpx.Client:
    browser = httpx.Client(base_url=settings.api_url, timeout=30)
    password = settings.admin_password_file.read_text().strip()
    answer = browser.post("/dashboard/sign-in", data={"email": "admin@paas.localhost", "password": password})
    if answer.status_code != 303:
        raise SystemExit(f"signing in as the admin failed: {answer.status_code} {answer.text[:200]}")
    return browser


def page_times(browser: httpx.Client, app: str, requests: int) -> None:
    print(f"server time of each page ({requests} GETs each, one client; target p95 < 50 ms):")
    for path in PAGES:
        url = "/dashboard" + path.format(app=app)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            answer = browser.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"GET {url}: {answer.status_code}")
        print(f"  {path:24} p50 {statistics.median(timings):6.1f} ms   p95 {percentile(timings, 0.95):6.1f} ms")


def first_visit_bytes(browser: httpx.Client) -> None:
    page = browser.get("/dashboard/apps")
    assets = re.findall(r'(?:src|href)="(/dashboard/static/[^"]+)"', page.text)
    sizes = {url: len(browser.get(url).content) for url in assets}
    total = len(page.content) + sum(sizes.values())
    each = ", ".join(f"{url.rsplit('/', 1)[1]} {size / 1024:.1f}" for url, size in sizes.items())
    print(f"first visit transfers {total / 1024:.1f} kB (the apps page {len(page.content) / 1024:.1f} kB; {each}; "
          "uncompressed; target < 150 kB)")


def change_to_screen(settings, api: httpx.Client, app: str, changes: int) -> None:
    password = settings.admin_password_file.read_text().strip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        page = chromium.new_page(base_url=settings.api_url)
        page.goto("/dashboard/sign-in")
        page.get_by_label("Email").fill("admin@paas.localhost")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Apps").wait_for()
        page.goto(f"/dashboard/apps/{app}")
        page.wait_for_timeout(1000)  # its event stream open
        latencies = []
        for n in range(changes):
            key = f"BENCH_{n}_{secrets.token_hex(3).upper()}"
            # The page's own clock notes when the activity list first names the change.
            page.evaluate("""key => { window.seenAt = null; new MutationObserver((_, observer) => {
                if (document.body.textContent.includes(key)) { window.seenAt = Date.now(); observer.disconnect(); }
            }).observe(document.body, {childList: true, subtree: true, characterData: true}); }""", key)
            started = time.time()
            api.patch(f"/apps/{app}/config-vars", json={key: "1"}).raise_for_status()
            page.wait_for_function("() => window.seenAt !== null", timeout=10_000)
            latencies.append(page.evaluate("() => window.seenAt") / 1000 - started)
            page.wait_for_timeout(300)
        chromium.close()
    print(f"change-to-screen (config set through the API until the open overview shows it, {changes} changes): "
          f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms (target < 1 s)")


def metrics_cost(settings, app: str, seconds: float, rps: int) -> None:
    runner = int((settings.home / "run" / "runner.pid").read_text())
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                started = time.monotonic()
                for _ in range(rps):
                    client.get(f"http://{settings.router_host}:{settings.router_port}/", headers={"Host": settings.app_host(app)})
                stop.wait(max(0.0, 1 - (time.monotonic() - started)))

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    before, wall = platform_clients.cpu_seconds(runner, "metrics"), time.monotonic()
    time.sleep(seconds)
    share = (platform_clients.cpu_seconds(runner, "metrics") - before) / (time.monotonic() - wall)
    stop.set()
    loader.join()
    print(f"the runner's metrics thread, with the apps above and {rps} requests a second: {share * 100:.3f}% of a core")
    simulated = subprocess.run([sys.executable, str(Path(__file__).parent / "metrics_collect.py")], capture_output=True,
                               text=True, timeout=600)
    print("collecting 1,000 apps' metrics (500 running, 2 dynos each), simulated (bench/metrics_collect.py):")
    print("  " + "\n  ".join(simulated.stdout.strip().splitlines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rps", type=int, default=50)
    args = parser.parse_args()
    platform = platform_clients.connect()
    api, settings = platform.api, platform.settings
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    try:
        with platform_clients.many_apps(api, f"dash-{secrets.token_hex(2)}", args.apps) as names:
            app = names[0]
            app_dir = platform_clients.checkout(SAMPLE_APP, workdir / "app")
            pushed = platform_clients.git(app_dir, "push", platform.remote(app), "main", timeout=300)
            if pushed.returncode != 0:
                raise SystemExit(f"push to {app} failed:\n{pushed.stderr}")
            browser = signed_in(settings)
            page_times(browser, app, args.requests)
            first_visit_bytes(browser)
            change_to_screen(settings, api, app, args.changes)
            metrics_cost(settings, app, args.seconds, args.rps)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
