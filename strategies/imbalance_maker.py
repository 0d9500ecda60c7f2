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
from typing import NamedTuple

from numba import njit

from engine.events import BUY
from engine.events import SELL
from engine.features import FeatureSchema
from engine.strategy import CompiledStrategy
from engine.strategy import DecisionKernels
from engine.strategy import emit_cancel
from engine.strategy import emit_limit
from engine.strategy import run_decisions

FEATURE = "inventory_imbalance"
TAGS = ("quote", "requote", "halted")
QUOTE, REQUOTE, HALTED = range(len(TAGS))  #: indexes into TAGS


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
        for name in ("spread_ticks", "quote_step_ticks", "order_lots"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("kappa", "phi_ticks", "max_inventory_lots"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")


class Params(NamedTuple):
    column: int  #: the imbalance's index in the feature vector
    spread: float
    kappa: float
    phi: float
    step: int
    order_lots: int
    cap: int


@njit(cache=True)
def quote_prices(mid: float, imbalance: float, inventory: int, spread: float, kappa: float,
                 phi: float, step: int, best_bid: int, best_ask: int) -> tuple[int, int]:
    """Bid and ask prices (ticks) on the quote grid, passive."""
    half = spread / 2
    shift = phi * inventory
    bid = math.floor((mid - half * (1 + kappa * imbalance) - shift) / step) * step
    ask = math.ceil((mid + half * (1 - kappa * imbalance) - shift) / step) * step
    return min(bid, best_ask - step), max(ask, best_bid + step)


def quotes(mid: float, imbalance: float, inventory: int, config: ImbalanceMakerConfig,
           best_bid: int, best_ask: int) -> tuple[int, int]:
    """``quote_prices`` with a config's parameters."""
    c = config
    return quote_prices(mid, imbalance, inventory, float(c.spread_ticks), float(c.kappa),
                        float(c.phi_ticks), c.quote_step_ticks, best_bid, best_ask)


@njit(cache=True)
def decide(d, features, prediction, orders, n_orders, state, params, out) -> int:
    """Keep one quote a side at the skewed prices; pull the quotes when halted."""
    if not d.has_book:
        return 0
    imbalance = features[params.column]
    if imbalance != imbalance:
        return 0
    n = 0
    if d.halted:
        for k in range(n_orders):
            if orders[k].tag == QUOTE and orders[k].resting:
                n = emit_cancel(out, n, orders[k].client_id, HALTED)
        return n
    mid = (d.best_bid_tick + d.best_ask_tick) / 2
    bid, ask = quote_prices(mid, imbalance, d.position_lots, params.spread, params.kappa,
                            params.phi, params.step, d.best_bid_tick, d.best_ask_tick)
    for s in range(2):
        side = BUY if s == 0 else SELL
        px = bid if side == BUY else ask
        in_flight = False
        for k in range(n_orders):
            if orders[k].tag == QUOTE and orders[k].side == side and not orders[k].resting:
                in_flight = True
        if in_flight:
            continue  # wait for the order in flight before changing that side
        wanted = d.position_lots * side + params.order_lots <= params.cap
        kept = 0
        for k in range(n_orders):
            o = orders[k]
            if o.tag != QUOTE or o.side != side:
                continue
            if o.limit_px == px and wanted:
                kept += 1
            else:
                n = emit_cancel(out, n, o.client_id, REQUOTE)
        if wanted and kept == 0:
            n = emit_limit(out, n, side, params.order_lots, px, QUOTE)
    return n


@njit(cache=True)
def run(market, model, account, control, io, state, params, events, start):
    return run_decisions(decide, market, model, account, control, io, state, params, events,
                         start)


class ImbalanceMaker(CompiledStrategy):
    name = "imbalance_maker"
    config_class = ImbalanceMakerConfig
    required_features = (FEATURE,)
    tags = TAGS
    kernels = DecisionKernels(decide, run)

    def bind(self, schema: FeatureSchema) -> Params:
        c = self.config
        return Params(schema.index(FEATURE), float(c.spread_ticks), float(c.kappa),
                      float(c.phi_ticks), c.quote_step_ticks, c.order_lots,
                      c.max_inventory_lots)
