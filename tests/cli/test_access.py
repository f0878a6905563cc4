"""`paas accounts:create`, `authorizations*`, `access*`, `teams*` against the running platform."""

import secrets

import httpx
import pytest

from tests.cli.conftest import API_URL, paas
from tests.cli.test_main import paas_json

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("env")]


def test_accounts_tokens_teams_and_access(app_name, token):
    email = f"cli-{secrets.token_hex(3)}@example.com"
    made = paas("accounts:create", email, "--name", "Cli")
    assert made.exit_code == 0, made.output
    *_, link, _, their_token = made.output.strip().splitlines()
    assert "/dashboard/set-password?token=" in link
    try:
        assert paas("authorizations", PAAS_TOKEN=their_token).exit_code == 0
        second = paas("authorizations:create", "-d", "ci", PAAS_TOKEN=their_token)
        assert second.exit_code == 0 and len(second.output.strip()) > 20
        ids = [a["id"] for a in paas_json("authorizations", PAAS_TOKEN=their_token) if a["description"] == "ci"]
        assert paas("authorizations:revoke", ids[0], PAAS_TOKEN=their_token).exit_code == 0
        assert httpx.get(f"{API_URL}/account", headers={"Authorization": f"Bearer {second.output.strip()}"}).status_code == 401

        # A personal app's collaborator, then a team app's member with chosen permissions.
        assert paas("access:add", email, "-a", app_name).exit_code == 0
        listed = paas("access", "-a", app_name)
        assert email in listed.output and "collaborator" in listed.output and "deploy" in listed.output
        assert paas("access:remove", email, "-a", app_name).exit_code == 0
        team = f"crew-{secrets.token_hex(3)}"
        assert paas("teams:create", team).exit_code == 0
        assert paas("members:set", email, "-t", team, "--role", "member").exit_code == 0
        assert email in paas("members", "-t", team).output
        assert team in paas("teams", PAAS_TOKEN=their_token).output
        teamed = f"tapp-{secrets.token_hex(3)}"
        httpx.post(f"{API_URL}/teams/apps", json={"team": team, "name": teamed},
                   headers={"Authorization": f"Bearer {token}"}).raise_for_status()
        try:
            granted = paas("access:add", email, "-a", teamed, "--permissions", "deploy")
            assert granted.exit_code == 0 and "view, deploy" in granted.output, granted.output
            refused = paas("access:add", email, "-a", teamed, "--permissions", "fly")
            assert refused.exit_code != 0 and "permissions" in refused.output
        finally:
            httpx.delete(f"{API_URL}/apps/{teamed}", headers={"Authorization": f"Bearer {token}"})
        assert paas("accounts:create", email).exit_code != 0  # taken
    finally:
        httpx.delete(f"{API_URL}/accounts/{email}", headers={"Authorization": f"Bearer {token}"})


def test_quotas_shown_and_set_by_an_admin(token):
    email = f"cli-{secrets.token_hex(3)}@example.com"
    made = paas("accounts:create", email)
    assert made.exit_code == 0, made.output
    their_token = made.output.strip().splitlines()[-1]
    try:
        assert paas("quotas:set", email, "apps=3", "dynos=0").exit_code == 0
        mine = paas_json("quotas", PAAS_TOKEN=their_token)
        assert mine["apps"] == {"limit": 3, "used": 0} and mine["dynos"]["limit"] == 0
        assert paas("quotas:set", email, "apps=default").exit_code == 0
        assert paas_json("quotas", email)["apps"]["limit"] == 100
        shown = paas("quotas", PAAS_TOKEN=their_token)
        assert shown.exit_code == 0 and "one_off_dynos" in shown.output
        refused = paas("quotas:set", email, "apps=3", PAAS_TOKEN=their_token)  # no admin
        assert refused.exit_code != 0 and "admins" in refused.output
        bad = paas("quotas:set", email, "apps=many")
        assert bad.exit_code != 0 and "QUOTA=N" in bad.output
    finally:
        httpx.delete(f"{API_URL}/accounts/{email}", headers={"Authorization": f"Bearer {token}"})
