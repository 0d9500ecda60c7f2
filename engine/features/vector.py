"""The feature vector at a decision point, from the book and the streaming state.

``evaluate`` writes every feature of ``registry.ALL_FEATURES`` in that order. It is O(1) in
the number of events: window sums come from the ring (``state.py``), book features from a
scan of the top 10 levels.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.book import side_depth
from engine.book import top_levels
from engine.features.state import BOOK_LEVELS
from engine.features.state import C_BUY
from engine.features.state import C_DMID
from engine.features.state import C_DMID2
from engine.features.state import C_LARGE
from engine.features.state import C_MSGS
from engine.features.state import C_OFI
from engine.features.state import C_PXVOL
from engine.features.state import C_Q
from engine.features.state import C_Q2
from engine.features.state import C_QDMID
from engine.features.state import C_SELL
from engine.features.state import C_SPREAD
from engine.features.state import C_SPREAD2
from engine.features.state import C_SPREADN
from engine.features.state import C_TRADES
from engine.features.state import C_VOL
from engine.features.state import NO_TS
from engine.features.state import OFI_LEVELS
from engine.features.state import P_OFI_WEIGHTS
from engine.features.state import P_SLOPE_LOTS
from engine.features.state import P_TICK
from engine.features.state import P_UTC_OFFSET_NS
from engine.features.state import R_BASE
from engine.features.state import R_LAST_TRADE_TS
from engine.features.state import R_RES_TS
from engine.features.state import S_RES_DEPTH
from engine.features.state import S_RES_SIDE
from engine.features.state import S_VPIN_DONE
from engine.features.state import S_VPIN_RING
from engine.features.state import VPIN_BUCKETS
from engine.features.state import W1M
from engine.features.state import W5M
from engine.features.state import W10S
from engine.features.state import WINDOWS_NS
from engine.features.update import advance_bases
from engine.features.update import mid2
from engine.features.update import window_sum

DAY_NS = 86_400_000_000_000


@njit(cache=True, inline="always")
def inventory_imbalance(bs: float, as_: float) -> float:
    """-(BS - AS) / (BS + AS + eps) from the best bid and ask sizes (both sides present).

    Shared by the feature vector and whatever else must agree with it to the bit."""
    return -(bs - as_) / (bs + as_ + 1e-9)


@njit(cache=True, inline="always")
def _ratio(num: float, den: float) -> float:
    return num / den if den != 0.0 else np.nan


@njit(cache=True)
def _walk_avg_px(qty: np.ndarray, best: int, have: int, step: int, lots: float) -> float:
    """Average index (tick offset) paid walking ``lots`` from ``best`` over the ``have``
    occupied levels (all of them if they hold less)."""
    left = lots
    cost = 0.0
    got = 0.0
    j = best
    for _ in range(have):
        while qty[j] == 0:
            j += step
        take = min(left, float(qty[j]))
        cost += take * j
        got += take
        left -= take
        if left <= 0:
            break
        j += step
    return cost / got if got > 0 else np.nan


@njit(cache=True)
def _lambda(state, ring_cum, ptr, w):
    """Kyle's lambda: OLS slope of the mid change (ticks) on signed volume (lots)."""
    n = window_sum(state, ring_cum, ptr, w, C_MSGS)
    sq = window_sum(state, ring_cum, ptr, w, C_Q)
    sq2 = window_sum(state, ring_cum, ptr, w, C_Q2)
    sd = window_sum(state, ring_cum, ptr, w, C_DMID)
    sqd = window_sum(state, ring_cum, ptr, w, C_QDMID)
    den = n * sq2 - sq * sq
    return _ratio(n * sqd - sq * sd, den) / 2.0  # mid changes are kept doubled


@njit(cache=True)
def _log_return(ring_mid2, ptr, w, now2):
    base = ring_mid2[ptr[R_BASE + w] & (ring_mid2.shape[0] - 1)]
    if base != base or now2 != now2:
        return np.nan
    return math.log(now2 / base)


@njit(cache=True)
def evaluate(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, state: np.ndarray,
             params: np.ndarray, ring_ts: np.ndarray, ring_cum: np.ndarray,
             ring_mid2: np.ndarray, ptr: np.ndarray, levels: np.ndarray, t: int,
             out: np.ndarray) -> int:
    """Write the feature vector at time ``t``; returns how many values were written.

    ``levels`` is int64 scratch of shape (4, 10).
    """
    advance_bases(ring_ts, ptr, t)
    k = 0
    # Order-flow imbalance per level and integrated, over each window.
    wsum = 0.0
    for m in range(OFI_LEVELS):
        wsum += params[P_OFI_WEIGHTS + m]
    for w in range(WINDOWS_NS.shape[0]):
        integrated = 0.0
        for m in range(OFI_LEVELS):
            v = window_sum(state, ring_cum, ptr, w, C_OFI + m)
            out[k] = v
            k += 1
            integrated += params[P_OFI_WEIGHTS + m] * v
        out[k] = integrated / wsum
        k += 1
    # Book shape.
    top_levels(bid, ask, hdr, levels[0], levels[1], levels[2], levels[3])
    both = hdr[H_BID_LEVELS] > 0 and hdr[H_ASK_LEVELS] > 0
    b1, a1 = float(levels[1, 0]), float(levels[3, 0])
    b5 = 0.0
    a5 = 0.0
    b10 = 0.0
    a10 = 0.0
    wb = 0.0
    wa = 0.0
    for j in range(BOOK_LEVELS):
        if j < 5:
            b5 += levels[1, j]
            a5 += levels[3, j]
        b10 += levels[1, j]
        a10 += levels[3, j]
        wb += levels[1, j] / (j + 1.0)
        wa += levels[3, j] / (j + 1.0)
    out[k] = _ratio(b1 - a1, b1 + a1)
    out[k + 1] = _ratio(b5 - a5, b5 + a5)
    out[k + 2] = _ratio(b10 - a10, b10 + a10)
    out[k + 3] = _ratio(wb - wa, wb + wa)
    out[k + 4] = inventory_imbalance(b1, a1) if both else np.nan
    k += 5
    m2 = mid2(bid, ask, hdr)
    tick = params[P_TICK]
    if both:
        pb = float(levels[0, 0])
        pa = float(levels[2, 0])
        spread = pa - pb
        out[k] = spread / (m2 / 2.0) * 1e4
        n = window_sum(state, ring_cum, ptr, W1M, C_SPREADN)
        mean = _ratio(window_sum(state, ring_cum, ptr, W1M, C_SPREAD), n)
        var = _ratio(window_sum(state, ring_cum, ptr, W1M, C_SPREAD2), n) - mean * mean
        out[k + 1] = (spread - mean) / math.sqrt(var) if var > 0 else np.nan
        micro = (pb * a1 + pa * b1) / (a1 + b1)
        out[k + 4] = micro * tick
        out[k + 5] = (micro - m2 / 2.0) / (m2 / 2.0) * 1e4
        lots = params[P_SLOPE_LOTS]
        base = float(hdr[0])
        vb = _walk_avg_px(bid, hdr[H_BEST_BID], hdr[H_BID_LEVELS], -1, lots) + base
        va = _walk_avg_px(ask, hdr[H_BEST_ASK], hdr[H_ASK_LEVELS], 1, lots) + base
        out[k + 6] = (m2 / 2.0 - vb) / (m2 / 2.0) * 1e4
        out[k + 7] = (va - m2 / 2.0) / (m2 / 2.0) * 1e4
    else:
        out[k] = np.nan
        out[k + 1] = np.nan
        out[k + 4] = np.nan
        out[k + 5] = np.nan
        out[k + 6] = np.nan
        out[k + 7] = np.nan
    out[k + 2] = b10 + a10
    out[k + 3] = math.log(b5 / a5) if b5 > 0 and a5 > 0 else np.nan
    k += 8
    # Resilience after the last large trade.
    if ptr[R_RES_TS] != NO_TS and state[S_RES_DEPTH] > 0:
        now_depth = side_depth(bid, ask, hdr, int(state[S_RES_SIDE]), 5)
        out[k] = now_depth / state[S_RES_DEPTH]
        out[k + 1] = (t - ptr[R_RES_TS]) / 1e9
    else:
        out[k] = np.nan
        out[k + 1] = np.nan
    k += 2
    # Trade flow.
    buy = window_sum(state, ring_cum, ptr, W1M, C_BUY)
    sell = window_sum(state, ring_cum, ptr, W1M, C_SELL)
    out[k] = buy
    out[k + 1] = sell
    out[k + 2] = _ratio(buy - sell, buy + sell)
    out[k + 3] = window_sum(state, ring_cum, ptr, W1M, C_LARGE)
    out[k + 4] = _ratio(window_sum(state, ring_cum, ptr, W5M, C_VOL),
                        window_sum(state, ring_cum, ptr, W5M, C_TRADES))
    out[k + 5] = window_sum(state, ring_cum, ptr, W10S, C_Q)
    k += 6
    done = state[S_VPIN_DONE]
    if done > 0:
        n_b = min(done, float(VPIN_BUCKETS))
        total = 0.0
        for j in range(int(n_b)):
            total += state[S_VPIN_RING + j]
        bucket = params[0]
        out[k] = total / (n_b * bucket)
    else:
        out[k] = np.nan
    out[k + 1] = _lambda(state, ring_cum, ptr, W1M)
    out[k + 2] = _lambda(state, ring_cum, ptr, W5M)
    k += 3
    # Price dynamics.
    out[k] = _log_return(ring_mid2, ptr, W10S, m2)
    out[k + 1] = _log_return(ring_mid2, ptr, W1M, m2)
    rv = window_sum(state, ring_cum, ptr, W1M, C_DMID2)
    out[k + 2] = math.sqrt(rv) / m2 * 1e4 if m2 == m2 else np.nan
    vol = window_sum(state, ring_cum, ptr, W1M, C_VOL)
    vwap = _ratio(window_sum(state, ring_cum, ptr, W1M, C_PXVOL), vol)
    out[k + 3] = (vwap - m2 / 2.0) / (m2 / 2.0) * 1e4
    k += 4
    # Time.
    local = (t + int(params[P_UTC_OFFSET_NS])) % DAY_NS
    out[k] = local / 3.6e12
    last = ptr[R_LAST_TRADE_TS]
    out[k + 1] = (t - last) / 1e9 if last != NO_TS else np.nan
    out[k + 2] = window_sum(state, ring_cum, ptr, W10S, C_MSGS) / 10.0
    out[k + 3] = window_sum(state, ring_cum, ptr, W1M, C_TRADES) / 60.0
    k += 4
    return k
