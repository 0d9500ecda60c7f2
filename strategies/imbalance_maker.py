"""Imbalance-skew market maker.

Quotes bid = mid - (s/2)(1 + κI) and ask = mid + (s/2)(1 - κI), both shifted by -φ x inventory,
with I the inventory imbalance -(BS - AS) / (BS + AS + eps): when asks pile up (I > 0) both
quotes move down. Prices are rounded away from the mid onto the venue's quote grid and kept
passive (a bid below the best ask, an ask above the best bid). A quote is replaced when its
price should move; fills come passively through the queue model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.events import BUY
from engine.events import SELL
from engine.orders import CancelIntent
from engine.orders import OrderIntent
from engine.orders import OrderKind
from strategies.base import GATE_MAKER
from strategies.base import DecisionView
from strategies.base import GateContext

FEATURE = "inventory_imbalance"
REASON = "quote"
#: Slots of the arrays ``gate_arrays`` hands to the compiled gate (``engine.gate``).
MM_STEP, MM_ORDER_LOTS, MM_CAP, MM_N_BID, MM_PX_BID, MM_N_ASK, MM_PX_ASK = range(7)
MM_SPREAD, MM_KAPPA, MM_PHI = range(3)
MIXED_PX = np.iinfo(np.int64).min  #: a side's open quotes are at different prices
_NO_HISTORY = (np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(2, dtype=np.int64))


@dataclass(frozen=True)
class ImbalanceMakerConfig:
    """Parameters (prices in instrument ticks).

    spread_ticks: s, the quoted spread before skew.
    kappa: κ, skew per unit of imbalance.
    phi_ticks: φ, quote shift per lot of inventory.
    quote_step_ticks: the venue's price grid in ticks (LOBSTER at a 0.0001 tick: 100).
    order_lots: size of each quote.
    max_inventory_lots: stop quoting the side that would grow the position beyond this.
    """

    spread_ticks: float = 2.0
    kappa: float = 0.5
    phi_ticks: float = 0.0
    quote_step_ticks: int = 1
    order_lots: int = 100
    max_inventory_lots: int = 300

    def __post_init__(self) -> None:
        if self.spread_ticks <= 0 or self.quote_step_ticks <= 0 or self.order_lots <= 0:
            raise ValueError("spread_ticks, quote_step_ticks and order_lots must be positive")
        if self.kappa < 0 or self.phi_ticks < 0 or self.max_inventory_lots < 0:
            raise ValueError("kappa, phi_ticks and max_inventory_lots must be non-negative")


def quotes(mid: float, imbalance: float, inventory: int, config: ImbalanceMakerConfig,
           best_bid: int, best_ask: int) -> tuple[int, int]:
    """Bid and ask prices (ticks) on the quote grid, passive."""
    half = config.spread_ticks / 2
    shift = config.phi_ticks * inventory
    step = config.quote_step_ticks
    bid = math.floor((mid - half * (1 + config.kappa * imbalance) - shift) / step) * step
    ask = math.ceil((mid + half * (1 - config.kappa * imbalance) - shift) / step) * step
    bid = min(bid, best_ask - step)
    ask = max(ask, best_bid + step)
    return bid, ask


class ImbalanceMaker:
    name = "imbalance_maker"
    required_features = (FEATURE,)
    gate_kind = GATE_MAKER  #: its compiled gate (``engine.gate``)

    def __init__(self, config: ImbalanceMakerConfig) -> None:
        self.config = config
        c = config
        self._gp = np.array([c.spread_ticks, c.kappa, c.phi_ticks], dtype=np.float64)

    def gate_arrays(self, position_lots: int, opened_ns: int | None, open_orders: tuple,
                    context: GateContext):
        """What the compiled gate needs (see ``engine.gate``), or None when an order is in
        flight or is not one of the quotes."""
        gi = np.zeros(7, dtype=np.int64)
        gi[MM_STEP] = self.config.quote_step_ticks
        gi[MM_ORDER_LOTS] = self.config.order_lots
        gi[MM_CAP] = self.config.max_inventory_lots
        for o in open_orders:
            if o.reason != REASON or not o.resting:
                return None
            n, px = (MM_N_BID, MM_PX_BID) if o.side == BUY else (MM_N_ASK, MM_PX_ASK)
            gi[px] = o.limit_px if not gi[n] or gi[px] == o.limit_px else MIXED_PX
            gi[n] += 1
        return (*_NO_HISTORY, gi, self._gp)

    def on_decision(self, view: DecisionView) -> list[OrderIntent | CancelIntent]:
        if view.best_bid_tick is None or view.best_ask_tick is None:
            return []
        imbalance = view.feature(FEATURE)
        if imbalance != imbalance:
            return []
        mine = [o for o in view.open_orders if o.reason == REASON]
        if view.halted:
            return [CancelIntent(o.client_id, "halted") for o in mine if o.resting]
        mid = (view.best_bid_tick + view.best_ask_tick) / 2
        bid, ask = quotes(mid, imbalance, view.position_lots, self.config, view.best_bid_tick,
                          view.best_ask_tick)
        actions: list[OrderIntent | CancelIntent] = []
        cap = self.config.max_inventory_lots
        for side, px in ((BUY, bid), (SELL, ask)):
            current = [o for o in mine if o.side == side]
            if any(not o.resting for o in current):
                continue  # wait for the order in flight before changing that side
            wanted = view.position_lots * side + self.config.order_lots <= cap
            keep = [o for o in current if o.limit_px == px and wanted]
            actions += [CancelIntent(o.client_id, "requote") for o in current if o not in keep]
            if wanted and not keep:
                actions.append(OrderIntent(side, self.config.order_lots, REASON, OrderKind.LIMIT,
                                           limit_px=px))
        return actions
