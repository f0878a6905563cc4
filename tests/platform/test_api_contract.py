"""What every answer of the API is, as Heroku's: JSON errors with an id, a Request-Id, the rate
limit left, version 3 only, 416 for a Range it cannot satisfy, and never a 500 for bad input."""

import json
import uuid
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paas.domain import accounts
from paas.platform.app import create_app


def test_every_answer_has_a_request_id(client):
    for answer in (client.get("/account"), client.get("/apps/nosuch"), client.get("/apps", headers={"Authorization": ""}),
                   client.get("/nosuch.git/info/refs?service=git-upload-pack")):
        assert uuid.UUID(answer.headers["Request-Id"])
    assert client.get("/account", headers={"X-Request-Id": "trace-42.a"}).headers["Request-Id"] == "trace-42.a"
    assert client.get("/account", headers={"X-Request-Id": "no spaces\t"}).headers["Request-Id"] != "no spaces\t"


def test_version_3_is_spoken_and_others_refused(client):
    assert client.get("/account", headers={"Accept": "application/vnd.heroku+json; version=3.sdk"}).status_code == 200
    assert client.get("/account", headers={"Accept": "application/json"}).status_code == 200
    refused = client.get("/account", headers={"Accept": "application/vnd.heroku+json; version=2"})
    assert refused.status_code == 406 and refused.json()["id"] == "not_acceptable"


def test_the_rate_limit_is_the_users_across_all_their_tokens(api_settings, test_sessionmaker, token):
    app = create_app(api_settings.model_copy(update={"api_rate_limit": 4}))
    app.api.state.platform.sessionmaker = test_sessionmaker
    with test_sessionmaker() as db:
        second = accounts.issue_token(db, accounts.ensure_user(db, "dev@example.com"))  # the same user's
        other = accounts.issue_token(db, accounts.ensure_user(db, "other@example.com"))
        db.commit()
    with TestClient(app) as c:
        def get(path: str, with_token: str):
            return c.get(path, headers={"Authorization": f"Bearer {with_token}"})

        assert get("/account", token).headers["RateLimit-Remaining"] == "3"
        assert get("/account", second).headers["RateLimit-Remaining"] == "2"
        assert get("/account/rate-limits", token).json() == {"remaining": 1}  # the request itself counts
        assert get("/account", second).headers["RateLimit-Remaining"] == "0"
        for spent in (token, second):  # a token minted after the fact has no budget of its own either
            over = get("/account", spent)
            assert over.status_code == 429 and over.json()["id"] == "rate_limit" and over.headers["RateLimit-Remaining"] == "0"
        with test_sessionmaker() as db:
            third = accounts.issue_token(db, accounts.ensure_user(db, "dev@example.com"))
            db.commit()
        assert get("/account", third).status_code == 429
        # Another user's budget is their own.
        mine = get("/account", other)
        assert mine.status_code == 200 and mine.headers["RateLimit-Remaining"] == "3"
        assert "RateLimit-Remaining" not in c.get("/account", headers={"Authorization": ""}).headers
        assert "RateLimit-Remaining" not in get("/account", "no-such-token").headers


def test_malformed_json_is_a_bad_request_after_authentication(client):
    headers = {"Content-Type": "application/json"}
    assert client.post("/apps", content=b"{nope", headers={**headers, "Authorization": ""}).status_code == 401
    told = client.post("/apps", content=b"{nope", headers=headers)
    assert told.status_code == 400 and told.json() == {"id": "bad_request", "message": "The request body is not valid JSON."}


def test_a_crash_answers_json_not_text(platform_app, token):
    def boom():
        raise RuntimeError("a bug")

    platform_app.api.add_api_route("/boom", boom)
    with TestClient(platform_app, raise_server_exceptions=False) as c:
        answer = c.get("/boom", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 500 and answer.json()["id"] == "internal_server_error" and "a bug" not in answer.text


def test_ranges_heroku_cannot_satisfy_are_416_and_the_end_bound_holds(client):
    client.post("/apps", json={"name": "ranged"}).raise_for_status()
    for n in range(4):
        client.patch("/apps/ranged/config-vars", json={"N": str(n)}).raise_for_status()
    between = client.get("/apps/ranged/releases", headers={"Range": "version 2..4; max=2"})
    assert between.status_code == 206 and [r["version"] for r in between.json()] == [2, 3]
    rest = client.get("/apps/ranged/releases", headers={"Range": between.headers["Next-Range"]})
    assert rest.status_code == 200 and [r["version"] for r in rest.json()] == [4]
    for header in ("version ..; max=\u00b2", "version x..", "bogus ..", "version ..; order=up", "version \u00b2.."):
        told = client.get("/apps/ranged/releases", headers={"Range": header.encode()})
        assert told.status_code == 416 and told.json()["id"] == "requested_range_not_satisfiable", header
    for version in ("\u00b2", "v99999999999999999999", "v-1"):
        told = client.get(f"/apps/ranged/releases/{quote(version)}")
        assert told.status_code == 404 and told.json()["id"] == "not_found", version


def test_more_than_200_releases_page_with_next_range(client):
    client.post("/apps", json={"name": "many"}).raise_for_status()
    for n in range(205):
        client.patch("/apps/many/config-vars", json={"N": str(n)}).raise_for_status()
    first = client.get("/apps/many/releases")
    assert first.status_code == 206 and len(first.json()) == 200
    rest = client.get("/apps/many/releases", headers={"Range": first.headers["Next-Range"]})
    assert rest.status_code == 200 and [r["version"] for r in rest.json()] == list(range(201, 207))


def test_a_long_list_of_config_keys_still_makes_a_release(client):
    client.post("/apps", json={"name": "keys"}).raise_for_status()
    keys = {f"SOME_RATHER_LONG_CONFIG_VAR_NAME_{n}": "x" for n in range(40)}
    assert client.patch("/apps/keys/config-vars", json=keys).status_code == 200
    release = client.get("/apps/keys/releases").json()[-1]
    assert len(release["description"]) <= 500 and release["description"].endswith("…")


def test_region_and_stack_on_create(client):
    made = client.post("/apps", json={"name": "placed", "region": "us", "stack": "trixie"})
    assert made.status_code == 201 and made.json()["build_stack"]["name"] == "trixie"
    told = client.post("/apps", json={"name": "elsewhere", "region": "eu"})
    assert told.status_code == 422 and "region" in told.json()["message"]
    told = client.post("/apps", json={"name": "nostack", "stack": "cedar-14"})
    assert told.status_code == 422 and client.get("/apps/nostack").status_code == 404  # nothing was made


# --- anything at all: an answer in Heroku's shape, never a 500 ------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)
IDENT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
PATHS = ["/apps/{x}", "/apps/{x}/releases/{x}", "/apps/{x}/config-vars", "/apps/{x}/formation/{x}", "/apps/{x}/dynos/{x}",
         "/apps/{x}/domains/{x}", "/apps/{x}/addons/{x}", "/teams/{x}", "/oauth/authorizations/{x}", "/accounts/{x}",
         "/apps/{x}/builds/{x}", "/apps/{x}/collaborators/{x}"]


def well_formed(answer) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.text)
    if answer.status_code >= 400:
        body = answer.json()
        assert isinstance(body, dict) and body.get("id") and isinstance(body.get("message"), str), answer.text


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(path=st.sampled_from(PATHS), ident=IDENT, method=st.sampled_from(["GET", "PATCH", "DELETE", "PUT", "POST"]), body=JSON)
def test_any_name_and_body_gets_an_answer_in_heroku_shape(client, path, ident, method, body):
    url = path.replace("{x}", quote(ident, safe=""))  # any character reaches the API, as a client would send it
    answer = client.request(method, url, content=json.dumps(body), headers={"Content-Type": "application/json"})
    well_formed(answer)


@FUZZ
@given(header=st.text(max_size=60), listing=st.sampled_from(["/apps", "/apps/fuzzed/releases", "/apps/fuzzed/builds"]))
def test_any_range_header_gets_an_answer_in_heroku_shape(client, header, listing):
    client.post("/apps", json={"name": "fuzzed"})
    well_formed(client.get(listing, headers={"Range": header.encode()}))


@FUZZ
@given(version=st.text(max_size=30))
def test_any_release_version_gets_an_answer_in_heroku_shape(client, version):
    client.post("/apps", json={"name": "fuzzed"})
    if version:
        well_formed(client.get(f"/apps/fuzzed/releases/{quote(version, safe='')}"))


@pytest.mark.parametrize("body", [b"[", b"\xff\xfe", b'{"name": "x"', b"1e999999"])
def test_broken_bodies(client, body):
    well_formed(client.post("/apps", content=body, headers={"Content-Type": "application/json"}))


def test_the_api_describes_itself(client):
    described = client.get("/openapi.json", headers={"Authorization": ""})  # public, as the docs are
    assert described.status_code == 200
    paths = described.json()["paths"]
    for path in ("/apps", "/apps/{ident}", "/apps/{ident}/releases", "/apps/{ident}/formation", "/apps/{ident}/dynos",
                 "/apps/{ident}/config-vars", "/apps/{ident}/addons", "/apps/{ident}/log-sessions"):
        assert path in paths, path
    docs = client.get("/docs", headers={"Authorization": ""})
    assert docs.status_code == 200 and "/openapi.json" in docs.text and "swagger" in docs.text.lower()
