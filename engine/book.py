"""The L2 order book: two price-indexed arrays of sizes, updated in numba.

``bid_qty[i]`` and ``ask_qty[i]`` hold the size in lots at tick ``base + i`` (the index formula
of an ROI book, as in hftbacktest's ``ROIVectorMarketDepth``). A small int64 header keeps the
base tick, the best indices and the number of occupied levels, so best bid/ask are O(1) and a
best level that empties is replaced by a short scan. The numba functions take the three arrays
explicitly so that the replay loop can apply events without leaving compiled code; ``L2Book``
is the Python face that grows the arrays when a price falls outside them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.errors import BookRangeError
from engine.errors import CrossedBookError
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.memory import touched_zeros

#: Header slots.
H_BASE = 0  #: tick of array index 0
H_BEST_BID = 1  #: index of the best bid, -1 when there are no bids
H_BEST_ASK = 2  #: index of the best ask, ``capacity`` when there are no asks
H_BID_LEVELS = 3  #: occupied bid levels
H_ASK_LEVELS = 4  #: occupied ask levels
H_SIZE = 5

#: Outcomes of ``apply_events`` (``engine.loop`` has its own stop reasons, named apart).
APPLIED = 0  #: every event was applied
APPLY_OUT_OF_RANGE = 1  #: the event at the returned index lies outside the arrays; grow and resume
APPLY_CROSSED = 2  #: the book is crossed or locked after the message ending at the returned index

NO_PRICE = np.iinfo(np.int64).min  #: price slot of an empty level in ``top_levels`` output

MAX_CAPACITY = 1 << 25  #: 32 Mi ticks per side (256 MiB each); beyond that a feed needs pruning


@njit(cache=True, inline="always")
def apply_delta(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, side: int, px: int,
                qty: int) -> bool:
    """Set the size at ``px`` on ``side``; False if ``px`` is outside the arrays.

    Removing a level outside the arrays is a no-op (every level there is empty already), so
    a venue's deletes far from the touch never grow the book."""
    i = px - hdr[H_BASE]
    cap = bid.shape[0]
    if i < 0 or i >= cap:
        return qty == 0
    if side == BID:
        old = bid[i]
        bid[i] = qty
        if old == 0 and qty > 0:
            hdr[H_BID_LEVELS] += 1
            if i > hdr[H_BEST_BID]:
                hdr[H_BEST_BID] = i
        elif old > 0 and qty == 0:
            hdr[H_BID_LEVELS] -= 1
            if i == hdr[H_BEST_BID]:
                if hdr[H_BID_LEVELS] == 0:
                    hdr[H_BEST_BID] = -1
                else:
                    j = i - 1
                    while bid[j] == 0:
                        j -= 1
                    hdr[H_BEST_BID] = j
    else:
        old = ask[i]
        ask[i] = qty
        if old == 0 and qty > 0:
            hdr[H_ASK_LEVELS] += 1
            if i < hdr[H_BEST_ASK]:
                hdr[H_BEST_ASK] = i
        elif old > 0 and qty == 0:
            hdr[H_ASK_LEVELS] -= 1
            if i == hdr[H_BEST_ASK]:
                if hdr[H_ASK_LEVELS] == 0:
                    hdr[H_BEST_ASK] = cap
                else:
                    j = i + 1
                    while ask[j] == 0:
                        j += 1
                    hdr[H_BEST_ASK] = j
    return True


@njit(cache=True, inline="always")
def qty_at(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, side: int, px: int) -> int:
    """Size at tick ``px`` on ``side`` (0 outside the arrays)."""
    i = px - hdr[H_BASE]
    if i < 0 or i >= bid.shape[0]:
        return 0
    return bid[i] if side == BID else ask[i]


@njit(cache=True, inline="always")
def is_crossed(hdr: np.ndarray) -> bool:
    """Both sides present and best bid at or above best ask."""
    return hdr[H_BID_LEVELS] > 0 and hdr[H_ASK_LEVELS] > 0 and hdr[H_BEST_BID] >= hdr[H_BEST_ASK]


@njit(cache=True)
def apply_events(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, events: np.ndarray,
                 start: int, end: int) -> tuple[int, int]:
    """Apply ``events[start:end]``; returns ``(index, outcome)``.

    Non-book events are skipped. The crossed check runs at message ends (``F_LAST``), where
    the book is consistent; on APPLY_CROSSED the returned index is that of the message's last event
    (already applied), on APPLY_OUT_OF_RANGE it is the event that could not be applied.
    """
    for i in range(start, end):
        ev = events[i]
        if ev.kind == BOOK_DELTA:
            if not apply_delta(bid, ask, hdr, ev.side, ev.px_ticks, ev.qty_lots):
                return i, APPLY_OUT_OF_RANGE
        if ev.flags & F_LAST and is_crossed(hdr):
            return i, APPLY_CROSSED
    return end, APPLIED


@njit(cache=True)
def top_levels(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, bid_px: np.ndarray,
               bid_qty: np.ndarray, ask_px: np.ndarray, ask_qty: np.ndarray) -> None:
    """Fill the output arrays (length n) with the top n levels; empty slots get NO_PRICE, 0.

    The scan stops after the last occupied level, so a thin book costs no more than a deep one.
    """
    n = bid_px.shape[0]
    base = hdr[H_BASE]
    j = hdr[H_BEST_BID]
    have = hdr[H_BID_LEVELS]
    for k in range(n):
        if k < have:
            while bid[j] == 0:
                j -= 1
            bid_px[k] = base + j
            bid_qty[k] = bid[j]
            j -= 1
        else:
            bid_px[k] = NO_PRICE
            bid_qty[k] = 0
    j = hdr[H_BEST_ASK]
    have = hdr[H_ASK_LEVELS]
    for k in range(n):
        if k < have:
            while ask[j] == 0:
                j += 1
            ask_px[k] = base + j
            ask_qty[k] = ask[j]
            j += 1
        else:
            ask_px[k] = NO_PRICE
            ask_qty[k] = 0


@njit(cache=True)
def side_depth(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, side: int, levels: int,
               ) -> int:
    """Total size of the best ``levels`` occupied levels of ``side`` (all if fewer)."""
    if side == BID:
        qty, j, have, step = bid, hdr[H_BEST_BID], hdr[H_BID_LEVELS], -1
    else:
        qty, j, have, step = ask, hdr[H_BEST_ASK], hdr[H_ASK_LEVELS], 1
    total = 0
    for _ in range(min(levels, have)):
        while qty[j] == 0:
            j += step
        total += qty[j]
        j += step
    return total


class L2Book:
    """A price-level book in integer ticks and lots.

    ``apply`` takes a batch of ``event_dtype`` events; reads mirror nautilus and hftbacktest
    (``best_bid_tick``, ``qty_at_tick``, ``top``, ``depth``). The arrays start at
    ``capacity`` ticks and double, re-centred, when a price falls outside them.
    """

    def __init__(self, capacity: int = 1 << 16, *, source: str = "") -> None:
        if capacity <= 0 or capacity & (capacity - 1):
            raise ValueError(f"capacity must be a positive power of two, got {capacity}")
        self.source = source
        self.bid = touched_zeros(capacity, np.int64)
        self.ask = touched_zeros(capacity, np.int64)
        self.hdr = np.zeros(H_SIZE, dtype=np.int64)
        self.clear()

    @classmethod
    def covering(cls, events: np.ndarray, *, source: str = "") -> L2Book:
        """A book whose arrays already hold every price in ``events`` (no growth later)."""
        book = cls(source=source)
        px = events["px_ticks"][events["kind"] == BOOK_DELTA]
        if px.size:
            book.fit(int(px.min()), int(px.max()))
        return book

    @property
    def capacity(self) -> int:
        return self.bid.shape[0]

    def clear(self) -> None:
        """Empty the book (before a snapshot is loaded)."""
        self.bid[:] = 0
        self.ask[:] = 0
        self.hdr[H_BEST_BID] = -1
        self.hdr[H_BEST_ASK] = self.capacity
        self.hdr[H_BID_LEVELS] = 0
        self.hdr[H_ASK_LEVELS] = 0

    def apply(self, events: np.ndarray) -> None:
        """Apply a batch; raises CrossedBookError naming the event's source sequence."""
        i, n = 0, len(events)
        while i < n:
            i, outcome = apply_events(self.bid, self.ask, self.hdr, events, i, n)
            if outcome == APPLY_OUT_OF_RANGE:
                self.make_room(int(events["px_ticks"][i]), seq=int(events["seq"][i]))
            elif outcome == APPLY_CROSSED:
                raise CrossedBookError(
                    f"crossed book: best bid {self.best_bid_tick()} >= best ask "
                    f"{self.best_ask_tick()} ticks", seq=int(events["seq"][i]), source=self.source)

    def make_room(self, px: int, *, seq: int = 0) -> None:
        """Grow or re-centre the arrays so that tick ``px`` fits beside every occupied level."""
        self.fit(px, px, seq=seq)

    def fit(self, lo: int, hi: int, *, seq: int = 0) -> None:
        """Grow or re-centre the arrays to hold ticks ``lo..hi`` and every occupied level."""
        occupied = np.flatnonzero(self.bid | self.ask)
        base = int(self.hdr[H_BASE])
        if occupied.size:
            lo = min(lo, base + int(occupied[0]))
            hi = max(hi, base + int(occupied[-1]))
        span = hi - lo + 1
        cap = self.capacity
        while cap < 2 * span:
            cap *= 2
        if cap > MAX_CAPACITY:
            raise BookRangeError(
                f"ticks {lo}..{hi} span {span} ticks; more than {MAX_CAPACITY // 2} ticks "
                f"cannot be held", seq=seq, source=self.source)
        new_base = lo - (cap - span) // 2
        shift = base - new_base
        bid = touched_zeros(cap, np.int64)
        ask = touched_zeros(cap, np.int64)
        if occupied.size:
            o0, o1 = int(occupied[0]), int(occupied[-1]) + 1
            bid[o0 + shift:o1 + shift] = self.bid[o0:o1]
            ask[o0 + shift:o1 + shift] = self.ask[o0:o1]
        best_bid, best_ask = self.hdr[H_BEST_BID], self.hdr[H_BEST_ASK]
        self.bid, self.ask = bid, ask
        self.hdr[H_BASE] = new_base
        self.hdr[H_BEST_BID] = best_bid + shift if self.hdr[H_BID_LEVELS] else -1
        self.hdr[H_BEST_ASK] = best_ask + shift if self.hdr[H_ASK_LEVELS] else cap

    def best_bid_tick(self) -> int | None:
        return int(self.hdr[H_BASE] + self.hdr[H_BEST_BID]) if self.hdr[H_BID_LEVELS] else None

    def best_ask_tick(self) -> int | None:
        return int(self.hdr[H_BASE] + self.hdr[H_BEST_ASK]) if self.hdr[H_ASK_LEVELS] else None

    def qty_at_tick(self, side: int, px: int) -> int:
        return int(qty_at(self.bid, self.ask, self.hdr, side, px))

    def top(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(bid_px, bid_qty, ask_px, ask_qty)`` of the top n levels, best first."""
        out = [np.empty(n, dtype=np.int64) for _ in range(4)]
        top_levels(self.bid, self.ask, self.hdr, *out)
        return out[0], out[1], out[2], out[3]

    def depth(self, levels: int) -> tuple[int, int]:
        """Total bid and ask size within the top ``levels`` occupied levels."""
        return (side_depth(self.bid, self.ask, self.hdr, BID, levels),
                side_depth(self.bid, self.ask, self.hdr, ASK, levels))

    def is_crossed(self) -> bool:
        return bool(is_crossed(self.hdr))

    def levels(self, side: int) -> int:
        return int(self.hdr[H_BID_LEVELS if side == BID else H_ASK_LEVELS])


__all__ = ["APPLIED", "APPLY_CROSSED", "APPLY_OUT_OF_RANGE", "ASK", "BID", "NO_PRICE", "L2Book",
           "apply_delta", "apply_events", "is_crossed", "qty_at", "side_depth",
           "top_levels"]


@njit(cache=True)
def drop_far(events: np.ndarray, ref_bid: int, ref_ask: int, max_ticks: int) -> np.ndarray:
    """The events without level updates more than ``max_ticks`` worse than the touch.

    ``ref_bid``/``ref_ask`` are the touch (NO_PRICE: keep that side). A message whose last
    event is dropped hands its F_LAST to its last kept event, so message ends stay marked.
    """
    n = events.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    kept = 0
    last_kept = -1  # index of the last kept event of the current message
    for i in range(n):
        ev = events[i]
        far = False
        if ev.kind == BOOK_DELTA:
            if ev.side == BID:
                far = ref_bid != NO_PRICE and ev.px_ticks < ref_bid - max_ticks
            else:
                far = ref_ask != NO_PRICE and ev.px_ticks > ref_ask + max_ticks
        if far:
            keep[i] = False
        else:
            kept += 1
            last_kept = i
        if ev.flags & F_LAST:
            if far and last_kept >= 0 and not (events[last_kept].flags & F_LAST):
                events[last_kept].flags |= F_LAST
            last_kept = -1
    if kept == n:
        return events
    return events[keep]


@njit(cache=True)
def prune_far(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, max_ticks: int,
              lowest_bid: int = NO_PRICE, highest_ask: int = NO_PRICE) -> int:
    """Remove levels more than ``max_ticks`` worse than the best on their side; returns how
    many. The best levels never move, so the header stays valid.

    ``lowest_bid``/``highest_ask`` (ticks, NO_PRICE: unknown) bound where levels can be: the
    scan starts there instead of at the far end of a book sized for a whole session."""
    removed = 0
    cap = bid.shape[0]
    base = hdr[H_BASE]
    if hdr[H_BID_LEVELS] > 0:
        first = 0 if lowest_bid == NO_PRICE else max(0, lowest_bid - base)
        for i in range(first, max(0, hdr[H_BEST_BID] - max_ticks)):
            if bid[i] != 0:
                bid[i] = 0
                removed += 1
                hdr[H_BID_LEVELS] -= 1
    if hdr[H_ASK_LEVELS] > 0:
        last = cap if highest_ask == NO_PRICE else min(cap, highest_ask - base + 1)
        for i in range(min(cap, hdr[H_BEST_ASK] + max_ticks + 1), last):
            if ask[i] != 0:
                ask[i] = 0
                removed += 1
                hdr[H_ASK_LEVELS] -= 1
    return removed


__all__ += ["drop_far", "prune_far"]
