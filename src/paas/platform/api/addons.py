"""Add-ons and add-on attachments (Heroku's endpoints and shapes). Making, attaching and
rotating are jobs the runner does (`paas.addons.jobs`, which the changes' events call for);
these calls wait for them (up to `addon_wait`)."""

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from paas.channels import addon_jobs
from paas.domain import access, addons, quotas
from paas.domain.addon_services import BY_NAME, SERVICES
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import Addon
from paas.platform.deps import CipherDep, DbDep, PlatformDep, UserDep
from paas.shapes import (
    addon_json,
    addon_service_json,
    attachment_json,
    plan_json,
)

router = APIRouter()


def describe(db: Session, addon: Addon) -> dict:
    return addon_json(addon, [a.config_key for a in addons.attachments_of(db, addon)])


def wait_for_job(platform, job_id: object) -> dict | None:
    """Wait for the add-on job that the committed change calls for (its id: what it makes);
    returns its outcome, raises with why it failed, or returns None if it is still under way."""
    outcome = addon_jobs.wait_for_outcome(platform.redis, str(job_id), platform.settings.addon_wait)
    if outcome is not None and not outcome["ok"]:
        raise InvalidParams(outcome["message"])
    return outcome


@router.post("/apps/{ident}/addons")
def create_addon(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, platform: PlatformDep,
                 body: Annotated[dict | None, Body()] = None):
    body = body or {}
    attachment = body.get("attachment") or {}
    if not isinstance(attachment, dict):
        raise InvalidParams('attachment must be an object: {"name": "<NAME>"}.')
    app = access.app_for(db, ident, user, access.MANAGE)
    quotas.require_room(db, platform.settings, app.owner, "addons", actor=user)
    addon = addons.create_addon(db, cipher, app, body.get("plan"), attachment.get("name"), body.get("config"))
    if addon.state == "provisioned":  # nothing to make (an external URL): attached right away
        for a in addons.attachments_of(db, addon):
            addons.apply_attachment(db, cipher, a, user)
        db.commit()
        return JSONResponse(describe(db, addon), status_code=201)
    db.commit()
    addon_id = addon.id
    done = wait_for_job(platform, addon_id)
    db.expire_all()
    addon = db.get(Addon, addon_id)
    if addon is None:  # failed, and the failure was reported above; this is a destroy that raced it
        raise InvalidParams("The add-on was destroyed while it was provisioned.")
    return JSONResponse(describe(db, addon), status_code=201 if done else 202)


@router.get("/apps/{ident}/addons")
def list_app_addons(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [describe(db, a) for a in db.scalars(addons.list_addons(app=app))]


@router.get("/addons")
def list_addons(user: UserDep, db: DbDep):
    return [describe(db, a) for a in db.scalars(addons.list_addons(user=user))]


@router.get("/apps/{ident}/addons/{addon}")
def get_app_addon(ident: str, addon: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return describe(db, addons.addon_for_user(db, addon, user, app))


@router.get("/addons/{addon}")
def get_addon(addon: str, user: UserDep, db: DbDep):
    return describe(db, addons.addon_for_user(db, addon, user))


@router.delete("/apps/{ident}/addons/{addon}")
def destroy_addon(ident: str, addon: str, user: UserDep, db: DbDep, cipher: CipherDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    found = addons.addon_for_user(db, addon, user, app)
    if found.app_id != app.id:
        raise InvalidParams(f"{found.name} belongs to {found.app.name}; detach it from {app.name} instead, or destroy it there.")
    body = {**describe(db, found), "state": "deprovisioned"}
    addons.destroy(db, cipher, found, user)
    db.commit()
    return JSONResponse(body)


@router.post("/apps/{ident}/addons/{addon}/actions/credentials-rotate")
def rotate_credentials(ident: str, addon: str, user: UserDep, db: DbDep, platform: PlatformDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    found = addons.addon_for_user(db, addon, user, app)
    addons.require_manage(db, found, user)
    if not addons.service_of(found).runs_server:
        raise InvalidParams(f"{found.name} holds a URL you gave: set a new one by attaching a new external add-on.")
    addons.require_provisioned(found)
    addon_id = found.id
    db.rollback()
    job = addon_jobs.Job("rotate", [str(addon_id), str(user.id)])  # an action, not a change: asked for
    addon_jobs.send(platform.redis, job)
    done = wait_for_job(platform, job.id)
    db.commit()  # the audit log's event (the job committed the change itself)
    db.expire_all()
    return JSONResponse(describe(db, db.get(Addon, addon_id)), status_code=200 if done else 202)


@router.post("/actions/addons/resolve")
def resolve_addon(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    """Heroku's resolver: the add-ons a name (or id, or an attachment's name on `app`) means to
    the caller, as a list, which the Heroku CLI takes one from."""
    body = body or {}
    wanted, app_ident, service = body.get("addon"), body.get("app"), body.get("addon_service")
    if not isinstance(wanted, str) or not isinstance(app_ident, str | None) or not isinstance(service, str | None):
        raise InvalidParams('Give {"addon": "<name or id>", "app": "<app>" (optional), "addon_service": "<service>" (optional)}.')
    app = access.app_for(db, app_ident, user, access.VIEW) if app_ident else None
    found = addons.addon_for_user(db, wanted, user, app)
    if service is not None and BY_NAME.get(service) is not addons.service_of(found):
        raise NotFound(f"Couldn't find that add-on: {wanted} (of {service})")
    return [describe(db, found)]


@router.post("/actions/addon-attachments/resolve")
def resolve_attachment(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    """Heroku's resolver for attachments: by id, or by name on `app`; a list."""
    body = body or {}
    wanted, app_ident = body.get("addon_attachment"), body.get("app")
    if not isinstance(wanted, str) or not isinstance(app_ident, str | None):
        raise InvalidParams('Give {"addon_attachment": "<name or id>", "app": "<app>" (optional)}.')
    app = access.app_for(db, app_ident, user, access.VIEW) if app_ident else None
    found = addons.get_attachment(db, wanted, app)
    attachment_access(db, found, user, access.VIEW)
    return [attachment_json(found)]


@router.get("/addon-attachments")
def list_attachments(user: UserDep, db: DbDep):
    return [attachment_json(a) for a in db.scalars(addons.list_attachments(user=user))]


@router.get("/apps/{ident}/addon-attachments")
def list_app_attachments(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [attachment_json(a) for a in db.scalars(addons.list_attachments(app=app))]


@router.get("/addon-attachments/{attachment}")
def get_attachment(attachment: str, user: UserDep, db: DbDep):
    found = addons.get_attachment(db, attachment)
    attachment_access(db, found, user, access.VIEW)
    return attachment_json(found)


def attachment_access(db, found, user, permission: str) -> None:
    """As for an attachment that does not exist, when its app is one the caller may not see."""
    try:
        access.app_for(db, str(found.app_id), user, permission)
    except NotFound:
        raise NotFound(f"Couldn't find that add-on attachment: {found.id}") from None


@router.get("/apps/{ident}/addon-attachments/{attachment}")
def get_app_attachment(ident: str, attachment: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return attachment_json(addons.get_attachment(db, attachment, app))


@router.post("/addon-attachments", status_code=201)
def create_attachment(user: UserDep, db: DbDep, cipher: CipherDep, platform: PlatformDep,
                      body: Annotated[dict | None, Body()] = None):
    body = body or {}
    if not isinstance(body.get("addon"), str) or not isinstance(body.get("app"), str):
        raise InvalidParams('Give the add-on and the app: {"addon": "<id or name>", "app": "<id or name>", "name": "<NAME>"}.')
    app = access.app_for(db, body["app"], user, access.MANAGE)
    addon = addons.addon_for_user(db, body["addon"], user)
    addons.require_manage(db, addon, user)
    addons.require_provisioned(addon)
    attachment = addons.attach(db, cipher, addon, app, body.get("name"))
    if not addons.service_of(addon).runs_server:
        addons.apply_attachment(db, cipher, attachment, user)
        db.commit()
        return attachment_json(attachment)
    db.commit()
    attachment_id = attachment.id
    done = wait_for_job(platform, attachment_id)
    db.expire_all()
    return JSONResponse(attachment_json(addons.get_attachment(db, str(attachment_id))), status_code=201 if done else 202)


@router.delete("/addon-attachments/{attachment}")
@router.delete("/apps/{ident}/addon-attachments/{attachment}")
def delete_attachment(attachment: str, user: UserDep, db: DbDep, cipher: CipherDep, ident: str | None = None):
    app = access.app_for(db, ident, user, access.MANAGE) if ident else None
    found = addons.get_attachment(db, attachment, app)
    attachment_access(db, found, user, access.MANAGE)
    addons.check_detachable(db, found)
    body = attachment_json(found)
    addons.detach(db, cipher, found, user)
    db.commit()
    return JSONResponse(body)


@router.get("/addon-services")
def list_services(user: UserDep):
    return [addon_service_json(s) for s in SERVICES]


def _service(name: str):
    found = BY_NAME.get(name)
    if found is None:
        raise NotFound(f"Couldn't find that add-on service: {name}")
    return found


@router.get("/addon-services/{service}")
def get_service(service: str, user: UserDep):
    return addon_service_json(_service(service))


@router.get("/addon-services/{service}/plans")
def list_plans(service: str, user: UserDep):
    found = _service(service)
    return [plan_json(found, p) for p in found.plans]
