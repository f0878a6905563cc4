from collections.abc import Iterator

from fastapi.responses import JSONResponse, StreamingResponse

from paas import messages
from paas.domain.pagination import Page


def paged(page: Page, serialize) -> JSONResponse:
    """200 when everything fits; 206 with `Next-Range` when the client should ask for more."""
    body = [serialize(item) for item in page.items]
    if page.next_range is None:
        return JSONResponse(body)
    return JSONResponse(body, status_code=206, headers={"Next-Range": page.next_range})


def streamed_output(stream: messages.LogStream, idle_timeout: float, what: str) -> StreamingResponse:
    """A build's or a release's output as plain text, from its start, live until it ends."""

    def lines() -> Iterator[str]:
        try:
            for item in stream.follow(idle_timeout):
                if isinstance(item, str):
                    yield item + "\n"
        except TimeoutError:
            yield f"(no output for a while; the {what} may still be running)\n"

    return StreamingResponse(lines(), media_type="text/plain")
