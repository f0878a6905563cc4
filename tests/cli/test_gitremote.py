"""Pure unit test: no platform needed."""

import pytest

from paas.cli.gitremote import app_from_remote_url


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://127.0.0.1:5100/my-app.git", "my-app"),
        ("http://127.0.0.1:5100/my-app.git/", "my-app"),
        ("https://heroku:secret@example.test/my-app.git", "my-app"),
        ("http://127.0.0.1:5100/my-app", "my-app"),
        ("git@example.test:my-app.git", "my-app"),
        ("  http://127.0.0.1:5100/my-app.git\n", "my-app"),
    ],
)
def test_app_from_remote_url(url, name):
    assert app_from_remote_url(url) == name


def test_app_from_empty_url():
    assert app_from_remote_url("") is None
