"""ML-OFI: trade the model's direction when order flow agrees.

Long when P(up) > p_long and OFI > threshold, short when P(up) < p_short and OFI < -threshold;
hold ``hold_ms`` (1 to 5 minutes in the research spec), then close. The stop-loss (2 to 3
ticks) is risk's ``stop_loss_ticks``, which closes the position on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from numba import njit

from engine.events import BUY
from engine.events import SELL
from engine.features import FeatureSchema
from engine.strategy import CompiledStrategy
from engine.strategy import DecisionKernels
from engine.strategy import emit_market
from engine.strategy import exit_after
from engine.strategy import run_decisions

P_UP = 0  #: index of P(up, 1 minute) in the model's outputs
TAGS = ("entry", "exit:horizon")
ENTRY, EXIT = range(len(TAGS))  #: indexes into TAGS


@dataclass(frozen=True)
class MlOfiConfig:
    """Parameters.

    p_long, p_short: probability thresholds on P(up over 1 minute).
    ofi_feature: the order-flow feature that must agree; ofi_threshold: its size (lots).
    hold_ms: holding horizon; order_lots: entry size.
    """

    p_long: float = 0.55
    p_short: float = 0.45
    ofi_feature: str = "ofi_l1_10s"
    ofi_threshold: float = 0.0
    hold_ms: int = 120_000
    order_lots: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.p_short <= self.p_long <= 1:
            raise ValueError(f"need 0 <= p_short <= p_long <= 1, got p_short {self.p_short} "
                             f"and p_long {self.p_long}")
        if self.ofi_threshold < 0:
            raise ValueError(f"ofi_threshold must be non-negative, got {self.ofi_threshold}")
        for name in ("hold_ms", "order_lots"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


class Params(NamedTuple):
    ofi_column: int  #: the order-flow feature's index in the feature vector
    p_long: float
    p_short: float
    ofi_threshold: float
    hold_ns: int
    order_lots: int


@njit(cache=True)
def decide(d, features, prediction, orders, n_orders, state, params, out) -> int:
    """Exit after the horizon; enter when the model and the order flow agree."""
    if d.position_lots + d.open_lots != 0:
        return exit_after(d, params.hold_ns, out, EXIT)
    if d.halted:
        return 0
    p_up = prediction[P_UP]
    ofi = features[params.ofi_column]
    if p_up != p_up or ofi != ofi:  # no model output (NaN), or no order flow yet
        return 0
    if p_up > params.p_long and ofi > params.ofi_threshold:
        return emit_market(out, 0, BUY, params.order_lots, ENTRY)
    if p_up < params.p_short and ofi < -params.ofi_threshold:
        return emit_market(out, 0, SELL, params.order_lots, ENTRY)
    return 0


@njit(cache=True)
def run(market, model, account, control, io, state, params, events, start):
    return run_decisions(decide, market, model, account, control, io, state, params, events,
                         start)


class MlOfi(CompiledStrategy):
    name = "ml_ofi"
    config_class = MlOfiConfig
    needs_model = True
    tags = TAGS
    kernels = DecisionKernels(decide, run)

    def __init__(self, config: MlOfiConfig) -> None:
        super().__init__(config)
        self.required_features = (config.ofi_feature,)

    def bind(self, schema: FeatureSchema) -> Params:
        c = self.config
        return Params(schema.index(c.ofi_feature), float(c.p_long), float(c.p_short),
                      float(c.ofi_threshold), c.hold_ms * 1_000_000, c.order_lots)
