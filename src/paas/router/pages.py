"""An app's own maintenance page: fetched from its MAINTENANCE_PAGE_URL (under the outbound rule)
and kept by the router, which serves it itself: no request in maintenance leaves the platform,
and the page is the same for every visitor (relative links in it do not work, as elsewhere)."""

import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError

from paas.outbound import OutboundError, stream
from paas.settings import Settings

MAX_PAGE = 1 << 20  # bytes
FETCH_TIME = 5.0  # seconds for the whole page, name lookups and redirects included
# A slow page server holds one of these, never the runner's reconcile: past FETCH_TIME the
# reconcile goes on with the default page while the fetch runs out its own timeouts.
FETCHERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="page-fetch")


def fetch_page(settings: Settings, url: str) -> bytes:
    """The page's bytes; OutboundError (fit for the app's logs) if it cannot be had in time."""
    try:
        return FETCHERS.submit(_fetch, settings, url, time.monotonic() + FETCH_TIME).result(timeout=FETCH_TIME)
    except TimeoutError:
        raise OutboundError(f"it took longer than {FETCH_TIME:g} s") from None


def _fetch(settings: Settings, url: str, deadline: float) -> bytes:
    # Not compressed: a small compressed body must not unpack to gigabytes before the size check.
    with stream(settings, url, timeout=FETCH_TIME, headers={"Accept-Encoding": "identity"}) as response:
        if response.status_code != 200:
            raise OutboundError(f"it answered HTTP {response.status_code}")
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            raise OutboundError("it answered compressed, though asked not to")
        page = bytearray()
        for chunk in response.iter_raw():
            page += chunk
            if len(page) > MAX_PAGE:
                raise OutboundError(f"the page is larger than {MAX_PAGE // 1024} kB")
            if time.monotonic() > deadline:
                raise OutboundError(f"it took longer than {FETCH_TIME:g} s")
        return bytes(page)
