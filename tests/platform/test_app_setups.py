"""App setups in-process (real Postgres and Redis; the worker's and runner's parts are called as
they would be): what POST /app-setups checks, who reads a setup, and each step of the setups'
state machine, failing ones undoing everything."""

import uuid
from datetime import timedelta

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from paas.domain import accounts, addons, app_setups, apps, builds, manifest, models, releases
from paas.domain.crypto import ConfigCipher
from paas.domain.models import AppSetup
from paas.settings import DYNO_SIZES

URL = "http://127.0.0.1:5100/sources/x/get?signature=s"


def test_a_setup_is_checked_made_with_its_app_and_read_only_by_its_maker(client, platform_app, test_sessionmaker):
    for body, words in (({}, "source_blob"), ({"source_blob": {"url": "file:///etc/passwd"}}, "http(s) URL"),
                        ({"source_blob": {"url": URL}, "overrides": {"env": {"A": 1}}}, "overrides.env"),
                        ({"source_blob": {"url": URL}, "overrides": {"buildpacks": ["x"]}}, "overrides.buildpacks"),
                        ({"source_blob": {"url": URL}, "app": {"name": "Bad Name"}}, "Name must")):
        refused = client.post("/app-setups", json=body)
        assert refused.status_code == 422 and words in refused.json()["message"], (body, refused.text)
    made = client.post("/app-setups", json={"source_blob": {"url": URL, "version": "v1"}, "app": {"name": "from-json"},
                                            "overrides": {"env": {"API_TOKEN": "s3cret"}}})
    assert made.status_code == 202, made.text
    setup = made.json()
    assert (setup["status"], setup["app"]["name"], setup["build"], setup["postdeploy"], setup["manifest_errors"]) == (
        "pending", "from-json", None, None, [])
    assert client.get("/apps/from-json").status_code == 200  # the app is made at once
    with test_sessionmaker() as db:
        row = db.get(AppSetup, uuid.UUID(setup["id"]))
        assert b"s3cret" not in row.overrides  # encrypted at rest
        other = accounts.issue_token(db, accounts.ensure_user(db, "other@example.com"))
        db.commit()
    assert client.get(f"/app-setups/{setup['id']}").json()["id"] == setup["id"]
    stranger = TestClient(platform_app, headers={"Authorization": f"Bearer {other}"})
    assert stranger.get(f"/app-setups/{setup['id']}").status_code == 404
    assert client.get("/app-setups/not-an-id").status_code == 404


def test_the_steps_wait_for_add_ons_build_then_postdeploy_and_a_failure_undoes_it_all(client, test_sessionmaker, api_settings):
    cipher = ConfigCipher(Fernet.generate_key())
    text = '{"env": {"KEY": {"generator": "secret"}}, "addons": ["postgresql"], "formation": {"web": {"quantity": 2}},' \
           ' "scripts": {"postdeploy": "seed"}, "cron": [{"command": "tidy", "schedule": "@hourly"}]}'
    with test_sessionmaker() as db:
        owner = accounts.ensure_user(db, "dev@example.com")
        setup = app_setups.create_setup(db, cipher, api_settings, owner, {"source_blob": {"url": URL}, "app": {"name": "stepped"}})
        assert app_setups.configure(db, cipher, setup, manifest.parse(text, sizes=DYNO_SIZES), {"scripts": {"postdeploy": "seed"}},
                                    DYNO_SIZES) is None
        assert setup.phase == "addons" and setup.addon_count == 1
        assert app_setups.advance(db, cipher, setup) is None  # its server is not up yet
        [addon] = db.scalars(addons.list_addons(app=setup.app))
        addons.provisioned(db, cipher, addon, owner)
        build = app_setups.advance(db, cipher, setup)
        assert isinstance(build, models.Build) and setup.phase == "build" and setup.build_id == build.id
        assert app_setups.advance(db, cipher, setup) is None  # building
        release = builds.release_build(db, build, "127.0.0.1:5000/stepped@sha256:" + "1" * 64, {"web": "serve"})
        assert app_setups.advance(db, cipher, setup) is None  # deploying
        releases.settle_release(db, release, models.Status.succeeded)
        assert app_setups.advance(db, cipher, setup) == "postdeploy" and app_setups.claim_postdeploy(db, setup.id)
        assert not app_setups.claim_postdeploy(db, setup.id)  # once
        db.refresh(setup)
        app_setups.postdeploy_done(db, cipher, setup, 0, "seeded")
        assert (setup.status, setup.postdeploy_output) == ("succeeded", "seeded")
        assert apps.get_app(db, "stepped").config_vars  # it stays

        # A setup whose build fails: the app and its add-on go; the setup says why.
        failing = app_setups.create_setup(db, cipher, api_settings, owner, {"source_blob": {"url": URL}, "app": {"name": "doomed"}})
        app_setups.configure(db, cipher, failing, manifest.parse("{}"), {}, DYNO_SIZES)
        builds.finish_build(db, db.get(models.Build, failing.build_id), models.Status.failed, ["error: no"])
        assert app_setups.advance(db, cipher, failing) is None
        assert (failing.status, failing.failure_message, failing.app_id) == ("failed", "the build failed (its output says why)", None)
        assert apps.find_app_by_name(db, "doomed") is None

        # One that never ends is failed after its time.
        late = app_setups.create_setup(db, cipher, api_settings, owner, {"source_blob": {"url": URL}, "app": {"name": "late"}})
        app_setups.configure(db, cipher, late, manifest.parse("{}"), {}, DYNO_SIZES)
        db.flush()
        app_setups.advance(db, cipher, late, now=late.created_at + app_setups.TIMEOUT + timedelta(seconds=1))
        assert late.status == "failed" and "longer than 30 minutes" in late.failure_message
        db.rollback()
