"""End-to-end fixtures: everything goes through the platform that `make up` started."""

import http.client
import os
import secrets
import shutil
import string
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from paas.settings import Settings

SAMPLE_APP = Path(__file__).parent / "sample_app"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def token(settings) -> str:
    path = settings.admin_token_file
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make up` first (make test does)")
    return path.read_text().strip()


@pytest.fixture(scope="session")
def api(settings, token):
    client = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        client.get("/account").raise_for_status()
    except httpx.HTTPError as error:
        pytest.fail(f"the paas API at {settings.api_url} does not answer ({error}): run `make up`")
    yield client
    client.close()


@pytest.fixture
def app_name(api, settings):
    """A fresh app, deleted at the end of the test."""
    name = "t-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    response = api.post("/apps", json={"name": name})
    assert response.status_code == 201, response.text
    yield name
    api.delete(f"/apps/{name}")


class Router:
    def __init__(self, settings: Settings):
        self.settings = settings

    def get(self, app: str, path: str = "/") -> httpx.Response:
        # A new connection per request, as curl makes: Caddy closes idle keep-alive connections
        # whenever its config changes, and a request sent on one at that moment is lost (known;
        # keep-alive clients across route changes belong to the zero-downtime work).
        return httpx.get(
            f"http://{self.settings.router_host}:{self.settings.router_port}{path}",
            headers={"Host": self.settings.app_host(app)},
            timeout=10,
        )

    def wait_for(self, app: str, predicate, timeout: float = 30) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(app)
            if predicate(response) or time.monotonic() > deadline:
                return response
            time.sleep(0.1)


def platform(settings, step: str, **env: str) -> None:
    """`scripts/platform.sh up` or `down` for the platform the tests use (with `env` for its settings)."""
    subprocess.run([str(ROOT / "scripts" / "platform.sh"), step], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "PAAS_HOME": str(settings.home), **env})


@pytest.fixture(scope="session")
def router(settings):
    return Router(settings)


class Checkout:
    """A real git working copy of a sample app (the Dockerfile one unless told), pushed with the real git CLI."""

    def __init__(self, path: Path, remote: str, source: Path = SAMPLE_APP):
        self.path, self.remote = path, remote
        shutil.copytree(source, path)
        self.git("init", "-q", "-b", "main")
        self.commit("version 1")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-c", "user.email=test@paas.localhost", "-c", "user.name=test", *args],
            cwd=self.path, capture_output=True, text=True, check=check, timeout=300,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},  # a missing credential fails instead of prompting
        )

    def write(self, name: str, text: str) -> None:
        (self.path / name).write_text(text)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push(self, remote: str | None = None, ref: str = "main") -> subprocess.CompletedProcess:
        return self.git("push", remote or self.remote, ref, check=False)

    def remote_refs(self) -> dict[str, str]:
        """Ref name -> sha, as the server has them."""
        lines = self.git("ls-remote", self.remote).stdout.splitlines()
        return {ref: sha for sha, ref in (line.split("\t") for line in lines)}


@pytest.fixture
def checkout(tmp_path, settings, token, app_name) -> Checkout:
    host = settings.api_url.removeprefix("http://")
    return Checkout(tmp_path / "app", f"http://paas:{token}@{host}/{app_name}.git")


APPS = Path(__file__).parent / "apps"


@pytest.fixture
def new_app(api, settings, token, tmp_path):
    """Make more apps in one test: new_app("flask") -> (name, Checkout of tests/e2e/apps/flask)."""
    made = []

    def make(source: str | Path) -> tuple[str, Checkout]:
        name = "t-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
        response = api.post("/apps", json={"name": name})
        assert response.status_code == 201, response.text
        made.append(name)
        host = settings.api_url.removeprefix("http://")
        path = source if isinstance(source, Path) else APPS / source
        return name, Checkout(tmp_path / name, f"http://paas:{token}@{host}/{name}.git", source=path)

    yield make
    for name in made:
        api.delete(f"/apps/{name}")


@pytest.fixture(scope="session")
def engine(settings):
    """The Docker engine the platform runs apps on, to look at their containers from outside."""
    import docker

    client = docker.DockerClient(base_url=settings.docker_url)
    yield client
    client.close()


def app_containers(engine, settings, app: str, process_type: str | None = None) -> list:
    labels = [f"paas.instance={settings.instance}", f"paas.app={app}"]
    if process_type:
        labels.append(f"paas.process={process_type}")
    return engine.containers.list(filters={"label": labels}, ignore_removed=True)  # some are being removed


def eventually(probe, timeout: float = 60, what: str = "the condition"):
    """probe() until it returns something true; its last value otherwise fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s (last: {value!r})")
        time.sleep(0.2)


class Load:
    """A bounded request loop through the router (127.0.0.1 only); every answer whose status is not
    `allowed` and every connection error is a failure. keep_alive: one connection for the whole
    run (a reset or a close by the router is a failure, then it reconnects)."""

    def __init__(self, settings, app: str, keep_alive: bool, allowed: tuple[int, ...] = (200,)):
        self.settings, self.host, self.keep_alive, self.allowed = settings, settings.app_host(app), keep_alive, allowed
        self.sent, self.failures, self.connections = 0, [], 1
        self.answers: dict[tuple[int, bytes], int] = {}  # (status, body) -> how many
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        return http.client.HTTPConnection(self.settings.router_host, self.settings.router_port, timeout=10)

    def run(self):
        connection = self.connect()
        deadline = time.monotonic() + 240
        while not self.stopping.is_set() and time.monotonic() < deadline and self.sent < 20000:
            try:
                if not self.keep_alive:
                    connection.close()
                    connection = self.connect()
                connection.request("GET", "/", headers={"Host": self.host})
                response = connection.getresponse()
                answer = (response.status, response.read())
                self.answers[answer] = self.answers.get(answer, 0) + 1
                if response.status not in self.allowed:
                    self.failures.append(response.status)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(type(error).__name__)
                connection.close()
                connection = self.connect()
                self.connections += 1
            self.sent += 1
            time.sleep(0.005)
        connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(30)
