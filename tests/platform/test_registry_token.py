"""The registry's token endpoint (`GET /registry/token`), as Docker calls it: the builder's or
the runner's registry password (Basic, no API token), scopes in the query; a token scoped to
what that user may do, refused to everyone else."""

import time

import pytest
from fastapi.testclient import TestClient

from paas import registry_auth
from tests.test_registry_auth import basic, certificate_of, make_home, verified

PATH = "/registry/token"
PUSH = "repository:shop:pull,push"


@pytest.fixture
def realm(platform_app, api_settings):
    make_home(api_settings.home)
    with TestClient(platform_app) as client:
        yield client


def ask(realm, user: str, password: str, *scopes: str):
    return realm.get(PATH, params={"service": registry_auth.SERVICE, "scope": list(scopes)},
                     headers={"Authorization": basic(user, password)})


def test_each_user_gets_its_own_rights(realm, api_settings):
    certificate = certificate_of(api_settings.home)
    answers = {user: ask(realm, user, f"{user}-secret", PUSH, "repository:paas/stack:pull") for user in ("builder", "runner")}
    assert all(a.status_code == 200 and a.headers["cache-control"] == "no-store" for a in answers.values())
    claims = {user: verified(a.json()["token"], certificate)[1] for user, a in answers.items()}
    assert claims["builder"]["access"] == [{"type": "repository", "name": "shop", "actions": ["pull", "push"]},
                                           {"type": "repository", "name": "paas/stack", "actions": ["pull"]}]
    assert claims["runner"]["access"] == [{"type": "repository", "name": "shop", "actions": ["pull"]},
                                          {"type": "repository", "name": "paas/stack", "actions": ["pull"]}]
    assert claims["runner"]["sub"] == "runner" and claims["runner"]["aud"] == registry_auth.SERVICE


def test_docker_s_space_separated_scopes_are_each_granted(realm, api_settings):
    answer = realm.get(PATH, params={"scope": f"{PUSH} repository:base:pull"}, headers={"Authorization": basic("builder", "builder-secret")})
    access = verified(answer.json()["token"], certificate_of(api_settings.home))[1]["access"]
    assert [entry["name"] for entry in access] == ["shop", "base"]


def test_a_bad_password_an_unknown_user_and_no_credentials_get_401(realm, token):
    for headers in ({"Authorization": basic("builder", "runner-secret")}, {"Authorization": basic("runner", "")},
                    {"Authorization": basic("admin", "builder-secret")}, {"Authorization": f"Bearer {token}"}, {}):
        answer = realm.get(PATH, params={"scope": PUSH}, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["id"] == "unauthorized" and "token" not in answer.json()
        assert answer.headers["www-authenticate"].startswith("Basic ")
    assert ask(realm, "builder", "builder-secret", PUSH).status_code == 200  # positive control


def test_a_token_expires_within_minutes(realm, api_settings):
    before = int(time.time())
    answer = ask(realm, "runner", "runner-secret", "repository:shop:pull").json()
    claims = verified(answer["token"], certificate_of(api_settings.home))[1]
    assert answer["expires_in"] == registry_auth.TOKEN_TTL == claims["exp"] - claims["iat"] <= 300
    assert before <= claims["iat"] <= int(time.time()) and claims["nbf"] == claims["iat"]
