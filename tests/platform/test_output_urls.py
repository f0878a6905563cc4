"""Build and release output URLs: signed for the user who asked, for an hour, and opened only while
that user may still view the app. Through the API in-process (the live streams are end to end)."""

import re
import time
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from paas.channels.output import LogStream
from paas.domain import accounts, apps, builds, models
from paas.platform.api import OUTPUT_URL_TTL
from tests.platform.conftest import deploy


def finished_build(test_sessionmaker, app_name: str) -> str:
    with test_sessionmaker() as db:
        app = apps.get_app(db, app_name)
        build = builds.create_build(db, app, app.owner, "e" * 40)
        builds.finish_build(db, build, models.Status.succeeded, ["-----> Building", "kept whole"])
        db.commit()
        return str(build.id)


def other_user(test_sessionmaker) -> str:
    with test_sessionmaker() as db:
        user = accounts.ensure_user(db, "other@example.com")
        db.commit()
        return str(user.id)


def path_of(url: str) -> str:
    return url.split("127.0.0.1:5100", 1)[1]


def refused(answer, status: int, words: str) -> bool:
    body = answer.json()
    return answer.status_code == status and set(body) == {"id", "message"} and words in body["message"]


def test_an_output_url_names_its_user_and_expires(client, platform_app, test_sessionmaker):
    client.post("/apps", json={"name": "outs"})
    build_id = finished_build(test_sessionmaker, "outs")
    url = client.get(f"/apps/outs/builds/{build_id}").json()["output_stream_url"]
    query = parse_qs(urlsplit(url).query)
    me = client.get("/account").json()["id"]
    assert query["user"] == [me] and abs(int(query["expires"][0]) - (time.time() + OUTPUT_URL_TTL)) < 60
    signer = platform_app.api.state.platform.signer
    path = urlsplit(url).path
    with TestClient(platform_app) as anonymous:
        assert anonymous.get(path_of(url)).text == "-----> Building\nkept whole\n"  # the positive control
        expired = anonymous.get(path_of(signer.signed("http://127.0.0.1:5100", path, ttl=-1, user=me)))
        assert refused(expired, 403, "expired"), expired.text
        assert anonymous.get(path_of(signer.signed("http://127.0.0.1:5100", path, ttl=60, user=me))).status_code == 200
        # What is signed cannot be changed: the expiry, the user, the path; nor left out.
        later = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m.group(1)) + 3600}", path_of(url))
        other = path_of(url).replace(me, other_user(test_sessionmaker))
        never = path_of(signer.signed("http://127.0.0.1:5100", path))  # as they were made before: no expiry, no user
        for changed in (later, other, never, path_of(url).replace("/builds/", "/releases/"), path):
            assert refused(anonymous.get(changed), 404, "not signed"), changed


def test_an_output_url_opens_only_while_its_user_may_view_the_app(client, platform_app, test_sessionmaker):
    client.post("/apps", json={"name": "shared"})
    build_id = finished_build(test_sessionmaker, "shared")
    version = deploy(test_sessionmaker, "shared", "127.0.0.1:5000/shared@sha256:" + "4" * 64)
    with test_sessionmaker() as db:
        helper = accounts.ensure_user(db, "helper@example.com")
        token = accounts.issue_token(db, helper)
        db.commit()
    assert client.post("/apps/shared/collaborators", json={"user": "helper@example.com"}).status_code == 201
    with TestClient(platform_app, headers={"Authorization": f"Bearer {token}"}) as as_helper:
        build_url = as_helper.get(f"/apps/shared/builds/{build_id}").json()["output_stream_url"]
        release = as_helper.get(f"/apps/shared/releases/{version}").json()
    stream = LogStream.for_release(platform_app.api.state.platform.redis, release["id"])
    stream.write("-----> Launching")
    stream.end(True)
    try:
        with TestClient(platform_app) as anonymous:
            assert anonymous.get(path_of(build_url)).text.endswith("kept whole\n")  # the positive controls
            assert anonymous.get(path_of(release["output_stream_url"])).text == "-----> Launching\n"
            assert client.delete("/apps/shared/collaborators/helper@example.com").status_code == 200
            for url, what in ((build_url, "build"), (release["output_stream_url"], "release")):
                answer = anonymous.get(path_of(url))
                assert refused(answer, 403, "may no longer view the app"), (what, answer.text)
            # The owner's own URL still opens; a disabled user's no longer does.
            assert client.get(f"/apps/shared/builds/{build_id}").json()["output_stream_url"] != build_url
            assert anonymous.get(path_of(client.get(f"/apps/shared/builds/{build_id}").json()["output_stream_url"])).status_code == 200
            assert client.post("/apps/shared/collaborators", json={"user": "helper@example.com"}).status_code == 201
            assert anonymous.get(path_of(build_url)).status_code == 200  # a collaborator again
            with test_sessionmaker() as db:
                accounts.disable(db, accounts.find_user(db, "helper@example.com"))
                db.commit()
            assert refused(anonymous.get(path_of(build_url)), 403, "may no longer view the app")
    finally:
        stream.client.delete(stream.key)
