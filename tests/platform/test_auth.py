import base64

import pytest

from paas.platform.auth import token_from_authorization
from paas.platform.git import app_name_from_path


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "header, token",
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        (basic("", "tok"), "tok"),
        (basic("git", "tok"), "tok"),
        (basic("heroku", "t:with:colons"), "t:with:colons"),
        (basic("user", ""), None),
        ("Basic !!!notbase64", None),
        ("Bearer", None),
        ("Token abc", None),
        ("", None),
        (None, None),
    ],
)
def test_token_from_authorization(header, token):
    assert token_from_authorization(header) == token


@pytest.mark.parametrize(
    "path, name",
    [
        ("/myapp.git", "myapp"),
        (b"/myapp.git", "myapp"),
        ("myapp.git/", "myapp"),
        ("/myapp", "myapp"),
        ("/../etc.git", None),
        ("/a/b.git", None),
        ("/Bad_Name.git", None),
        ("/ab.git", None),
    ],
)
def test_app_name_from_git_path(path, name):
    assert app_name_from_path(path) == name
