"""Inventory-imbalance momentum.

I(t) = -(BS - AS) / (BS + AS + eps) with BS, AS the best bid and ask sizes. Buy when
I(t-2Λ) < I(t-Λ) < I(t) and all three |I| > θ; sell on the mirror image; hold a fixed
horizon h, then close. As written, I is positive when the ask side dominates, which the
research note reads as an expected rise; ``sign`` = -1 trades the opposite reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from engine.orders import OrderIntent
from strategies.base import GATE_MOMENTUM
from strategies.base import DecisionView
from strategies.base import GateContext

FEATURE = "inventory_imbalance"
#: Slots of the arrays ``gate_arrays`` hands to the compiled gate (``engine.gate``).
MO_LAG_NS, MO_EXIT_NS = range(2)
MO_THRESHOLD = 0


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


@njit(cache=True)
def _last_at_or_before(hist_ts: np.ndarray, lo: int, hi: int, ts_ns: int) -> int:
    """Index of the last entry in [lo, hi) stamped at or before ``ts_ns``, or lo - 1."""
    while lo < hi:  # binary search for the first entry after ts_ns
        mid = (lo + hi) >> 1
        if hist_ts[mid] <= ts_ns:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


@njit(cache=True)
def as_of(hist_ts: np.ndarray, hist_val: np.ndarray, hdr: np.ndarray, ts_ns: int) -> float:
    """Imbalance at the last remembered decision at or before ``ts_ns`` (NaN: none)."""
    k = _last_at_or_before(hist_ts, hdr[0], hdr[1], ts_ns)
    return hist_val[k] if k >= hdr[0] else np.nan


@njit(cache=True)
def remember(hist_ts: np.ndarray, hist_val: np.ndarray, hdr: np.ndarray, ts_ns: int,
             value: float, lag_ns: int) -> bool:
    """Append a decision's imbalance; False when the arrays are full (grow and retry).

    Entries older than the one a 2Λ look-back still needs are dropped when room runs out.
    """
    cap = hist_ts.shape[0]
    if hdr[1] == cap:
        lo, hi = hdr[0], hdr[1]
        keep = max(_last_at_or_before(hist_ts, lo, hi, ts_ns - 2 * lag_ns), lo)
        n = hi - keep
        if n == cap:
            return False
        for k in range(n):  # forward copy: the ranges may overlap
            hist_ts[k] = hist_ts[keep + k]
            hist_val[k] = hist_val[keep + k]
        hdr[0], hdr[1] = 0, n
    hist_ts[hdr[1]] = ts_ns
    hist_val[hdr[1]] = value
    hdr[1] += 1
    return True


@njit(cache=True)
def entry_signal(hist_ts: np.ndarray, hist_val: np.ndarray, hdr: np.ndarray, ts_ns: int,
                 value: float, lag_ns: int, threshold: float) -> int:
    """+1 for I(t-2Λ) < I(t-Λ) < I(t) with all three |I| > θ, -1 for the mirror, else 0."""
    older = as_of(hist_ts, hist_val, hdr, ts_ns - 2 * lag_ns)
    middle = as_of(hist_ts, hist_val, hdr, ts_ns - lag_ns)
    if older != older or middle != middle:
        return 0
    if min(abs(older), abs(middle), abs(value)) <= threshold:
        return 0
    if older < middle < value:
        return 1
    if older > middle > value:
        return -1
    return 0


class ImbalanceMomentum:
    """The strategy; its decision history lives in arrays that the compiled gate
    (``engine.gate``) shares, so a decision taken in numba and one taken here are the same."""

    name = "imbalance_momentum"
    required_features = (FEATURE,)
    gate_kind = GATE_MOMENTUM  #: its compiled gate (``engine.gate``)

    def __init__(self, config: ImbalanceMomentumConfig) -> None:
        self.config = config
        self._lag_ns = config.lag_ms * 1_000_000
        self._hold_ns = config.hold_ms * 1_000_000
        self.hist_ts = np.zeros(4096, dtype=np.int64)  # decision times, increasing
        self.hist_val = np.zeros(4096, dtype=np.float64)
        self.hist_hdr = np.zeros(2, dtype=np.int64)  # [first, end) of the live entries

    def gate_arrays(self, position_lots: int, opened_ns: int | None, open_orders: tuple,
                    context: GateContext):
        """What the compiled gate needs: (history ts, values, bounds, ints, floats), or None
        when this decision state is not one it handles (orders open)."""
        if open_orders:
            return None
        exit_ns = opened_ns + self._hold_ns if position_lots and opened_ns is not None \
            else np.iinfo(np.int64).max
        gi = np.array([self._lag_ns, exit_ns], dtype=np.int64)
        gp = np.array([self.config.threshold], dtype=np.float64)
        return self.hist_ts, self.hist_val, self.hist_hdr, gi, gp

    def _remember(self, ts_ns: int, value: float) -> None:
        while not remember(self.hist_ts, self.hist_val, self.hist_hdr, ts_ns, value,
                           self._lag_ns):
            self.grow()

    def grow(self) -> None:
        """Double the history arrays (a decision interval much shorter than Λ)."""
        lo, hi = self.hist_hdr
        n = hi - lo
        cap = 2 * len(self.hist_ts)
        for name in ("hist_ts", "hist_val"):
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[:n] = old[lo:hi]
            setattr(self, name, new)
        self.hist_hdr[:] = (0, n)

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
        signal = entry_signal(self.hist_ts, self.hist_val, self.hist_hdr, view.ts_ns, value,
                              self._lag_ns, float(self.config.threshold))
        if signal == 0:
            return []
        return [OrderIntent(signal * self.config.sign, self.config.order_lots, "entry")]
