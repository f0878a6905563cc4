"""The one HTTP client of the CLI: auth headers, Heroku-style errors and Range pagination."""

import os
from pathlib import Path

import httpx
import typer

DEFAULT_API_URL = "http://127.0.0.1:5100"
ACCEPT = "application/vnd.heroku+json; version=3"


def fail(message: str) -> None:
    """Heroku CLI style: ` !    message` on stderr, exit status 1."""
    typer.echo(f" !    {message}", err=True)
    raise typer.Exit(1)


def api_url() -> str:
    return os.environ.get("PAAS_API_URL", DEFAULT_API_URL).rstrip("/")


def token() -> str:
    """PAAS_TOKEN wins; otherwise the admin token that `make up` writes into $PAAS_HOME."""
    if os.environ.get("PAAS_TOKEN"):
        return os.environ["PAAS_TOKEN"]
    path = Path(os.environ.get("PAAS_HOME", ".paas")) / "admin-token"
    try:
        return path.read_text().strip()
    except OSError:
        fail(f"No API token: set PAAS_TOKEN or PAAS_HOME (no token at {path}; `make up` writes it).")


class Api:
    def __init__(self) -> None:
        self.url = api_url()
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token()}", "Accept": ACCEPT},
            timeout=30.0,
        )

    def request(self, method: str, path: str, *, json=None, headers=None) -> httpx.Response:
        try:
            response = self.http.request(method, path, json=json, headers=headers)
        except httpx.ConnectError:
            fail(f"Cannot reach the paas API at {self.url}: is paas running? Try `make up`.")
        except httpx.HTTPError as error:
            fail(f"Request to {self.url}{path} failed: {error}")
        if response.is_error:
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


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code} from {response.request.url}: {response.text.strip()[:200]}"
