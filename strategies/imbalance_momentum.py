"""Inventory-imbalance momentum.

I(t) = -(BS - AS) / (BS + AS + eps) with BS, AS the best bid and ask sizes. Buy when
I(t-2Λ) < I(t-Λ) < I(t) and all three |I| > θ; sell on the mirror image; hold a fixed
horizon h, then close. As written, I is positive when the ask side dominates, which the
research note reads as an expected rise; ``sign`` = -1 trades the opposite reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from engine.features import FeatureSchema
from engine.strategy import NEED_ROOM
from engine.strategy import CompiledStrategy
from engine.strategy import DecisionKernels
from engine.strategy import emit_market
from engine.strategy import exit_after
from engine.strategy import run_decisions

FEATURE = "inventory_imbalance"
TAGS = ("entry", "exit:horizon")
ENTRY, EXIT = range(len(TAGS))  #: indexes into TAGS


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


class History(NamedTuple):
    """The imbalance at past decisions: ``ts[first:end]`` and ``value`` of the same."""

    ts: np.ndarray  #: decision times, increasing
    value: np.ndarray
    bounds: np.ndarray  #: [first, end) of the live entries


class Params(NamedTuple):
    column: int  #: the imbalance's index in the feature vector
    lag_ns: int
    hold_ns: int
    threshold: float
    sign: int
    order_lots: int


@njit(cache=True)
def decide(d, features, prediction, orders, n_orders, state, params, out) -> int:
    """Remember the imbalance; exit after the horizon; enter on the three-snapshot pattern."""
    value = features[params.column]
    if value != value:  # NaN: one side of the book is empty
        return 0
    if not remember(state.ts, state.value, state.bounds, d.ts_ns, value, params.lag_ns):
        return NEED_ROOM
    if d.position_lots + d.open_lots != 0:
        return exit_after(d, params.hold_ns, out, EXIT)
    signal = entry_signal(state.ts, state.value, state.bounds, d.ts_ns, value, params.lag_ns,
                          params.threshold)
    if signal == 0:
        return 0
    return emit_market(out, 0, signal * params.sign, params.order_lots, ENTRY)


@njit(cache=True)
def run(market, model, account, control, io, state, params, events, start):
    return run_decisions(decide, market, model, account, control, io, state, params, events,
                         start)


class ImbalanceMomentum(CompiledStrategy):
    name = "imbalance_momentum"
    config_class = ImbalanceMomentumConfig
    required_features = (FEATURE,)
    tags = TAGS
    kernels = DecisionKernels(decide, run)

    def __init__(self, config: ImbalanceMomentumConfig) -> None:
        super().__init__(config)
        self.state = History(np.zeros(4096, dtype=np.int64), np.zeros(4096),
                             np.zeros(2, dtype=np.int64))

    def bind(self, schema: FeatureSchema) -> Params:
        c = self.config
        return Params(schema.index(FEATURE), c.lag_ms * 1_000_000, c.hold_ms * 1_000_000,
                      float(c.threshold), c.sign, c.order_lots)

    def grow(self) -> None:
        """Double the history (a decision interval much shorter than Λ)."""
        lo, hi = self.state.bounds
        n = hi - lo
        cap = 2 * len(self.state.ts)
        ts = np.zeros(cap, dtype=np.int64)
        value = np.zeros(cap)
        ts[:n] = self.state.ts[lo:hi]
        value[:n] = self.state.value[lo:hi]
        self.state = History(ts, value, np.array([0, n], dtype=np.int64))
