"""Response times as counts in fixed, log-spaced buckets, so that any two histograms merge by
adding counts and a percentile costs a walk over 65 numbers, whatever the number of requests.

Error: a quantile answers the upper bound of the bucket that holds the exact (nearest-rank)
quantile, so for times from 1 ms to 65.5 s the answer is never below the exact value and less
than 19% (a factor 2**0.25) above it. Times under 1 ms answer 1 ms; times over 65.5 s count in
the last bucket and answer 65.5 s, an underestimate (the router gives up on a request long before).
"""

import math
from bisect import bisect_left
from collections.abc import Iterable

# Four buckets per doubling, from 1 ms (2**0) to 65.5 s (2**16 ms).
BOUNDS_MS: tuple[float, ...] = tuple(2 ** (i / 4) for i in range(65))
LAST = len(BOUNDS_MS) - 1


def bucket_of(ms: float) -> int:
    """The bucket i holding `ms`: BOUNDS_MS[i - 1] < ms <= BOUNDS_MS[i] (the first and last are open)."""
    return min(bisect_left(BOUNDS_MS, ms), LAST)


def rank(q: float, total: int) -> int:
    """The nearest rank: the quantile q of `total` values is the rank-th smallest (1-based)."""
    return max(1, math.ceil(q * total))


class Histogram:
    __slots__ = ("counts",)

    def __init__(self, values_ms: Iterable[float] = ()):
        self.counts = [0] * len(BOUNDS_MS)
        for ms in values_ms:
            self.add(ms)

    def add(self, ms: float) -> None:
        self.counts[min(bisect_left(BOUNDS_MS, ms), LAST)] += 1

    def merge(self, other: "Histogram") -> None:
        self.counts = [mine + theirs for mine, theirs in zip(self.counts, other.counts)]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float | None:
        """The upper bound of the bucket of the exact q-quantile (0 < q <= 1); None if empty."""
        if not 0 < q <= 1:
            raise ValueError(f"a quantile is in (0, 1], not {q}")
        total = self.total
        if total == 0:
            return None
        wanted, seen = rank(q, total), 0
        for i, count in enumerate(self.counts):
            seen += count
            if seen >= wanted:
                return BOUNDS_MS[i]
        raise AssertionError("unreachable: the counts sum to total")
