"""Signed URLs: what Heroku hands out as pre-signed URLs (source uploads, build output) works
here as a URL carrying an HMAC of the method, the path and an optional expiry, so tools can use
it without the API token, for that one thing only (a download URL cannot upload)."""

import hashlib
import hmac
import time


class Signer:
    def __init__(self, secret: bytes):
        # A key of its own, derived from the platform's secret, so signatures reveal nothing of it.
        self.key = hashlib.sha256(b"paas url signing\0" + secret).digest()

    def sign(self, method: str, path: str, expires: int | None) -> str:
        message = f"{method} {path} {expires or ''}"
        return hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()

    def signed(self, base_url: str, path: str, method: str = "GET", ttl: float | None = None) -> str:
        """The URL to `path` that `valid` accepts for `method`, for `ttl` seconds (None: always)."""
        expires = None if ttl is None else int(time.time() + ttl)
        query = "" if expires is None else f"expires={expires}&"
        return f"{base_url}{path}?{query}signature={self.sign(method, path, expires)}"

    def valid(self, method: str, path: str, signature: str | None, expires: str | None = None) -> bool:
        if signature is None:
            return False
        if expires is not None:
            if not (expires.isascii() and expires.isdigit()) or int(expires) < time.time():
                return False
        wanted = self.sign(method, path, int(expires) if expires else None)
        # Bytes: compare_digest refuses str with non-ASCII characters (a 500 instead of a 404).
        return hmac.compare_digest(wanted.encode(), signature.encode())
