"""Compile (or load from the numba cache) every hot-path function before the first event.

Calling each function once on tiny inputs moves compilation out of the first live message
or replay batch; with ``cache=True`` later processes load the machine code from disk.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from engine.book import L2Book
from engine.book import apply_events
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
    _warm_gate(book, fs, rest, batch)
    _done = True


def _warm_gate(book: L2Book, fs: FeatureState, rest: RestingOrders, batch: np.ndarray) -> None:
    """The compiled decision gate of each strategy that has one, and the history the
    momentum strategy shares with it."""
    from engine.features import FeatureSchema
    from engine.gate import model_arrays
    from engine.gate import next_decision_after
    from engine.gate import run_gated
    from strategies.base import GateContext
    from strategies.imbalance_maker import ImbalanceMaker
    from strategies.imbalance_maker import ImbalanceMakerConfig
    from strategies.imbalance_momentum import ImbalanceMomentum
    from strategies.imbalance_momentum import ImbalanceMomentumConfig
    from strategies.imbalance_momentum import entry_signal

    next_decision_after(1, 1, 5)  # also called from Python, at every Python decision
    momentum = ImbalanceMomentum(ImbalanceMomentumConfig())
    momentum._remember(1, 0.5)
    entry_signal(momentum.hist_ts, momentum.hist_val, momentum.hist_hdr, 2, 0.5, 1, 0.3)
    rest.info[:] = 0
    marks = np.zeros(4, dtype=np.int64)
    schema = FeatureSchema()
    ml = model_arrays(None, np.zeros(len(ALL_NAMES)), schema.columns, fs.levels_book,
                      np.zeros(20, dtype=np.int64))
    context = GateContext(False, schema)
    for strategy in (momentum, ImbalanceMaker(ImbalanceMakerConfig())):
        book.clear()
        fs.reset(0)
        run_gated(strategy.gate_kind, book.bid, book.ask, book.hdr, fs.state, fs.params,
                  fs.ring_ts, fs.ring_cum, fs.ring_mid2, fs.ptr, rest.orders, rest.fills,
                  rest.info, rest.power, batch, 0, True, 1, 1, np.iinfo(np.int64).max,
                  *strategy.gate_arrays(0, None, (), context), ml, np.zeros(5, dtype=np.int64),
                  np.zeros(4), marks, marks.copy(), np.zeros(4, dtype=np.int64))
