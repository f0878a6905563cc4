"""Signed URLs: what Heroku hands out as pre-signed URLs (source uploads, build output) works
here as a URL carrying an HMAC of the method, the path, an optional expiry and an optional user
(whom it was made for: the handler asks whether they still may), so tools can use it without
the API token, for that one thing only (a download URL cannot upload)."""

import hashlib
import hmac
import time


class Signer:
    def __init__(self, secret: bytes):
        # A key of its own, derived from the platform's secret, so signatures reveal nothing of it.
        self.key = hashlib.sha256(b"paas url signing\0" + secret).digest()

    def sign(self, method: str, path: str, expires: int | None, user: str | None = None) -> str:
        message = f"{method} {path} {expires or ''}" + (f" user={user}" if user else "")
        return hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()

    def signed(self, base_url: str, path: str, method: str = "GET", ttl: float | None = None, user: str | None = None) -> str:
        """The URL to `path` that `valid` accepts for `method`, for `ttl` seconds (None: always)."""
        expires = None if ttl is None else int(time.time() + ttl)
        query = ("" if expires is None else f"expires={expires}&") + ("" if user is None else f"user={user}&")
        return f"{base_url}{path}?{query}signature={self.sign(method, path, expires, user)}"

    def matches(self, method: str, path: str, signature: str | None, expires: str | None = None,
                user: str | None = None) -> bool:
        """The signature is ours for these (expired or not: `expired` says)."""
        if signature is None or (expires is not None and not (expires.isascii() and expires.isdigit())):
            return False
        wanted = self.sign(method, path, int(expires) if expires else None, user)
        # Bytes: compare_digest refuses str with non-ASCII characters (a 500 instead of a 404).
        return hmac.compare_digest(wanted.encode(), signature.encode())

    def valid(self, method: str, path: str, signature: str | None, expires: str | None = None, user: str | None = None) -> bool:
        return self.matches(method, path, signature, expires, user) and not expired(expires)


def expired(expires: str | None) -> bool:
    """Past the signed expiry (a URL without one never expires)."""
    return expires is not None and int(expires) < time.time()
