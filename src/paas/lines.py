"""Lines of output: whole lines out of a container's output, which Docker streams in arbitrary
pieces, and what they are handed to."""

import codecs
from collections.abc import Callable, Iterable

Emit = Callable[[str], None]  # where lines of output go (a build's, a deploy's, a push's): one name everywhere


def output_lines(chunks: Iterable[bytes]) -> Iterable[str]:
    """UTF-8 may be split between chunks, and lines too. A line redrawn with carriage returns
    (progress bars) shows as it ended."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line.rstrip("\r").rsplit("\r", 1)[-1].rstrip()
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending.rstrip("\r").rsplit("\r", 1)[-1].rstrip()
