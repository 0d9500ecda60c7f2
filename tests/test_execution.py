"""Paper execution: hand-computed fill scenarios through the compiled loop and the venue."""

import numpy as np
import pytest

from engine.book import L2Book
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import BUY
from engine.events import F_LAST
from engine.events import SELL
from engine.events import TRADE
from engine.events import make_batch
from engine.execution import ExecutionConfig
from engine.execution import PaperExecution
from engine.features import FeatureParams
from engine.features import FeatureState
from engine.loop import END_OF_DATA
from engine.loop import FILLED
from engine.loop import run_until
from engine.orders import OrderIntent
from engine.orders import OrderKind
from engine.resting import RestingOrders

NEVER = np.iinfo(np.int64).max
MONEY = 0.01  # one tick x one lot, in currency


def delta(side, px, qty, ts=1, last=True):
    return (BOOK_DELTA, side, px, qty, ts, ts, ts, F_LAST if last else 0)


def trade(aggressor, px, qty, ts=1):
    return (TRADE, aggressor, px, qty, ts, ts, ts, 0)


class Venue:
    """A book, feature state and resting orders driven through ``run_until``."""

    def __init__(self, model="conservative", power=3.0):
        self.book = L2Book(capacity=256)
        self.book.fit(0, 200)
        from decimal import Decimal

        self.fs = FeatureState(FeatureParams().array(Decimal("0.01")), capacity=64)
        self.rest = RestingOrders(slots=4, model=model, power=power)
        self.fills = []

    def feed(self, rows):
        events = make_batch(rows)
        i = 0
        b, fs, r = self.book, self.fs, self.rest
        while i < len(events):
            i, reason = run_until(b.bid, b.ask, b.hdr, fs.state, fs.params, fs.ring_ts,
                                  fs.ring_cum, fs.ring_mid2, fs.ptr, r.orders, r.fills, r.info,
                                  r.power, events, i, NEVER, NEVER, True)
            if reason == FILLED:
                self.fills += [(int(f["client_id"]), int(f["px_ticks"]), int(f["qty_lots"]))
                               for f in r.take_fills()]
            else:
                assert reason == END_OF_DATA
        return self

    def ahead(self, client_id):
        o = self.rest.orders[self.rest.orders["client_id"] == client_id][0]
        return float(o["ahead"])


def market(levels):
    return [delta(side, px, qty, last=False) for side, px, qty in levels[:-1]] + [
        delta(*levels[-1])]


def test_trades_consume_the_queue_ahead_then_fill_the_order():
    v = Venue().feed(market([(BID, 100, 500), (ASK, 101, 500)]))
    v.rest.add(client_id=7, side=BUY, px=100, qty=100, ahead=500)
    # A sell of 300 at our price, then the level shows the execution.
    v.feed([trade(SELL, 100, 300), delta(BID, 100, 200)])
    assert v.ahead(7) == 200 and v.fills == []
    # A sell of 260: 200 clear the queue ahead, 60 fill us.
    v.feed([trade(SELL, 100, 260), delta(BID, 100, 0, last=False), delta(BID, 99, 50)])
    assert v.fills == [(7, 100, 60)]
    assert int(v.rest.orders["qty_lots"][0]) == 40


def test_a_buyer_initiated_trade_does_not_touch_a_resting_bid():
    v = Venue().feed(market([(BID, 100, 500), (ASK, 101, 500)]))
    v.rest.add(client_id=1, side=BUY, px=100, qty=10, ahead=500)
    v.feed([trade(BUY, 101, 300), delta(ASK, 101, 200)])
    assert v.ahead(1) == 500 and v.fills == []


def test_conservative_model_takes_cancels_from_behind():
    v = Venue().feed(market([(BID, 100, 500), (ASK, 101, 500)]))
    v.rest.add(client_id=1, side=BUY, px=100, qty=10, ahead=500)
    v.feed([delta(BID, 100, 400)])  # 100 cancelled: must have been ahead (nothing behind)
    assert v.ahead(1) == 400
    v.feed([delta(BID, 100, 600)])  # 200 joined behind us
    assert v.ahead(1) == 400
    v.feed([delta(BID, 100, 500)])  # 100 cancelled: assume from behind
    assert v.ahead(1) == 400


def test_probabilistic_model_splits_cancels_by_queue_shares():
    v = Venue(model="probabilistic", power=1.0).feed(market([(BID, 100, 400), (ASK, 101, 9)]))
    v.rest.add(client_id=1, side=BUY, px=100, qty=10, ahead=400)
    v.feed([delta(BID, 100, 600)])  # 200 behind
    v.feed([delta(BID, 100, 500)])  # cancel 100: P(behind) = 200 / 600
    assert v.ahead(1) == pytest.approx(400 - (400 / 600) * 100)


def test_execution_volume_is_not_mistaken_for_a_cancel():
    v = Venue(model="probabilistic", power=1.0).feed(market([(BID, 100, 400), (ASK, 101, 9)]))
    v.rest.add(client_id=1, side=BUY, px=100, qty=10, ahead=400)
    v.feed([trade(SELL, 100, 100), delta(BID, 100, 300)])
    assert v.ahead(1) == 300  # the trade's 100, once, not twice


def test_a_trade_through_the_price_fills_everything():
    v = Venue().feed(market([(BID, 100, 500), (BID, 99, 100), (ASK, 101, 500)]))
    v.rest.add(client_id=3, side=BUY, px=100, qty=25, ahead=500)
    v.feed([trade(SELL, 99, 1), delta(BID, 99, 99)])
    assert v.fills == [(3, 100, 25)]
    assert v.rest.info[0] == 0  # no order left resting


def test_the_opposite_side_reaching_the_price_fills_the_order():
    v = Venue().feed(market([(BID, 99, 100), (ASK, 102, 500)]))
    v.rest.add(client_id=4, side=SELL, px=101, qty=5, ahead=0)
    v.feed([delta(BID, 101, 30)])
    assert v.fills == [(4, 101, 5)]


def book_with(levels):
    book = L2Book()
    book.apply(make_batch(market(levels)))
    return book


def test_marketable_limit_takes_up_to_its_price_and_rests_the_rest():
    book = book_with([(BID, 99, 10), (ASK, 101, 3), (ASK, 102, 4), (ASK, 103, 100)])
    ex = PaperExecution(ExecutionConfig(order_latency_us=0, taker_fee_bps=10.0),
                        money_per_tick_lot=MONEY)
    order = ex.submit(OrderIntent(BUY, 10, "entry", OrderKind.LIMIT, limit_px=102), 0, 101)
    fills, done = ex.process_due(book, 0)
    assert [(f.px_ticks, f.qty_lots, f.liquidity) for f in fills] == [(101, 3, "taker"),
                                                                     (102, 4, "taker")]
    assert fills[0].fee == pytest.approx(101 * 3 * MONEY * 10 / 1e4)
    assert done == []
    (open_order,) = ex.open_orders()
    assert (open_order.client_id, open_order.qty_lots, open_order.resting) == (
        order.client_id, 3, True)
    assert ex.open_lots() == (3, 0)


def test_market_order_waits_for_its_latency_and_cancels_the_unfillable_rest():
    book = book_with([(BID, 99, 2), (ASK, 101, 3)])
    ex = PaperExecution(ExecutionConfig(order_latency_us=500, md_latency_us=100))
    ex.submit(OrderIntent(SELL, 5, "entry"), now_ns=1_000, expected_px=99)
    assert ex.next_arrival_ns() == 601_000
    assert ex.process_due(book, 600_999) == ([], [])
    fills, done = ex.process_due(book, 601_000)
    assert [(f.px_ticks, f.qty_lots, f.ts_ns) for f in fills] == [(99, 2, 601_000)]
    assert (done[0].filled_lots, done[0].cancelled_lots, done[0].reason) == (
        2, 3, "ioc_remainder")


def test_maker_fees_and_per_lot_commission():
    ex = PaperExecution(ExecutionConfig(maker_fee_bps=-0.2, fee_per_lot=0.001),
                        money_per_tick_lot=MONEY)
    assert ex.fee(10_000, 100, "maker") == pytest.approx(
        10_000 * 100 * MONEY * -0.2 / 1e4 + 100 * 0.001)


def test_a_cancel_that_overtakes_its_submit_finds_no_order():
    book = book_with([(BID, 99, 10), (ASK, 105, 10)])
    config = ExecutionConfig(order_latency_us=1000, order_latency_sigma=1.5, seed=0)
    for seed in range(50):
        ex = PaperExecution(ExecutionConfig(**{**config.__dict__, "seed": seed}))
        order = ex.submit(OrderIntent(BUY, 1, "q", OrderKind.LIMIT, limit_px=100), 0)
        ex.cancel(order.client_id, 1)
        cancel_at = ex._actions[1][0] if ex._actions[0][2] == "submit" else ex._actions[0][0]
        if cancel_at < order.ts_arrive_ns:
            break
    else:
        pytest.fail("no seed made the cancel overtake the submit")
    fills, done = ex.process_due(book, 10**12)
    assert fills == []  # a bid below the ask rests
    assert [d.reason for d in done] == ["cancel_unknown"]
    assert ex.cancel_unknown == 1
    assert [o.resting for o in ex.open_orders()] == [True]  # the late submit rests


def test_latency_draws_are_seeded():
    a = PaperExecution(ExecutionConfig(order_latency_sigma=0.8, spike_prob=0.1, spike_us=5e4))
    b = PaperExecution(ExecutionConfig(order_latency_sigma=0.8, spike_prob=0.1, spike_us=5e4))
    times_a = [a.submit(OrderIntent(BUY, 1, "x"), 0).ts_arrive_ns for _ in range(50)]
    times_b = [b.submit(OrderIntent(BUY, 1, "x"), 0).ts_arrive_ns for _ in range(50)]
    assert times_a == times_b and len(set(times_a)) > 40
    assert max(times_a) > 50_000_000  # some spikes
