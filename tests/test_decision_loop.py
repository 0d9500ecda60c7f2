"""Decisions taken inside the compiled loop give the very same report as all from Python."""

import pytest
from data_paths import goog_pair
from loop_reference import both_ways

from engine.config import load_config
from engine.config import with_strategy
from replay.sweep import apply_overrides


@pytest.mark.parametrize("overrides", [
    {},  # stop-loss, session close, 30 s horizon
    {"risk.stop_loss_ticks": 0, "risk.session_close": ""},
    {"risk.daily_loss_limit": 50.0},  # a loss stop that flat marks could trigger
    {"replay.decision_interval_ms": 1, "strategy.lag_ms": 5000},  # history past 4,096 rows
    {"strategy.threshold": 0.0, "strategy.hold_ms": 2000, "risk.max_holding_ms": 1000},
])
def test_decisions_in_the_loop_and_from_python_give_the_same_report(synth_dir, overrides):
    config = apply_overrides(load_config("configs/replay_synth.toml"), overrides)
    (looped, with_loop), (plain, without) = both_ways(config, synth_dir)
    assert with_loop == without
    assert looped.decisions == plain.decisions > 0
    assert looped.portfolio.fills == plain.portfolio.fills > 0
    # Python saw only the decisions at which something could happen.
    python_decisions = looped.latency.summary()["features"]["count"]
    assert python_decisions < plain.decisions / 3
    assert len(looped.marks) == len(plain.marks)
    assert (looped.marks.equity2 == plain.marks.equity2).all()


def test_the_loop_on_the_goog_day():
    message, _ = goog_pair(10)
    (looped, with_loop), (_, without) = both_ways(load_config("configs/replay_goog.toml"),
                                                 message)
    assert with_loop == without
    assert looped.latency.summary()["features"]["count"] < looped.decisions / 5


@pytest.mark.parametrize("overrides", [
    {},
    {"strategy.phi_ticks": 0.05, "risk.daily_loss_limit": 20.0, "risk.stop_loss_ticks": 2},
    {"strategy.max_inventory_lots": 100, "strategy.spread_ticks": 5, "strategy.kappa": 1.0},
])
def test_maker_in_the_loop_and_from_python_gives_the_same_report(synth_dir, overrides):
    config = apply_overrides(with_strategy(load_config("configs/replay_synth.toml"),
                                           "imbalance_maker"), overrides)
    (looped, with_loop), (plain, without) = both_ways(config, synth_dir)
    assert with_loop == without
    assert looped.portfolio.fills == plain.portfolio.fills > 0
    assert looped.latency.summary()["features"]["count"] < plain.decisions


class Silent:
    """A strategy on the Python path: never trades."""

    name = "silent"

    def on_decision(self, view):
        return []


def test_python_strategies_decide_in_python(synth_dir):
    from connectors.lobster import find_pairs
    from connectors.lobster import load_day
    from engine.pipeline import Engine
    from replay.player import ReplaySession
    from replay.player import run

    config = load_config("configs/replay_synth.toml")
    engine = Engine(config, config.instrument.spec(), strategy=Silent())
    (pair,) = find_pairs(synth_dir)
    run(engine, [ReplaySession("s", load_day(pair, config.instrument.spec()).events)],
        config.replay.chunk_events)
    assert engine.latency.summary()["features"]["count"] == engine.decisions > 1000
