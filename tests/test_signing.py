"""Signed URLs: what is signed (method, path, expiry, user) cannot be changed, and whatever a
client sends in their place is refused without an error."""

import time

from hypothesis import given
from hypothesis import strategies as st

from paas.signing import Signer, expired

signer = Signer(b"a secret of the tests")
paths = st.from_regex(r"/[a-z0-9/-]{0,60}", fullmatch=True)
users = st.none() | st.uuids().map(str)
junk = st.none() | st.text(max_size=80)


def query(url: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))


@given(method=st.sampled_from(["GET", "PUT"]), path=paths, ttl=st.none() | st.integers(60, 10**6), user=users)
def test_a_signed_url_is_valid_for_exactly_what_was_signed(method, path, ttl, user):
    url = signer.signed("http://127.0.0.1:5100", path, method, ttl=ttl, user=user)
    got = query(url)
    signature, expires = got["signature"], got.get("expires")
    assert got.get("user") == user and (expires is None) == (ttl is None)
    assert signer.valid(method, path, signature, expires, user)
    other_method = "PUT" if method == "GET" else "GET"
    assert not signer.valid(other_method, path, signature, expires, user)
    assert not signer.valid(method, path + "x", signature, expires, user)
    assert not signer.valid(method, path, signature, str(int(expires or time.time()) + 1), user)
    assert not signer.valid(method, path, signature, expires, None if user else "someone-else")
    assert not signer.valid(method, path, signature, expires, (user or "") + "0")


def test_an_expired_signature_matches_but_is_not_valid():
    url = signer.signed("", "/x", ttl=-5, user="u")
    got = query(url)
    assert signer.matches("GET", "/x", got["signature"], got["expires"], "u") and expired(got["expires"])
    assert not signer.valid("GET", "/x", got["signature"], got["expires"], "u")


@given(signature=junk, expires=junk, user=junk)
def test_anything_sent_in_their_place_is_refused_without_an_error(signature, expires, user):
    assert not signer.valid("GET", "/apps/a/builds/b/output", signature, expires, user)
