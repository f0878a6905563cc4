"""`paas login`, `logout`, `auth:*`, `accounts:create`, `authorizations*`, `quotas*`, and git's credential helper: who uses the platform, with which tokens and limits."""

import os
import sys
from typing import Annotated
from urllib.parse import quote

import typer

from paas.cli import credentials
from paas.cli.client import Api, api_url, error_message, fail, find_token, token
from paas.cli.common import JsonOpt, app, print_json, print_table


@app.command("login")
def login(token: Annotated[str | None, typer.Option(help="API token; asked for (hidden) when omitted.")] = None):
    """Save an API token for this API URL (used by the CLI and by `git push`)."""
    url = api_url()
    if token is None:
        token = typer.prompt(f"API token for {url}", hide_input=True, default="", show_default=False)
    token = token.strip()
    if not token:
        fail("No token given.")
    response = Api(token).request("GET", "/account", check=False)
    if response.is_error:
        reason = error_message(response).rstrip(".")
        if response.status_code in (401, 403):
            reason = f"the token was refused ({reason})"
        fail(f"Login to {url} failed: {reason}. Nothing was saved.")
    try:
        path = credentials.save(url, token)
    except (credentials.CredentialsError, OSError) as error:
        fail(f"Could not save the token: {error}")
    typer.echo(f"Logged in as {response.json().get('email', '?')}")
    if os.environ.get("PAAS_TOKEN") and os.environ["PAAS_TOKEN"] != token:
        typer.echo(f"Note: PAAS_TOKEN is set and wins over the token saved in {path}.", err=True)


@app.command("logout")
def logout():
    """Forget the token saved for this API URL."""
    url = api_url()
    try:
        removed = credentials.remove(url)
    except (credentials.CredentialsError, OSError) as error:
        fail(str(error))
    typer.echo(f"Logged out of {url}" if removed else f"Not logged in to {url}")


@app.command("auth:whoami")
def whoami():
    """Print the email of the account the token belongs to."""
    typer.echo(Api().get("/account")["email"])


@app.command("auth:token")
def auth_token():
    """Print the API token the CLI uses (for scripts: `curl -H "Authorization: Bearer $(paas auth:token)"`)."""
    typer.echo(token())


@app.command("git-credential", hidden=True)
def git_credential(action: Annotated[str, typer.Argument(help="get, store or erase (git's helper protocol).")]):
    """git credential helper: answers `get` for the API's host with the CLI's token."""
    if action != "get":
        return  # store/erase: the token lives in the credentials file, not in git
    try:
        request = credentials.parse_git_request(sys.stdin)
        url = api_url()
        if not credentials.matches_api(request, url):
            return  # another host: not ours to answer, and no token is even looked up
        answer = credentials.git_answer(request, url, find_token(url))
    except Exception:  # never break git: without an answer it falls back to its own prompting
        return
    sys.stdout.write(answer)


@app.command("accounts:create")
def accounts_create(email: str, name: Annotated[str | None, typer.Option(help="The user's name.")] = None, as_json: JsonOpt = False):
    """Make a user's account (admins only) and print their first API token and a one-time link
    where they set their dashboard password, once.
    Example: paas accounts:create dev@example.com --name Dev"""
    made = Api().post("/accounts", {"email": email, **({"name": name} if name else {})})
    if as_json:
        return print_json(made)
    typer.echo(f"Created {made['email']}. Where they set their dashboard password (a one-time link, valid for a day):")
    typer.echo(made["password_url"])
    typer.echo("Their API token (shown this once; give it to them for `paas login`), last, for scripts:")
    typer.echo(made["token"])


@app.command("accounts:password-link")
def accounts_password_link(email: str):
    """Print a new one-time link where a user sets their dashboard password (admins only).
    Example: paas accounts:password-link dev@example.com"""
    made = Api().post(f"/accounts/{quote(email, safe='')}/password-link", {})
    typer.echo(f"Where {email} sets a new dashboard password (a one-time link, valid for a day; it signs them out everywhere):")
    typer.echo(made["password_url"])


@app.command("authorizations")
def authorizations(as_json: JsonOpt = False):
    """List your API tokens (their values are never shown again).  Example: paas authorizations"""
    items = Api().list("/oauth/authorizations")
    if as_json:
        return print_json(items)
    print_table(("ID", "Description", "Created"), [(a["id"], a["description"], a["created_at"][:16]) for a in items])


@app.command("authorizations:create")
def authorizations_create(description: Annotated[str, typer.Option("--description", "-d", help="What it is for.")] = "",
                          as_json: JsonOpt = False):
    """Make another API token for yourself and print it, once.  Example: paas authorizations:create -d ci"""
    made = Api().post("/oauth/authorizations", {"description": description})
    if as_json:
        return print_json(made)
    typer.echo(made["access_token"]["token"])


@app.command("authorizations:revoke")
def authorizations_revoke(ident: str):
    """Revoke one of your API tokens by its ID.  Example: paas authorizations:revoke 1f0c..."""
    Api().delete(f"/oauth/authorizations/{quote(ident, safe='')}")
    typer.echo(f"Revoked {ident}")


@app.command("quotas")
def quotas(email: Annotated[str | None, typer.Argument(help="Another user's (admins only).")] = None, as_json: JsonOpt = False):
    """Your quotas and what you use of each, or a user's.  Example: paas quotas dev@example.com"""
    print_quotas(Api().get(f"/accounts/{quote(email, safe='')}/quotas" if email else "/account/quotas"), as_json)


@app.command("quotas:set")
def quotas_set(email: str, changes: Annotated[list[str], typer.Argument(help="QUOTA=N, or QUOTA=default.")], as_json: JsonOpt = False):
    """Set a user's quotas (admins only).  Example: paas quotas:set dev@example.com apps=5 dynos=default"""
    body: dict[str, int | None] = {}
    for change in changes:
        quota, sep, value = change.partition("=")
        if not sep or not (value.isdigit() or value == "default"):
            raise typer.BadParameter(f"{change!r}: give QUOTA=N or QUOTA=default (apps, addons, dynos, one_off_dynos, authorizations).")
        body[quota] = None if value == "default" else int(value)
    print_quotas(Api().patch(f"/accounts/{quote(email, safe='')}/quotas", body), as_json)


def print_quotas(shown: dict, as_json: bool) -> None:
    if as_json:
        return print_json(shown)
    print_table(("Quota", "Used", "Limit"), [(q, str(v["used"]), "none" if v["limit"] is None else str(v["limit"]))
                                            for q, v in shown.items()])
