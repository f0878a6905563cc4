"""The dashboard's account pages: the signed-in user's API tokens (list, make, revoke)."""

from fastapi import APIRouter

from paas.dashboard.web import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
