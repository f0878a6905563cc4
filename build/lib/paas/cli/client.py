"""The one HTTP client of the CLI: auth headers, Heroku-style errors and Range pagination."""

import os
from pathlib import Path

import httpx
import typer

from paas.cli import credentials

DEFAULT_API_URL = "http://127.0.0.1:5100"
ACCEPT = "application/vnd.heroku+json; version=3"


def fail(message: str) -> None:
    """Heroku CLI style: ` !    message` on stderr, exit status 1."""
    typer.echo(f" !    {message}", err=True)
    raise typer.Exit(1)


def api_url() -> str:
    return os.environ.get("PAAS_API_URL", DEFAULT_API_URL).rstrip("/")


def admin_token_path() -> Path:
    return Path(os.environ.get("PAAS_HOME", ".paas")) / "admin-token"


def find_token(url: str | None = None) -> str | None:
    """PAAS_TOKEN, else the token `paas login` saved for this API URL, else `$PAAS_HOME/admin-token`."""
    if os.environ.get("PAAS_TOKEN"):
        return os.environ["PAAS_TOKEN"]
    if saved := credentials.lookup(url or api_url()):
        return saved
    try:
        return admin_token_path().read_text().strip() or None
    except OSError:
        return None


def token() -> str:
    url = api_url()
    if found := find_token(url):
        return found
    try:
        credentials.read_all()
        saved = f"no entry for it in {credentials.credentials_path()}"
    except credentials.CredentialsError as error:
        saved = str(error).rstrip(".")
    fail(
        f"No API token for {url}: run `paas login`, or set PAAS_TOKEN, or set PAAS_HOME "
        f"(no PAAS_TOKEN; {saved}; no token at {admin_token_path()}, which `make up` writes)."
    )


class Api:
    def __init__(self, token_value: str | None = None) -> None:
        self.url = api_url()
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token_value or token()}", "Accept": ACCEPT},
            timeout=30.0,
        )

    def request(self, method: str, path: str, *, json=None, headers=None, check: bool = True) -> httpx.Response:
        """The response; with check (the default) an error status is reported and exits 1."""
        try:
            response = self.http.request(method, path, json=json, headers=headers)
        except httpx.ConnectError:
            fail(f"Cannot reach the paas API at {self.url}: is paas running? Try `make up`.")
        except httpx.HTTPError as error:
            fail(f"Request to {self.url}{path} failed: {error}")
        if check and response.is_error:
            fail(error_message(response))
        return response

    def get(self, path: str):
        return self.request("GET", path).json()

    def post(self, path: str, body: dict):
        return self.request("POST", path, json=body).json()

    def patch(self, path: str, body: dict):
        return self.request("PATCH", path, json=body).json()

    def delete(self, path: str):
        return self.request("DELETE", path).json()

    def list(self, path: str, range_: str | None = None) -> list:
        """Every page of a list: a 206 with `Next-Range` means ask again with that as `Range`."""
        items: list = []
        while True:
            response = self.request("GET", path, headers={"Range": range_} if range_ else None)
            items.extend(response.json())
            range_ = response.headers.get("Next-Range")
            if response.status_code != 206 or not range_:
                return items

    def latest_release(self, app: str) -> dict | None:
        page = self.request("GET", f"/apps/{app}/releases", headers={"Range": "version ..; max=1, order=desc"}).json()
        return page[0] if page else None


def print_stream(url: str, what: str) -> None:
    """Print a text output URL (a build's, a release's) as it comes, until it ends."""
    try:
        with httpx.stream("GET", url, timeout=httpx.Timeout(30, read=None)) as response:
            if response.is_error:
                fail(f"The {what} could not be read: HTTP {response.status_code}")
            for line in response.iter_lines():
                typer.echo(line)
    except httpx.HTTPError as error:
        fail(f"The {what} could not be read: {error}")


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code} from {response.request.url}: {response.text.strip()[:200]}"
