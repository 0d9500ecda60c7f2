"""Microprice momentum in quiet-spread regimes: a strategy that lives outside obflow.

When the spread is no wider than usual (its z-score over the last minute is at most
``max_spread_z``) and the microprice leans away from the mid by at least ``min_lean_bps``,
buy (the microprice above the mid: bids are heavier) or sell (below). Close after
``hold_ms``, or as soon as the lean turns against the position.

Run it by path, in replay or live, with its parameters in ``[strategy.microprice_momentum]``::

    obflow replay --config configs/replay_synth.toml \\
        --strategy examples/strategies/microprice_momentum.py:MicropriceMomentum
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from numba import njit

from engine.features import FeatureSchema
from engine.strategy import NO_TIME
from engine.strategy import CompiledStrategy
from engine.strategy import DecisionKernels
from engine.strategy import emit_market
from engine.strategy import run_decisions

TAGS = ("entry", "exit:horizon", "exit:lean")
ENTRY, EXIT_HORIZON, EXIT_LEAN = range(len(TAGS))  #: indexes into TAGS


@dataclass(frozen=True)
class MicropriceMomentumConfig:
    """Parameters.

    min_lean_bps: smallest microprice distance from the mid that enters (basis points).
    max_spread_z: enter only while the spread's 1-minute z-score is at most this.
    hold_ms: holding horizon before the exit order.
    order_lots: size of each entry.
    """

    min_lean_bps: float = 0.05
    max_spread_z: float = 0.0
    hold_ms: int = 5_000
    order_lots: int = 100

    def __post_init__(self) -> None:
        if self.min_lean_bps <= 0:
            raise ValueError(f"min_lean_bps must be positive, got {self.min_lean_bps}")
        for name in ("hold_ms", "order_lots"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


class Params(NamedTuple):
    lean_column: int  #: ``microprice_distance_bps`` in the feature vector
    spread_column: int  #: ``spread_zscore_1m``
    min_lean_bps: float
    max_spread_z: float
    hold_ns: int
    order_lots: int


@njit(cache=True)
def decide(d, features, prediction, orders, n_orders, state, params, out) -> int:
    if not d.has_book:
        return 0
    lean = features[params.lean_column]
    exposure = d.position_lots + d.open_lots
    if exposure != 0:
        if d.open_lots != 0 or d.opened_ns == NO_TIME:
            return 0  # an order is on its way: wait for it
        side = -1 if exposure > 0 else 1
        if d.ts_ns - d.opened_ns >= params.hold_ns:
            return emit_market(out, 0, side, abs(exposure), EXIT_HORIZON)
        if lean == lean and lean * exposure < 0:
            return emit_market(out, 0, side, abs(exposure), EXIT_LEAN)
        return 0
    spread_z = features[params.spread_column]
    if d.halted or lean != lean or spread_z != spread_z:
        return 0
    if spread_z > params.max_spread_z or abs(lean) < params.min_lean_bps:
        return 0
    return emit_market(out, 0, 1 if lean > 0 else -1, params.order_lots, ENTRY)


@njit(cache=True)
def run(market, model, account, control, io, state, params, events, start):
    return run_decisions(decide, market, model, account, control, io, state, params, events,
                         start)


class MicropriceMomentum(CompiledStrategy):
    name = "microprice_momentum"
    config_class = MicropriceMomentumConfig
    required_features = ("microprice_distance_bps", "spread_zscore_1m")
    tags = TAGS
    kernels = DecisionKernels(decide, run)

    def bind(self, schema: FeatureSchema) -> Params:
        c = self.config
        return Params(schema.index("microprice_distance_bps"), schema.index("spread_zscore_1m"),
                      float(c.min_lean_bps), float(c.max_spread_z), c.hold_ms * 1_000_000,
                      c.order_lots)
