"""Pipelines (Heroku's `/pipelines`, `/pipeline-couplings`, `/pipeline-promotions`, and the
`POST /filters/apps` the official CLI lists a pipeline's apps with)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query

from paas.domain import access, pipelines
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import App
from paas.platform.api.apps import describe
from paas.platform.deps import CipherDep, DbDep, SettingsDep, UserDep
from paas.shapes import pipeline_coupling_json, pipeline_json, promotion_json, promotion_target_json

router = APIRouter()


def ident_of(given: object, what: str) -> str:
    """A reference as Heroku clients send one: "name-or-id" or {"id": ...} or {"name": ...}."""
    if isinstance(given, dict):
        given = given.get("id") or given.get("name")
    if not isinstance(given, str) or not given:
        raise InvalidParams(f"Name the {what} by its name or id.")
    return given


@router.post("/pipelines", status_code=201)
def create_pipeline(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    body = body or {}
    pipeline = pipelines.create_pipeline(db, user, body.get("name"), body.get("owner"))
    db.commit()
    return pipeline_json(pipeline)


@router.get("/pipelines")
def list_pipelines(user: UserDep, db: DbDep, name: Annotated[str | None, Query(alias="eq[name]")] = None):
    return [pipeline_json(p) for p in pipelines.list_pipelines(db, user, name)]


@router.get("/pipelines/{ident}")
def get_pipeline(ident: str, user: UserDep, db: DbDep):
    return pipeline_json(pipelines.pipeline_for(db, ident, user))


@router.patch("/pipelines/{ident}")
def update_pipeline(ident: str, user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    body = body or {}
    if set(body) - {"name"}:
        raise InvalidParams("Only a pipeline's name can be changed.")
    pipeline = pipelines.pipeline_for(db, ident, user)
    if "name" in body:
        pipelines.rename_pipeline(db, pipeline, body["name"])
    db.commit()
    return pipeline_json(pipeline)


@router.delete("/pipelines/{ident}")
def destroy_pipeline(ident: str, user: UserDep, db: DbDep):
    pipeline = pipelines.pipeline_for(db, ident, user)
    answer = pipeline_json(pipeline)
    pipelines.destroy_pipeline(db, pipeline)
    db.commit()
    return answer


@router.post("/pipeline-couplings", status_code=201)
def create_coupling(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    body = body or {}
    pipeline = pipelines.pipeline_for(db, ident_of(body.get("pipeline"), "pipeline"), user)
    coupling = pipelines.couple(db, user, pipeline, ident_of(body.get("app"), "app"), body.get("stage"))
    db.commit()
    return pipeline_coupling_json(coupling)


@router.get("/pipeline-couplings")
def list_couplings(user: UserDep, db: DbDep):
    return [pipeline_coupling_json(c) for c in pipelines.visible_couplings(db, user)]


@router.get("/pipelines/{ident}/pipeline-couplings")
def list_pipeline_couplings(ident: str, user: UserDep, db: DbDep):
    return [pipeline_coupling_json(c) for c in pipelines.couplings(db, pipelines.pipeline_for(db, ident, user))]


@router.get("/apps/{ident}/pipeline-couplings")
def get_app_coupling(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    coupling = pipelines.coupling_of(db, app)
    if coupling is None:
        raise NotFound(f"{app.name} is not in a pipeline.")
    return pipeline_coupling_json(coupling)


@router.get("/pipeline-couplings/{ident}")
def get_coupling(ident: str, user: UserDep, db: DbDep):
    return pipeline_coupling_json(pipelines.coupling_for(db, ident, user))


@router.patch("/pipeline-couplings/{ident}")
def update_coupling(ident: str, user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    coupling = pipelines.coupling_for(db, ident, user)
    access.app_for(db, str(coupling.app_id), user, access.MANAGE)
    pipelines.set_stage(db, coupling, (body or {}).get("stage"))
    db.commit()
    return pipeline_coupling_json(coupling)


@router.delete("/pipeline-couplings/{ident}")
def destroy_coupling(ident: str, user: UserDep, db: DbDep):
    coupling = pipelines.coupling_for(db, ident, user)
    access.app_for(db, str(coupling.app_id), user, access.MANAGE)
    answer = pipeline_coupling_json(coupling)
    pipelines.uncouple(db, coupling)
    db.commit()
    return answer


@router.post("/pipeline-promotions", status_code=201)
def create_promotion(user: UserDep, db: DbDep, cipher: CipherDep, body: Annotated[dict | None, Body()] = None):
    body = body or {}
    pipeline = pipelines.pipeline_for(db, ident_of(body.get("pipeline"), "pipeline"), user)
    source = body.get("source") if isinstance(body.get("source"), dict) else {}
    release = source.get("release")
    targets = body.get("targets")
    if not isinstance(targets, list):
        raise InvalidParams('Give the targets as [{"app": {"id": ...}}, ...].')
    promotion = pipelines.promote(
        db, cipher, user, pipeline, ident_of(source.get("app"), "source app"),
        [ident_of(t.get("app") if isinstance(t, dict) else None, "target app") for t in targets],
        ident_of(release, "release") if release is not None else None,
    )
    db.commit()
    return promotion_json(promotion, pipelines.promotion_status(promotion))


@router.get("/pipeline-promotions/{ident}")
def get_promotion(ident: str, user: UserDep, db: DbDep):
    promotion = pipelines.promotion_for(db, ident, user)
    return promotion_json(promotion, pipelines.promotion_status(promotion))


@router.get("/pipeline-promotions/{ident}/promotion-targets")
def list_promotion_targets(ident: str, user: UserDep, db: DbDep):
    promotion = pipelines.promotion_for(db, ident, user)
    return [promotion_target_json(t, pipelines.target_status(t)) for t in promotion.targets]


@router.post("/filters/apps")
def filter_apps(user: UserDep, db: DbDep, settings: SettingsDep, body: Annotated[dict | None, Body()] = None):
    """The apps among `{"in": {"id": [...]}}` that the user sees (others are left out)."""
    wanted = ((body or {}).get("in") or {}).get("id")
    if not isinstance(wanted, list) or not all(isinstance(i, str) for i in wanted) or len(wanted) > 1000:
        raise InvalidParams('Give up to 1,000 app ids as {"in": {"id": [...]}}.')
    ids = []
    for ident in wanted:
        try:
            ids.append(uuid.UUID(ident))
        except ValueError:
            continue
    visible = db.scalars(access.visible_apps(user).where(App.id.in_(ids)).order_by(App.name))
    return [describe(db, app, settings) for app in visible]

