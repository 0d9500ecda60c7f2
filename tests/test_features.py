"""Streaming level-1 features against a batch reference computed from LOBSTER orderbook rows."""

import numpy as np
from data_paths import goog_pair

from connectors.lobster import LobsterPair
from connectors.lobster import load_day
from engine.config import EngineConfig
from engine.config import InstrumentConfig
from engine.config import ReplayConfig
from engine.pipeline import Engine
from replay.player import ReplaySession
from replay.player import run


class Recorder:
    """A strategy that only remembers what it saw."""

    name = "recorder"

    def __init__(self):
        self.ts = []
        self.rows = []

    def on_decision(self, view):
        self.ts.append(view.ts_ns)
        self.rows.append(view.features.copy())
        return []


def reference_ofi(ob: np.ndarray) -> np.ndarray:
    """Cont et al. (2014) e_n between consecutive orderbook rows (e_0 = 0), in numpy."""
    pa, qa, pb, qb = (ob[:, c].astype(np.float64) for c in range(4))
    e = ((pb[1:] >= pb[:-1]) * qb[1:] - (pb[1:] <= pb[:-1]) * qb[:-1]
         - (pa[1:] <= pa[:-1]) * qa[1:] + (pa[1:] >= pa[:-1]) * qa[:-1])
    return np.concatenate([[0.0], e])


def test_level1_features_match_the_orderbook_file_at_every_decision():
    message, _ = goog_pair(1)
    day = load_day(LobsterPair.from_message(message))
    config = EngineConfig(instrument=InstrumentConfig(symbol="GOOG", tick_size="0.0001"),
                          replay=ReplayConfig(decision_interval_ms=250))
    recorder = Recorder()
    engine = Engine(config, config.instrument.spec(), strategy=recorder)
    run(engine, [ReplaySession("goog", day.events)], chunk_events=10_000)

    ob = day.orderbook
    t = day.messages[:, 0] + day.session_start_ns
    e = reference_ofi(ob)
    cum = np.cumsum(e)
    ts = np.array(recorder.ts)
    got = np.array(recorder.rows)
    assert len(ts) > 20_000
    # Row holding the book at each decision: the last message stamped at or before it.
    k = np.searchsorted(t, ts, side="right") - 1
    qa, qb = ob[k, 1].astype(float), ob[k, 3].astype(float)
    np.testing.assert_allclose(got[:, 0], (qb - qa) / (qb + qa), rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], -(qb - qa) / (qb + qa + 1e-9), rtol=1e-12)
    # OFI of each decision: the e_n of messages since the previous decision.
    prev = np.concatenate([[0], k[:-1]])
    want = cum[k] - cum[prev]
    want[0] = cum[k[0]]
    np.testing.assert_array_equal(got[:, 2], want)
    assert np.abs(got[:, 2]).max() > 100
