"""Level-1 features: depth imbalance, inventory imbalance and Cont's order-flow imbalance.

State is one float64 array so that the replay loop can update it in compiled code after
every message (``on_message``); ``evaluate`` writes the feature vector at a decision point.

OFI after Cont, Kukanov & Stoikov (2014), eq. (2): for successive best quotes n-1 -> n,

    e_n = 1{Pb_n >= Pb_{n-1}} qb_n - 1{Pb_n <= Pb_{n-1}} qb_{n-1}
        - 1{Pa_n <= Pa_{n-1}} qa_n + 1{Pa_n >= Pa_{n-1}} qa_{n-1}

summed over the messages between two decisions (sizes in lots).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS

FEATURE_NAMES = ("depth_imbalance_l1", "inventory_imbalance", "ofi_l1")
SCHEMA_VERSION = 1
EPS = 1e-9  #: keeps the inventory imbalance finite on an empty touch

# State slots.
S_HAVE_PREV = 0  #: 1 when the previous best quotes below are valid
S_BID_PX = 1
S_BID_QTY = 2
S_ASK_PX = 3
S_ASK_QTY = 4
S_OFI = 5  #: OFI summed since the last decision
S_SIZE = 6


@dataclass(frozen=True)
class FeatureSchema:
    """Names, order and parameters of the feature vector, with a hash a model must match."""

    names: tuple[str, ...] = FEATURE_NAMES
    version: int = SCHEMA_VERSION

    @property
    def hash(self) -> str:
        text = f"v{self.version}:" + ",".join(self.names)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def index(self, name: str) -> int:
        return self.names.index(name)


def new_state() -> np.ndarray:
    return np.zeros(S_SIZE, dtype=np.float64)


@njit(cache=True, inline="always")
def on_message(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, state: np.ndarray) -> None:
    """Fold one message's effect on the best quotes into the OFI sum; O(1)."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        state[S_HAVE_PREV] = 0.0
        return
    base = hdr[H_BASE]
    ib = hdr[H_BEST_BID]
    ia = hdr[H_BEST_ASK]
    pb = float(base + ib)
    qb = float(bid[ib])
    pa = float(base + ia)
    qa = float(ask[ia])
    if state[S_HAVE_PREV] != 0.0:
        e = 0.0
        if pb >= state[S_BID_PX]:
            e += qb
        if pb <= state[S_BID_PX]:
            e -= state[S_BID_QTY]
        if pa <= state[S_ASK_PX]:
            e -= qa
        if pa >= state[S_ASK_PX]:
            e += state[S_ASK_QTY]
        state[S_OFI] += e
    state[S_HAVE_PREV] = 1.0
    state[S_BID_PX] = pb
    state[S_BID_QTY] = qb
    state[S_ASK_PX] = pa
    state[S_ASK_QTY] = qa


@njit(cache=True)
def evaluate(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, state: np.ndarray,
             out: np.ndarray) -> None:
    """Write the feature vector (order of FEATURE_NAMES) and start a new OFI interval."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        out[0] = np.nan
        out[1] = np.nan
    else:
        qb = float(bid[hdr[H_BEST_BID]])
        qa = float(ask[hdr[H_BEST_ASK]])
        out[0] = (qb - qa) / (qb + qa)
        out[1] = -(qb - qa) / (qb + qa + EPS)
    out[2] = state[S_OFI]
    state[S_OFI] = 0.0
