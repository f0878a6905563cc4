"""Heroku Platform API v3 shapes."""

from paas.platform.models import App, Release, User
from paas.platform.services import eligible_for_rollback
from paas.settings import Settings

STACK = {"id": "00000000-0000-4000-8000-0000000000b1", "name": "bookworm"}
REGION = {"id": "00000000-0000-4000-8000-0000000000a1", "name": "us"}


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_ref(user: User) -> dict:
    return {"id": str(user.id), "email": user.email}


def app_ref(app: App) -> dict:
    return {"id": str(app.id), "name": app.name}


def account_json(user: User) -> dict:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


def app_json(app: App, settings: Settings) -> dict:
    return {
        **app_ref(app),
        "owner": user_ref(app.owner),
        "region": REGION,
        "stack": STACK,
        "build_stack": STACK,
        "git_url": settings.git_url(app.name),
        "web_url": settings.web_url(app.name),
        "repo_size": None,
        "slug_size": None,
        "acm": False,
        "maintenance": False,
        "create_status": "complete",
        "space": None,
        "team": None,
        "organization": None,
        "internal_routing": None,
        "process_tier": "basic",
        "buildpack_provided_description": "Dockerfile",
        "created_at": iso(app.created_at),
        "updated_at": iso(app.updated_at),
        "released_at": iso(app.released_at),
    }


def release_json(release: Release, current: Release | None) -> dict:
    return {
        "id": str(release.id),
        "version": release.version,
        "description": release.description,
        "status": release.status.value,
        "current": current is not None and release.id == current.id,
        "eligible_for_rollback": eligible_for_rollback(release),
        "user": user_ref(release.user),
        "slug": None,
        "image": release.image,
        "commit": release.commit,
        "addon_plan_names": [],
        "app": app_ref(release.app),
        "output_stream_url": None,
        "created_at": iso(release.created_at),
        "updated_at": iso(release.updated_at),
    }
