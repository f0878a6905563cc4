"""An app's own maintenance page: fetched from its MAINTENANCE_PAGE_URL (under the outbound rule)
and kept by the router, which serves it itself: no request in maintenance leaves the platform,
and the page is the same for every visitor (relative links in it do not work, as elsewhere)."""

import time

from paas.outbound import OutboundError, stream
from paas.settings import Settings

MAX_PAGE = 1 << 20  # bytes
FETCH_TIME = 5.0  # seconds for the whole page


def fetch_page(settings: Settings, url: str) -> bytes:
    """The page's bytes; OutboundError (fit for the app's logs) if it cannot be had."""
    deadline = time.monotonic() + FETCH_TIME
    with stream(settings, url, timeout=FETCH_TIME) as response:
        if response.status_code != 200:
            raise OutboundError(f"it answered HTTP {response.status_code}")
        page = bytearray()
        for chunk in response.iter_bytes():
            page += chunk
            if len(page) > MAX_PAGE:
                raise OutboundError(f"the page is larger than {MAX_PAGE // 1024} kB")
            if time.monotonic() > deadline:
                raise OutboundError(f"the page took longer than {FETCH_TIME:.0f} s")
        return bytes(page)
