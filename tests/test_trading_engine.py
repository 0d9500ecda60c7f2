"""The trading stages together on a synthetic day: determinism, the bus, risk reactions."""

import dataclasses

import orjson
import pytest

from connectors.lobster import LobsterPair
from connectors.lobster import load_day
from connectors.lobster import utc_offset_ns
from engine.config import RiskConfig
from engine.config import load_config
from engine.config import with_strategy
from engine.pipeline import Engine
from replay.backtest import run_replay
from replay.player import ReplaySession
from replay.player import run

CONFIG = "configs/replay_synth.toml"
HOUR_NS = 3_600_000_000_000


def config_with(strategy="imbalance_momentum", **risk):
    config = with_strategy(load_config(CONFIG), strategy)
    return dataclasses.replace(config, risk=dataclasses.replace(config.risk, **risk))


def replay(config, synth_dir):
    (message,) = synth_dir.glob("*_message_10.csv")
    instrument = config.instrument.spec()
    pair = LobsterPair.from_message(message)
    engine = Engine(config, instrument)
    bus_fills = run(engine, [ReplaySession(str(message), load_day(pair, instrument).events,
                                           utc_offset_ns(pair.date))], 50_000)
    return engine, bus_fills


def local_hour(ts_ns):
    return ((ts_ns - 5 * HOUR_NS) % (24 * HOUR_NS)) / HOUR_NS  # 2024-01-02 is EST


def test_market_maker_replay_is_deterministic_and_fills_passively(synth_dir, tmp_path):
    config = with_strategy(load_config(CONFIG), "imbalance_maker")
    a = run_replay(config, synth_dir, tmp_path / "a").result
    b = run_replay(config, synth_dir, tmp_path / "b").result
    assert orjson.dumps(a) == orjson.dumps(b)
    assert a["maker_fills"] > 50 and a["fill_rate"] < 1
    assert a["pnl"]["fees"] < 0  # maker rebates
    assert (tmp_path / "a" / "report.html").exists()


def test_fills_come_back_through_the_bus_in_order(synth_dir):
    engine, bus_fills = replay(with_strategy(load_config(CONFIG), "imbalance_maker"), synth_dir)
    assert len(bus_fills) > 50 and bus_fills == engine.fill_log


def test_session_close_stops_entries_and_flattens(synth_dir):
    engine, _ = replay(config_with(session_close="12:00"), synth_dir)
    assert all(i.is_exit for ts, i in engine.intents if local_hour(ts) >= 12)
    rejected = [r for r in engine.risk.rejected if r.reason == "session_close"]
    assert rejected and all(local_hour(r.ts_ns) >= 12 for r in rejected)
    assert engine.portfolio.position == 0
    assert all(local_hour(m.ts_ns) < 12.01 or m.position == 0 for m in engine.marks)
    assert engine.halted == "session_close"


def test_daily_loss_stop_halts_and_flattens(synth_dir):
    engine, _ = replay(config_with(daily_loss_limit=50.0, session_close=""), synth_dir)
    assert engine.halted == "daily_loss_stop"
    halt_ts = min(r.ts_ns for r in engine.risk.rejected if r.reason == "daily_loss_stop")
    assert all(i.is_exit for ts, i in engine.intents if ts >= halt_ts)
    assert engine.portfolio.position == 0


def test_kill_switch_blocks_every_order(synth_dir):
    engine, _ = replay(config_with(kill_switch=True), synth_dir)
    assert engine.fill_log == [] and engine.intents == []
    assert engine.risk.rejections["kill_switch"] > 0


def test_stop_loss_closes_losing_positions(synth_dir):
    engine, _ = replay(config_with(stop_loss_ticks=1, session_close=""), synth_dir)
    stops = [t for t in engine.portfolio.round_trips if t.exit_reason == "exit:stop_loss"]
    assert stops
    assert all(t.side * (t.exit_px_ticks - t.entry_px_ticks) < 0 for t in stops)


def test_model_strategy_without_a_model_is_refused():
    from engine.errors import ConfigError

    config = with_strategy(load_config(CONFIG), "ml_ofi")
    with pytest.raises(ConfigError, match="needs a model"):
        Engine(config, config.instrument.spec())


def test_risk_config_is_validated():
    with pytest.raises(ValueError, match="max_position_lots"):
        RiskConfig(max_position_lots=0)
