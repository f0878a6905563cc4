"""Heroku Platform API v3 shapes of the models: what the API answers and what events carry."""

import uuid
from datetime import datetime, timezone

from paas.domain import stacks
from paas.domain.addon_services import BY_NAME, AddonService, Plan
from paas.domain.buildpacks import BUILTIN
from paas.domain.models import (
    Addon,
    AddonAttachment,
    ApiToken,
    App,
    AppSetup,
    AppLink,
    AuditEvent,
    Build,
    Collaborator,
    Domain,
    Event,
    Formation,
    Pipeline,
    PipelineCoupling,
    PipelinePromotion,
    PromotionTarget,
    Release,
    ReviewApp,
    ReviewAppConfig,
    ScheduledJob,
    ScheduledRun,
    Team,
    TeamMember,
    User,
    Webhook,
    WebhookDelivery,
)
from paas.domain import releases
from paas.metrics.points import MARKERS, STATUS_CLASSES
from paas.settings import Settings

REGION = {"id": "00000000-0000-4000-8000-0000000000a1", "name": "us"}


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_ref(user: User) -> dict:
    return {"id": str(user.id), "email": user.email}


def app_ref(app: App) -> dict:
    return {"id": str(app.id), "name": app.name}


def account_json(user: User) -> dict:
    return {
        "admin": user.is_admin,
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


def stack_ref(name: str | None) -> dict:
    """None: the code came from a Dockerfile, whose image brings its own (Heroku's `container`)."""
    stack = stacks.get_stack(name) if name else None
    if stack is None:
        return {"id": None, "name": "container"}
    return {"id": stack.id, "name": stack.name}


def buildpack_ref(entry: str) -> dict:
    """A built-in by Heroku's name (`heroku/python`), a URL as it is."""
    return {"url": entry, "name": f"heroku/{entry}" if entry in BUILTIN else entry}


def stack_json(stack: stacks.Stack) -> dict:
    return {
        "id": stack.id,
        "name": stack.name,
        "state": "public",
        "default": stack.name == stacks.DEFAULT_STACK,
        "python_versions": list(stack.python_versions),
        "node_version": stack.node_major,
        "created_at": STACKS_CREATED_AT,
        "updated_at": STACKS_CREATED_AT,
    }


STACKS_CREATED_AT = "2026-11-22T00:00:00Z"


def buildpack_description(built_with: list[str]) -> str | None:
    if not built_with:
        return None
    if built_with == ["dockerfile"]:
        return "Dockerfile"
    return ", ".join(name.capitalize() if name in BUILTIN else name for name in built_with)


def app_json(app: App, settings: Settings, current: Release | None = None, built_with: list[str] | None = None) -> dict:
    """`current` is the release serving now (its stack and slug size); `built_with`, what built it."""
    return {
        **app_ref(app),
        "owner": user_ref(app.owner),
        "region": REGION,
        "stack": stack_ref(current.stack if current and current.image else app.build_stack or stacks.DEFAULT_STACK),
        "build_stack": stack_ref(app.build_stack or stacks.DEFAULT_STACK),
        "git_url": settings.git_url(app.name),
        "web_url": settings.web_url(app.name),
        "repo_size": None,
        "slug_size": current.slug_size if current else None,
        "acm": bool(settings.acme_directory),  # custom domains get certificates automatically
        "force_https": app.force_https,
        "maintenance": app.maintenance,
        "create_status": "complete",
        "space": None,
        "team": {"id": str(app.team.id), "name": app.team.name} if app.team_id else None,
        "organization": {"id": str(app.team.id), "name": app.team.name} if app.team_id else None,
        "internal_routing": None,
        "process_tier": "basic",
        "buildpack_provided_description": buildpack_description(built_with or []),
        "health_check_path": app.health_check_path,  # paas's own: where new web processes must answer 2xx/3xx
        "created_at": iso(app.created_at),
        "updated_at": iso(app.updated_at),
        "released_at": iso(app.released_at),
    }


FREE = {"cents": 0, "contract": False, "metered": False, "unit": "month"}  # a self-hosted add-on costs its host only


def release_json(release: Release, current: Release | None, output_stream_url: str | None = None) -> dict:
    return {
        "id": str(release.id),
        "version": release.version,
        "description": release.description,
        "status": release.status.value,
        "current": current is not None and release.id == current.id,
        "eligible_for_rollback": releases.eligible_for_rollback(release),
        "user": user_ref(release.user),
        "slug": {"id": str(release.build_id)} if release.slug_size is not None else None,
        "stack": stack_ref(release.stack) if release.image else None,
        "image": release.image,
        "commit": release.commit,
        "addon_plan_names": [],
        "app": app_ref(release.app),
        "output_stream_url": output_stream_url,
        "created_at": iso(release.created_at),
        "updated_at": iso(release.updated_at),
    }


def build_json(build: Build, settings: Settings, output_stream_url: str) -> dict:
    source = {"url": build.source_url, "version": build.source_version, "version_description": None, "checksum": None}
    return {
        "id": str(build.id),
        "app": app_ref(build.app),
        "status": build.status.value,
        "source_blob": source,
        # A Dockerfile build has none, as Heroku's container builds.
        "buildpacks": None if build.buildpacks == ["dockerfile"] else [buildpack_ref(b) for b in build.buildpacks],
        "stack": build.stack or build.app.build_stack,
        "release": {"id": str(build.release_id)} if build.release_id else None,
        "slug": {"id": str(build.id)} if build.slug_key else None,
        "output_stream_url": output_stream_url,
        "user": user_ref(build.user),
        "created_at": iso(build.created_at),
        "updated_at": iso(build.updated_at),
    }


def buildpack_installations_json(entries: list[str]) -> list[dict]:
    return [{"ordinal": i, "buildpack": buildpack_ref(entry)} for i, entry in enumerate(entries)]


def formation_json(row: Formation, app: App, commands: dict[str, str]) -> dict:
    """`commands`: the serving release's process types ("" runs the image's own command)."""
    return {
        "id": str(row.id),
        "app": app_ref(app),
        "type": row.type,
        "quantity": row.quantity,
        "size": row.size,
        "command": commands.get(row.type, ""),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def addon_service_json(service: AddonService) -> dict:
    return {"id": str(service.id), "name": service.name, "human_name": service.human_name,
            "state": "ga", "supports_multiple_installations": True, "supports_sharing": True,
            "created_at": None, "updated_at": None}


def plan_json(service: AddonService, plan: Plan) -> dict:
    return {"id": str(uuid.uuid5(service.id, plan.name)), "name": f"{service.name}:{plan.name}", "human_name": plan.name,
            "description": plan.description, "default": plan is service.plans[0],
            "addon_service": {"id": str(service.id), "name": service.name}, "price": FREE,
            "state": "public"}


def addon_json(addon: Addon, config_vars: list[str]) -> dict:
    service = BY_NAME[addon.service]
    plan = service.plan(addon.plan)
    return {
        "id": str(addon.id),
        "name": addon.name,
        "addon_service": {"id": str(service.id), "name": service.name},
        "plan": {"id": str(uuid.uuid5(service.id, plan.name)), "name": f"{service.name}:{plan.name}", "price": FREE},
        "app": app_ref(addon.app),
        "billing_entity": {**app_ref(addon.app), "type": "app"},
        "state": addon.state,
        "config_vars": config_vars,
        "provider_id": str(addon.id),
        "actions": [],
        "billed_price": FREE,
        "web_url": None,
        "created_at": iso(addon.created_at),
        "updated_at": iso(addon.updated_at),
    }


def attachment_json(attachment: AddonAttachment) -> dict:
    addon = attachment.addon
    return {
        "id": str(attachment.id),
        "name": attachment.name,
        "addon": {"id": str(addon.id), "name": addon.name, "app": app_ref(addon.app)},
        "app": app_ref(attachment.app),
        "namespace": None,
        "config_vars": [attachment.config_key],
        "web_url": None,
        "log_input_url": None,
        "created_at": iso(attachment.created_at),
        "updated_at": iso(attachment.updated_at),
    }


def link_json(link: AppLink, settings: Settings) -> dict:
    return {
        "id": str(link.id),
        "app": app_ref(link.app),
        "target": app_ref(link.target),
        "url": f"http://{link.target.name}.internal:{settings.web_port}",
        "created_at": iso(link.created_at),
    }


def domain_json(domain: Domain | None, app: App, settings: Settings) -> dict:
    """A custom domain; None: the app's default one (Heroku's kind `heroku`)."""
    if domain is None:
        return {"id": str(uuid.uuid5(app.id, "default-domain")), "app": app_ref(app), "hostname": settings.app_host(app.name),
                "kind": "heroku", "cname": None, "status": "succeeded", "acm_status": None, "acm_status_reason": None,
                "created_at": iso(app.created_at), "updated_at": iso(app.created_at)}
    return {"id": str(domain.id), "app": app_ref(app), "hostname": domain.hostname, "kind": "custom",
            # What the user's DNS points the host at: the app's own name here.
            "cname": settings.app_host(app.name), "status": "succeeded",
            "acm_status": domain.acm_status, "acm_status_reason": domain.acm_status_reason,
            "created_at": iso(domain.created_at), "updated_at": iso(domain.updated_at)}


def authorization_json(row: ApiToken, token: str | None = None) -> dict:
    """Heroku's OAuth authorization: the token itself only in the answer that made it."""
    return {
        "id": str(row.id), "description": row.description, "scope": ["global"],
        "access_token": {"id": str(row.id), "token": token, "expires_in": None},
        "user": user_ref(row.user), "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
    }


PERMISSION_DESCRIPTIONS = {
    "view": "See the app and its activity, resources and logs.",
    "deploy": "Push and build, see and change config vars, roll back, run one-off processes.",
    "operate": "Scale, restart and stop dynos; change the app's settings.",
    "manage": "Add-ons, domains, links and collaborators; rename and delete the app.",
}


def collaborator_json(row: Collaborator | None, app: App, user: User, permissions) -> dict:
    """A collaborator; row None: the app's owner."""
    return {
        "id": str(row.id) if row else str(uuid.uuid5(app.id, "owner")), "app": app_ref(app), "user": user_ref(user),
        "role": "collaborator" if row else "owner",
        "permissions": [{"name": p, "description": text} for p, text in PERMISSION_DESCRIPTIONS.items() if p in permissions],
        "created_at": iso(row.created_at if row else app.created_at), "updated_at": iso(row.updated_at if row else app.updated_at),
    }


def team_json(team: Team, role: str | None) -> dict:
    return {"id": str(team.id), "name": team.name, "role": role, "type": "team", "default": False,
            "created_at": iso(team.created_at), "updated_at": iso(team.updated_at)}


def pipeline_json(pipeline: Pipeline) -> dict:
    owner = {"id": str(pipeline.team_id), "type": "team"} if pipeline.team_id else {"id": str(pipeline.owner_id), "type": "user"}
    return {"id": str(pipeline.id), "name": pipeline.name, "owner": owner, "generation": {"name": "cedar"},
            "created_at": iso(pipeline.created_at), "updated_at": iso(pipeline.updated_at)}


def pipeline_coupling_json(coupling: PipelineCoupling) -> dict:
    return {"id": str(coupling.id), "app": app_ref(coupling.app), "stage": coupling.stage,
            "pipeline": {"id": str(coupling.pipeline.id), "name": coupling.pipeline.name},
            "created_at": iso(coupling.created_at), "updated_at": iso(coupling.updated_at)}


def promotion_json(promotion: PipelinePromotion, status: str) -> dict:
    return {"id": str(promotion.id), "pipeline": {"id": str(promotion.pipeline_id)}, "status": status,
            "source": {"app": {"id": str(promotion.source_app_id)}, "release": {"id": str(promotion.source_release_id)}},
            "created_at": iso(promotion.created_at), "updated_at": iso(promotion.updated_at)}


def promotion_target_json(target: PromotionTarget, status: str) -> dict:
    failed = f"v{target.release.version} did not come up: its output says why (releases:output v{target.release.version})"
    return {"id": str(target.id), "app": {"id": str(target.app_id)}, "release": {"id": str(target.release_id)},
            "status": status, "error_message": failed if status == "failed" else None,
            "pipeline_promotion": {"id": str(target.promotion_id)}}


def scheduled_job_json(job: ScheduledJob, next_run_at: datetime | None = None, last_run: ScheduledRun | None = None) -> dict:
    return {"id": str(job.id), "app": app_ref(job.app), "command": job.command, "schedule": job.schedule, "size": job.size,
            "concurrency_policy": job.concurrency_policy, "declared_in": job.declared_in, "next_run_at": iso(next_run_at),
            "last_run": scheduled_run_json(last_run) if last_run else None,
            "created_at": iso(job.created_at), "updated_at": iso(job.updated_at)}


def scheduled_run_json(run: ScheduledRun) -> dict:
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.status != "skipped" else None
    return {"id": str(run.id), "scheduled_job": {"id": str(run.job_id)}, "name": run.name, "status": run.status,
            "due_at": iso(run.due_at), "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "exit_code": run.exit_code, "duration_seconds": round(duration, 3) if duration is not None else None,
            "release": {"version": run.release_version} if run.release_version else None, "message": run.message}


def app_setup_json(setup: AppSetup, build: dict | None) -> dict:
    postdeploy = None
    if setup.postdeploy_exit_code is not None:
        postdeploy = {"exit_code": setup.postdeploy_exit_code, "output": setup.postdeploy_output or ""}
    return {"id": str(setup.id), "status": setup.status, "failure_message": setup.failure_message,
            "manifest_errors": setup.manifest_errors or [], "app": {"id": str(setup.app_id) if setup.app_id else None, "name": setup.app_name},
            "build": {key: build[key] for key in ("id", "status", "output_stream_url")} if build else None,
            "postdeploy": postdeploy, "resolved_success_url": None,
            "created_at": iso(setup.created_at), "updated_at": iso(setup.updated_at)}


def review_app_config_json(config: ReviewAppConfig) -> dict:
    return {"pipeline": {"id": str(config.pipeline_id)}, "repo": {"name": config.repo}, "automatic_review_apps": config.automatic_review_apps,
            "destroy_stale_apps": config.destroy_stale_apps, "stale_days": config.stale_days, "wait_for_ci": config.wait_for_ci,
            "base_name": config.base_name, "deploy_target": None,
            "created_at": iso(config.created_at), "updated_at": iso(config.updated_at)}


def review_app_json(review: ReviewApp, status: str, message: str | None) -> dict:
    return {"id": str(review.id), "app": {"id": str(review.app_id)} if review.app_id else None,
            "app_setup": {"id": str(review.app_setup_id)} if review.app_setup_id else None,
            "pipeline": {"id": str(review.pipeline_id)}, "branch": review.branch, "pr_number": review.pr_number,
            "status": status, "error_status": "failed" if status == "errored" else None, "message": message,
            "creator": {"id": str(review.user_id)}, "created_at": iso(review.created_at), "updated_at": iso(review.updated_at)}


def team_member_json(member: TeamMember) -> dict:
    return {"id": str(member.id), "email": member.user.email, "role": member.role, "user": user_ref(member.user),
            "federated": False, "two_factor_authentication": False,
            "created_at": iso(member.created_at), "updated_at": iso(member.updated_at)}


def audit_event_json(event: AuditEvent) -> dict:
    return {"id": event.id, "created_at": iso(event.created_at), "actor": event.actor, "action": event.action, "app": event.app}


def webhook_json(hook: Webhook) -> dict:
    return {"id": str(hook.id), "app": app_ref(hook.app), "include": hook.include, "level": hook.level, "url": hook.url,
            "created_at": iso(hook.created_at), "updated_at": iso(hook.updated_at)}


def event_include(event: Event) -> str:
    """The kind a webhook includes it by (Heroku's): a dyno's state changing is `dyno`, a
    one-off run made `api:dyno`, the rest `api:<resource>`."""
    return "dyno" if (event.resource, event.action) == ("dyno", "update") else f"api:{event.resource}"


def webhook_payload(event: Event) -> dict:
    """What a webhook is sent of an event (without its webhook_metadata, which is per attempt)."""
    return {"id": str(event.id), "action": event.action, "resource": event.resource,
            "actor": event.actor or {"id": None, "email": None}, "data": event.data, "previous_data": event.previous_data,
            "created_at": iso(event.created_at), "updated_at": iso(event.created_at), "published_at": iso(event.published_at),
            "sequence": event.position, "version": "application/vnd.heroku+json; version=3"}


def webhook_event_json(event: Event) -> dict:
    return {"id": str(event.id), "include": event_include(event), "payload": webhook_payload(event),
            "created_at": iso(event.created_at), "updated_at": iso(event.published_at)}


def webhook_delivery_json(delivery: WebhookDelivery) -> dict:
    attempted = delivery.num_attempts > 0
    return {"id": str(delivery.id), "status": delivery.status, "num_attempts": delivery.num_attempts,
            "next_attempt_at": iso(delivery.next_attempt_at) if delivery.status in ("pending", "retrying") else None,
            "event": {"id": str(delivery.event.id), "include": event_include(delivery.event)},
            "webhook": {"id": str(delivery.webhook_id), "level": delivery.webhook.level},
            "last_attempt": {"code": delivery.last_code, "error_class": delivery.last_error,
                             "status": "succeeded" if delivery.status == "succeeded" else "failed",
                             "created_at": iso(delivery.updated_at), "updated_at": iso(delivery.updated_at)} if attempted else None,
            "created_at": iso(delivery.created_at), "updated_at": iso(delivery.updated_at)}


def metrics_json(process_type: str, step: int, points: list) -> dict:
    """An app's metrics: one entry per step, its fields null where nothing was collected."""
    def point(start: int, p) -> dict:
        at = iso(datetime.fromtimestamp(start, timezone.utc))
        if p is None:
            return {"time": at, "requests": None, "throughput": None, "response_time_ms": None, "cpu": None,
                    "memory_bytes": None, "memory_quota_exceeded_seconds": None, "restarts": None, "events": None}
        return {
            "time": at,
            "requests": dict(zip(STATUS_CLASSES, p.requests)),
            "throughput": round(sum(p.requests) / step, 3),  # requests a second
            "response_time_ms": {"p50": p.p50_ms, "p95": p.p95_ms, "p99": p.p99_ms},
            "cpu": {"mean": p.cpu_mean, "max": p.cpu_max},  # cores
            "memory_bytes": {"mean": p.memory_mean, "max": p.memory_max},
            "memory_quota_exceeded_seconds": p.over_quota_seconds,
            "restarts": p.restarts,
            "events": dict(zip(MARKERS, p.markers)),
        }

    return {"type": process_type, "step": step, "points": [point(start, p) for start, p in points]}
