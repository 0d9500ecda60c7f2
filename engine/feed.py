"""The feed contract: what a venue feed hands the engine, and the counters it keeps.

Connectors (``connectors/``) turn frames into these outputs; the engine side
(``engine.feed_runner``) applies them. Neither knows the other's internals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields

import numpy as np


# -- outputs ------------------------------------------------------------------------------
@dataclass(slots=True)
class BookBatch:
    """Events for one symbol's engine. ``starts_session``: a snapshot, clear the book first."""

    symbol: str
    events: np.ndarray
    starts_session: bool
    seq: int  #: venue sequence after the batch (Binance ``u``, Coinbase ``sequence_num``)
    ts_recv: int


@dataclass(slots=True)
class Invalidated:
    """The symbol's book is out of sync from here on; no batches until a new session."""

    symbol: str
    reason: str


@dataclass(slots=True)
class ResyncWanted:
    """The connector should fetch a snapshot (Binance) or resubscribe (Coinbase)."""

    symbols: tuple[str, ...]
    reason: str


@dataclass(slots=True)
class Quote:
    """The venue's own best bid/ask at sequence ``seq`` (Binance bookTicker), ticks and lots."""

    symbol: str
    seq: int
    bid_px: int
    bid_qty: int
    ask_px: int
    ask_qty: int


@dataclass(slots=True)
class AuditExpectation:
    """The top levels the book must hold right after the batch that reached ``seq``."""

    symbol: str
    seq: int
    bid_px: np.ndarray
    bid_qty: np.ndarray
    ask_px: np.ndarray
    ask_qty: np.ndarray


Output = BookBatch | Invalidated | ResyncWanted | Quote | AuditExpectation


# -- counters -----------------------------------------------------------------------------
@dataclass
class FeedCounters:
    """Plain counters for the metrics endpoint; ``by_symbol`` splits the per-symbol ones."""

    frames: int = 0
    events: int = 0
    malformed: int = 0
    ignored: int = 0  #: frames for symbols or channels this feed does not follow
    unsynced_drops: int = 0  #: trades and quotes dropped while the symbol was out of sync
    gaps: int = 0
    duplicates: int = 0  #: events or frames already applied (dropped)
    resyncs: int = 0  #: resyncs asked for (snapshot fetch or resubscribe)
    snapshots: int = 0  #: sessions started from a snapshot
    stale_snapshots: int = 0  #: snapshots older than the buffered stream (fetched again)
    buffer_overflows: int = 0
    reconnects: int = 0
    stale_periods: int = 0
    audits: int = 0
    audit_disagreements: int = 0
    audits_skipped: int = 0
    quote_checks: int = 0
    quote_mismatches: int = 0
    crossed_books: int = 0
    out_of_order: int = 0  #: book batches whose sequence went backwards (must stay 0)
    by_symbol: dict[str, Counter] = field(default_factory=dict)

    def count(self, name: str, symbol: str = "", n: int = 1) -> None:
        setattr(self, name, getattr(self, name) + n)
        if symbol:
            self.by_symbol.setdefault(symbol, Counter())[name] += n

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "by_symbol"}
        out["by_symbol"] = {s: dict(c) for s, c in sorted(self.by_symbol.items())}
        return out


__all__ = ["AuditExpectation", "BookBatch", "FeedCounters", "Invalidated", "Output", "Quote",
           "ResyncWanted"]
