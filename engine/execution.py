"""Paper execution: marketable orders walk the visible book after a fixed order latency.

An order decided at time t reaches the venue at t + latency and fills against the book as it
stands then (every event stamped at or before the arrival time applied), level by level, one
``Fill`` per level. What the visible book cannot fill is cancelled (immediate-or-cancel).
Paper fills do not change the replayed book: the data is the market, our orders are too
small to move it (an assumption the report states).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.book import L2Book
from engine.events import BUY
from engine.orders import Fill
from engine.orders import Order
from engine.orders import OrderDone
from engine.orders import OrderIntent


@dataclass(frozen=True)
class ExecutionConfig:
    """Paper execution parameters.

    order_latency_us: decision to venue arrival, microseconds (constant).
    max_levels: deepest level a marketable order may walk.
    """

    order_latency_us: int = 1000
    max_levels: int = 50

    def __post_init__(self) -> None:
        if self.order_latency_us < 0:
            raise ValueError(f"order_latency_us must be non-negative, got "
                             f"{self.order_latency_us}")
        if self.max_levels <= 0:
            raise ValueError(f"max_levels must be positive, got {self.max_levels}")


@njit(cache=True)
def walk_book(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, side: int, qty: int,
              out_px: np.ndarray, out_qty: np.ndarray) -> int:
    """Take ``qty`` from the side opposite ``side``, best level first; returns levels used."""
    base = hdr[H_BASE]
    left = qty
    n = 0
    if side == BUY:
        if hdr[H_ASK_LEVELS] == 0:
            return 0
        j = hdr[H_BEST_ASK]
        cap = ask.shape[0]
        while left > 0 and j < cap and n < out_px.shape[0]:
            if ask[j] > 0:
                take = min(left, ask[j])
                out_px[n] = base + j
                out_qty[n] = take
                left -= take
                n += 1
            j += 1
    else:
        if hdr[H_BID_LEVELS] == 0:
            return 0
        j = hdr[H_BEST_BID]
        while left > 0 and j >= 0 and n < out_px.shape[0]:
            if bid[j] > 0:
                take = min(left, bid[j])
                out_px[n] = base + j
                out_qty[n] = take
                left -= take
                n += 1
            j -= 1
    return n


class PaperExecution:
    """Holds orders in flight for their latency, then fills them against the book."""

    def __init__(self, config: ExecutionConfig) -> None:
        self.config = config
        self.latency_ns = config.order_latency_us * 1000
        self._in_flight: deque[Order] = deque()
        self._next_id = 1
        self._in_flight_lots = 0
        self._px = np.empty(config.max_levels, dtype=np.int64)
        self._qty = np.empty(config.max_levels, dtype=np.int64)

    def submit(self, intent: OrderIntent, now_ns: int) -> Order:
        order = Order(self._next_id, intent, now_ns, now_ns + self.latency_ns)
        self._next_id += 1
        self._in_flight.append(order)
        self._in_flight_lots += intent.side * intent.qty_lots
        return order

    def next_arrival_ns(self) -> int | None:
        """Arrival time of the oldest order in flight (all share one latency, so FIFO)."""
        return self._in_flight[0].ts_arrive_ns if self._in_flight else None

    def in_flight_lots(self) -> int:
        """Signed lots of orders sent but not yet filled."""
        return self._in_flight_lots

    def execute_due(self, book: L2Book, now_ns: int) -> tuple[list[Fill], list[OrderDone]]:
        """Fill every order that has arrived by ``now_ns`` against ``book``."""
        fills: list[Fill] = []
        done: list[OrderDone] = []
        while self._in_flight and self._in_flight[0].ts_arrive_ns <= now_ns:
            order = self._in_flight.popleft()
            intent = order.intent
            self._in_flight_lots -= intent.side * intent.qty_lots
            best_bid, best_ask = book.best_bid_tick(), book.best_ask_tick()
            mid2 = best_bid + best_ask if best_bid is not None and best_ask is not None else 0
            n = walk_book(book.bid, book.ask, book.hdr, intent.side, intent.qty_lots,
                          self._px, self._qty)
            filled = 0
            for k in range(n):
                q = int(self._qty[k])
                filled += q
                fills.append(Fill(order.client_id, intent.side, int(self._px[k]), q,
                                  order.ts_arrive_ns, intent.reason, mid2))
            done.append(OrderDone(order, filled, intent.qty_lots - filled))
        return fills, done
