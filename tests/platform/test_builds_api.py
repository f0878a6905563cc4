"""Builds, sources, stacks, buildpack installations and the build cache, through the API in-process."""

import io
import re
import uuid

from fastapi.testclient import TestClient

from paas.channels.output import LogStream
from paas.domain import apps, builds, models, releases


def test_stacks_are_listed_and_an_app_can_choose_one(client):
    listed = client.get("/stacks").json()
    assert [s["name"] for s in listed] == ["bookworm", "trixie", "forky"]
    assert [s["default"] for s in listed] == [True, False, False]
    assert client.get("/stacks/forky").json()["id"] == listed[2]["id"]
    assert client.get("/stacks/nope").status_code == 404

    created = client.post("/apps", json={"name": "stacked"}).json()
    assert created["build_stack"]["name"] == "bookworm" and created["stack"]["name"] == "bookworm"
    changed = client.patch("/apps/stacked", json={"build_stack": "trixie"})
    assert changed.status_code == 200 and changed.json()["build_stack"]["name"] == "trixie"
    assert client.patch("/apps/stacked", json={"build_stack": {"name": "forky"}}).json()["build_stack"]["name"] == "forky"
    bad = client.patch("/apps/stacked", json={"build_stack": "cedar-14"})
    assert bad.status_code == 422 and "bookworm, trixie, forky" in bad.json()["message"]
    assert client.patch("/apps/stacked", json={"owner": "x"}).status_code == 422


def test_buildpack_installations_are_replaced_in_order_and_checked(client):
    client.post("/apps", json={"name": "packed"})
    assert client.get("/apps/packed/buildpack-installations").json() == []
    updates = [{"buildpack": "heroku/nodejs"}, {"buildpack": "https://example.test/bp.tgz"}, {"buildpack": "python"}]
    answer = client.put("/apps/packed/buildpack-installations", json={"updates": updates})
    assert answer.status_code == 200
    assert [(b["ordinal"], b["buildpack"]["url"]) for b in answer.json()] == [
        (0, "nodejs"), (1, "https://example.test/bp.tgz"), (2, "python"),
    ]
    assert client.get("/apps/packed/buildpack-installations").json() == answer.json()
    for bad in ([{"buildpack": "file:///etc"}], [{"buildpack": "ruby"}], [{"url": "python"}], "python"):
        refused = client.put("/apps/packed/buildpack-installations", json={"updates": bad})
        assert refused.status_code == 422, bad
    assert len(client.get("/apps/packed/buildpack-installations").json()) == 3  # nothing lost
    assert client.put("/apps/packed/buildpack-installations", json={"updates": []}).json() == []


def test_purging_the_build_cache_starts_a_new_generation(client, test_sessionmaker):
    client.post("/apps", json={"name": "cached"})
    assert client.delete("/apps/cached/build-cache").status_code == 202
    with test_sessionmaker() as db:
        assert apps.get_app(db, "cached").build_cache_generation == 2


def test_a_source_is_uploaded_to_its_signed_url_and_built_from(client, platform_app):
    blob = client.post("/sources").json()["source_blob"]
    put_url, get_url = blob["put_url"], blob["get_url"]
    path, get_path = put_url.split("127.0.0.1:5100", 1)[1], get_url.split("127.0.0.1:5100", 1)[1]
    with TestClient(platform_app) as anonymous:  # signed URLs need no token, like Heroku's
        assert anonymous.put(path, content=b"tarball bytes").status_code == 200
        assert anonymous.get(get_path).content == b"tarball bytes"
        # Each URL does its one thing: the download URL cannot overwrite the source.
        assert anonymous.put(get_path, content=b"evil").status_code == 404
        assert anonymous.get(path).status_code == 404
        assert anonymous.get(get_path.replace("signature=", "signature=0")).status_code == 404
        assert anonymous.get(get_path.replace("signature=", "signature=%C3%A9")).status_code == 404
        assert anonymous.get(get_path.split("?")[0]).status_code == 404
        later = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m.group(1)) + 3600}", get_path)
        assert later != get_path and anonymous.get(later).status_code == 404  # the expiry is signed too
        other = f"/sources/{uuid.uuid4()}?" + path.split("?")[1]
        assert anonymous.put(other, content=b"x").status_code == 404
        signer = platform_app.api.state.platform.signer
        expired = signer.signed("", get_path.split("?")[0], "GET", ttl=-1)
        assert anonymous.get(expired).status_code == 404

    client.post("/apps", json={"name": "tarred"})
    started = client.post("/apps/tarred/builds", json={"source_blob": {"url": get_url, "version": "v1.2"}})
    assert started.status_code == 201, started.text
    build = started.json()
    assert build["status"] == "pending" and build["source_blob"] == {"url": get_url, "version": "v1.2", "version_description": None, "checksum": None}
    assert build["output_stream_url"].startswith("http://127.0.0.1:5100/apps/")
    assert client.get(f"/apps/tarred/builds/{build['id']}").json()["id"] == build["id"]
    assert [b["id"] for b in client.get("/apps/tarred/builds").json()] == [build["id"]]

    for bad in ({}, {"source_blob": {"url": "file:///etc/passwd"}}, {"source_blob": {"url": get_url}, "buildpacks": ["x"]}):
        assert client.post("/apps/tarred/builds", json=bad).status_code == 422, bad


def test_uploads_over_the_limit_are_refused(client, platform_app):
    platform_app.api.state.platform.settings.source_size_limit = 1000
    blob = client.post("/sources").json()["source_blob"]
    path, get_path = (blob[k].split("5100", 1)[1] for k in ("put_url", "get_url"))
    refused = client.put(path, content=io.BytesIO(b"x" * 5000))
    assert refused.status_code == 413 and refused.json()["id"] == "request_entity_too_large"
    assert client.get(get_path).status_code == 404  # nothing half-written is served


def test_build_output_is_streamed_live_then_served_whole(client, platform_app, test_sessionmaker):
    client.post("/apps", json={"name": "logged"})
    platform = platform_app.api.state.platform
    with test_sessionmaker() as db:
        app = apps.get_app(db, "logged")
        build = builds.create_build(db, app, app.owner, "e" * 40)
        db.commit()
    url = client.get(f"/apps/logged/builds/{build.id}").json()["output_stream_url"]
    path = url.split("5100", 1)[1]
    stream = LogStream.for_build(platform.redis, build.id)
    stream.client.delete(stream.key)
    stream.write("-----> Building")
    stream.write("       step one")
    stream.end(False, reason="build failed")
    with TestClient(platform_app) as anonymous:
        assert anonymous.get(path).text == "-----> Building\n       step one\n"
        assert anonymous.get(path.split("?")[0]).status_code == 404
        with test_sessionmaker() as db:
            builds.finish_build(db, builds.get_build(db, build.id), models.Status.failed, ["kept", "whole"])
            db.commit()
        stream.client.delete(stream.key)  # the live copy expires; the kept one stays
        assert anonymous.get(path).text == "kept\nwhole\n"


def test_the_app_shows_its_current_slug_size_stack_and_buildpacks(client, test_sessionmaker):
    client.post("/apps", json={"name": "shown"})
    with test_sessionmaker() as db:
        app = apps.get_app(db, "shown")
        build = builds.create_build(db, app, app.owner, "f" * 40)
        release = builds.release_build(db, build, "127.0.0.1:5000/shown@sha256:" + "1" * 64, {"web": "x"},
                                       stack="forky", buildpacks=["python", "nodejs"], slug_key="k", slug_size=4321)
        releases.settle_release(db, release, models.Status.succeeded)
        db.commit()
    shown = client.get("/apps/shown").json()
    assert shown["slug_size"] == 4321 and shown["stack"]["name"] == "forky"
    assert shown["buildpack_provided_description"] == "Python, Nodejs"
    got = client.get(f"/apps/shown/releases/{release.version}").json()
    assert got["slug"] == {"id": str(build.id)} and got["stack"]["name"] == "forky"
    shown_build = client.get(f"/apps/shown/builds/{build.id}").json()
    assert shown_build["buildpacks"] == [{"url": "python", "name": "heroku/python"}, {"url": "nodejs", "name": "heroku/nodejs"}]
    assert shown_build["stack"] == "forky" and shown_build["status"] == "succeeded"
