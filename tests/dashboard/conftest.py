"""The API's in-process fixtures serve the dashboard's tests too."""

from tests.platform.conftest import client, platform_app, token

__all__ = ["client", "platform_app", "token"]
