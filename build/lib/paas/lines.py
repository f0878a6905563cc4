"""Whole lines out of a container's output, which Docker streams in arbitrary pieces."""

import codecs
from collections.abc import Iterable


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
