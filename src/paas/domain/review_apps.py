"""Review apps (Heroku's): with a pipeline's review apps on, each branch pushed to one of its apps
(any branch but main or master) gets an app of its own, made by an app setup from the pushed
commit with app.json's `review` environment, coupled at stage `review`, with HEROKU_APP_NAME,
HEROKU_BRANCH and HEROKU_PR_NUMBER set. Its add-ons are its own, new and empty: a review app is
a new app, and never gets another app's config. Deleting the branch, or staleness, runs its
`pr-predestroy` and destroys it. These functions touch only the database; callers commit.
"""

import re
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paas.domain import app_setups, pipelines
from paas.domain.crypto import ConfigCipher
from paas.domain.db import one_by_id
from paas.domain.errors import Conflict, InvalidParams, NotFound
from paas.domain.models import App, Pipeline, PipelineCoupling, ReviewApp, ReviewAppConfig, Team, User

SETTINGS = {"automatic_review_apps": bool, "destroy_stale_apps": bool, "wait_for_ci": bool, "stale_days": int,
            "base_name": str, "repo": str}
BASE_NAME = re.compile(r"[a-z][a-z0-9-]{0,19}")
BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,255}")
GONE = ("deleted",)


def config_of(db: Session, pipeline: Pipeline) -> ReviewAppConfig | None:
    return db.get(ReviewAppConfig, pipeline.id)


def configure(db: Session, pipeline: Pipeline, body: object, enable: bool) -> ReviewAppConfig:
    """Turn review apps on (`enable`) or change their settings; unknown keys are refused."""
    if not isinstance(body, dict):
        raise InvalidParams("Give the settings as a JSON object.")
    config = config_of(db, pipeline)
    if config is None:
        if not enable:
            raise NotFound(f"Review apps are not enabled on pipeline {pipeline.name}.")
        config = ReviewAppConfig(pipeline_id=pipeline.id, automatic_review_apps=True, destroy_stale_apps=False, stale_days=5,
                                 wait_for_ci=False)
        db.add(config)
    for key, value in body.items():
        if key == "pipeline" or value is None:  # the CLI names the pipeline again, and sends unset flags as null
            continue
        kind = SETTINGS.get(key)
        if kind is None:
            raise InvalidParams(f"{key} is not a review app setting; they are {', '.join(SETTINGS)}.")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidParams(f"{key} must be {'true or false' if kind is bool else 'a number' if kind is int else 'a string'}.")
        if key == "stale_days" and not 1 <= value <= 30:
            raise InvalidParams("stale_days is from 1 to 30.")
        if key == "base_name" and not BASE_NAME.fullmatch(value):
            raise InvalidParams("base_name starts with a letter and has up to 20 lowercase letters, digits and dashes.")
        setattr(config, key, value[:200] if isinstance(value, str) else value)
    db.flush()
    return config


def disable(db: Session, pipeline: Pipeline) -> ReviewAppConfig:
    """Review apps off: no new ones (those that exist stay until their branch goes)."""
    config = config_of(db, pipeline)
    if config is None:
        raise NotFound(f"Review apps are not enabled on pipeline {pipeline.name}.")
    db.delete(config)
    db.flush()
    return config


def for_push(db: Session, app: App) -> tuple[Pipeline, ReviewAppConfig] | None:
    """The pipeline whose review apps a branch pushed to `app` makes, if its review apps are on."""
    coupling = db.scalar(select(PipelineCoupling).where(PipelineCoupling.app_id == app.id))
    if coupling is None:
        return None
    config = config_of(db, coupling.pipeline)
    if config is None or not config.automatic_review_apps:
        return None
    return coupling.pipeline, config


def of_branch(db: Session, pipeline: Pipeline, branch: str) -> ReviewApp | None:
    return db.scalar(select(ReviewApp).where(ReviewApp.pipeline_id == pipeline.id, ReviewApp.branch == branch))


def of_app(db: Session, app: App) -> ReviewApp | None:
    return db.scalar(select(ReviewApp).where(ReviewApp.app_id == app.id))


def name_for(db: Session, pipeline: Pipeline, config: ReviewAppConfig | None, branch: str) -> str:
    """`<base>-<branch>` as an app name (30 characters at most), made unique when taken."""
    base = (config.base_name if config and config.base_name else pipeline.name)[:20]
    slug = re.sub(r"[^a-z0-9]+", "-", branch.lower()).strip("-") or "branch"
    name = f"{base}-{slug}"[:30].rstrip("-")
    while db.scalar(select(App.id).where(App.name == name)) is not None or len(name) < 3:
        name = f"{base}-{slug}"[:25].rstrip("-") + "-" + secrets.token_hex(2)
    return name


def create(db: Session, cipher: ConfigCipher, settings, user: User, pipeline: Pipeline, branch: object,
           source_url: str | None, version: str, pr_number: object = None) -> ReviewApp:
    """The branch's review app and its setup (to be queued): from a tarball, or (`source_url`
    None) from the commit `version`, which the caller puts into the new app's repository."""
    if not isinstance(branch, str) or not BRANCH.fullmatch(branch) or ".." in branch:
        raise InvalidParams("branch must be a git branch name.")
    if pr_number is not None and (not isinstance(pr_number, int) or isinstance(pr_number, bool) or pr_number < 1):
        raise InvalidParams("pr_number must be a positive whole number.")
    existing = of_branch(db, pipeline, branch)
    if existing is not None:
        if existing.status not in ("errored", "deleted"):
            raise Conflict(f"Branch {branch} has a review app already ({existing.app.name if existing.app else 'being deleted'}).")
        db.delete(existing)
        db.flush()
    config = config_of(db, pipeline)
    name = name_for(db, pipeline, config, branch)
    env = {"HEROKU_APP_NAME": name, "HEROKU_BRANCH": branch, **({"HEROKU_PR_NUMBER": str(pr_number)} if pr_number else {})}
    team = db.get(Team, pipeline.team_id) if pipeline.team_id else None
    setup = app_setups.make_setup(db, cipher, settings, user, name, team, source_url, version, env, environment="review")
    pipelines.couple(db, user, pipeline, str(setup.app_id), "review")
    review = ReviewApp(pipeline_id=pipeline.id, app_id=setup.app_id, app_setup_id=setup.id, branch=branch,
                       pr_number=pr_number, status="creating", user_id=user.id)
    db.add(review)
    db.flush()
    return review


def status_of(review: ReviewApp) -> str:
    """creating, created or errored (its setup's), else deleting or deleted."""
    if review.status == "creating" and review.setup is not None:
        return {"pending": "creating", "succeeded": "created", "failed": "errored"}[review.setup.status]
    return "deleting" if review.status == "predestroying" else review.status


def message_of(review: ReviewApp) -> str | None:
    if review.setup is not None and review.setup.status == "failed":
        return review.setup.failure_message
    return review.message


def review_for(db: Session, ident: str, user: User) -> ReviewApp:
    """A review app by id, of a pipeline the user sees."""
    return one_by_id(db, select(ReviewApp).where(ReviewApp.pipeline_id.in_(pipelines.visible_ids(user))), ReviewApp.id, ident, "review app")


def of_pipeline(db: Session, pipeline: Pipeline) -> list[ReviewApp]:
    return list(db.scalars(select(ReviewApp).where(ReviewApp.pipeline_id == pipeline.id).order_by(ReviewApp.created_at)))


def request_delete(review: ReviewApp, why: str) -> None:
    """Its `pr-predestroy`, then its destruction, are the runner's to do."""
    if review.status not in ("deleting", "predestroying", "deleted"):
        review.status, review.message = "deleting", why


def mark_stale(db: Session, now: datetime | None = None) -> int:
    """Review apps not pushed to for their pipeline's stale_days go (where it says so)."""
    now = now or datetime.now(timezone.utc)
    count = 0
    for review, config in db.execute(select(ReviewApp, ReviewAppConfig).join(ReviewAppConfig, ReviewAppConfig.pipeline_id == ReviewApp.pipeline_id)
                                     .where(ReviewAppConfig.destroy_stale_apps, ReviewApp.status == "creating")):
        if review.updated_at < now - timedelta(days=config.stale_days):
            request_delete(review, f"stale: no push for {config.stale_days} days")
            count += 1
    return count


def deleting(db: Session) -> list[ReviewApp]:
    return list(db.scalars(select(ReviewApp).where(ReviewApp.status == "deleting")))


def predestroy_of(review: ReviewApp) -> str | None:
    """The `pr-predestroy` script its app was set up with (review environment over the top level)."""
    if review.setup is None or review.setup.manifest is None:
        return None
    manifest = review.setup.manifest
    scripts = {**(manifest.get("scripts") or {}), **(((manifest.get("environments") or {}).get("review") or {}).get("scripts") or {})}
    return scripts.get("pr-predestroy")


def destroy(db: Session, cipher: ConfigCipher, review: ReviewApp) -> None:
    """The review app and all it holds (its add-ons' servers and data too)."""
    if review.app is not None:
        app_setups.destroy_app(db, cipher, review.app, review.user)
    review.app_id, review.status = None, "deleted"
    db.flush()


def claim_predestroy(db: Session, review: ReviewApp) -> bool:
    """Mark its pr-predestroy under way; False if another pass has it."""
    return db.execute(update(ReviewApp).where(ReviewApp.id == review.id, ReviewApp.status == "deleting")
                      .values(status="predestroying")).rowcount == 1


def interrupted(db: Session) -> None:
    """pr-predestroy runs the last runner left: run again (a teardown script may run twice)."""
    db.execute(update(ReviewApp).where(ReviewApp.status == "predestroying").values(status="deleting"))
