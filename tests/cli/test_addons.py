"""`paas addons*` and `paas domains*` against the running platform."""

import pytest

from tests.cli.conftest import paas
from tests.cli.test_main import paas_json

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("env")]


def test_addons_verbs(app_name, new_name):
    made = paas("addons:create", "redis", "-a", app_name)
    assert made.exit_code == 0, made.output
    assert "as REDIS_URL" in made.output and "done" in made.output
    [addon] = paas_json("addons", "-a", app_name)
    assert (addon["plan"]["name"], addon["state"]) == ("redis:mini", "provisioned")
    listed = paas("addons", "-a", app_name)
    assert addon["name"] in listed.output and "REDIS_URL" in listed.output

    other = new_name()
    assert paas("apps", "create", other).exit_code == 0
    attached = paas("addons:attach", addon["name"], "-a", other, "--as", "SESSIONS")
    assert attached.exit_code == 0 and "SESSIONS_URL" in attached.output, attached.output
    info = paas("addons:info", addon["name"], "-a", app_name)
    assert f"{other}::SESSIONS" in info.output and f"{app_name}::REDIS" in info.output
    assert paas("addons:detach", "SESSIONS", "-a", other).exit_code == 0
    assert paas_json("addons", "-a", other) == []

    assert paas("addons:create", "external", "-a", app_name, "--as", "MAILER", "--url", "smtp://mail.example:25").exit_code == 0
    assert paas_json("config", "-a", app_name)["MAILER_URL"] == "smtp://mail.example:25"
    wrong = paas("addons:create", "redis:nope", "-a", app_name)
    assert wrong.exit_code != 0 and "no plan 'nope'" in wrong.output
    refused = paas("addons:destroy", addon["name"], "-a", app_name, "--confirm", "not-it")
    assert refused.exit_code != 0 and "Nothing was destroyed" in refused.output
    assert paas("addons:destroy", addon["name"], "-a", app_name, "--confirm", app_name).exit_code == 0
    assert [a["name"] for a in paas_json("addons", "-a", app_name)] != [addon["name"]]


def test_domains_verbs(app_name):
    added = paas("domains:add", f"www.{app_name}.test", "-a", app_name)
    assert added.exit_code == 0 and f"at {app_name}." in added.output, added.output
    listed = paas("domains", "-a", app_name)
    assert f"www.{app_name}.test" in listed.output and "custom" in listed.output and "heroku" in listed.output
    assert paas("domains:add", f"www.{app_name}.test", "-a", app_name).exit_code != 0  # already added
    assert paas("domains:remove", f"www.{app_name}.test", "-a", app_name).exit_code == 0
    assert [d["kind"] for d in paas_json("domains", "-a", app_name)] == ["heroku"]
