"""Sequence rules as pure functions with named outcomes (no book, no I/O).

Binance diff depth (spot docs, "How to manage a local order book correctly"): an event covers
update ids ``U..u``. After a snapshot with ``lastUpdateId`` the first event applied must
bracket ``lastUpdateId + 1``; each later one must start at the previous ``u + 1``. Coinbase
Advanced Trade numbers every frame of a connection with ``sequence_num``.
"""

from __future__ import annotations

import enum


class SeqCheck(enum.Enum):
    APPLY = "apply"  #: the event continues the sequence exactly
    BRIDGE = "bridge"  #: straddles ``last + 1`` (valid only as the first after a snapshot)
    STALE = "stale"  #: everything in the event is already applied (old or duplicate): drop it
    GAP = "gap"  #: updates between ``last`` and the event are missing: resync


def check_sequence(last: int, first: int, final: int) -> SeqCheck:
    """Classify a Binance event ``first..final`` (``U..u``) against the last applied id."""
    if final <= last:
        return SeqCheck.STALE
    if first == last + 1:
        return SeqCheck.APPLY
    if first <= last + 1:
        return SeqCheck.BRIDGE
    return SeqCheck.GAP


def check_sequence_num(last: int | None, num: int) -> SeqCheck:
    """Classify a Coinbase frame number against the last one seen on the connection."""
    if last is None or num == last + 1:
        return SeqCheck.APPLY
    if num <= last:
        return SeqCheck.STALE
    return SeqCheck.GAP


__all__ = ["SeqCheck", "check_sequence", "check_sequence_num"]
