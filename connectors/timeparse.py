"""ISO 8601 UTC timestamps with up to nanosecond digits, to epoch ns, exactly and fast."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

_SECOND = 1_000_000_000


@lru_cache(maxsize=64)
def _midnight_ns(date: str) -> int:
    day = dt.date.fromisoformat(date)
    return (day - dt.date(1970, 1, 1)).days * 86_400 * _SECOND


def iso_ns(text: str) -> int:
    """``2026-08-09T21:05:48.228568804Z`` (or a ``+00:00`` suffix) to epoch ns.

    ``datetime`` stops at microseconds; venues send nanoseconds, so the fraction is read as
    digits. Raises ValueError for anything else.
    """
    if len(text) < 20 or text[10] not in "T " or text[13] != ":" or text[16] != ":":
        raise ValueError(f"not an ISO UTC timestamp: {text!r}")
    rest = text[19:]
    frac = ""
    if rest.startswith("."):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        frac, rest = rest[1:end], rest[end:]
    if rest not in ("Z", "+00:00", "") or len(frac) > 9:
        raise ValueError(f"not an ISO UTC timestamp: {text!r}")
    clock = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    return _midnight_ns(text[:10]) + clock * _SECOND + int(frac.ljust(9, "0") or 0)


__all__ = ["iso_ns"]
