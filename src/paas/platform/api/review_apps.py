"""Review apps (Heroku's `/pipelines/{id}/review-app-config`, `/review-apps`), and the two
lookups the official CLI makes before it turns them on (`/account/features/...`, the pipeline's
`/repo`: here the pipeline's apps' own git repositories)."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from paas.celery_app import SETUP_TASK
from paas.domain import access, pipelines, review_apps
from paas.domain.errors import InvalidParams
from paas.platform.api.pipelines import ident_of
from paas.platform.deps import CipherDep, DbDep, PlatformDep, UserDep
from paas.shapes import review_app_config_json, review_app_json

router = APIRouter()
REPOSITORIES_FEATURE = "dashboard-repositories-api"


@router.get("/account/features/{name}")
def account_feature(name: str, user: UserDep):
    """The one account feature the CLI asks about: repositories are the platform's own."""
    return {"id": name, "name": name, "enabled": name == REPOSITORIES_FEATURE, "state": "general",
            "description": "Pipelines' repositories are the git repositories of their apps on this platform."}


@router.get("/pipelines/{ident}/repo")
def pipeline_repo(ident: str, user: UserDep, db: DbDep):
    pipeline = pipelines.pipeline_for(db, ident, user)
    return {"id": str(pipeline.id), "full_name": f"paas/{pipeline.name}", "type": "paas"}


@router.get("/pipelines/{ident}/review-app-config")
def get_config(ident: str, user: UserDep, db: DbDep):
    pipeline = pipelines.pipeline_for(db, ident, user)
    config = review_apps.config_of(db, pipeline)
    if config is None:
        return JSONResponse({"id": "not_found", "message": f"Review apps are not enabled on pipeline {pipeline.name}."}, status_code=404)
    return review_app_config_json(config)


@router.post("/pipelines/{ident}/review-app-config")
@router.patch("/pipelines/{ident}/review-app-config")
def enable(ident: str, user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    """POST turns review apps on (with settings); PATCH changes them once on."""
    pipeline = pipelines.pipeline_for(db, ident, user)
    config = review_apps.configure(db, pipeline, body or {}, enable=True)
    db.commit()
    return review_app_config_json(config)


@router.delete("/pipelines/{ident}/review-app-config")
def disable(ident: str, user: UserDep, db: DbDep):
    answer = review_app_config_json(review_apps.disable(db, pipelines.pipeline_for(db, ident, user)))
    db.commit()
    return answer


@router.post("/review-apps", status_code=201)
def create_review_app(user: UserDep, db: DbDep, cipher: CipherDep, platform: PlatformDep, body: Annotated[dict | None, Body()] = None):
    body = body or {}
    pipeline = pipelines.pipeline_for(db, ident_of(body.get("pipeline"), "pipeline"), user)
    source = body.get("source_blob")
    if not isinstance(source, dict) or not isinstance(source.get("url"), str) or not source["url"].startswith(("http://", "https://")):
        raise InvalidParams('Give the source as {"source_blob": {"url": "<tarball URL>", "version": "..."}}.')
    version = source.get("version") or "tarball"
    if not isinstance(version, str):
        raise InvalidParams("source_blob.version must be a string.")
    review = review_apps.create(db, cipher, platform.settings, user, pipeline, body.get("branch"), source["url"], version,
                                body.get("pr_number"))
    db.commit()
    platform.celery.send_task(SETUP_TASK, args=[str(review.app_setup_id)])
    return review_app_json(review, review_apps.status_of(review), review_apps.message_of(review))


@router.get("/review-apps/{ident}")
def get_review_app(ident: str, user: UserDep, db: DbDep):
    review = review_apps.review_for(db, ident, user)
    return review_app_json(review, review_apps.status_of(review), review_apps.message_of(review))


@router.get("/pipelines/{ident}/review-apps")
def list_review_apps(ident: str, user: UserDep, db: DbDep):
    reviews = review_apps.of_pipeline(db, pipelines.pipeline_for(db, ident, user))
    return [review_app_json(r, review_apps.status_of(r), review_apps.message_of(r)) for r in reviews]


@router.delete("/review-apps/{ident}")
def delete_review_app(ident: str, user: UserDep, db: DbDep):
    review = review_apps.review_for(db, ident, user)
    if review.app is not None:
        access.app_for(db, str(review.app_id), user, access.MANAGE)
    review_apps.request_delete(review, "deleted through the API")
    db.commit()
    return review_app_json(review, review_apps.status_of(review), review_apps.message_of(review))
