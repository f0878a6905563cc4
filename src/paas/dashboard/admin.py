"""The dashboard's admin pages: users (make, disable, a new password link) and the audit log."""

from fastapi import APIRouter

from paas.dashboard.web import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
