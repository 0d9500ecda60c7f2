"""Every risk limit: the check, its reason, and the engine's reaction."""

import pytest

from engine.events import BUY
from engine.events import SELL
from engine.orders import OrderIntent
from engine.risk import RiskConfig
from engine.risk import RiskManager
from engine.risk import RiskState
from engine.risk import check
from engine.risk import forced_exit
from engine.risk import halt_reason

MS = 1_000_000


def state(position=0, buy=0, sell=0, opened=None, **kw):
    return RiskState(position, buy, sell, opened, kw.pop("book_valid", True), **kw)


def test_max_position_counts_open_orders_on_that_side_and_lets_exits_through():
    config = RiskConfig(max_position_lots=100, max_order_lots=100)
    assert check(state(100), OrderIntent(BUY, 1, "entry"), config) == "max_position"
    assert check(state(100), OrderIntent(SELL, 100, "exit:x"), config) is None
    assert check(state(0, buy=100), OrderIntent(BUY, 1, "entry"), config) == "max_position"
    assert check(state(0, buy=100), OrderIntent(SELL, 100, "quote"), config) is None
    assert check(state(0), OrderIntent(SELL, 101, "x"), config) == "max_order_size"


def test_max_notional_uses_the_value_of_a_lot_at_mid():
    config = RiskConfig(max_notional=50_000.0)
    assert check(state(0, lot_value=580.0), OrderIntent(BUY, 86, "e"), config) is None
    assert check(state(0, lot_value=580.0), OrderIntent(BUY, 87, "e"), config) == "max_notional"


def test_invalid_book_and_kill_switch_block_everything():
    config = RiskConfig()
    assert check(state(0, book_valid=False), OrderIntent(BUY, 1, "e"), config) == "book_invalid"
    assert check(state(10, killed=True), OrderIntent(SELL, 10, "exit:x"), config) == \
        "kill_switch"
    assert check(state(0), OrderIntent(BUY, 1, "e"), RiskConfig(kill_switch=True)) == \
        "kill_switch"


def test_a_halt_lets_only_reducing_orders_through():
    config = RiskConfig()
    halted = state(50, halted="daily_loss_stop")
    assert check(halted, OrderIntent(BUY, 1, "entry"), config) == "daily_loss_stop"
    assert check(halted, OrderIntent(SELL, 50, "exit:x"), config) is None
    assert check(halted, OrderIntent(SELL, 51, "flip"), config) == "daily_loss_stop"


def test_daily_loss_and_session_close_halt():
    config = RiskConfig(daily_loss_limit=1000.0, session_close="15:55")
    assert halt_reason(state(day_pnl=-999.0), 0.0, config) is None
    assert halt_reason(state(day_pnl=-1000.0), 0.0, config) == "daily_loss_stop"
    assert halt_reason(state(), 15 * 3600 + 54 * 60 + 59, config) is None
    assert halt_reason(state(), 15 * 3600 + 55 * 60, config) == "session_close"
    with pytest.raises(ValueError, match="HH:MM"):
        RiskConfig(session_close="3pm")


def test_forced_exits_flatten_what_no_open_order_closes():
    config = RiskConfig(stop_loss_ticks=3)
    assert forced_exit(state(-30, opened=0), 300_000 * MS - 1, config) is None
    exit_ = forced_exit(state(-30, opened=0), 300_000 * MS, config)
    assert (exit_.side, exit_.qty_lots, exit_.reason) == (BUY, 30, "exit:max_holding")
    assert forced_exit(state(-30, buy=30, opened=0), 400_000 * MS, config) is None
    stop = forced_exit(state(40, sell=10, opened=0, adverse_ticks=3.0), 1, config)
    assert (stop.side, stop.qty_lots, stop.reason) == (SELL, 30, "exit:stop_loss")
    assert forced_exit(state(40, opened=0, adverse_ticks=2.9), 1, config) is None
    halt = forced_exit(state(5, opened=0, halted="session_close"), 1, config)
    assert halt.reason == "exit:session_close"


def test_risk_manager_counts_rejections_by_reason():
    risk = RiskManager(RiskConfig(max_position_lots=10, max_order_lots=10))
    accepted = risk.vet(state(), [OrderIntent(BUY, 10, "a"), OrderIntent(BUY, 1, "b")], 5)
    assert [i.reason for i in accepted] == ["a"]
    assert risk.rejections == {"max_position": 1}
    assert risk.rejected[0].ts_ns == 5
