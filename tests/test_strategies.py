"""Each strategy's entry and exit rules on constructed feature paths."""

import numpy as np
import pytest

from engine.events import BUY
from engine.events import SELL
from engine.execution import OpenOrder
from engine.features import FeatureSchema
from engine.orders import CancelIntent
from engine.orders import OrderIntent
from engine.orders import OrderKind
from engine.strategy import DecisionView
from strategies import ImbalanceMaker
from strategies import ImbalanceMakerConfig
from strategies import ImbalanceMomentum
from strategies import ImbalanceMomentumConfig
from strategies import MlOfi
from strategies import MlOfiConfig
from strategies.imbalance_maker import quotes

MS = 1_000_000
SCHEMA = FeatureSchema()


def view(ts_ms=0, imbalance=0.0, position=0, opened_ms=None, in_flight=0, orders=(),
         prediction=None, ofi=0.0, bid=99, ask=101, halted=False):
    features = np.zeros(len(SCHEMA.names))
    features[SCHEMA.index("inventory_imbalance")] = imbalance
    features[SCHEMA.index("ofi_l1_10s")] = ofi
    return DecisionView(ts_ms * MS, features, SCHEMA, bid, ask, position, in_flight,
                        None if opened_ms is None else opened_ms * MS, tuple(orders),
                        None if prediction is None else np.array(prediction), halted)


@pytest.mark.parametrize(("values", "sign", "side"), [
    ((0.4, 0.5, 0.6), 1, BUY),
    ((-0.4, -0.5, -0.6), 1, SELL),
    ((0.6, 0.5, 0.4), 1, SELL),
    ((0.4, 0.5, 0.6), -1, SELL),
])
def test_momentum_enters_on_three_monotone_snapshots_beyond_threshold(values, sign, side):
    s = ImbalanceMomentum(ImbalanceMomentumConfig(lag_ms=100, threshold=0.3, sign=sign,
                                                  order_lots=7))
    assert s.on_decision(view(0, values[0])) == []
    assert s.on_decision(view(100, values[1])) == []
    assert [(i.side, i.qty_lots, i.reason) for i in s.on_decision(view(200, values[2]))] == [
        (side, 7, "entry")]


@pytest.mark.parametrize("values", [(0.2, 0.5, 0.6), (0.4, 0.6, 0.5), (0.4, 0.35, 0.6)])
def test_momentum_stays_out_without_the_pattern(values):
    s = ImbalanceMomentum(ImbalanceMomentumConfig(lag_ms=100, threshold=0.3))
    for k, v in enumerate(values):
        assert s.on_decision(view(100 * k, v)) == []


def test_momentum_exits_after_the_holding_horizon():
    s = ImbalanceMomentum(ImbalanceMomentumConfig(lag_ms=100, hold_ms=1000))
    assert s.on_decision(view(1500, 0.9, position=100, opened_ms=600)) == []
    out = s.on_decision(view(1600, 0.9, position=100, opened_ms=600))
    assert [(i.side, i.qty_lots, i.reason) for i in out] == [(SELL, 100, "exit:horizon")]


def test_maker_quotes_skew_with_imbalance_and_inventory():
    c = ImbalanceMakerConfig(spread_ticks=2, kappa=0.5, phi_ticks=0.01)
    assert quotes(100.5, 0.0, 0, c, 100, 101) == (99, 102)
    assert quotes(100.5, 1.0, 0, c, 100, 101) == (99, 101)  # asks piling up: skew down
    assert quotes(100.5, -1.0, 0, c, 100, 101) == (100, 102)
    assert quotes(100.5, 0.0, 100, c, 100, 101) == (98, 101)  # long 100: shift down 1
    coarse = ImbalanceMakerConfig(spread_ticks=200, quote_step_ticks=100)
    assert quotes(58_000_50.0, 0.0, 0, coarse, 58_000_00, 58_001_00) == (57_999_00, 58_002_00)
    tight = ImbalanceMakerConfig(spread_ticks=0.5)
    assert quotes(100.5, 0.0, 0, tight, 100, 101) == (100, 101)  # never crosses the book


def quote(cid, side, px, resting=True):
    return OpenOrder(cid, side, 100, px, resting, "quote")


def test_maker_places_keeps_and_replaces_quotes():
    mm = ImbalanceMaker(ImbalanceMakerConfig(spread_ticks=2, kappa=0.0))
    placed = mm.on_decision(view(bid=100, ask=101))
    assert [(a.side, a.limit_px, a.kind) for a in placed] == [(BUY, 99, OrderKind.LIMIT),
                                                            (SELL, 102, OrderKind.LIMIT)]
    same = view(bid=100, ask=101, orders=[quote(1, BUY, 99), quote(2, SELL, 102)])
    assert mm.on_decision(same) == []
    moved = mm.on_decision(view(bid=101, ask=102,
                                orders=[quote(1, BUY, 99), quote(2, SELL, 102)]))
    assert CancelIntent(1, "requote") in moved and CancelIntent(2, "requote") in moved
    assert [(a.side, a.limit_px) for a in moved if isinstance(a, OrderIntent)] == [
        (BUY, 100), (SELL, 103)]
    waiting = view(bid=101, ask=102, orders=[quote(1, BUY, 99, resting=False)])
    assert [a.side for a in mm.on_decision(waiting)] == [SELL]  # bid side waits


def test_maker_stops_growing_inventory_and_pulls_quotes_when_halted():
    mm = ImbalanceMaker(ImbalanceMakerConfig(spread_ticks=2, order_lots=100,
                                             max_inventory_lots=300))
    at_cap = mm.on_decision(view(bid=100, ask=101, position=250,
                                 orders=[quote(1, BUY, 99), quote(2, SELL, 102)]))
    assert at_cap == [CancelIntent(1, "requote")]
    halted = mm.on_decision(view(orders=[quote(1, BUY, 98), quote(2, SELL, 102)], halted=True))
    assert halted == [CancelIntent(1, "halted"), CancelIntent(2, "halted")]


@pytest.mark.parametrize(("p_up", "ofi", "want"), [
    (0.60, 10.0, [(BUY, "entry")]),
    (0.60, -10.0, []),
    (0.55, 10.0, []),
    (0.40, -10.0, [(SELL, "entry")]),
    (0.40, 0.0, []),
    (0.50, 50.0, []),
])
def test_ml_ofi_entries_need_model_and_flow_to_agree(p_up, ofi, want):
    s = MlOfi(MlOfiConfig(p_long=0.55, p_short=0.45, ofi_threshold=0.0))
    out = s.on_decision(view(prediction=[p_up, 0.5, 0.0], ofi=ofi))
    assert [(i.side, i.reason) for i in out] == want


def test_ml_ofi_holds_then_exits_and_declares_its_inputs():
    s = MlOfi(MlOfiConfig(hold_ms=60_000, ofi_feature="ofi_l2_1m"))
    assert s.required_features == ("ofi_l2_1m",) and s.needs_model
    held = view(ts_ms=59_999, position=-100, opened_ms=0, prediction=[0.9, 0.5, 0.0], ofi=9)
    assert s.on_decision(held) == []
    out = s.on_decision(view(ts_ms=60_000, position=-100, opened_ms=0, prediction=[0.9, 0, 0]))
    assert [(i.side, i.qty_lots, i.reason) for i in out] == [(BUY, 100, "exit:horizon")]
