"""Pipelines (Heroku's): apps of one code base by stage, and promotions that copy one app's
release into the next stage's apps without building again.

A pipeline belongs to a user or to a team. Its owner (and any member of its team, and the
platform's admins) sees it and changes it; nobody else learns that it exists (404). Coupling an
app needs `manage` on the app; a promotion needs `view` on its source and `deploy` on every
target. These functions touch only the database; callers commit.
"""

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from paas.domain import access, events, releases, teams
from paas.domain.crypto import ConfigCipher
from paas.domain.db import by_ident, one_by_id
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import (
    App,
    Pipeline,
    PipelineCoupling,
    PipelinePromotion,
    PromotionTarget,
    Status,
    TeamMember,
    User,
)

STAGES = ("test", "review", "development", "staging", "production")
NAME = re.compile(r"[a-z][a-z0-9-]{0,29}")


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidParams("A pipeline's name starts with a letter and has up to 30 lowercase letters, digits and dashes.")
    return name


def validate_stage(stage: object) -> str:
    if stage not in STAGES:
        raise InvalidParams(f"Stage must be one of {', '.join(STAGES)}.")
    return stage


def visible(user: User):
    """The pipelines `user` sees (and may change): their own, their teams', or all for an admin."""
    stmt = select(Pipeline)
    if user.is_admin:
        return stmt
    mine = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    return stmt.where(or_(Pipeline.owner_id == user.id, Pipeline.team_id.in_(mine)))


def visible_ids(user: User):
    return visible(user).with_only_columns(Pipeline.id)


def create_pipeline(db: Session, user: User, name: object, owner: object = None) -> Pipeline:
    """A new pipeline owned by `user`, or by the team `owner` names ({"id", "type": "team"})."""
    name = validate_name(name)
    owner = owner or {"type": "user"}
    if not isinstance(owner, dict) or owner.get("type") not in ("user", "team"):
        raise InvalidParams('owner is {"id": ..., "type": "user" or "team"}.')
    if owner["type"] == "team":
        team = teams.team_for(db, str(owner.get("id") or ""), user)  # 404 unless they are a member
        pipeline = Pipeline(name=name, team_id=team.id)
    else:
        if owner.get("id") not in (None, str(user.id), user.email):
            raise InvalidParams("A pipeline owned by a user is owned by the user who makes it.")
        pipeline = Pipeline(name=name, owner_id=user.id)
    db.add(pipeline)
    db.flush()
    return pipeline


def pipeline_for(db: Session, ident: str, user: User) -> Pipeline:
    """By id or name, among those the user sees; a name two of them share needs the id."""
    found = db.scalars(by_ident(visible(user), Pipeline.id, ident, Pipeline.name == ident).limit(2)).all()
    if not found:
        raise NotFound(f"Couldn't find that pipeline: {ident}")
    if len(found) > 1:
        raise InvalidParams(f"More than one pipeline is named {ident}: give its id.")
    return found[0]


def list_pipelines(db: Session, user: User, name: str | None = None) -> list[Pipeline]:
    stmt = visible(user).order_by(Pipeline.name, Pipeline.created_at)
    return list(db.scalars(stmt.where(Pipeline.name == name) if name is not None else stmt))


def owner_of(db: Session, pipeline: Pipeline) -> dict:
    """Heroku's owner reference: {id, type}."""
    if pipeline.team_id is not None:
        return {"id": str(pipeline.team_id), "type": "team"}
    return {"id": str(pipeline.owner_id), "type": "user"}


def rename_pipeline(db: Session, pipeline: Pipeline, name: object) -> Pipeline:
    pipeline.name = validate_name(name)
    db.flush()
    return pipeline


def destroy_pipeline(db: Session, pipeline: Pipeline) -> None:
    """The pipeline and its couplings go; its apps stay."""
    for coupling in couplings(db, pipeline):
        uncouple(db, coupling)
    db.delete(pipeline)
    db.flush()


def couple(db: Session, user: User, pipeline: Pipeline, app_ident: object, stage: object) -> PipelineCoupling:
    if not isinstance(app_ident, str):
        raise InvalidParams("Name the app to add by its name or id.")
    app = access.app_for(db, app_ident, user, access.MANAGE)
    stage = validate_stage(stage)
    existing = coupling_of(db, app)
    if existing is not None:
        raise InvalidParams(f"{app.name} is already in pipeline {existing.pipeline.name}: an app is in one pipeline at most.")
    coupling = PipelineCoupling(pipeline_id=pipeline.id, app_id=app.id, stage=stage)
    db.add(coupling)
    events.recorded(db, app, "pipeline-coupling", "create", coupling)
    return coupling


def coupling_of(db: Session, app: App) -> PipelineCoupling | None:
    return db.scalar(select(PipelineCoupling).where(PipelineCoupling.app_id == app.id))


def couplings(db: Session, pipeline: Pipeline) -> list[PipelineCoupling]:
    return list(db.scalars(select(PipelineCoupling).where(PipelineCoupling.pipeline_id == pipeline.id)
                           .order_by(PipelineCoupling.created_at)))


def coupling_for(db: Session, ident: str, user: User) -> PipelineCoupling:
    """A coupling by id, of a pipeline the user sees."""
    return one_by_id(db, select(PipelineCoupling).where(PipelineCoupling.pipeline_id.in_(visible_ids(user))), PipelineCoupling.id,
                     ident, "pipeline coupling")


def visible_couplings(db: Session, user: User) -> list[PipelineCoupling]:
    return list(db.scalars(select(PipelineCoupling).where(PipelineCoupling.pipeline_id.in_(visible_ids(user)))
                           .order_by(PipelineCoupling.created_at)))


def set_stage(db: Session, coupling: PipelineCoupling, stage: object) -> PipelineCoupling:
    stage = validate_stage(stage)
    with events.updating(db, coupling.app, "pipeline-coupling", coupling):
        coupling.stage = stage
    return coupling


def uncouple(db: Session, coupling: PipelineCoupling) -> None:
    events.recorded(db, coupling.app, "pipeline-coupling", "destroy", coupling)
    db.delete(coupling)
    db.flush()


def promote(db: Session, cipher: ConfigCipher, user: User, pipeline: Pipeline, source_ident: str,
            target_idents: list[str], release_ident: str | None = None) -> PipelinePromotion:
    """Copy the source app's current release (or the one named) into each target as a new
    release: its image and process types, with the target's own config; each target's runner
    then deploys it as any release (release phase, health checks). All targets or none: a
    refusal of one leaves nothing made."""
    source = access.app_for(db, source_ident, user, access.VIEW)
    in_pipeline = {c.app_id: c for c in couplings(db, pipeline)}
    if source.id not in in_pipeline:
        raise InvalidParams(f"{source.name} is not in pipeline {pipeline.name}.")
    if release_ident is None:
        release = releases.current_release(db, source)
    else:
        release = releases.get_release(db, source, release_ident)
    if release is None or release.image is None or release.status is not Status.succeeded:
        raise InvalidParams(f"{source.name} has no release with code that came up: nothing to promote.")
    if not target_idents:
        raise InvalidParams("Give at least one target app.")
    targets: list[App] = []
    for ident in target_idents:
        target = access.app_for(db, ident, user, access.DEPLOY)
        if target.id == source.id:
            raise InvalidParams(f"Cannot promote from an app to itself: {target.name}.")
        if target.id not in in_pipeline:
            raise InvalidParams(f"{target.name} is not in pipeline {pipeline.name}.")
        if target not in targets:
            targets.append(target)
    promotion = PipelinePromotion(pipeline_id=pipeline.id, source_app_id=source.id, source_release_id=release.id, user_id=user.id)
    db.add(promotion)
    db.flush()
    commit = f" ({release.commit[:7]})" if release.commit else ""
    for target in targets:
        made = releases.add_release(db, target, user, description=f"Promote {source.name} v{release.version}{commit}",
                                    config=target.config_vars, **releases.code_of(release))
        db.flush()
        db.add(PromotionTarget(promotion_id=promotion.id, app_id=target.id, release_id=made.id))
    db.flush()
    return promotion


def promotion_for(db: Session, ident: str, user: User) -> PipelinePromotion:
    return one_by_id(db, select(PipelinePromotion).where(PipelinePromotion.pipeline_id.in_(visible_ids(user))), PipelinePromotion.id,
                     ident, "promotion")


def target_status(target: PromotionTarget) -> str:
    """pending, succeeded or failed: its release's."""
    return target.release.status.value


def promotion_status(promotion: PipelinePromotion) -> str:
    """Heroku's: pending while a target's release is, then completed."""
    return "pending" if any(target_status(t) == "pending" for t in promotion.targets) else "completed"
