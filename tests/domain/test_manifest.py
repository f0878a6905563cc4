"""app.json, parsed: what it declares, every problem listed at once (hypothesis for any JSON)."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.domain import manifest
from paas.domain.manifest import ManifestErrors
from paas.settings import DYNO_SIZES

FULL = {
    "name": "shop", "description": "A shop", "keywords": ["python"], "repository": "https://example.com/shop",
    "env": {"GREETING": "hello", "SECRET_KEY": {"description": "signs cookies", "generator": "secret"},
            "API_TOKEN": {"description": "the upstream's", "required": True}, "OPTIONAL": {"required": False}},
    "formation": {"web": {"quantity": 2, "size": "standard-1x"}, "worker": {"quantity": 1}},
    "addons": ["heroku-postgresql", {"plan": "redis:mini", "as": "CACHE", "options": {"version": "7"}}],
    "buildpacks": [{"url": "heroku/python"}],
    "stack": "bookworm",
    "scripts": {"postdeploy": "python seed.py", "pr-predestroy": "python teardown.py"},
    "cron": [{"command": "python report.py", "schedule": "0 6 * * *"}],
    "environments": {"review": {"env": {"GREETING": "review"}, "formation": {"web": {"quantity": 1}}, "addons": ["heroku-postgresql"]},
                     "test": {"scripts": {"test": "pytest"}}},
}


def test_a_full_manifest_is_read_and_an_environment_overrides_the_top_level():
    top = manifest.parse(json.dumps(FULL), sizes=DYNO_SIZES)
    assert top.env["GREETING"].value == "hello" and top.env["SECRET_KEY"].generator == "secret"
    assert top.formation == {"web": {"quantity": 2, "size": "standard-1x"}, "worker": {"quantity": 1}}
    assert [(a.plan, a.as_, a.options) for a in top.addons] == [("heroku-postgresql", None, {}), ("redis:mini", "CACHE", {"version": "7"})]
    assert top.buildpacks == ("heroku/python",) and top.stack == "bookworm" and top.scripts["postdeploy"] == "python seed.py"
    assert top.cron == ({"command": "python report.py", "schedule": "0 6 * * *"},)
    review = manifest.parse(json.dumps(FULL), "review", DYNO_SIZES)
    assert review.env["GREETING"].value == "review" and "SECRET_KEY" in review.env  # env merged key by key
    assert review.formation["web"] == {"quantity": 1} and review.formation["worker"] == {"quantity": 1}
    assert [a.plan for a in review.addons] == ["heroku-postgresql"]  # a list is replaced whole
    assert manifest.parse(json.dumps(FULL), "test").scripts == {**FULL["scripts"], "test": "pytest"}


def test_config_takes_given_values_then_its_own_then_generated_secrets_and_names_every_missing_one():
    parsed = manifest.parse(json.dumps(FULL))
    with pytest.raises(ManifestErrors) as missing:
        parsed.config()
    assert missing.value.errors == ["env.API_TOKEN: required, and no value was given"]
    config = parsed.config({"API_TOKEN": "t0k", "EXTRA": "x"})
    assert config["API_TOKEN"] == "t0k" and config["GREETING"] == "hello" and config["EXTRA"] == "x" and "OPTIONAL" not in config
    assert len(config["SECRET_KEY"]) == 64 and config["SECRET_KEY"] != parsed.config({"API_TOKEN": "t"})["SECRET_KEY"]


def test_every_problem_is_listed_at_once():
    bad = {
        "nmae": "typo", "keywords": "python", "env": {"PORT": "1", "9BAD": "x", "A": {"generator": "uuid"}, "B": []},
        "formation": {"web": {"quantity": -1}, "worker": {"quantity": 1, "size": "huge"}},
        "addons": ["mysql", {"plan": "postgresql", "as": "lower"}], "buildpacks": ["heroku/python"], "stack": "cedar-14",
        "scripts": {"predeploy": "x"}, "cron": [{"command": "x", "schedule": "every day"}],
        "environments": {"staging": {}, "review": {"env": {"C": {"value": 3}}}},
    }
    with pytest.raises(ManifestErrors) as refused:
        manifest.parse(json.dumps(bad), sizes=DYNO_SIZES)
    errors = refused.value.errors
    for expected in ("nmae: not a key of app.json", "keywords: must be a list of strings", "env.PORT: not a config var name",
                     "env.9BAD: not a config var name", 'env.A.generator: only "secret" is known', "env.B: must be a string or an object",
                     "formation.web.quantity: must be a whole number", "formation.worker.size: size must be one of",
                     "addons[0].plan: Couldn't find either the add-on service", "addons[1].as: must be an attachment name",
                     'buildpacks[0]: must be {"url": "..."}', "stack: must be one of", "scripts.predeploy: only postdeploy",
                     "cron[0]: schedule must be five cron fields", "environments.staging: only review and test are read",
                     "environments.review.env.C.value: must be a string"):
        assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert len(errors) == len(set(errors)) == 16
    assert refused.value.details == {"manifest_errors": errors} and refused.value.status == 422


@pytest.mark.parametrize("text, error", [("", "app.json is not JSON"), ("[]", "app.json must be a JSON object"),
                                         (b"\xff\xfe", "app.json is not JSON"), ("{" * 10, "app.json is not JSON"),
                                         (" " * (manifest.MAX_BYTES + 1), "app.json is over 256 kB")])
def test_what_is_no_manifest_says_so(text, error):
    with pytest.raises(ManifestErrors) as refused:
        manifest.parse(text)
    assert refused.value.errors[0].startswith(error)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=20)


@given(st.dictionaries(st.sampled_from([*manifest.KNOWN, "other"]), json_values, max_size=6), st.sampled_from([None, "review", "test"]))
def test_any_json_is_a_manifest_or_a_list_of_problems(data, environment):
    try:
        parsed = manifest.from_dict(data, environment, DYNO_SIZES)
    except ManifestErrors as refused:
        assert refused.errors and all(isinstance(e, str) and e for e in refused.errors)
        assert refused.details["manifest_errors"] == refused.errors
    else:
        assert isinstance(parsed, manifest.Manifest)
        for key, var in parsed.env.items():
            assert var.value is None or isinstance(var.value, str)
