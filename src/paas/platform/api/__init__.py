from fastapi.responses import JSONResponse

from paas.domain.pagination import Page


def paged(page: Page, serialize) -> JSONResponse:
    """200 when everything fits; 206 with `Next-Range` when the client should ask for more."""
    body = [serialize(item) for item in page.items]
    if page.next_range is None:
        return JSONResponse(body)
    return JSONResponse(body, status_code=206, headers={"Next-Range": page.next_range})
