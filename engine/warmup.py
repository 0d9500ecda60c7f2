"""Compile (or load from the numba cache) every hot-path function before the first event.

Calling each function once on tiny inputs moves compilation out of the first live message
or replay batch; with ``cache=True`` later processes load the machine code from disk.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import numpy as np

from engine.book import L2Book
from engine.book import apply_events
from engine.decision_loop import ModelArrays
from engine.decision_loop import next_decision_after
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import BUY
from engine.events import F_LAST
from engine.events import TRADE
from engine.events import make_batch
from engine.execution import walk_book
from engine.features import ALL_NAMES
from engine.features import FeatureParams
from engine.features import FeatureState
from engine.features import evaluate
from engine.loop import run_until
from engine.resting import RestingOrders

_done = False


def warm_up() -> None:
    """Idempotent: the first call per process compiles or loads; later calls return at once."""
    global _done
    if _done:
        return
    book = L2Book(capacity=64)
    batch = make_batch([
        (BOOK_DELTA, BID, 10, 1, 1, 1, 1, 0), (BOOK_DELTA, ASK, 12, 1, 1, 1, 1, F_LAST),
        (TRADE, BUY, 12, 1, 2, 2, 2, 0), (BOOK_DELTA, ASK, 12, 0, 2, 2, 2, F_LAST),
    ])
    book.fit(0, 20)
    apply_events(book.bid, book.ask, book.hdr, batch, 0, len(batch))
    book.clear()
    fs = FeatureState(FeatureParams().array(Decimal("0.01")), capacity=8)
    rest = RestingOrders(slots=2)
    rest.add(client_id=1, side=BUY, px=11, qty=1, ahead=0)
    run_until(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts, fs.ring_cum,
              fs.ring_mid2, fs.ptr, rest.orders, rest.fills, rest.info, rest.power, batch, 0,
              np.iinfo(np.int64).max, 1 << 62, True)
    evaluate(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts, fs.ring_cum,
             fs.ring_mid2, fs.ptr, fs.levels_book, 3, np.empty(len(ALL_NAMES)))
    out = np.empty(4, dtype=np.int64)
    walk_book(book.bid, book.ask, book.hdr, BUY, 1, 12, out, out.copy())
    next_decision_after(1, 1, 5)  # at every Python decision
    _done = True


_warmed: set[type] = set()


def warm_strategy(strategy: object, schema, model: ModelArrays) -> None:
    """Compile (or load) a compiled strategy's kernels on a copy of it and a tiny batch, with
    the engine's own argument types: its ``decide`` from Python and inside the loop."""
    from engine.decision_loop import DecisionIO
    from engine.decision_loop import Market
    from engine.decision_loop import control_dtype
    from engine.decision_loop import fill_decision
    from engine.risk import account_dtype
    from engine.strategy import MAX_INTENTS
    from engine.strategy import decision_dtype
    from engine.strategy import intent_dtype
    from engine.strategy import open_order_dtype

    if type(strategy) in _warmed:
        return
    clone = copy.deepcopy(strategy)
    params = clone.bind(schema)
    book = L2Book(capacity=64)
    book.fit(0, 20)
    fs = FeatureState(FeatureParams().array(Decimal("0.01")), capacity=8)
    rest = RestingOrders(slots=2)
    model = ModelArrays(*(copy.copy(a) if isinstance(a, np.ndarray) else a for a in model))
    account = np.zeros(1, dtype=account_dtype)
    control = np.zeros(1, dtype=control_dtype)
    c = control[0]
    c["next_decision"], c["step"], c["other_stop"] = 2, 1, np.iinfo(np.int64).max
    c["at_boundary"] = c["features"] = True
    io = DecisionIO(np.zeros(1, dtype=decision_dtype), np.zeros(4, dtype=open_order_dtype), 0,
                    np.zeros(MAX_INTENTS, dtype=intent_dtype), np.zeros(4, dtype=np.int64),
                    np.zeros(4, dtype=np.int64))
    market = Market(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts, fs.ring_cum,
                    fs.ring_mid2, fs.ptr, fs.levels_book, rest.orders, rest.fills, rest.info,
                    rest.power)
    clone.kernels.run(market, model, account, control, io, clone.state, params, _batch(), 0)
    fill_decision(io.decision[0], book.hdr, book.bid, book.ask, account[0], 3)
    clone.kernels.decide(io.decision[0], np.zeros(len(schema.names)), np.full(1, np.nan),
                         io.orders, 0, clone.state, params, io.intents)
    _warmed.add(type(strategy))


def _batch() -> np.ndarray:
    return make_batch([
        (BOOK_DELTA, BID, 10, 1, 1, 1, 1, 0), (BOOK_DELTA, ASK, 12, 1, 1, 1, 1, F_LAST),
        (TRADE, BUY, 12, 1, 2, 2, 2, 0), (BOOK_DELTA, ASK, 12, 0, 2, 2, 2, F_LAST),
        (BOOK_DELTA, BID, 11, 1, 5, 5, 3, F_LAST),
    ])
