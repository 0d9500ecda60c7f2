"""Resting paper orders inside the compiled loop: queue position and passive fills.

Each resting limit order keeps an estimate of the displayed size ahead of it at its price
(``ahead``, set to the level's size when the order arrives, since a new order joins the back
of the queue). While the loop replays the market:

* a trade at the order's price from the opposite side (a sell hitting our bid) first
  consumes the size ahead, and what is left fills the order;
* a trade at a worse price (the market traded through the order) fills all of it;
* a size drop at the order's level that the trades of the same message do not explain is a
  cancellation: the conservative model takes none of it from ahead of the order; the
  probabilistic model (after hftbacktest's power queue model) takes the share
  1 - f(behind) / (f(ahead) + f(behind)), f(x) = x**n;
* after a message, an opposite best price at or through the order's price fills it (an
  incoming order would have traded with ours).

Passive fills are written to a fill buffer and the loop stops at the end of that message, so
the portfolio, risk and strategy see them before the next event.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.events import BUY
from engine.events import SELL

resting_dtype = np.dtype([
    ("client_id", np.int64),
    ("side", np.int64),  # BUY (+1) or SELL (-1); 0 marks a free slot
    ("px_ticks", np.int64),
    ("qty_lots", np.int64),  # still open
    ("ahead", np.float64),  # estimated displayed size ahead of the order
    ("traded_here", np.float64),  # trade volume at the order's price in this message
], align=True)

passive_fill_dtype = np.dtype([
    ("client_id", np.int64),
    ("px_ticks", np.int64),
    ("qty_lots", np.int64),
    ("ts", np.int64),
], align=True)

#: Queue models.
CONSERVATIVE = 0
PROBABILISTIC = 1
QUEUE_MODELS = {"conservative": CONSERVATIVE, "probabilistic": PROBABILISTIC}

# ``info`` slots (int64).
I_ACTIVE = 0  #: resting orders
I_FILLS = 1  #: fills written to the buffer since Python last read it
I_MODEL = 2  #: queue model
I_SIZE = 3


@njit(cache=True, inline="always")
def _fill(orders, fills, info, k, qty, px, ts):
    o = orders[k]
    n = info[I_FILLS]
    fills[n].client_id = o.client_id
    fills[n].px_ticks = px
    fills[n].qty_lots = qty
    fills[n].ts = ts
    info[I_FILLS] = n + 1
    o.qty_lots -= qty
    if o.qty_lots == 0:
        o.side = 0
        info[I_ACTIVE] -= 1


@njit(cache=True)
def resting_on_trade(orders: np.ndarray, fills: np.ndarray, info: np.ndarray, ts: int,
                     px: int, qty: int, aggressor: int) -> None:
    """Queue consumption and fills from one trade."""
    for k in range(orders.shape[0]):
        o = orders[k]
        if o.side == 0 or aggressor != -o.side:
            continue
        through = (o.side == BUY and px < o.px_ticks) or (o.side == SELL and px > o.px_ticks)
        if through:
            _fill(orders, fills, info, k, o.qty_lots, o.px_ticks, ts)
        elif px == o.px_ticks:
            o.traded_here += qty
            left = qty - o.ahead
            o.ahead = max(0.0, o.ahead - qty)
            if left > 0:
                _fill(orders, fills, info, k, min(o.qty_lots, int(left)), o.px_ticks, ts)


@njit(cache=True)
def resting_at_level(orders: np.ndarray, side: int, px: int) -> bool:
    for k in range(orders.shape[0]):  # noqa: SIM110 - a generator is slower in numba
        if orders[k].side == side and orders[k].px_ticks == px:
            return True
    return False


@njit(cache=True)
def resting_on_level_change(orders: np.ndarray, info: np.ndarray, power: float, side: int,
                            px: int, old: int, new: int) -> None:
    """Move the queue estimate of orders at (side, px) after the level went old -> new."""
    for k in range(orders.shape[0]):
        o = orders[k]
        if o.side != side or o.px_ticks != px:
            continue
        if new < old:
            drop = float(old - new)
            from_trades = min(drop, o.traded_here)
            o.traded_here -= from_trades
            cancel = drop - from_trades
            if cancel > 0 and info[I_MODEL] == PROBABILISTIC:
                front = o.ahead
                back = max(float(old) - front, 0.0)
                fb = back ** power
                ff = front ** power
                p_back = fb / (fb + ff) if fb + ff > 0 else 1.0
                o.ahead = front - (1.0 - p_back) * cancel + min(back - p_back * cancel, 0.0)
        o.ahead = max(0.0, min(o.ahead, float(new)))


@njit(cache=True)
def resting_on_message_end(orders: np.ndarray, fills: np.ndarray, info: np.ndarray,
                           hdr: np.ndarray, ts: int) -> None:
    """Fill orders the opposite best price has reached; forget this message's trades."""
    base = hdr[H_BASE]
    for k in range(orders.shape[0]):
        o = orders[k]
        if o.side == 0:
            continue
        o.traded_here = 0.0
        if o.side == BUY:
            reached = hdr[H_ASK_LEVELS] > 0 and base + hdr[H_BEST_ASK] <= o.px_ticks
        else:
            reached = hdr[H_BID_LEVELS] > 0 and base + hdr[H_BEST_BID] >= o.px_ticks
        if reached:
            _fill(orders, fills, info, k, o.qty_lots, o.px_ticks, ts)


class RestingOrders:
    """The arrays the loop reads: order slots, the passive fill buffer and counters."""

    def __init__(self, slots: int = 16, model: str = "conservative", power: float = 3.0,
                 ) -> None:
        if model not in QUEUE_MODELS:
            raise ValueError(f"queue model must be one of {sorted(QUEUE_MODELS)}, got {model!r}")
        self.orders = np.zeros(slots, dtype=resting_dtype)
        # Each event fills each order at most once, so a message fills at most this many.
        self.fills = np.zeros(4 * slots + 64, dtype=passive_fill_dtype)
        self.info = np.zeros(I_SIZE, dtype=np.int64)
        self.info[I_MODEL] = QUEUE_MODELS[model]
        self.power = float(power)

    def add(self, client_id: int, side: int, px: int, qty: int, ahead: int) -> None:
        free = np.flatnonzero(self.orders["side"] == 0)
        if not free.size:
            raise ValueError(f"no free slot for another resting order ({len(self.orders)} used)")
        k = int(free[0])
        self.orders[k] = (client_id, side, px, qty, float(ahead), 0.0)
        self.info[I_ACTIVE] += 1

    def remove(self, client_id: int) -> int:
        """Cancel; returns the lots that were still open (0 if it had filled)."""
        hit = np.flatnonzero((self.orders["client_id"] == client_id) & (self.orders["side"] != 0))
        if not hit.size:
            return 0
        k = int(hit[0])
        left = int(self.orders["qty_lots"][k])
        self.orders["side"][k] = 0
        self.info[I_ACTIVE] -= 1
        return left

    def take_fills(self) -> np.ndarray:
        n = int(self.info[1])
        out = self.fills[:n].copy()
        self.info[1] = 0
        return out

    def open_orders(self) -> np.ndarray:
        """A copy of the occupied slots (for inspection; the venue keeps its own view)."""
        return self.orders[self.orders["side"] != 0].copy()
