"""The compiled decision loop: events, decision points and a strategy's ``decide`` in numba.

Most decision points of a replay change nothing: no signal, nothing to exit. Each trip
through Python costs tens of µs, so ``run_decisions`` applies events up to a decision point
(``engine.loop.run_until``), evaluates the features and the model there, asks risk whether
it would act (``engine.risk.risk_quiet``) and calls the strategy's compiled ``decide``
(``engine.strategy``). A decision that emits nothing is recorded here (the equity mark, the
P(up) histogram) and the loop goes on; the first one that emits an intent, or at which risk
would act, returns to Python, which carries it out. The same ``decide`` runs at Python
decisions, so a decision is the same wherever it is taken.

The engine calls it only while nothing is in flight and no halted position has to be
exited (every decision then belongs to Python), at the decision interval's points.

Bundles (namedtuples of arrays, so a signature names what it takes):
``Market`` the book, feature state and resting paper orders; ``ModelArrays`` the feature
scratch and the model's compiled trees; ``account`` one record of ``account_dtype`` (what
risk sees); ``control`` one record of ``control_dtype`` (the schedule, in and out);
``DecisionIO`` the decision record, open orders, intents and the marks taken.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.features.vector import evaluate
from engine.loop import TIME_REACHED
from engine.loop import run_until
from engine.model.trees import predict_into
from engine.risk import risk_quiet

NEVER = np.iinfo(np.int64).max

#: The schedule ``run_decisions`` follows and what it reports back.
control_dtype = np.dtype([
    ("next_decision", np.int64),  #: in: the next decision point; out: the one after
    ("step", np.int64),  #: decision interval (ns)
    ("other_stop", np.int64),  #: earliest wakeup that is not a decision (order, deadline)
    ("at_boundary", np.bool_),  #: the first event begins a message
    ("features", np.bool_),  #: evaluate the feature vector at each decision
    ("model", np.bool_),  #: evaluate the model at each decision
    ("decisions", np.int64),  #: out: decisions taken here (none emitted anything)
    ("marks", np.int64),  #: out: marks written to ``DecisionIO.marks_*``
    ("last_now", np.int64),  #: out: time of the last decision taken here
    ("pending", np.int64),  #: out: intents of a decision at ``next_decision`` for Python
])


class Market(NamedTuple):
    """The book (``engine.book.L2Book``), feature state and resting paper orders."""

    bid: np.ndarray
    ask: np.ndarray
    hdr: np.ndarray
    fstate: np.ndarray
    fparams: np.ndarray
    ring_ts: np.ndarray
    ring_cum: np.ndarray
    ring_mid2: np.ndarray
    ptr: np.ndarray
    levels: np.ndarray  #: feature scratch, int64 (4, 10)
    orders: np.ndarray
    fills: np.ndarray
    info: np.ndarray
    queue_power: float


class ModelArrays(NamedTuple):
    """Feature vector and model (``engine.model.trees.TreeEnsemble.arrays``) scratch."""

    fvec_all: np.ndarray  #: every feature, ``engine.features.ALL_NAMES`` order
    columns: np.ndarray  #: the schema's columns of ``fvec_all``
    row: np.ndarray  #: the schema's feature vector
    codes: np.ndarray
    thresholds: np.ndarray
    leaves: np.ndarray
    trees: np.ndarray
    transforms: np.ndarray
    sigmoids: np.ndarray
    depth: int
    work: np.ndarray
    prediction: np.ndarray  #: the model outputs (NaN without a model)
    counts: np.ndarray  #: the P(up) histogram (first output)
    p_sum: np.ndarray  #: its running sum, one float


class DecisionIO(NamedTuple):
    """What a decision reads and writes besides the market."""

    decision: np.ndarray  #: one record of ``engine.strategy.decision_dtype``
    orders: np.ndarray  #: ``open_order_dtype``
    n_orders: int
    intents: np.ndarray  #: ``intent_dtype``
    marks_ts: np.ndarray  #: event times of the marks taken here
    marks_mid2: np.ndarray  #: twice the mid at each


def model_arrays(ensemble, fvec_all: np.ndarray, columns: np.ndarray,
                 counts: np.ndarray) -> ModelArrays:
    """The ``ModelArrays`` of an engine (``ensemble`` None: no model; stand-ins of the same
    types keep one compiled signature)."""
    if ensemble is None:
        codes, thresholds, leaves, trees, transforms, sigmoids, depth = (
            np.zeros(1, np.int32), np.zeros(1), np.zeros(1), np.zeros(2, np.int64),
            np.zeros(1, np.int64), np.zeros(1), 0)
        n_features, n_models = 1, 1
    else:
        codes, thresholds, leaves, trees, transforms, sigmoids, depth = ensemble.arrays()
        n_features, n_models = ensemble.n_features, ensemble.n_models
    columns = np.ascontiguousarray(columns, dtype=np.int64)
    return ModelArrays(fvec_all, columns, np.zeros(max(len(columns), n_features)), codes,
                       thresholds, leaves, trees, transforms, sigmoids, int(depth),
                       np.zeros(3 * n_features), np.full(n_models, np.nan), counts,
                       np.zeros(1))


@njit(cache=True)
def next_decision_after(now: int, step: int, next_event_ns: int) -> int:
    """One interval on; across a quiet gap, the last point before the next event (decisions
    in between would see the same book). ``next_event_ns`` < 0: not known."""
    nxt = now + step
    if next_event_ns >= 0 and next_event_ns - 1 > nxt:
        nxt = now + step * ((next_event_ns - 1 - now) // step)
    return nxt


@njit(cache=True)
def fill_decision(d, hdr, bid, ask, account, now: int) -> None:
    """The decision record at ``now`` from the book and the account."""
    d.ts_ns = now
    d.has_book = hdr[H_BID_LEVELS] > 0 and hdr[H_ASK_LEVELS] > 0
    if d.has_book:
        d.best_bid_tick = hdr[H_BASE] + hdr[H_BEST_BID]
        d.best_ask_tick = hdr[H_BASE] + hdr[H_BEST_ASK]
        d.best_bid_lots = bid[hdr[H_BEST_BID]]
        d.best_ask_lots = ask[hdr[H_BEST_ASK]]
    else:
        d.best_bid_tick = d.best_ask_tick = d.best_bid_lots = d.best_ask_lots = 0
    d.position_lots = account.position
    d.open_lots = account.open_lots
    d.opened_ns = account.opened_ns
    d.halted = account.halted or account.killed


@njit(cache=True)
def evaluate_model(m: ModelArrays) -> None:
    """The model's outputs for ``m.row``, and the first one counted in the histogram."""
    predict_into(m.row, m.codes, m.thresholds, m.leaves, m.trees, m.transforms, m.sigmoids,
                 m.depth, m.work, m.prediction)
    p_up = m.prediction[0]
    if p_up == p_up:
        bins = m.counts.shape[0]
        m.counts[min(int(p_up * bins), bins - 1)] += 1
        m.p_sum[0] += p_up


@njit(inline="always")
def run_decisions(decide, market: Market, m: ModelArrays, account, control, io: DecisionIO,
                  state, params, events: np.ndarray, start: int) -> tuple[int, int]:
    """``run_until`` over many decision points, taking the ones that emit nothing here.

    Inlined into each strategy's kernel, where ``decide`` is then a global: a dispatcher
    passed as a value would make numba embed a pointer to it, and no process after the first
    could load the kernel from the disk cache.

    Returns ``run_until``'s ``(index, reason)`` at the first stop that needs Python. When a
    decision at ``control.next_decision`` emitted intents, ``reason`` is TIME_REACHED and
    ``control.pending`` says how many are in ``io.intents`` (``decide`` returned, and the
    model was counted, once: Python carries them out without deciding again).
    """
    c = control[0]
    acct = account[0]
    d = io.decision[0]
    i = start
    boundary = c.at_boundary
    c.decisions = 0
    c.marks = 0
    c.pending = 0
    while True:
        nxt = c.next_decision
        stop = min(nxt, c.other_stop)
        j, reason = run_until(market.bid, market.ask, market.hdr, market.fstate,
                              market.fparams, market.ring_ts, market.ring_cum,
                              market.ring_mid2, market.ptr, market.orders, market.fills,
                              market.info, market.queue_power, events, i, stop, NEVER,
                              boundary)
        if reason != TIME_REACHED or nxt >= c.other_stop or c.marks == io.marks_ts.shape[0]:
            return j, reason
        now = nxt
        hdr = market.hdr
        if not risk_quiet(hdr, acct):
            return j, reason
        fill_decision(d, hdr, market.bid, market.ask, acct, now)
        if c.features:
            evaluate(market.bid, market.ask, hdr, market.fstate, market.fparams,
                     market.ring_ts, market.ring_cum, market.ring_mid2, market.ptr,
                     market.levels, now, m.fvec_all)
            for k in range(m.columns.shape[0]):
                m.row[k] = m.fvec_all[m.columns[k]]
        if c.model:
            evaluate_model(m)
        n = decide(d, m.row, m.prediction, io.orders, io.n_orders, state, params, io.intents)
        if n != 0:  # intents (or a full state): Python carries this decision out
            c.pending = n
            return j, reason
        c.decisions += 1
        c.last_now = now
        if d.has_book:
            io.marks_ts[c.marks] = now
            io.marks_mid2[c.marks] = 2 * hdr[H_BASE] + hdr[H_BEST_BID] + hdr[H_BEST_ASK]
            c.marks += 1
        c.next_decision = next_decision_after(now, c.step, events[j].ts_event)
        i = j
        boundary = True


__all__ = ["DecisionIO", "Market", "ModelArrays", "control_dtype", "evaluate_model",
           "fill_decision", "model_arrays", "next_decision_after", "run_decisions"]
