"""Compiled per-event updates of the streaming feature state (see ``state.py``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.book import side_depth
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
from engine.features.state import N_CHANNELS
from engine.features.state import OFI_LEVELS
from engine.features.state import P_LARGE_MULT
from engine.features.state import P_VPIN_BUCKET
from engine.features.state import R_BASE
from engine.features.state import R_HEAD
from engine.features.state import R_LAST_TRADE_TS
from engine.features.state import R_RES_TS
from engine.features.state import S_CUM
from engine.features.state import S_HAVE_PREV
from engine.features.state import S_LAST_TRADE_CLASS
from engine.features.state import S_LAST_TRADE_PX
from engine.features.state import S_M_BUY
from engine.features.state import S_M_LARGE
from engine.features.state import S_M_PXVOL
from engine.features.state import S_M_SELL
from engine.features.state import S_M_TRADES
from engine.features.state import S_M_VOL
from engine.features.state import S_MID2_BEFORE
from engine.features.state import S_MSG_OPEN
from engine.features.state import S_PREV
from engine.features.state import S_RES_DEPTH
from engine.features.state import S_RES_SIDE
from engine.features.state import S_VPIN_BUY
from engine.features.state import S_VPIN_DONE
from engine.features.state import S_VPIN_RING
from engine.features.state import S_VPIN_SELL
from engine.features.state import VPIN_BUCKETS
from engine.features.state import W5M
from engine.features.state import WINDOWS_NS


@njit(cache=True, inline="always")
def mid2(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray) -> float:
    """Twice the mid in ticks (an integer), NaN when a side is empty."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        return np.nan
    return float(2 * hdr[0] + hdr[H_BEST_BID] + hdr[H_BEST_ASK])


@njit(cache=True)
def advance_bases(ring_ts: np.ndarray, ptr: np.ndarray, t: int) -> None:
    """Move each window's base to the last entry stamped at or before ``t - W``."""
    mask = ring_ts.shape[0] - 1  # the capacity is a power of two
    head = ptr[R_HEAD]
    for w in range(WINDOWS_NS.shape[0]):
        edge = t - WINDOWS_NS[w]
        b = ptr[R_BASE + w]
        while b + 1 < head and ring_ts[(b + 1) & mask] <= edge:
            b += 1
        ptr[R_BASE + w] = b


@njit(cache=True, inline="always")
def has_room(ptr: np.ndarray, capacity: int) -> bool:
    """True if one more entry fits without overwriting the oldest base still in use."""
    oldest = ptr[R_BASE]
    for w in range(1, WINDOWS_NS.shape[0]):
        oldest = min(oldest, ptr[R_BASE + w])
    return ptr[R_HEAD] - oldest + 1 < capacity


@njit(cache=True, inline="always")
def window_sum(state: np.ndarray, ring_cum: np.ndarray, ptr: np.ndarray, w: int,
               channel: int) -> float:
    return state[S_CUM + channel] - ring_cum[ptr[R_BASE + w] & (ring_cum.shape[0] - 1), channel]


@njit(cache=True)
def begin_message(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, state: np.ndarray) -> None:
    state[S_MSG_OPEN] = 1.0
    state[S_MID2_BEFORE] = mid2(bid, ask, hdr)


@njit(cache=True)
def on_trade(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, state: np.ndarray,
             params: np.ndarray, ring_ts: np.ndarray, ring_cum: np.ndarray, ptr: np.ndarray,
             ts: int, px: int, qty: int) -> None:
    """Classify a trade against the quotes before it and add it to the message and VPIN.

    At or above the ask: a buy; at or below the bid: a sell; in between, the tick rule
    against the previous trade (a zero tick keeps the previous class).
    """
    base = hdr[0]
    cls = 0.0
    if hdr[H_ASK_LEVELS] > 0 and px >= base + hdr[H_BEST_ASK]:
        cls = 1.0
    elif hdr[H_BID_LEVELS] > 0 and px <= base + hdr[H_BEST_BID]:
        cls = -1.0
    elif state[S_LAST_TRADE_PX] == state[S_LAST_TRADE_PX]:  # not NaN
        if px > state[S_LAST_TRADE_PX]:
            cls = 1.0
        elif px < state[S_LAST_TRADE_PX]:
            cls = -1.0
        else:
            cls = state[S_LAST_TRADE_CLASS]
    q = float(qty)
    # Large against the 5-minute average before this message.
    advance_bases(ring_ts, ptr, ts)
    n = window_sum(state, ring_cum, ptr, W5M, C_TRADES)
    if n > 0:
        avg = window_sum(state, ring_cum, ptr, W5M, C_VOL) / n
        if q > params[P_LARGE_MULT] * avg:
            state[S_M_LARGE] += 1.0
            hit = -1 if cls > 0 else 1  # a buy hits the asks
            if cls != 0.0:
                depth = side_depth(bid, ask, hdr, hit, 5)
                ptr[R_RES_TS] = ts
                state[S_RES_SIDE] = float(hit)
                state[S_RES_DEPTH] = float(depth)
    if cls > 0:
        state[S_M_BUY] += q
    elif cls < 0:
        state[S_M_SELL] += q
    state[S_M_TRADES] += 1.0
    state[S_M_VOL] += q
    state[S_M_PXVOL] += float(px) * q
    state[S_LAST_TRADE_PX] = float(px)
    state[S_LAST_TRADE_CLASS] = cls
    ptr[R_LAST_TRADE_TS] = ts
    if cls != 0.0:
        _vpin_add(state, params[P_VPIN_BUCKET], q, cls > 0)


@njit(cache=True, inline="always")
def _vpin_add(state: np.ndarray, bucket: float, q: float, is_buy: bool) -> None:
    """Fill volume buckets of ``bucket`` lots, splitting a trade across bucket edges.

    A trade many buckets long closes its whole one-sided buckets in one step (their
    imbalance is the bucket size), so a huge trade against a small bucket costs O(1)."""
    side = S_VPIN_BUY if is_buy else S_VPIN_SELL
    take = min(q, bucket - state[S_VPIN_BUY] - state[S_VPIN_SELL])
    state[side] += take
    left = q - take
    if state[S_VPIN_BUY] + state[S_VPIN_SELL] < bucket:
        return
    _vpin_close(state, abs(state[S_VPIN_BUY] - state[S_VPIN_SELL]))
    whole = int(left // bucket)
    for k in range(max(0, whole - VPIN_BUCKETS), whole):  # only the ring's last buckets
        state[S_VPIN_RING + (int(state[S_VPIN_DONE]) + k) % VPIN_BUCKETS] = bucket
    state[S_VPIN_DONE] += whole
    left -= whole * bucket
    state[side] = left  # less than a bucket: the new bucket's first volume


@njit(cache=True, inline="always")
def _vpin_close(state: np.ndarray, imbalance: float) -> None:
    k = int(state[S_VPIN_DONE]) % VPIN_BUCKETS
    state[S_VPIN_RING + k] = imbalance
    state[S_VPIN_DONE] += 1.0
    state[S_VPIN_BUY] = 0.0
    state[S_VPIN_SELL] = 0.0


@njit(cache=True, inline="always")
def _ofi_side(qty: np.ndarray, best: int, have: int, step: int, base: int,
              state: np.ndarray, px_slot: int, qty_slot: int, empty_px: float,
              cum: np.ndarray) -> None:
    """Fold one side of the multi-level OFI (Xu, Gould & Howison 2018) into ``cum`` and
    remember this message's levels. ``step`` is -1 for bids (better = higher), +1 for asks.

    An empty level has size 0 and a price worse than any real one (``empty_px``).
    """
    have_prev = state[S_HAVE_PREV] != 0.0
    j = best
    for m in range(OFI_LEVELS):
        if m < have:
            while qty[j] == 0:
                j += step
            p = float(base + j)
            q = float(qty[j])
            j += step
        else:
            p = empty_px
            q = 0.0
        if have_prev:
            pp = state[px_slot + m]
            pq = state[qty_slot + m]
            # Bids: e = 1{P >= P'} q - 1{P <= P'} q'; asks: e = -1{P <= P'} q + 1{P >= P'} q'.
            if step < 0:
                e = (q if p >= pp else 0.0) - (pq if p <= pp else 0.0)
            else:
                e = (pq if p >= pp else 0.0) - (q if p <= pp else 0.0)
            cum[C_OFI + m] += e
        state[px_slot + m] = p
        state[qty_slot + m] = q


@njit(cache=True)
def end_message(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, state: np.ndarray,
                ring_ts: np.ndarray, ring_cum: np.ndarray, ring_mid2: np.ndarray,
                ptr: np.ndarray, ts: int) -> None:
    """Fold the finished message into the cumulative channels and push a ring entry."""
    cum = state[S_CUM:S_CUM + N_CHANNELS]
    base = hdr[0]
    _ofi_side(bid, hdr[H_BEST_BID], hdr[H_BID_LEVELS], -1, base, state, S_PREV,
              S_PREV + OFI_LEVELS, -np.inf, cum)
    _ofi_side(ask, hdr[H_BEST_ASK], hdr[H_ASK_LEVELS], 1, base, state, S_PREV + 2 * OFI_LEVELS,
              S_PREV + 3 * OFI_LEVELS, np.inf, cum)
    state[S_HAVE_PREV] = 1.0
    after = mid2(bid, ask, hdr)
    before = state[S_MID2_BEFORE]
    dmid = after - before if (after == after and before == before) else 0.0
    m_buy = state[S_M_BUY]
    m_sell = state[S_M_SELL]
    q = m_buy - m_sell
    cum[C_BUY] += m_buy
    cum[C_SELL] += m_sell
    cum[C_TRADES] += state[S_M_TRADES]
    cum[C_LARGE] += state[S_M_LARGE]
    cum[C_PXVOL] += state[S_M_PXVOL]
    cum[C_VOL] += state[S_M_VOL]
    cum[C_Q] += q
    cum[C_Q2] += q * q
    cum[C_DMID] += dmid
    cum[C_QDMID] += q * dmid
    cum[C_DMID2] += dmid * dmid
    cum[C_MSGS] += 1.0
    if after == after:
        s = float(hdr[H_BEST_ASK] - hdr[H_BEST_BID])
        cum[C_SPREAD] += s
        cum[C_SPREAD2] += s * s
        cum[C_SPREADN] += 1.0
    state[S_M_BUY] = 0.0
    state[S_M_SELL] = 0.0
    state[S_M_TRADES] = 0.0
    state[S_M_LARGE] = 0.0
    state[S_M_PXVOL] = 0.0
    state[S_M_VOL] = 0.0
    state[S_MSG_OPEN] = 0.0
    k = ptr[R_HEAD] & (ring_ts.shape[0] - 1)
    ring_ts[k] = ts
    for c in range(N_CHANNELS):
        ring_cum[k, c] = cum[c]
    ring_mid2[k] = after
    ptr[R_HEAD] += 1
    advance_bases(ring_ts, ptr, ts)
