"""App webhooks (Heroku's endpoints and shapes, as the official CLI's webhooks:* call them): made,
changed and removed by those who manage the app; their deliveries and the events delivered,
seen by those who may view it."""

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from paas.domain import access, webhooks
from paas.domain.models import WebhookDelivery
from paas.platform.deps import CipherDep, DbDep, UserDep
from paas.shapes import webhook_delivery_json, webhook_event_json, webhook_json

router = APIRouter()
DELIVERIES_SHOWN = 1000


@router.post("/apps/{ident}/webhooks", status_code=201)
def create_webhook(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.MANAGE)
    hook, made = webhooks.create_webhook(db, cipher, app, body)
    db.commit()
    # A secret made here is shown this once (Heroku's header; the CLI prints it).
    return JSONResponse(webhook_json(hook), status_code=201, headers={"Heroku-Webhook-Secret": made} if made else {})


@router.get("/apps/{ident}/webhooks")
def list_webhooks(ident: str, user: UserDep, db: DbDep):
    return [webhook_json(h) for h in webhooks.list_webhooks(db, access.app_for(db, ident, user, access.MANAGE))]


@router.get("/apps/{ident}/webhooks/{webhook}")
def get_webhook(ident: str, webhook: str, user: UserDep, db: DbDep):
    return webhook_json(webhooks.get_webhook(db, access.app_for(db, ident, user, access.MANAGE), webhook))


@router.patch("/apps/{ident}/webhooks/{webhook}")
def update_webhook(ident: str, webhook: str, user: UserDep, db: DbDep, cipher: CipherDep, body: Annotated[object, Body()] = None):
    hook = webhooks.get_webhook(db, access.app_for(db, ident, user, access.MANAGE), webhook)
    webhooks.update_webhook(db, cipher, hook, body)
    db.commit()
    return webhook_json(hook)


@router.delete("/apps/{ident}/webhooks/{webhook}")
def delete_webhook(ident: str, webhook: str, user: UserDep, db: DbDep):
    hook = webhooks.get_webhook(db, access.app_for(db, ident, user, access.MANAGE), webhook)
    body = webhook_json(hook)
    webhooks.delete_webhook(db, hook)
    db.commit()
    return body


@router.get("/apps/{ident}/webhook-deliveries")
def list_deliveries(ident: str, user: UserDep, db: DbDep, status: Annotated[str | None, Query(alias="eq[status]")] = None):
    """Newest first (what the CLI asks for with its Range)."""
    app = access.app_for(db, ident, user, access.VIEW)
    found = db.scalars(webhooks.deliveries(app, status).order_by(WebhookDelivery.created_at.desc()).limit(DELIVERIES_SHOWN))
    return [webhook_delivery_json(d) for d in found]


@router.get("/apps/{ident}/webhook-deliveries/{delivery}")
def get_delivery(ident: str, delivery: str, user: UserDep, db: DbDep):
    return webhook_delivery_json(webhooks.get_delivery(db, access.app_for(db, ident, user, access.VIEW), delivery))


@router.get("/apps/{ident}/webhook-events")
def list_webhook_events(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [webhook_event_json(e) for e in db.scalars(webhooks.delivered_events(app).limit(DELIVERIES_SHOWN))]


@router.get("/apps/{ident}/webhook-events/{event}")
def get_webhook_event(ident: str, event: str, user: UserDep, db: DbDep):
    return webhook_event_json(webhooks.get_event(db, access.app_for(db, ident, user, access.VIEW), event))
