"""Signed URLs: what Heroku hands out as pre-signed URLs (source uploads, build output) works
here as a URL carrying an HMAC of its path, so tools can use it without the API token."""

import hashlib
import hmac


class Signer:
    def __init__(self, secret: bytes):
        # A key of its own, derived from the platform's secret, so signatures reveal nothing of it.
        self.key = hashlib.sha256(b"paas url signing\0" + secret).digest()

    def sign(self, path: str) -> str:
        return hmac.new(self.key, path.encode(), hashlib.sha256).hexdigest()

    def signed(self, base_url: str, path: str) -> str:
        return f"{base_url}{path}?signature={self.sign(path)}"

    def valid(self, path: str, signature: str | None) -> bool:
        return signature is not None and hmac.compare_digest(self.sign(path), signature)
