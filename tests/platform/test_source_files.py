"""Uploaded sources go once a build has used them, or when their URLs have expired (real
Postgres, real files, through the API in-process)."""

import os
import time

from fastapi.testclient import TestClient

from paas.domain import builds, models
from paas.source_files import SOURCE_TTL, remove_spent


def upload(client, platform_app, content: bytes) -> dict:
    blob = client.post("/sources").json()["source_blob"]
    with TestClient(platform_app) as anonymous:
        assert anonymous.put(blob["put_url"].split("5100", 1)[1], content=content).status_code == 200
    return blob


def fetched(platform_app, blob) -> int:
    with TestClient(platform_app) as anonymous:
        return anonymous.get(blob["get_url"].split("5100", 1)[1]).status_code


def test_a_source_goes_once_the_build_that_used_it_has_ended_and_others_stay(client, platform_app, api_settings, test_sessionmaker):
    used, unused = upload(client, platform_app, b"used"), upload(client, platform_app, b"unused")
    client.post("/apps", json={"name": "sourced"})
    build = client.post("/apps/sourced/builds", json={"source_blob": {"url": used["get_url"], "version": "v1"}}).json()
    foreign = used["get_url"].replace("127.0.0.1:5100", "files.example")  # not this platform's: names nothing here
    other = client.post("/apps/sourced/builds", json={"source_blob": {"url": foreign, "version": "v2"}}).json()
    with test_sessionmaker() as db:
        builds.finish_build(db, builds.get_build(db, other["id"]), models.Status.failed, ["x"])
        db.commit()
    assert remove_spent(api_settings, test_sessionmaker) == []  # the build still runs: it may not have read it yet
    assert fetched(platform_app, used) == 200

    with test_sessionmaker() as db:
        builds.finish_build(db, builds.get_build(db, build["id"]), models.Status.failed, ["ended"])
        db.commit()
    assert remove_spent(api_settings, test_sessionmaker) == [used["get_url"].split("/sources/")[1].split("?")[0] + ".tgz"]
    assert fetched(platform_app, used) == 404
    assert fetched(platform_app, unused) == 200  # no build used it, and it is new


def test_an_unused_source_and_a_half_written_upload_go_when_their_urls_expire(client, platform_app, api_settings, test_sessionmaker):
    old, new = upload(client, platform_app, b"old"), upload(client, platform_app, b"new")
    old_file = api_settings.sources_dir / (old["get_url"].split("/sources/")[1].split("?")[0] + ".tgz")
    partial = api_settings.sources_dir / "0f0f0f0f-0000-4000-8000-000000000000.partial"
    partial.write_bytes(b"half")
    an_hour_ago = time.time() - SOURCE_TTL - 1
    for path in (old_file, partial):
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert sorted(remove_spent(api_settings, test_sessionmaker)) == sorted([old_file.name, partial.name])
    assert not old_file.exists() and not partial.exists()
    assert fetched(platform_app, new) == 200
    # A moment before its hour is up, a source is kept.
    almost = time.time() - SOURCE_TTL + 60
    new_file = next(api_settings.sources_dir.glob("*.tgz"))
    os.utime(new_file, (almost, almost))
    assert remove_spent(api_settings, test_sessionmaker) == [] and new_file.exists()


def test_nothing_to_do_without_a_sources_directory(api_settings, test_sessionmaker):
    assert not api_settings.sources_dir.exists()
    assert remove_spent(api_settings, test_sessionmaker) == []



def test_builds_read_the_platforms_own_sources_where_they_are(client, platform_app, api_settings):
    from paas.source_files import uploaded_file

    signer = platform_app.api.state.platform.signer
    blob = upload(client, platform_app, b"mine")
    assert uploaded_file(api_settings, signer, blob["get_url"]).read_bytes() == b"mine"
    assert uploaded_file(api_settings, signer, blob["get_url"].replace("127.0.0.1:5100", "files.example")) is None
    for url, why in ((blob["get_url"].replace("signature=", "signature=0"), "not signed"),
                     (client.post("/sources").json()["source_blob"]["get_url"], "nothing was uploaded")):
        try:
            uploaded_file(api_settings, signer, url)
        except FileNotFoundError as error:
            assert why in str(error)
        else:
            raise AssertionError(f"{url} named a file")
