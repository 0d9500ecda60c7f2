"""Inventory-imbalance momentum.

I(t) = -(BS - AS) / (BS + AS + eps) with BS, AS the best bid and ask sizes. Buy when
I(t-2Λ) < I(t-Λ) < I(t) and all three |I| > θ; sell on the mirror image; hold a fixed
horizon h, then close. As written, I is positive when the ask side dominates, which the
research note reads as an expected rise; ``sign`` = -1 trades the opposite reading.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from engine.orders import OrderIntent
from strategies.base import DecisionView

FEATURE = "inventory_imbalance"


@dataclass(frozen=True)
class ImbalanceMomentumConfig:
    """Parameters.

    lag_ms: Λ, spacing of the three imbalance snapshots.
    threshold: θ, minimum |I| of all three snapshots.
    hold_ms: h, holding horizon before the exit order.
    sign: +1 buys a rising I (the note's reading), -1 sells it.
    order_lots: size of each entry.
    """

    lag_ms: int = 1000
    threshold: float = 0.3
    hold_ms: int = 30_000
    sign: int = 1
    order_lots: int = 100

    def __post_init__(self) -> None:
        if self.lag_ms <= 0:
            raise ValueError(f"lag_ms must be positive, got {self.lag_ms}")
        if not 0 <= self.threshold < 1:
            raise ValueError(f"threshold must be in [0, 1), got {self.threshold}")
        if self.hold_ms <= 0:
            raise ValueError(f"hold_ms must be positive, got {self.hold_ms}")
        if self.sign not in (1, -1):
            raise ValueError(f"sign must be 1 or -1, got {self.sign}")
        if self.order_lots <= 0:
            raise ValueError(f"order_lots must be positive, got {self.order_lots}")


class ImbalanceMomentum:
    name = "imbalance_momentum"
    required_features = (FEATURE,)

    def __init__(self, config: ImbalanceMomentumConfig) -> None:
        self.config = config
        self._lag_ns = config.lag_ms * 1_000_000
        self._hold_ns = config.hold_ms * 1_000_000
        self._ts: list[int] = []  # decision times, increasing
        self._values: list[float] = []

    def _as_of(self, ts_ns: int) -> float | None:
        """Imbalance at the last decision at or before ``ts_ns``."""
        k = bisect.bisect_right(self._ts, ts_ns) - 1
        return self._values[k] if k >= 0 else None

    def _remember(self, ts_ns: int, value: float) -> None:
        self._ts.append(ts_ns)
        self._values.append(value)
        # Keep what a 2Λ look-back can still need.
        horizon = ts_ns - 2 * self._lag_ns
        k = bisect.bisect_right(self._ts, horizon) - 1
        if k > 1024:
            del self._ts[:k]
            del self._values[:k]

    def on_decision(self, view: DecisionView) -> list[OrderIntent]:
        value = view.feature(FEATURE)
        if value != value:  # NaN: one side of the book is empty
            return []
        self._remember(view.ts_ns, value)
        exposure = view.position_lots + view.in_flight_lots
        if exposure != 0:
            if view.in_flight_lots == 0 and view.opened_ns is not None and (
                    view.ts_ns - view.opened_ns >= self._hold_ns):
                side = -1 if exposure > 0 else 1
                return [OrderIntent(side, abs(exposure), "exit:horizon")]
            return []
        older = self._as_of(view.ts_ns - 2 * self._lag_ns)
        middle = self._as_of(view.ts_ns - self._lag_ns)
        if older is None or middle is None:
            return []
        theta = self.config.threshold
        if min(abs(older), abs(middle), abs(value)) <= theta:
            return []
        if older < middle < value:
            signal = 1
        elif older > middle > value:
            signal = -1
        else:
            return []
        return [OrderIntent(signal * self.config.sign, self.config.order_lots, "entry")]
