"""Streaming feature state: a few numpy arrays that the compiled loop updates per event.

Per message (at ``F_LAST``) the loop folds the message's effect into running cumulative sums
(channels ``C_*``) and pushes one ring entry ``(ts, cumulative sums, mid)``. A window sum over
the last W ns is then ``cum_now - cum[base_W]``, where ``base_W`` is the last entry stamped at
or before ``t - W``; the base pointers only move forward, so every update is O(1) amortised.
The integer channels (sizes in lots, prices in ticks) stay exact in float64 below 2**53.
"""

from __future__ import annotations

import numpy as np

from engine.memory import touched_zeros

#: Windows, ns.
WINDOWS_NS = np.array([1_000_000_000, 10_000_000_000, 60_000_000_000, 300_000_000_000],
                      dtype=np.int64)
W1S, W10S, W1M, W5M = 0, 1, 2, 3
OFI_LEVELS = 5
BOOK_LEVELS = 10  #: levels the feature vector reads (depth imbalance L10 and friends)
VPIN_BUCKETS = 50

# Cumulative channels, one value per message.
C_OFI = 0  #: C_OFI + m: order-flow imbalance at level m+1 (lots), m = 0..4
C_BUY = 5  #: buyer-initiated volume (lots)
C_SELL = 6  #: seller-initiated volume
C_TRADES = 7  #: number of trades
C_LARGE = 8  #: trades larger than P_LARGE_MULT x the 5-minute average size
C_PXVOL = 9  #: sum of price x size of trades (ticks x lots), for VWAP
C_Q = 10  #: signed volume (buy - sell) of the message
C_Q2 = 11  #: its square
C_DMID = 12  #: change of twice the mid (ticks) over the message
C_QDMID = 13  #: signed volume x mid change
C_MSGS = 14  #: messages
C_SPREAD = 15  #: spread (ticks) after the message, when both sides exist
C_SPREAD2 = 16  #: its square
C_DMID2 = 17  #: square of the mid change (for realized volatility)
C_VOL = 18  #: all trade volume, classified or not
C_SPREADN = 19  #: messages with both sides present
N_CHANNELS = 20

# Scalar state slots.
S_HAVE_PREV = 0  #: previous top levels below are valid
S_PREV = 1  #: 4 x OFI_LEVELS: bid px, bid qty, ask px, ask qty of the previous message
S_MSG_OPEN = S_PREV + 4 * OFI_LEVELS  #: a message has started and not ended
S_MID2_BEFORE = S_MSG_OPEN + 1  #: twice the mid when the message started (NaN: none)
S_M_BUY = S_MID2_BEFORE + 1  #: this message's buy volume so far
S_M_SELL = S_M_BUY + 1
S_M_TRADES = S_M_SELL + 1
S_M_LARGE = S_M_TRADES + 1
S_M_PXVOL = S_M_LARGE + 1
S_M_VOL = S_M_PXVOL + 1
S_LAST_TRADE_PX = S_M_VOL + 1  #: NaN before the first trade
S_LAST_TRADE_CLASS = S_LAST_TRADE_PX + 1  #: +1 buy, -1 sell, 0 unclassified
S_VPIN_BUY = S_LAST_TRADE_CLASS + 1  #: classified volume in the bucket being filled
S_VPIN_SELL = S_VPIN_BUY + 1
S_VPIN_DONE = S_VPIN_SELL + 1  #: completed buckets
S_VPIN_RING = S_VPIN_DONE + 1  #: |buy - sell| of the last VPIN_BUCKETS buckets
S_RES_SIDE = S_VPIN_RING + VPIN_BUCKETS  #: book side it hit: +1 bid, -1 ask
S_RES_DEPTH = S_RES_SIDE + 1  #: that side's 5-level depth just before it
S_CUM = S_RES_DEPTH + 1  #: N_CHANNELS running cumulative sums
S_SIZE = S_CUM + N_CHANNELS

# Parameters.
P_VPIN_BUCKET = 0  #: VPIN bucket size, lots
P_SLOPE_LOTS = 1  #: size walked for the book slope, lots
P_TICK = 2  #: price of one tick (microprice in price units)
P_UTC_OFFSET_NS = 3  #: exchange local time minus UTC, for time of day
P_LARGE_MULT = 4  #: a trade is large above this multiple of the 5-minute average size
P_OFI_WEIGHTS = 5  #: OFI_LEVELS weights of the integrated OFI (normalised by their sum)
P_SIZE = P_OFI_WEIGHTS + OFI_LEVELS

# Integer slots (``ptr``): ring pointers, and timestamps, which float64 cannot hold exactly.
R_HEAD = 0  #: entries pushed (the next entry's absolute index)
R_BASE = 1  #: R_BASE + w: absolute index of window w's base entry
R_LAST_TRADE_TS = R_BASE + len(WINDOWS_NS)  #: NO_TS before the first trade
R_RES_TS = R_LAST_TRADE_TS + 1  #: time of the last large trade, NO_TS if none
R_SIZE = R_RES_TS + 1

NO_TS = np.iinfo(np.int64).min


class FeatureState:
    """The arrays of one session's streaming feature state, plus their parameters."""

    def __init__(self, params: np.ndarray, capacity: int = 1 << 16) -> None:
        if capacity <= 0 or capacity & (capacity - 1):
            raise ValueError(f"capacity must be a power of two, got {capacity}")
        if params.shape != (P_SIZE,):
            raise ValueError(f"params must have {P_SIZE} values, got {params.shape}")
        self.params = params.astype(np.float64)
        self.state = np.zeros(S_SIZE, dtype=np.float64)
        self.ptr = np.zeros(R_SIZE, dtype=np.int64)
        self.ring_ts = touched_zeros(capacity, np.int64)
        self.ring_cum = touched_zeros((capacity, N_CHANNELS), np.float64)
        self.ring_mid2 = touched_zeros(capacity, np.float64)
        # Scratch for the top-of-book scan: (bid px, bid qty, ask px, ask qty) x levels.
        self.levels_book = np.zeros((4, BOOK_LEVELS), dtype=np.int64)
        self.reset()

    @property
    def capacity(self) -> int:
        return self.ring_ts.shape[0]

    def reset(self, utc_offset_ns: int | None = None) -> None:
        """A new session: no history; entry 0 is the all-zero base every window starts on."""
        if utc_offset_ns is not None:
            self.params[P_UTC_OFFSET_NS] = utc_offset_ns
        self.state[:] = 0.0
        for slot in (S_MID2_BEFORE, S_LAST_TRADE_PX):
            self.state[slot] = np.nan
        self.ptr[:] = 0
        self.ptr[R_HEAD] = 1
        self.ptr[R_LAST_TRADE_TS] = NO_TS
        self.ptr[R_RES_TS] = NO_TS
        self.ring_ts[0] = NO_TS
        self.ring_cum[0] = 0.0
        self.ring_mid2[0] = np.nan

    def grow(self) -> None:
        """Double the ring, keeping entries at their absolute index modulo the new size."""
        cap = self.capacity
        head = int(self.ptr[R_HEAD])
        oldest = int(self.ptr[R_BASE:R_BASE + len(WINDOWS_NS)].min())
        new_cap = 2 * cap
        ts = touched_zeros(new_cap, np.int64)
        cum = touched_zeros((new_cap, N_CHANNELS), np.float64)
        mid2 = touched_zeros(new_cap, np.float64)
        idx = np.arange(oldest, head)
        ts[idx % new_cap] = self.ring_ts[idx % cap]
        cum[idx % new_cap] = self.ring_cum[idx % cap]
        mid2[idx % new_cap] = self.ring_mid2[idx % cap]
        self.ring_ts, self.ring_cum, self.ring_mid2 = ts, cum, mid2
