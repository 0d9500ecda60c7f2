"""Quiet decisions in numba: decision points at which nothing can happen never reach Python.

At most decision points of a replay the strategy does nothing: no signal, nothing to exit.
Each one costs a trip through the Python stages (tens of µs), which bounds the pipeline far
below the compiled loop. A strategy that can say in numba whether it would act (its *gate*)
lets ``run_gated`` take those decisions inside the compiled loop: it applies events up to a
decision point, asks the gate, and when the answer is "quiet" records what the Python
decision would have recorded (the strategy's own state, the equity mark) and goes on to the
next point. At the first decision where the strategy or risk could act it returns, and the
engine runs that decision in Python exactly as without the gate.

The engine calls it only when a quiet decision is fully determined by the book and the
position: nothing in flight, no halted position; a model only for the ML strategy, whose
gate evaluates the features and the model itself. The report is the same with the gate
on or off (``replay.compiled_gate``; tested), apart from the stage latency samples, which
only Python decisions have.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.features.vector import evaluate
from engine.features.vector import inventory_imbalance
from engine.loop import TIME_REACHED
from engine.loop import run_until
from engine.model.trees import predict_into
from strategies.base import GATE_MAKER
from strategies.base import GATE_ML
from strategies.base import GATE_MOMENTUM
from strategies.imbalance_maker import MM_CAP
from strategies.imbalance_maker import MM_KAPPA
from strategies.imbalance_maker import MM_N_ASK
from strategies.imbalance_maker import MM_N_BID
from strategies.imbalance_maker import MM_ORDER_LOTS
from strategies.imbalance_maker import MM_PHI
from strategies.imbalance_maker import MM_PX_ASK
from strategies.imbalance_maker import MM_PX_BID
from strategies.imbalance_maker import MM_SPREAD
from strategies.imbalance_maker import MM_STEP
from strategies.imbalance_momentum import MO_EXIT_NS
from strategies.imbalance_momentum import MO_LAG_NS
from strategies.imbalance_momentum import MO_THRESHOLD
from strategies.imbalance_momentum import entry_signal
from strategies.imbalance_momentum import remember
from strategies.ml_ofi import ML_BLOCKED
from strategies.ml_ofi import ML_DEPTH
from strategies.ml_ofi import ML_EXIT_NS
from strategies.ml_ofi import ML_OFI_COL
from strategies.ml_ofi import ML_OFI_THRESHOLD
from strategies.ml_ofi import ML_P_LONG
from strategies.ml_ofi import ML_P_SHORT

NEVER = np.iinfo(np.int64).max

#: ``pos`` (int64) and ``fpos`` (float64) slots of ``run_gated``: the position and what risk
#: needs to see in it (``Engine._risk_state``).
P_STOP_TICKS, P_POSITION, P_CASH, P_START_EQUITY2, P_HALTED = range(5)
F_ENTRY_MID, F_MONEY, F_FEES_TODAY, F_LOSS_LIMIT = range(4)
#: ``out`` slots of ``run_gated``.
O_NEXT_DECISION, O_DECISIONS, O_MARKS, O_LAST_NOW = range(4)


def model_arrays(ensemble, fvec_all: np.ndarray, columns: np.ndarray, levels: np.ndarray,
                 counts: np.ndarray) -> tuple:
    """The ``ml`` argument of ``run_gated``: feature scratch, the model's arrays
    (``engine.model.trees.TreeEnsemble``, or stand-ins of the same types when there is no
    model), prediction scratch, the P(up) histogram to count into and a running sum."""
    if ensemble is None:
        model = (np.zeros(1, np.int32), np.zeros(1), np.zeros(1), np.zeros(2, np.int64),
                 np.zeros(1, np.int64), np.zeros(1))
        n_features, n_models = 1, 1
    else:
        model = ensemble.arrays()[:-1]  # depth travels in the gate's ints
        n_features, n_models = ensemble.n_features, ensemble.n_models
    return (fvec_all, np.ascontiguousarray(columns, dtype=np.int64), levels,
            np.zeros(max(len(columns), n_features)), *model, np.zeros(3 * n_features),
            np.zeros(n_models), counts, np.zeros(1))


@njit(cache=True)
def next_decision_after(now: int, step: int, next_event_ns: int) -> int:
    """One interval on; across a quiet gap, the last point before the next event (decisions
    in between would see the same book). ``next_event_ns`` < 0: not known."""
    nxt = now + step
    if next_event_ns >= 0 and next_event_ns - 1 > nxt:
        nxt = now + step * ((next_event_ns - 1 - now) // step)
    return nxt


@njit(cache=True)
def _risk_quiet(hdr, pos, fpos) -> bool:
    """Whether risk neither halts (daily loss stop) nor forces an exit (stop-loss) now; the
    same arithmetic as ``Engine._risk_state``, ``halt_reason`` and ``exit_reason``."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        return True  # no mid: no PnL move, no adverse move
    mid2 = 2 * hdr[H_BASE] + hdr[H_BEST_BID] + hdr[H_BEST_ASK]
    if fpos[F_LOSS_LIMIT] > 0 and not pos[P_HALTED]:  # a halt holds for the session
        equity2 = 2 * pos[P_CASH] + pos[P_POSITION] * mid2
        day_pnl = (equity2 - pos[P_START_EQUITY2]) / 2 * fpos[F_MONEY] - fpos[F_FEES_TODAY]
        if day_pnl <= -fpos[F_LOSS_LIMIT]:
            return False
    entry = fpos[F_ENTRY_MID]
    position = pos[P_POSITION]
    if position != 0 and pos[P_STOP_TICKS] > 0 and entry == entry:
        if (entry - mid2 / 2) * (1 if position > 0 else -1) >= pos[P_STOP_TICKS]:
            return False
    return True


@njit(cache=True)
def _momentum_quiet(bid, ask, hdr, hist_ts, hist_val, hist_hdr, gi, gp, now, pos) -> bool:
    """Whether ``ImbalanceMomentum.on_decision`` returns nothing at ``now``; if so, remember
    the decision's imbalance as the strategy would have."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        return True  # the strategy skips a one-sided book
    if pos[P_POSITION] != 0 and now >= gi[MO_EXIT_NS]:
        return False
    lag_ns = gi[MO_LAG_NS]
    value = inventory_imbalance(float(bid[hdr[H_BEST_BID]]), float(ask[hdr[H_BEST_ASK]]))
    if pos[P_POSITION] == 0 and entry_signal(hist_ts, hist_val, hist_hdr, now, value, lag_ns,
                                         gp[MO_THRESHOLD]) != 0:
        return False
    return remember(hist_ts, hist_val, hist_hdr, now, value, lag_ns)


@njit(cache=True)
def _quote_side_quiet(n: int, px: int, target: int, wanted: bool) -> bool:
    """The maker keeps a side as it is: its open quotes all at the target price, or none
    when the side may not grow the position."""
    if wanted:
        return n > 0 and px == target
    return n == 0


@njit(cache=True)
def _maker_quiet(bid, ask, hdr, gi, gp, pos) -> bool:
    """Whether ``ImbalanceMaker.on_decision`` returns nothing: each side's quote already
    rests at the price ``strategies.imbalance_maker.quotes`` gives (same arithmetic)."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        return True
    if pos[P_HALTED]:
        return gi[MM_N_BID] == 0 and gi[MM_N_ASK] == 0  # it would cancel what rests
    best_bid = hdr[H_BASE] + hdr[H_BEST_BID]
    best_ask = hdr[H_BASE] + hdr[H_BEST_ASK]
    imbalance = inventory_imbalance(float(bid[hdr[H_BEST_BID]]), float(ask[hdr[H_BEST_ASK]]))
    position = pos[P_POSITION]
    step = gi[MM_STEP]
    mid = (best_bid + best_ask) / 2
    half = gp[MM_SPREAD] / 2
    shift = gp[MM_PHI] * position
    want_bid = math.floor((mid - half * (1 + gp[MM_KAPPA] * imbalance) - shift) / step) * step
    want_ask = math.ceil((mid + half * (1 - gp[MM_KAPPA] * imbalance) - shift) / step) * step
    want_bid = min(want_bid, best_ask - step)
    want_ask = max(want_ask, best_bid + step)
    lots, cap = gi[MM_ORDER_LOTS], gi[MM_CAP]
    return (_quote_side_quiet(gi[MM_N_BID], gi[MM_PX_BID], want_bid, position + lots <= cap)
            and _quote_side_quiet(gi[MM_N_ASK], gi[MM_PX_ASK], want_ask,
                                  -position + lots <= cap))


@njit(cache=True)
def _ml_quiet(bid, ask, hdr, fstate, params, ring_ts, ring_cum, ring_mid2, ptr, ml, gi, gp,
              now, pos) -> bool:
    """Whether ``MlOfi.on_decision`` returns nothing at ``now``, with the feature vector
    and the model's prediction computed as the engine's Python decision does; if so, count
    the prediction in the engine's P(up) histogram (``ml``: see ``Engine._model_arrays``)."""
    (fvec_all, columns, levels, row, codes, thresholds, leaves, model_trees, transforms,
     sigmoids, work, pred, counts, p_sum) = ml
    evaluate(bid, ask, hdr, fstate, params, ring_ts, ring_cum, ring_mid2, ptr, levels, now,
             fvec_all)
    for k in range(columns.shape[0]):
        row[k] = fvec_all[columns[k]]
    predict_into(row, codes, thresholds, leaves, model_trees, transforms, sigmoids,
                 gi[ML_DEPTH], work, pred)
    p_up = pred[0]
    if pos[P_POSITION] != 0:
        if now >= gi[ML_EXIT_NS]:
            return False
    elif not gi[ML_BLOCKED] and p_up == p_up:
        ofi = row[gi[ML_OFI_COL]]
        threshold = gp[ML_OFI_THRESHOLD]
        if ofi == ofi and ((p_up > gp[ML_P_LONG] and ofi > threshold)
                           or (p_up < gp[ML_P_SHORT] and ofi < -threshold)):
            return False
    if p_up == p_up:
        bins = counts.shape[0]
        counts[min(int(p_up * bins), bins - 1)] += 1
        p_sum[0] += p_up
    return True


@njit(cache=True)
def run_gated(kind: int, bid, ask, hdr, fstate, params, ring_ts, ring_cum, ring_mid2, ptr,
              orders, fills, info, queue_power, events, start, at_boundary, next_decision,
              step, other_stop, hist_ts, hist_val, hist_hdr, gi, gp, ml, pos, fpos, marks_ts,
              marks_mid2, out) -> tuple[int, int]:
    """``run_until`` over many decision points, taking the quiet ones here.

    ``other_stop`` is the earliest wakeup that is not a decision (an order, a deadline, the
    close). Returns ``run_until``'s ``(index, reason)`` at the first stop that needs
    Python; ``out`` gets the next decision time, how many decisions and marks were taken
    (marks: event time and twice the mid, into ``marks_ts``/``marks_mid2``) and the time of
    the last one.
    """
    i = start
    boundary = at_boundary
    n_dec = 0
    n_marks = 0
    while True:
        stop = min(next_decision, other_stop)
        j, reason = run_until(bid, ask, hdr, fstate, params, ring_ts, ring_cum, ring_mid2, ptr,
                              orders, fills, info, queue_power, events, i, stop, NEVER,
                              boundary)
        if (reason != TIME_REACHED or next_decision >= other_stop
                or n_marks == marks_ts.shape[0]):
            break
        now = next_decision
        if not _risk_quiet(hdr, pos, fpos):
            break
        if kind == GATE_MOMENTUM:
            quiet = _momentum_quiet(bid, ask, hdr, hist_ts, hist_val, hist_hdr, gi, gp, now,
                                    pos)
        elif kind == GATE_MAKER:
            quiet = _maker_quiet(bid, ask, hdr, gi, gp, pos)
        elif kind == GATE_ML:
            quiet = _ml_quiet(bid, ask, hdr, fstate, params, ring_ts, ring_cum, ring_mid2, ptr,
                              ml, gi, gp, now, pos)
        else:
            quiet = False
        if not quiet:
            break
        n_dec += 1
        out[O_LAST_NOW] = now
        if hdr[H_BID_LEVELS] > 0 and hdr[H_ASK_LEVELS] > 0:
            marks_ts[n_marks] = now
            marks_mid2[n_marks] = 2 * hdr[H_BASE] + hdr[H_BEST_BID] + hdr[H_BEST_ASK]
            n_marks += 1
        next_decision = next_decision_after(now, step, events[j].ts_event)
        i = j
        boundary = True
    out[O_NEXT_DECISION] = next_decision
    out[O_DECISIONS] = n_dec
    out[O_MARKS] = n_marks
    return j, reason


__all__ = ["GATE_MAKER", "GATE_ML", "GATE_MOMENTUM", "model_arrays", "next_decision_after",
           "run_gated"]
