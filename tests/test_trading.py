"""Strategy, risk, portfolio and paper execution, each on its own."""

import numpy as np
import pytest

from engine.book import L2Book
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import BUY
from engine.events import F_LAST
from engine.events import SELL
from engine.events import make_batch
from engine.execution import ExecutionConfig
from engine.execution import PaperExecution
from engine.features import FeatureSchema
from engine.orders import Fill
from engine.orders import OrderIntent
from engine.portfolio import Portfolio
from engine.risk import RiskConfig
from engine.risk import RiskManager
from engine.risk import RiskState
from engine.risk import check
from engine.risk import forced_exit
from strategies import DecisionView
from strategies import ImbalanceMomentum
from strategies import ImbalanceMomentumConfig

MS = 1_000_000


def fill(side, px, qty, ts=0, reason="entry"):
    return Fill(1, side, px, qty, ts, reason, 0)


def test_portfolio_matches_fifo_round_trips_exactly():
    pf = Portfolio()
    pf.apply(fill(BUY, 100, 5, ts=1))
    pf.apply(fill(BUY, 102, 5, ts=2))
    pf.apply(fill(SELL, 105, 7, ts=3, reason="exit"))
    assert pf.position == 3
    assert [(t.qty_lots, t.entry_px_ticks, t.pnl_tick_lots) for t in pf.round_trips] == [
        (5, 100, 25), (2, 102, 6)]
    assert pf.realized == 31
    assert pf.opened_ns == 2
    pf.apply(fill(SELL, 101, 5, ts=4))  # closes 3 at 101, opens a 2-lot short
    assert pf.position == -2 and pf.opened_ns == 4
    assert pf.realized == 31 - 3
    assert pf.cash == -500 - 510 + 735 + 505
    assert pf.equity2(2 * 101) == 2 * (pf.realized + 0)  # short 2 at 101 marked at 101


def test_risk_rejects_orders_beyond_max_position_but_allows_reducing():
    config = RiskConfig(max_position_lots=100, max_order_lots=100)
    state = RiskState(position_lots=100, in_flight_lots=0, opened_ns=0, book_valid=True)
    assert check(state, OrderIntent(BUY, 1, "entry"), config) == "max_position"
    assert check(state, OrderIntent(SELL, 100, "exit"), config) is None
    assert check(state, OrderIntent(SELL, 101, "x"), config) == "max_order_size"
    flat_in_flight = RiskState(0, 100, None, True)
    assert check(flat_in_flight, OrderIntent(BUY, 1, "entry"), config) == "max_position"
    invalid = RiskState(0, 0, None, book_valid=False)
    assert check(invalid, OrderIntent(BUY, 1, "entry"), config) == "book_invalid"


def test_risk_manager_counts_rejections_by_reason():
    risk = RiskManager(RiskConfig(max_position_lots=10, max_order_lots=10))
    accepted = risk.vet(RiskState(0, 0, None, True),
                        [OrderIntent(BUY, 10, "a"), OrderIntent(BUY, 1, "b")], now_ns=5)
    assert [i.reason for i in accepted] == ["a"]
    assert risk.rejections == {"max_position": 1}
    assert risk.rejected[0].ts_ns == 5


def test_holding_limit_forces_an_exit_after_five_minutes():
    config = RiskConfig()
    state = RiskState(position_lots=-30, in_flight_lots=0, opened_ns=0, book_valid=True)
    assert forced_exit(state, 300_000 * MS - 1, config) is None
    exit_intent = forced_exit(state, 300_000 * MS, config)
    assert (exit_intent.side, exit_intent.qty_lots, exit_intent.reason) == (
        BUY, 30, "exit:max_holding")
    already_going = RiskState(-30, 30, 0, True)
    assert forced_exit(already_going, 400_000 * MS, config) is None


def book_with(levels):
    book = L2Book()
    book.apply(make_batch([(BOOK_DELTA, side, px, qty, 0, 0, 1, F_LAST)
                           for side, px, qty in levels]))
    return book


def test_marketable_order_walks_levels_after_its_latency():
    book = book_with([(BID, 99, 10), (BID, 98, 10), (ASK, 101, 3), (ASK, 102, 4),
                      (ASK, 105, 100)])
    execution = PaperExecution(ExecutionConfig(order_latency_us=500))
    execution.submit(OrderIntent(BUY, 10, "entry"), now_ns=1_000)
    assert execution.next_arrival_ns() == 501_000
    assert execution.in_flight_lots() == 10
    fills, done = execution.execute_due(book, now_ns=500_999)
    assert fills == [] and done == []
    fills, done = execution.execute_due(book, now_ns=501_000)
    assert [(f.px_ticks, f.qty_lots) for f in fills] == [(101, 3), (102, 4), (105, 3)]
    assert all(f.ts_ns == 501_000 and f.mid2_ticks == 200 for f in fills)
    assert done[0].filled_lots == 10 and done[0].cancelled_lots == 0
    assert execution.in_flight_lots() == 0


def test_what_the_visible_book_cannot_fill_is_cancelled():
    book = book_with([(BID, 99, 2), (ASK, 101, 3)])
    execution = PaperExecution(ExecutionConfig(order_latency_us=0))
    execution.submit(OrderIntent(SELL, 5, "entry"), now_ns=0)
    fills, done = execution.execute_due(book, now_ns=0)
    assert [(f.px_ticks, f.qty_lots, f.side) for f in fills] == [(99, 2, SELL)]
    assert done[0].cancelled_lots == 3


def view(ts_ms, value, position=0, opened_ms=None):
    schema = FeatureSchema()
    features = np.zeros(len(schema.names))
    features[schema.index("inventory_imbalance")] = value
    return DecisionView(ts_ms * MS, features, schema, 99, 101, position, 0,
                        None if opened_ms is None else opened_ms * MS)


@pytest.mark.parametrize(("values", "sign", "side"), [
    ((0.4, 0.5, 0.6), 1, BUY),
    ((-0.4, -0.5, -0.6), 1, SELL),
    ((0.4, 0.5, 0.6), -1, SELL),
])
def test_momentum_enters_on_three_monotone_snapshots_beyond_threshold(values, sign, side):
    strategy = ImbalanceMomentum(ImbalanceMomentumConfig(lag_ms=100, threshold=0.3, sign=sign,
                                                         order_lots=7))
    assert strategy.on_decision(view(0, values[0])) == []
    assert strategy.on_decision(view(100, values[1])) == []
    intents = strategy.on_decision(view(200, values[2]))
    assert [(i.side, i.qty_lots, i.reason) for i in intents] == [(side, 7, "entry")]


@pytest.mark.parametrize("values", [(0.2, 0.5, 0.6), (0.4, 0.6, 0.5), (0.6, 0.5, 0.4)])
def test_momentum_stays_out_without_the_pattern(values):
    strategy = ImbalanceMomentum(ImbalanceMomentumConfig(lag_ms=100, threshold=0.3))
    for k, v in enumerate(values[:2]):
        strategy.on_decision(view(100 * k, v))
    if values == (0.6, 0.5, 0.4):  # falling but all positive: a short entry, not a long one
        assert strategy.on_decision(view(200, values[2]))[0].side == SELL
    else:
        assert strategy.on_decision(view(200, values[2])) == []


def test_momentum_exits_after_the_holding_horizon():
    strategy = ImbalanceMomentum(ImbalanceMomentumConfig(lag_ms=100, hold_ms=1000))
    assert strategy.on_decision(view(1500, 0.9, position=100, opened_ms=600)) == []
    intents = strategy.on_decision(view(1600, 0.9, position=100, opened_ms=600))
    assert [(i.side, i.qty_lots, i.reason) for i in intents] == [(SELL, 100, "exit:horizon")]
