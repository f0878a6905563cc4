"""The dashboard's pages of an app's domains, access, add-ons and settings.

Each form calls the API's own handler for the change (the one place its rules, quotas and side
effects live), with the session's user: the same checks, the same errors, the same events.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request

from paas.dashboard.web import PREFIX, Acting, SignedIn, page, see_other, viewing
from paas.domain import access, stacks
from paas.domain.addon_services import SERVICES
from paas.domain.errors import InvalidParams
from paas.platform.api import addons as addons_api
from paas.platform.api import apps as apps_api
from paas.platform.api import collaborators as collaborators_api
from paas.platform.api import domains as domains_api
from paas.platform.deps import CipherDep, DbDep, PlatformDep, SettingsDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)
# What the resources page offers (an external add-on needs a URL: `paas addons:create`).
PLANS = [(f"{s.name}:{p.name}", p.description) for s in SERVICES if s.runs_server for p in s.plans]


@router.get("/apps/{name}/domains")
def domains_page(request: Request, name: str, viewer: SignedIn, db: DbDep, settings: SettingsDep):
    app, may = viewing(db, viewer, name)
    return page(request, "domains.html", app=app, may=may, tab="Domains",
                domains=domains_api.list_domains(name, viewer.user, db, settings))


@router.post("/apps/{name}/domains")
def add_domain(name: str, viewer: Acting, db: DbDep, platform: PlatformDep, hostname: Annotated[str, Form(max_length=300)]):
    domains_api.add_domain(name, viewer.user, db, platform, {"hostname": hostname})
    return see_other(f"/apps/{name}/domains")


@router.post("/apps/{name}/domains/remove")
def remove_domain(name: str, viewer: Acting, db: DbDep, settings: SettingsDep, hostname: Annotated[str, Form(max_length=300)]):
    domains_api.remove_domain(name, hostname, viewer.user, db, settings)
    return see_other(f"/apps/{name}/domains")


@router.get("/apps/{name}/access")
def access_page(request: Request, name: str, viewer: SignedIn, db: DbDep):
    app, may = viewing(db, viewer, name)
    return page(request, "access.html", app=app, may=may, tab="Access", permissions=access.PERMISSIONS,
                collaborators=collaborators_api.list_collaborators(name, viewer.user, db))


@router.post("/apps/{name}/access")
def add_collaborator(name: str, viewer: Acting, db: DbDep, email: Annotated[str, Form(max_length=254)],
                     permissions: Annotated[list[str] | None, Form()] = None):
    body = {"user": email, **({"permissions": permissions} if permissions else {})}
    collaborators_api.add_collaborator(name, viewer.user, db, body)
    return see_other(f"/apps/{name}/access")


@router.post("/apps/{name}/access/remove")
def remove_collaborator(name: str, viewer: Acting, db: DbDep, email: Annotated[str, Form(max_length=254)]):
    collaborators_api.remove_collaborator(name, email, viewer.user, db)
    return see_other(f"/apps/{name}/access")


@router.post("/apps/{name}/addons")
def create_addon(name: str, viewer: Acting, db: DbDep, cipher: CipherDep, platform: PlatformDep,
                 plan: Annotated[str, Form(max_length=100)]):
    addons_api.create_addon(name, viewer.user, db, cipher, platform, {"plan": plan})
    return see_other(f"/apps/{name}/resources")


@router.post("/apps/{name}/addons/destroy")
def destroy_addon(name: str, viewer: Acting, db: DbDep, cipher: CipherDep, addon: Annotated[str, Form(max_length=100)]):
    addons_api.destroy_addon(name, addon, viewer.user, db, cipher)
    return see_other(f"/apps/{name}/resources")


@router.get("/apps/{name}/settings")
def settings_page(request: Request, name: str, viewer: SignedIn, db: DbDep):
    app, may = viewing(db, viewer, name)
    return page(request, "settings.html", app=app, may=may, tab="Settings", stacks=list(stacks.STACKS), default_stack=stacks.DEFAULT_STACK,
                buildpacks="\n".join(app.buildpacks))


@router.post("/apps/{name}/settings")
def update_settings(name: str, viewer: Acting, db: DbDep, settings: SettingsDep,
                    new_name: Annotated[str | None, Form(max_length=100)] = None,
                    stack: Annotated[str | None, Form(max_length=30)] = None,
                    maintenance: Annotated[Literal["on", "off"] | None, Form()] = None):
    body = ({"name": new_name} if new_name else {"build_stack": stack} if stack
            else {"maintenance": maintenance == "on"} if maintenance else {})
    if not body:
        raise InvalidParams("Give a new name, a stack or maintenance on or off.")
    changed = apps_api.update_app(name, viewer.user, db, settings, body)
    return see_other(f"/apps/{changed['name']}/settings")


@router.post("/apps/{name}/buildpacks")
def set_buildpacks(name: str, viewer: Acting, db: DbDep, buildpacks: Annotated[str, Form(max_length=5000)] = ""):
    wanted = [line.strip() for line in buildpacks.splitlines() if line.strip()]
    apps_api.put_buildpacks(name, viewer.user, db, {"updates": [{"buildpack": b} for b in wanted]})
    return see_other(f"/apps/{name}/settings")


@router.post("/apps/{name}/delete")
def delete_app(name: str, viewer: Acting, db: DbDep, cipher: CipherDep, settings: SettingsDep,
               confirm: Annotated[str, Form(max_length=100)] = ""):
    app = access.app_for(db, name, viewer.user, access.MANAGE)
    if confirm != app.name:
        raise InvalidParams(f"Type the app's name, {app.name}, to delete it: nothing was deleted.")
    apps_api.delete_app(name, viewer.user, db, cipher, settings)
    return see_other("/apps")
