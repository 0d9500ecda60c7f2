"""ML-OFI: trade the model's direction when order flow agrees.

Long when P(up) > p_long and OFI > threshold, short when P(up) < p_short and OFI < -threshold;
hold ``hold_ms`` (1 to 5 minutes in the research spec), then close. The stop-loss (2 to 3
ticks) is risk's ``stop_loss_ticks``, which closes the position on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.events import BUY
from engine.events import SELL
from engine.orders import OrderIntent
from strategies.base import GATE_ML
from strategies.base import DecisionView
from strategies.base import GateContext

P_UP = 0  #: index of P(up, 1 minute) in the model's outputs
#: Slots of the arrays ``gate_arrays`` hands to the compiled gate (``engine.gate``).
ML_EXIT_NS, ML_BLOCKED, ML_OFI_COL, ML_DEPTH = range(4)
ML_P_LONG, ML_P_SHORT, ML_OFI_THRESHOLD = range(3)
_NO_HISTORY = (np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(2, dtype=np.int64))


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
            raise ValueError("need 0 <= p_short <= p_long <= 1")
        if self.ofi_threshold < 0 or self.hold_ms <= 0 or self.order_lots <= 0:
            raise ValueError("ofi_threshold >= 0, hold_ms > 0 and order_lots > 0 are required")


class MlOfi:
    name = "ml_ofi"
    needs_model = True
    gate_kind = GATE_ML  #: its compiled gate (``engine.gate``)

    def __init__(self, config: MlOfiConfig) -> None:
        self.config = config
        self.required_features = (config.ofi_feature,)
        self._hold_ns = config.hold_ms * 1_000_000
        self._gp = np.array([config.p_long, config.p_short, config.ofi_threshold])

    def gate_arrays(self, position_lots: int, opened_ns: int | None, open_orders: tuple,
                    context: GateContext):
        """What the compiled gate needs (see ``engine.gate``), or None with orders open."""
        if open_orders:
            return None
        exit_ns = opened_ns + self._hold_ns if position_lots and opened_ns is not None \
            else np.iinfo(np.int64).max
        gi = np.array([exit_ns, context.blocked, context.schema.index(self.config.ofi_feature),
                       context.model_depth], dtype=np.int64)
        return (*_NO_HISTORY, gi, self._gp)

    def on_decision(self, view: DecisionView) -> list[OrderIntent]:
        exposure = view.position_lots + view.in_flight_lots
        if exposure != 0:
            if view.in_flight_lots == 0 and view.opened_ns is not None and (
                    view.ts_ns - view.opened_ns >= self._hold_ns):
                return [OrderIntent(SELL if exposure > 0 else BUY, abs(exposure),
                                    "exit:horizon")]
            return []
        if view.halted or view.prediction is None:
            return []
        p_up = float(view.prediction[P_UP])
        ofi = view.feature(self.config.ofi_feature)
        if p_up != p_up or ofi != ofi:
            return []
        c = self.config
        if p_up > c.p_long and ofi > c.ofi_threshold:
            return [OrderIntent(BUY, c.order_lots, "entry")]
        if p_up < c.p_short and ofi < -c.ofi_threshold:
            return [OrderIntent(SELL, c.order_lots, "entry")]
        return []
