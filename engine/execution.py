"""Paper execution: orders reach the simulated venue after their latency and fill there.

* A marketable order (market, or limit at or through the opposite best) walks the visible
  book level by level, one taker ``Fill`` per level, up to its limit; a market order's
  unfilled rest is cancelled (immediate-or-cancel), a limit order's rest joins the book.
* A resting limit order sits in ``RestingOrders``, where the compiled loop moves its queue
  position and fills it passively (``engine/resting.py``).
* Every submit and cancel takes market-data latency (the decision acted on data that old)
  plus order-entry latency, each drawn from its ``LatencyModel``; actions reach the venue
  in arrival order, so a fast cancel can overtake a slow submit (and finds no order).
* Fees: maker and taker basis points of notional plus a fee per lot, in currency.

Paper fills do not change the replayed book: the data is the market, and our orders are
assumed too small to move it (the report says so).
"""

from __future__ import annotations

import heapq
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
from engine.latency_model import LatencyModel
from engine.orders import Fill
from engine.orders import Order
from engine.orders import OrderDone
from engine.orders import OrderIntent
from engine.orders import OrderKind
from engine.resting import QUEUE_MODELS
from engine.resting import RestingOrders

NO_LIMIT_BUY = np.iinfo(np.int64).max
NO_LIMIT_SELL = np.iinfo(np.int64).min


@dataclass(frozen=True)
class ExecutionConfig:
    """Paper venue parameters.

    order_latency_us, order_latency_sigma: order-entry latency median and lognormal shape
        (sigma 0: constant), microseconds; spike_prob, spike_us: occasional extra delay.
    md_latency_us, md_latency_sigma: market-data latency, added to every order's trip.
    seed: seeds the latency draws.
    queue_model: "conservative" or "probabilistic"; queue_power: n of f(x) = x**n.
    maker_fee_bps, taker_fee_bps: fees on notional (negative for a rebate);
    fee_per_lot: currency per lot traded.
    max_levels: deepest level a marketable order may walk; resting_slots: open limit orders.
    """

    order_latency_us: float = 1000.0
    order_latency_sigma: float = 0.0
    spike_prob: float = 0.0
    spike_us: float = 0.0
    md_latency_us: float = 0.0
    md_latency_sigma: float = 0.0
    seed: int = 1
    queue_model: str = "conservative"
    queue_power: float = 3.0
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0
    fee_per_lot: float = 0.0
    max_levels: int = 50
    resting_slots: int = 16

    def __post_init__(self) -> None:
        if self.max_levels <= 0 or self.resting_slots <= 0:
            raise ValueError("max_levels and resting_slots must be positive")
        if self.queue_model not in QUEUE_MODELS:
            raise ValueError(f"queue_model must be one of {sorted(QUEUE_MODELS)}")
        self.entry_latency()
        self.md_latency()

    def entry_latency(self) -> LatencyModel:
        return LatencyModel(self.order_latency_us, self.order_latency_sigma, self.spike_prob,
                            self.spike_us)

    def md_latency(self) -> LatencyModel:
        return LatencyModel(self.md_latency_us, self.md_latency_sigma)


@njit(cache=True)
def walk_book(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, side: int, qty: int,
              limit: int, out_px: np.ndarray, out_qty: np.ndarray) -> int:
    """Take up to ``qty`` from the side opposite ``side``, best level first, no further than
    ``limit`` (ticks); returns the number of levels used."""
    base = hdr[H_BASE]
    left = qty
    n = 0
    if side == BUY:
        j, have, step, book = hdr[H_BEST_ASK], hdr[H_ASK_LEVELS], 1, ask
    else:
        j, have, step, book = hdr[H_BEST_BID], hdr[H_BID_LEVELS], -1, bid
    for _ in range(have):
        if left <= 0 or n >= out_px.shape[0]:
            break
        while book[j] == 0:
            j += step
        px = base + j
        if (side == BUY and px > limit) or (side != BUY and px < limit):
            break
        take = min(left, book[j])
        out_px[n] = px
        out_qty[n] = take
        left -= take
        n += 1
        j += step
    return n


@dataclass(frozen=True)
class OpenOrder:
    client_id: int
    side: int
    qty_lots: int
    limit_px: int | None
    resting: bool  #: False while in flight to the venue
    reason: str


class PaperExecution:
    """Orders in flight, resting orders, and their fills."""

    def __init__(self, config: ExecutionConfig, *, money_per_tick_lot: float = 1.0) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self._entry = config.entry_latency()
        self._md = config.md_latency()
        self._money = money_per_tick_lot
        self.resting = RestingOrders(config.resting_slots, config.queue_model,
                                     config.queue_power)
        self._actions: list[tuple[int, int, str, object]] = []  # heap: arrive, seq, kind, x
        self._seq = 0
        self._next_id = 1
        self._live: dict[int, Order] = {}  # submitted, not yet done
        self._open: dict[int, OpenOrder] = {}  # the same orders as the strategy sees them
        self._open_view: tuple[OpenOrder, ...] | None = ()
        self._open_buy = 0
        self._open_sell = 0
        self._resting_ids: set[int] = set()
        self._px = np.empty(config.max_levels, dtype=np.int64)
        self._qty = np.empty(config.max_levels, dtype=np.int64)
        self.submitted_lots = 0
        self.cancel_unknown = 0

    # -- actions from the strategy -------------------------------------------------------
    def _trip_ns(self) -> int:
        return self._md.draw_ns(self.rng) + self._entry.draw_ns(self.rng)

    def submit(self, intent: OrderIntent, now_ns: int, expected_px: int | None = None,
               ) -> Order:
        order = Order(self._next_id, intent, now_ns, now_ns + self._trip_ns(), expected_px)
        self._next_id += 1
        self._live[order.client_id] = order
        self._set_open(order.client_id, OpenOrder(order.client_id, intent.side, intent.qty_lots,
                                                  intent.limit_px, False, intent.reason))
        self._push(order.ts_arrive_ns, "submit", order)
        self.submitted_lots += intent.qty_lots
        return order

    def cancel(self, client_id: int, now_ns: int) -> None:
        self._push(now_ns + self._trip_ns(), "cancel", client_id)

    def _push(self, at: int, kind: str, payload: object) -> None:
        heapq.heappush(self._actions, (at, self._seq, kind, payload))
        self._seq += 1

    # -- what risk and strategies read ---------------------------------------------------
    def next_arrival_ns(self) -> int | None:
        return self._actions[0][0] if self._actions else None

    def _set_open(self, client_id: int, order: OpenOrder | None) -> None:
        """Replace (or with None remove) an open order, keeping the lot counters."""
        old = self._open.pop(client_id, None)
        for o, sign in ((old, -1), (order, 1)):
            if o is None:
                continue
            if o.side == BUY:
                self._open_buy += sign * o.qty_lots
            else:
                self._open_sell += sign * o.qty_lots
        if order is not None and order.qty_lots > 0:
            self._open[client_id] = order
        self._open_view = None

    def open_orders(self) -> tuple[OpenOrder, ...]:
        if self._open_view is None:
            self._open_view = tuple(self._open.values())
        return self._open_view

    def open_lots(self) -> tuple[int, int]:
        """Lots that could still buy and sell: orders in flight plus resting ones."""
        return self._open_buy, self._open_sell

    def in_flight_lots(self) -> int:
        return self._open_buy - self._open_sell

    # -- the venue ------------------------------------------------------------------------
    def fee(self, px: int, qty: int, liquidity: str) -> float:
        bps = self.config.maker_fee_bps if liquidity == "maker" else self.config.taker_fee_bps
        return px * qty * self._money * bps / 1e4 + qty * self.config.fee_per_lot

    def process_due(self, book: L2Book, now_ns: int) -> tuple[list[Fill], list[OrderDone]]:
        """Carry out every action that has reached the venue by ``now_ns``, in order."""
        fills: list[Fill] = []
        done: list[OrderDone] = []
        while self._actions and self._actions[0][0] <= now_ns:
            at, _, kind, payload = heapq.heappop(self._actions)
            if kind == "submit":
                self._arrive(payload, at, book, fills, done)  # type: ignore[arg-type]
            else:
                self._cancel_arrives(int(payload), done)  # type: ignore[arg-type]
        return fills, done

    def _arrive(self, order: Order, at: int, book: L2Book, fills: list[Fill],
                done: list[OrderDone]) -> None:
        it = order.intent
        if it.kind is OrderKind.LIMIT:
            limit = it.limit_px
        else:
            limit = NO_LIMIT_BUY if it.side == BUY else NO_LIMIT_SELL
        bid, ask = book.best_bid_tick(), book.best_ask_tick()
        mid2 = bid + ask if bid is not None and ask is not None else 0
        n = walk_book(book.bid, book.ask, book.hdr, it.side, it.qty_lots, limit, self._px,
                      self._qty)
        filled = 0
        for k in range(n):
            px, q = int(self._px[k]), int(self._qty[k])
            filled += q
            fills.append(Fill(order.client_id, it.side, px, q, at, it.reason, mid2, "taker",
                              self.fee(px, q, "taker"), order.expected_px))
        left = it.qty_lots - filled
        if left and it.kind is OrderKind.LIMIT:
            self.resting.add(order.client_id, it.side, int(limit), left,
                             book.qty_at_tick(1 if it.side == BUY else -1, int(limit)))
            self._resting_ids.add(order.client_id)
            self._set_open(order.client_id, OpenOrder(order.client_id, it.side, left, limit,
                                                      True, it.reason))
            return
        del self._live[order.client_id]
        self._set_open(order.client_id, None)
        done.append(OrderDone(order.client_id, filled, left,
                              "filled" if not left else "ioc_remainder"))

    def _cancel_arrives(self, client_id: int, done: list[OrderDone]) -> None:
        if client_id not in self._resting_ids:
            # Not at the venue: filled already, or the submit has not arrived yet.
            self.cancel_unknown += 1
            done.append(OrderDone(client_id, 0, 0, "cancel_unknown"))
            return
        left = self.resting.remove(client_id)
        self._resting_ids.discard(client_id)
        order = self._live.pop(client_id)
        self._set_open(client_id, None)
        done.append(OrderDone(client_id, order.intent.qty_lots - left, left, "cancelled"))

    def passive_fills(self, book: L2Book) -> tuple[list[Fill], list[OrderDone]]:
        """Maker fills the compiled loop wrote since the last call."""
        fills: list[Fill] = []
        done: list[OrderDone] = []
        bid, ask = book.best_bid_tick(), book.best_ask_tick()
        mid2 = bid + ask if bid is not None and ask is not None else 0
        for f in self.resting.take_fills():
            cid, px, q = int(f["client_id"]), int(f["px_ticks"]), int(f["qty_lots"])
            order = self._live[cid]
            fills.append(Fill(cid, order.intent.side, px, q, int(f["ts"]), order.intent.reason,
                              mid2, "maker", self.fee(px, q, "maker"), order.expected_px))
            was = self._open[cid]
            left = was.qty_lots - q
            self._set_open(cid, OpenOrder(cid, was.side, left, was.limit_px, True, was.reason)
                           if left else None)
            if not left:
                self._resting_ids.discard(cid)
                del self._live[cid]
                done.append(OrderDone(cid, order.intent.qty_lots, 0, "filled"))
        return fills, done
