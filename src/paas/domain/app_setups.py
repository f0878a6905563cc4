"""App setups (Heroku's `POST /app-setups`): an app made from a source tarball and its app.json in
one go: config (with generated secrets), buildpacks, stack, formation, add-ons and scheduled jobs,
then the build once the add-ons are up, then `scripts.postdeploy` once in a one-off dyno of the
live release. A setup that fails anywhere destroys what it made (the setup itself stays, to say
why). These functions touch only the database; callers commit (and queue what they say).

Phases: prepare (the worker reads the manifest and configures), addons (waiting for their
servers), build (building, then deploying), postdeploy (due), postdeploying (under way), done.
"""

import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paas.domain import addons, apps, buildpacks, builds, config, formation, links, quotas, scheduled_jobs, teams
from paas.domain.crypto import ConfigCipher
from paas.domain.db import one_by_id
from paas.domain.errors import InvalidParams
from paas.domain.manifest import Manifest
from paas.domain.models import Addon, AppSetup, Build, Release, Status, User

OUTPUT_LIMIT = 64 * 1024  # bytes of postdeploy's output kept
TIMEOUT = timedelta(minutes=30)  # a setup not done by then fails


def create_setup(db: Session, cipher: ConfigCipher, settings, user: User, body: object) -> AppSetup:
    """The app (named, or named for it) and its setup, from a request's body."""
    if not isinstance(body, dict):
        raise InvalidParams("Give the setup as a JSON object.")
    source = body.get("source_blob")
    if not isinstance(source, dict) or not isinstance(source.get("url"), str):
        raise InvalidParams('Give the source as {"source_blob": {"url": "<tarball URL>"}}.')
    if urlsplit(source["url"]).scheme not in ("http", "https") or len(source["url"]) > 2000:
        raise InvalidParams("source_blob.url must be an http(s) URL of a .tar.gz.")
    version = source.get("version") or source.get("checksum") or "tarball"
    wanted = body.get("app") or {}
    overrides = body.get("overrides") or {}
    if not isinstance(version, str) or not isinstance(wanted, dict) or not isinstance(overrides, dict):
        raise InvalidParams("source_blob.version is a string; app and overrides are objects.")
    env = overrides.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InvalidParams("overrides.env maps config var names to string values.")
    packs = overrides.get("buildpacks")
    if packs is not None and not (isinstance(packs, list) and all(isinstance(b, dict) and isinstance(b.get("url"), str) for b in packs)):
        raise InvalidParams('overrides.buildpacks is [{"url": "..."}, ...].')
    team_name = wanted.get("organization") or wanted.get("team")
    team = teams.team_for(db, team_name, user, admin=True) if isinstance(team_name, str) else None
    return make_setup(db, cipher, settings, user, wanted.get("name"), team, source["url"], version, env,
                      [b["url"] for b in packs or []])


def make_setup(db: Session, cipher: ConfigCipher, settings, user: User, name: str | None, team, source_url: str | None,
               version: str, env: dict[str, str], packs: list[str] | None = None, environment: str | None = None) -> AppSetup:
    """The app and its setup: from a tarball at `source_url`, or (None) from the commit `version`
    of the app's own repository (a review app's)."""
    quotas.require_room(db, settings, user, "apps")
    app = apps.create_app(db, cipher, user, name, team=team)
    setup = AppSetup(app_id=app.id, app_name=app.name, user_id=user.id, source_url=source_url, source_version=version[:40],
                     environment=environment, overrides=cipher.encrypt({"env": env, "buildpacks": packs or []}),
                     status="pending", phase="prepare", addon_count=0, manifest_errors=[])
    db.add(setup)
    db.flush()
    return setup


def setup_for(db: Session, ident: str, user: User) -> AppSetup:
    """A setup its maker (or an admin) reads."""
    mine = select(AppSetup) if user.is_admin else select(AppSetup).where(AppSetup.user_id == user.id)
    return one_by_id(db, mine, AppSetup.id, ident, "app setup")


def overrides_of(cipher: ConfigCipher, setup: AppSetup) -> dict:
    return cipher.decrypt(setup.overrides)


def configure(db: Session, cipher: ConfigCipher, setup: AppSetup, manifest: Manifest, raw: dict, sizes: dict) -> Build | None:
    """Make what the manifest declares (ManifestErrors for missing required vars); the build to
    queue when there is no add-on server to wait for."""
    app, user, overrides = setup.app, setup.user, overrides_of(cipher, setup)
    values = manifest.config(overrides["env"])
    if values:
        config.update_config(db, cipher, app, user, values)
    wanted_packs = overrides["buildpacks"] or list(manifest.buildpacks)
    if wanted_packs:
        buildpacks.set_buildpacks(db, app, wanted_packs)
    if manifest.stack:
        apps.set_build_stack(db, app, manifest.stack)
    for kind, spec in manifest.formation.items():
        formation.ensure_formation(db, app, kind, spec["quantity"])
        formation.update_formation(db, app, [{"type": kind, "quantity": spec["quantity"], **({"size": spec["size"]} if "size" in spec else {})}], sizes)
    made = [addons.create_addon(db, cipher, app, addon.plan, addon.as_, addon.options or None) for addon in manifest.addons]
    for addon in made:
        if addon.state == "provisioned":  # nothing to make (an external URL): attached at once
            for attachment in addons.attachments_of(db, addon):
                addons.apply_attachment(db, cipher, attachment, user)
    scheduled_jobs.declare(db, app, manifest.cron, sizes)
    setup.manifest, setup.addon_count = raw, len(made)
    if any(addon.state == "provisioning" for addon in made):
        setup.phase = "addons"
        return None
    return start_build(db, setup)


def start_build(db: Session, setup: AppSetup) -> Build:
    build = builds.create_build(db, setup.app, setup.user, setup.source_version, source_url=setup.source_url)
    setup.build_id, setup.phase = build.id, "build"
    return build


def pending(db: Session) -> list[AppSetup]:
    return list(db.scalars(select(AppSetup).where(AppSetup.status == "pending", AppSetup.phase.in_(("addons", "build", "postdeploy")))))


def advance(db: Session, cipher: ConfigCipher, setup: AppSetup, now: datetime | None = None) -> Build | str | None:
    """One step of a setup the runner watches: the build to queue, "postdeploy" when its script
    is due, or None (waiting, done or failed)."""
    now = now or datetime.now(timezone.utc)
    if setup.app is None:
        return fail(db, cipher, setup, "the app was destroyed during its setup")
    if now - setup.created_at > TIMEOUT:
        return fail(db, cipher, setup, f"the setup took longer than {TIMEOUT.seconds // 60} minutes")
    if setup.phase == "addons":
        made = list(db.scalars(select(Addon).where(Addon.app_id == setup.app_id)))
        if len(made) < setup.addon_count:  # a failed add-on is removed with its rows
            return fail(db, cipher, setup, "an add-on could not be provisioned (the app's logs say why)")
        if all(addon.state == "provisioned" for addon in made):
            return start_build(db, setup)
        return None
    if setup.phase == "build":
        build = db.get(Build, setup.build_id) if setup.build_id else None
        if build is None or build.status is Status.failed:
            return fail(db, cipher, setup, "the build failed (its output says why)")
        if build.status is Status.succeeded:
            release = db.get(Release, build.release_id) if build.release_id else None
            if release is None or release.status is Status.failed:
                return fail(db, cipher, setup, "the release did not come up (its output says why)")
            if release.status is Status.succeeded:
                if postdeploy_of(setup):
                    setup.phase = "postdeploy"
                    return "postdeploy"
                return succeed(setup)
    return None


def postdeploy_of(setup: AppSetup) -> str | None:
    scripts = (setup.manifest or {}).get("scripts") or {}
    environment = ((setup.manifest or {}).get("environments") or {}).get(setup.environment or "", {})
    return {**scripts, **(environment.get("scripts") or {})}.get("postdeploy")


def claim_postdeploy(db: Session, setup_id: uuid.UUID) -> bool:
    """Mark the postdeploy under way; False if another pass has it."""
    return db.execute(update(AppSetup).where(AppSetup.id == setup_id, AppSetup.phase == "postdeploy")
                      .values(phase="postdeploying")).rowcount == 1


def postdeploy_done(db: Session, cipher: ConfigCipher, setup: AppSetup, exit_code: int, output: str) -> None:
    setup.postdeploy_exit_code = exit_code
    setup.postdeploy_output = output[-OUTPUT_LIMIT:]
    if exit_code == 0:
        succeed(setup)
    else:
        fail(db, cipher, setup, f"postdeploy exited with status {exit_code}")


def interrupted(db: Session, cipher: ConfigCipher) -> None:
    """Setups whose postdeploy ran when the last runner stopped: failed (and undone)."""
    for setup in db.scalars(select(AppSetup).where(AppSetup.status == "pending", AppSetup.phase == "postdeploying")):
        fail(db, cipher, setup, "the runner stopped while postdeploy ran")


def succeed(setup: AppSetup) -> None:
    setup.status, setup.phase = "succeeded", "done"


def fail(db: Session, cipher: ConfigCipher, setup: AppSetup, message: str, manifest_errors: list[str] | None = None) -> None:
    """The setup failed: the app and all it made go (add-ons with their servers, links)."""
    setup.status, setup.phase, setup.failure_message = "failed", "done", message
    setup.manifest_errors = manifest_errors or []
    if setup.app is not None:
        destroy_app(db, cipher, setup.app, setup.user)
        setup.app_id = None
    db.flush()
    return None


def destroy_app(db: Session, cipher: ConfigCipher, app, user: User) -> None:
    """An app and what it holds: its add-ons (their servers go with the events), links, rows."""
    addons.release_app(db, cipher, app, user)
    links.release_app(db, app)
    apps.delete_app(db, app)
