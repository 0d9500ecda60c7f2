"""End to end: synth -> replay -> report, determinism, and the command line."""

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from data_paths import goog_pair

from engine.app.cli import main
from engine.config import load_config
from replay.backtest import run_replay

ROOT = Path(__file__).resolve().parents[1]
SYNTH_CONFIG = ROOT / "configs" / "replay_synth.toml"


def test_replay_on_synthetic_day_trades_and_reports(synth_dir, tmp_path):
    outcome = run_replay(load_config(SYNTH_CONFIG), synth_dir, tmp_path)
    result = outcome.result
    assert result["events"] > 30_000
    assert result["decisions"] > 1_000
    assert result["n_trades"] > 0 and result["fills"] >= result["n_trades"]
    pnl = result["pnl"]
    assert pnl["gross"] == pytest.approx(pnl["realized"] + pnl["unrealized"])
    assert pnl["net"] == pytest.approx(pnl["gross"] - pnl["fees"])
    assert pnl["fees"] > 0  # taker fees on marketable orders
    trip_pnl = sum(t["pnl"] for t in result["trades"])
    assert trip_pnl == pytest.approx(result["pnl"]["realized"])
    stages = outcome.timing["stages"]
    assert set(stages) == {"book", "features", "model", "strategy", "risk", "execution",
                           "end_to_end", "to_fill"}
    assert stages["model"]["count"] == 0  # no model configured
    # Python times the decisions it carries out: those the compiled loop decided (they
    # emitted intents) and those it took itself (features timed: risk was due, or orders
    # were in flight).
    assert 0 < stages["features"]["count"] < stages["end_to_end"]["count"]
    assert stages["end_to_end"]["count"] < result["decisions"]
    assert stages["end_to_end"]["p50_ns"] > 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report) == ["result", "timing"]
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3 and "Net PnL and drawdown" in page


def test_same_inputs_give_a_byte_identical_result(synth_dir, tmp_path):
    config = load_config(SYNTH_CONFIG)
    run_replay(config, synth_dir, tmp_path / "a")
    run_replay(config, synth_dir, tmp_path / "b")
    a = orjson.loads((tmp_path / "a" / "report.json").read_bytes())
    b = orjson.loads((tmp_path / "b" / "report.json").read_bytes())
    assert orjson.dumps(a["result"]) == orjson.dumps(b["result"])
    assert a["result"]["n_trades"] > 0


def test_holding_limit_closes_positions_within_five_minutes(synth_dir, tmp_path):
    outcome = run_replay(load_config(SYNTH_CONFIG), synth_dir)
    limit_ns = outcome.engine.config.risk.max_holding_ms * 1_000_000
    latency_ns = outcome.engine.config.execution.order_latency_us * 1000
    for trip in outcome.engine.portfolio.round_trips:
        assert trip.exit_ts_ns - trip.entry_ts_ns <= limit_ns + latency_ns
    position_limit = outcome.engine.config.risk.max_position_lots
    assert max(abs(m.position) for m in outcome.engine.marks) <= position_limit


def test_check_book_json_on_goog_level_1(capsys):
    message, orderbook = goog_pair(1)
    code = main(["check-book", "--message", str(message), "--orderbook", str(orderbook),
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"events", "mismatches", "message_mismatches", "first_mismatch_line",
                        "events_per_s"}
    assert out["mismatches"] == 0 and out["message_mismatches"] == 0
    assert out["first_mismatch_line"] is None and out["events"] > 80_000


def test_cli_synth_then_replay_then_check_book(tmp_path):
    obflow = [sys.executable, "-m", "engine.app.cli"]
    subprocess.run([*obflow, "synth", "--out", str(tmp_path / "d"), "--events", "5000",
                    "--levels", "5", "--seed", "2"], check=True, cwd=ROOT)
    (message,) = (tmp_path / "d").glob("*_message_5.csv")
    orderbook = Path(str(message).replace("_message_", "_orderbook_"))
    done = subprocess.run([*obflow, "check-book", "--message", str(message), "--orderbook",
                           str(orderbook), "--tick-size", "0.01", "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mismatches"] == 0
    done = subprocess.run([*obflow, "replay", "--config", str(SYNTH_CONFIG), "--data",
                           str(tmp_path / "d"), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "PnL gross" in done.stdout and (tmp_path / "r" / "report.json").exists()


def test_cli_reports_bad_input_with_file_and_line(tmp_path, capsys):
    message = tmp_path / "X_2024-01-02_34200000_57600000_message_1.csv"
    message.write_text("34200.1,1,1,100,1000000,1\n34200.2,1,2,100\n")
    (tmp_path / "X_2024-01-02_34200000_57600000_orderbook_1.csv").write_text(
        "9999999999,0,1000000,100\n9999999999,0,1000000,200\n")
    code = main(["replay", "--config", str(SYNTH_CONFIG), "--data", str(message)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{message}:2: expected 6 columns, found 4" in err
