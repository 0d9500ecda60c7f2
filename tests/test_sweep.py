"""Sweeps: grids, overrides, Ray against serial, and a failing task that loses nothing."""

import json
import shutil

import orjson
import pytest

from engine.app.cli import main
from engine.config import load_config
from engine.config import with_strategy
from engine.errors import ConfigError
from replay.sweep import apply_overrides
from replay.sweep import latency_points
from replay.sweep import param_points
from replay.sweep import sweep

CONFIG = "configs/replay_synth.toml"


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    out = tmp_path_factory.mktemp("days")
    assert main(["synth", "--out", str(out), "--events", "4000", "--levels", "5", "--days",
                 "2", "--seed", "3"]) == 0
    return out


def test_synth_days_are_consecutive_business_days_with_their_own_seeds(days):
    messages = sorted(days.glob("*_message_5.csv"))
    assert [m.name[6:16] for m in messages] == ["2024-01-02", "2024-01-03"]
    assert messages[0].read_bytes() != messages[1].read_bytes()


def test_grids_and_overrides():
    assert param_points(["strategy.kappa=0.2,0.4", "risk.max_position_lots=100,200"]) == [
        {"strategy.kappa": "0.2", "risk.max_position_lots": "100"},
        {"strategy.kappa": "0.2", "risk.max_position_lots": "200"},
        {"strategy.kappa": "0.4", "risk.max_position_lots": "100"},
        {"strategy.kappa": "0.4", "risk.max_position_lots": "200"}]
    assert latency_points("0,500us,5ms")[2] == {"execution.order_latency_us": 5000.0,
                                                "execution.md_latency_us": 5000.0}
    config = with_strategy(load_config(CONFIG), "imbalance_maker")
    changed = apply_overrides(config, {"strategy.kappa": "0.8", "risk.max_position_lots": "7"})
    assert changed.strategy.kappa == 0.8 and changed.risk.max_position_lots == 7
    with pytest.raises(ConfigError, match="no field 'nope'"):
        apply_overrides(config, {"strategy.nope": "1"})
    with pytest.raises(ConfigError, match="sweepable"):
        apply_overrides(config, {"instrument.tick_size": "1"})
    with pytest.raises(ConfigError, match="is not a int"):
        apply_overrides(config, {"risk.max_position_lots": "many"})


def test_ray_sweep_matches_serial_and_reports_a_corrupt_file(days, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(days, data)
    bad = data / "SYNTH_2024-01-04_34200000_57600000_message_5.csv"
    bad.write_text("34200.1,1,1,100,5800000,1\n34200.2,9,2,100,5800000,1\n")
    (data / bad.name.replace("message", "orderbook")).write_text(
        "5800100,100,5800000,100\n" * 2)
    config = with_strategy(load_config(CONFIG), "imbalance_maker")
    points = param_points(["strategy.kappa=0.2,1.0"])
    serial = sweep(config, [data], points, workers=0, progress=False)["result"]
    on_ray = sweep(config, [data], points, workers=2, progress=False)["result"]
    assert orjson.dumps(serial) == orjson.dumps(on_ray)
    assert [len(p["days"]) for p in serial["points"]] == [2, 2]
    assert serial["points"][0]["net"] != serial["points"][1]["net"]
    assert [f["file"] for f in serial["failures"]] == [str(bad)] * 2
    assert "unknown event type 9" in serial["failures"][0]["error"]
    assert all(p["trades"] > 0 for p in serial["points"])


def test_latency_sweep_cli_writes_table_json_and_plot(days, tmp_path, capsys):
    code = main(["sweep", "latency", "--config", CONFIG, "--data", str(days), "--latencies",
                 "0,50ms", "--serial", "--quiet", "--out", str(tmp_path)])
    assert code == 0
    result = json.loads((tmp_path / "sweep.json").read_text())["result"]
    assert [p["point"]["execution.order_latency_us"] for p in result["points"]] == [0, 50000]
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert "order_latency_us=50000.0" in capsys.readouterr().out
