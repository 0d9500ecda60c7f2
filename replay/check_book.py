"""``obflow check-book``: replay a LOBSTER pair and compare the book with the orderbook file.

Two checks after every message k >= 1 (row 0 is the starting snapshot):

1. the book's top N levels equal orderbook row k, price and size, on both sides;
2. a message of type 1-4 whose price is inside the visible range changed the size at its
   price and side by exactly its signed size (+size for type 1, -size for types 2-4).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from connectors.lobster import EMPTY_ASK
from connectors.lobster import EMPTY_BID
from connectors.lobster import LobsterDay
from connectors.lobster import beyond_view
from engine.book import NO_PRICE
from engine.book import L2Book
from engine.book import apply_delta
from engine.book import qty_at
from engine.book import top_levels
from engine.events import BOOK_DELTA


@dataclass(frozen=True)
class CheckResult:
    events: int
    mismatches: int  # orderbook rows the book disagreed with
    message_mismatches: int  # type 1-4 messages whose size change was not their signed size
    first_mismatch_line: int | None
    events_per_s: float
    times_rounded: int = 0  # message times with more than nine decimals, rounded to ns

    def as_dict(self) -> dict:
        out = {"events": self.events, "mismatches": self.mismatches,
               "message_mismatches": self.message_mismatches,
               "first_mismatch_line": self.first_mismatch_line,
               "events_per_s": self.events_per_s}
        if self.times_rounded:  # only when it happened: the usual output stays as it was
            out["times_rounded"] = self.times_rounded
        return out


@njit(cache=True)
def _check(bid, ask, hdr, events, msgs, ob, upt, levels):
    """Returns (rows mismatched, messages mismatched, first mismatching line or 0)."""
    bpx = np.empty(levels, np.int64)
    bq = np.empty(levels, np.int64)
    apx = np.empty(levels, np.int64)
    aq = np.empty(levels, np.int64)
    n_ev = events.shape[0]
    p = 0
    row_bad = 0
    msg_bad = 0
    first_bad = 0
    for k in range(msgs.shape[0]):
        line = k + 1
        typ = msgs[k, 1]
        side = msgs[k, 5]
        tick = msgs[k, 4] // upt
        before = qty_at(bid, ask, hdr, side, tick)
        while p < n_ev and events[p].seq == line:
            ev = events[p]
            if ev.kind == BOOK_DELTA:
                apply_delta(bid, ask, hdr, ev.side, ev.px_ticks, ev.qty_lots)
            p += 1
        if k == 0:
            continue
        row = ob[k]
        prev = ob[k - 1]
        if 1 <= typ <= 4:
            col = 2 if side == 1 else 0
            price = msgs[k, 4]
            if not (beyond_view(prev, levels, col, price, side == 1)
                    or beyond_view(row, levels, col, price, side == 1)):
                want = msgs[k, 3] if typ == 1 else -msgs[k, 3]
                if qty_at(bid, ask, hdr, side, tick) - before != want:
                    msg_bad += 1
                    if first_bad == 0:
                        first_bad = line
        top_levels(bid, ask, hdr, bpx, bq, apx, aq)
        ok = True
        for j in range(levels):
            a = row[4 * j]
            b = row[4 * j + 2]
            a_px = NO_PRICE if a == EMPTY_ASK else a // upt
            b_px = NO_PRICE if b == EMPTY_BID else b // upt
            if apx[j] != a_px or aq[j] != row[4 * j + 1] or bpx[j] != b_px or bq[j] != row[
                    4 * j + 3]:
                ok = False
                break
        if not ok:
            row_bad += 1
            if first_bad == 0:
                first_bad = line
    return row_bad, msg_bad, first_bad


def check_day(day: LobsterDay, units_per_tick: int) -> CheckResult:
    """Replay one decoded LOBSTER day through the book and compare with its orderbook rows."""
    book = L2Book.covering(day.events, source=str(day.pair.message))
    start = time.perf_counter()
    rows, msgs, first = _check(book.bid, book.ask, book.hdr, day.events, day.messages,
                               day.orderbook, units_per_tick, day.levels)
    elapsed = time.perf_counter() - start
    n = len(day.events)
    return CheckResult(n, int(rows), int(msgs), int(first) or None,
                       round(n / elapsed, 1) if elapsed > 0 else float("inf"), day.times_rounded)


