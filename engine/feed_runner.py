"""Feed outputs into one engine per symbol: sessions, far-level pruning, top-of-book checks.

``SymbolRunner`` is the only place where a venue feed's outputs reach a book; live trading,
the replay of a recording and ``obflow book`` all go through it, so they build the same books
and take the same decisions. While a symbol is out of sync nothing reaches its engine (no
features, model or orders on an unsynced book). A crossed book, a bookTicker that disagrees
with the book at the same update id, or a failed snapshot audit invalidates that symbol and
asks for a resync through ``request_resync``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from time import perf_counter_ns
from time import time_ns
from typing import Protocol

import numpy as np

from engine.book import NO_PRICE
from engine.book import L2Book
from engine.book import drop_far
from engine.book import prune_far
from engine.errors import CrossedBookError
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import F_SNAPSHOT
from engine.events import event_dtype as book_dtype
from engine.feed import AuditExpectation
from engine.feed import BookBatch
from engine.feed import FeedCounters
from engine.feed import Invalidated
from engine.feed import Output
from engine.feed import Quote
from engine.instrument import InstrumentSpec


class BookSink(Protocol):
    """What a runner drives: ``Engine`` (full pipeline) or ``BookOnly``."""

    book: L2Book
    book_valid: bool

    def start_session(self, source: str) -> None: ...

    def process(self, batch: np.ndarray, received_perf_ns: int | None = None) -> None: ...


class BookOnly:
    """Just the book: for ``obflow book``, tests and benchmarks."""

    def __init__(self, instrument: InstrumentSpec, source: str = "") -> None:
        self.instrument = instrument
        self.book = L2Book(source=source)
        self.book_valid = True
        self.events = 0
        self.last_ts_ns = 0

    def start_session(self, source: str) -> None:
        self.book.clear()
        self.book.source = source
        self.book_valid = True

    def process(self, batch: np.ndarray, received_perf_ns: int | None = None) -> None:
        self.book.apply(batch)
        self.events += len(batch)
        if len(batch):
            self.last_ts_ns = int(batch["ts_event"][-1])


class RunnerState(enum.Enum):
    SYNCED = "synced"
    AWAIT_INVALIDATION = "await_invalidation"  #: resync asked for; feed still old session
    AWAIT_SNAPSHOT = "await_snapshot"


ResyncCallback = Callable[[str, str], None]


class SymbolRunner:
    """One symbol's outputs into one ``BookSink``.

    prune_far_pct: level updates more than this percent of the touch price away from the
    touch are dropped, and such levels are pruned every ``prune_every`` batches (0: never).
    live: the batches arrive now, so the engine's end-to-end stages start at the frame's
    receive time (a replay has no such moment: they start at the book update).
    """

    def __init__(self, symbol: str, sink: BookSink, counters: FeedCounters, *,
                 prune_far_pct: float = 5.0, prune_every: int = 256,
                 request_resync: ResyncCallback | None = None, source: str = "",
                 live: bool = False) -> None:
        self.symbol = symbol
        self.live = live
        self.sink = sink
        self.counters = counters
        self.prune_far_pct = prune_far_pct
        self.prune_every = prune_every
        self.request_resync = request_resync
        self.source = source or symbol
        self.state = RunnerState.AWAIT_SNAPSHOT
        self.last_seq = 0
        self.sessions = 0
        self.batches = 0
        self.pruned = 0
        self.max_ticks = 0
        self._pending: dict[int, Quote] = {}
        self._reach = [NO_PRICE, NO_PRICE]  #: lowest bid, highest ask touch since the last prune

    @property
    def synced(self) -> bool:
        return self.state is RunnerState.SYNCED

    def on_output(self, out: Output) -> None:
        if isinstance(out, BookBatch):
            self._batch(out)
        elif isinstance(out, Invalidated):
            if self.state is not RunnerState.AWAIT_SNAPSHOT:
                self.state = RunnerState.AWAIT_SNAPSHOT
                self.sink.book_valid = False
                self._pending.clear()
        elif isinstance(out, Quote):
            self._quote(out)
        elif isinstance(out, AuditExpectation):
            self._audit(out)

    def _batch(self, out: BookBatch) -> None:
        events = out.events
        if out.starts_session:
            self.sink.start_session(self.source)
            self.state = RunnerState.SYNCED
            self.sessions += 1
            self._pending.clear()
            touch = _snapshot_touch(events)
            self.max_ticks = self._far_limit(touch)
            self._reserve_book(touch)
            self._reach = [NO_PRICE if p is None else p for p in touch]
        elif self.state is not RunnerState.SYNCED:
            return
        elif out.seq < self.last_seq:  # the feed's sequence rule makes this impossible
            self.counters.count("out_of_order", self.symbol)
        if self.max_ticks:
            book = self.sink.book
            ref_bid = book.best_bid_tick()
            ref_ask = book.best_ask_tick()
            if out.starts_session:
                ref_bid, ref_ask = touch
            self._note_touch(ref_bid, ref_ask)
            events = drop_far(events, NO_PRICE if ref_bid is None else ref_bid,
                              NO_PRICE if ref_ask is None else ref_ask, self.max_ticks)
        received = None
        if self.live:  # the frame's wall-clock receive time on the perf_counter clock
            received = perf_counter_ns() - max(0, time_ns() - out.ts_recv)
        try:
            self.sink.process(events, received)
        except CrossedBookError:
            self.counters.count("crossed_books", self.symbol)
            self._lose("crossed book")
            return
        self.last_seq = out.seq
        self.batches += 1
        if self.max_ticks and self.prune_every and self.batches % self.prune_every == 0:
            book = self.sink.book
            low, high = self._reach
            self.pruned += int(prune_far(
                book.bid, book.ask, book.hdr, self.max_ticks,
                NO_PRICE if low == NO_PRICE else low - self.max_ticks,
                NO_PRICE if high == NO_PRICE else high + self.max_ticks))
            bid, ask = book.best_bid_tick(), book.best_ask_tick()
            self._reach = [NO_PRICE if bid is None else bid, NO_PRICE if ask is None else ask]
        quote = self._pending.pop(out.seq, None)
        if quote is not None:
            self._check_quote(quote)

    def _note_touch(self, bid: int | None, ask: int | None) -> None:
        """Widen the touch range seen since the last prune: ``drop_far`` admits bids down to
        the touch less ``max_ticks``, so no level can lie beyond it (NO_PRICE: a one-sided
        book admits anything, scan it all)."""
        low, high = self._reach
        self._reach = [NO_PRICE if bid is None or low == NO_PRICE else min(low, bid),
                       NO_PRICE if ask is None or high == NO_PRICE else max(high, ask)]

    def _reserve_book(self, touch: tuple[int | None, int | None]) -> None:
        """Size the book once for every price the far-level rule lets in, so that it never
        grows (a copy of its arrays, tens of ms for BTCUSDT) while trading."""
        if not self.max_ticks:
            return
        refs = [p for p in touch if p is not None]
        if refs:
            self.sink.book.fit(min(refs) - self.max_ticks, max(refs) + self.max_ticks)

    def _far_limit(self, touch: tuple[int | None, int | None]) -> int:
        if not self.prune_far_pct:
            return 0
        bid, ask = touch
        ref = ask if bid is None else bid
        if ref is None:
            return 0
        return max(1, int(ref * self.prune_far_pct / 100))

    def _quote(self, quote: Quote) -> None:
        if self.state is not RunnerState.SYNCED:
            return
        if quote.seq == self.last_seq:
            self._check_quote(quote)
        elif quote.seq > self.last_seq:
            if len(self._pending) > 10_000:  # ids that no depth event ends on
                self._pending = {k: v for k, v in self._pending.items() if k > self.last_seq}
            self._pending[quote.seq] = quote

    def _check_quote(self, quote: Quote) -> None:
        book = self.sink.book
        bid, ask = book.best_bid_tick(), book.best_ask_tick()
        mine = (bid, book.qty_at_tick(BID, bid) if bid is not None else 0,
                ask, book.qty_at_tick(ASK, ask) if ask is not None else 0)
        self.counters.count("quote_checks", self.symbol)
        if mine != (quote.bid_px, quote.bid_qty, quote.ask_px, quote.ask_qty):
            self.counters.count("quote_mismatches", self.symbol)
            self._lose(f"bookTicker {quote.seq} disagrees with the book")

    def _audit(self, exp: AuditExpectation) -> None:
        if self.state is not RunnerState.SYNCED or exp.seq != self.last_seq:
            self.counters.count("audits_skipped", self.symbol)
            return
        n = len(exp.bid_px), len(exp.ask_px)
        bid_px, bid_qty, ask_px, ask_qty = self.sink.book.top(max(n))
        self.counters.count("audits", self.symbol)
        same = (np.array_equal(bid_px[:n[0]], exp.bid_px)
                and np.array_equal(bid_qty[:n[0]], exp.bid_qty)
                and np.array_equal(ask_px[:n[1]], exp.ask_px)
                and np.array_equal(ask_qty[:n[1]], exp.ask_qty))
        if not same:
            self.counters.count("audit_disagreements", self.symbol)
            self._lose("snapshot audit disagrees with the book")

    def _lose(self, reason: str) -> None:
        self.sink.book_valid = False
        self.state = RunnerState.AWAIT_INVALIDATION
        self._pending.clear()
        if self.request_resync is not None:
            self.request_resync(self.symbol, reason)


def _snapshot_touch(events: np.ndarray) -> tuple[int | None, int | None]:
    """Best bid and ask of the snapshot part of a session's first batch."""
    snap = events[((events["flags"] & F_SNAPSHOT) != 0) & (events["kind"] == BOOK_DELTA)
                  & (events["qty_lots"] > 0)]
    bids = snap["px_ticks"][snap["side"] == BID]
    asks = snap["px_ticks"][snap["side"] == ASK]
    return (int(bids.max()) if bids.size else None, int(asks.min()) if asks.size else None)


def warm_up_feed_code() -> None:
    """Compile (or load) the runner's numba functions before the first frame arrives (the
    connectors warm their parsers themselves: ``connectors.warmup``)."""
    book = L2Book(capacity=64)
    batch = np.zeros(1, dtype=book_dtype)
    drop_far(batch, 10, 12, 5)
    prune_far(book.bid, book.ask, book.hdr, 5)


class FeedConsumer:
    """Routes a feed's outputs to the runners of the symbols it follows."""

    def __init__(self, runners: dict[str, SymbolRunner]) -> None:
        self.runners = runners

    def on_output(self, out: Output) -> None:
        runner = self.runners.get(getattr(out, "symbol", ""))
        if runner is not None:
            runner.on_output(out)


__all__ = ["BookOnly", "BookSink", "FeedConsumer", "RunnerState", "SymbolRunner",
           "warm_up_feed_code"]
