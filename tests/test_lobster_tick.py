"""LOBSTER without a config's [instrument]: the format's own $0.0001 unit, so half-cent hidden
executions replay; a tick that does not fit says which price, which tick and what to set."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from data_paths import goog_pair

ROOT = Path(__file__).resolve().parents[1]
CLI = "engine.app.cli"  #: run as ``python -m``, as the obflow script does
ROWS = 2000  # line 862 of the level-1 file is a hidden execution at $577.775


def obflow(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", CLI, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def head(tmp_path_factory) -> Path:
    """The first rows of the GOOG level-1 pair, named as LOBSTER names them."""
    out = tmp_path_factory.mktemp("tick")
    for path in goog_pair(1):
        lines = path.read_text().splitlines(keepends=True)[:ROWS]
        (out / path.name).write_text("".join(lines))
    return out / goog_pair(1)[0].name


def test_a_cent_tick_names_the_price_the_tick_and_the_fix(head, tmp_path):
    config = tmp_path / "cent.toml"
    config.write_text('[instrument]\nsymbol = "GOOG"\ntick_size = "0.01"\n')
    run = obflow("replay", "--config", config, "--data", head, "--out", tmp_path / "r")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        f"obflow replay: error: {head}:862: price is off the instrument's tick grid: the "
        "message's price 5777750 ($577.775) is not a multiple of the tick 0.01 (100 LOBSTER "
        'units of $0.0001); set [instrument] tick_size = "0.0001" in the --config file '
        "(LOBSTER's own unit, on which every LOBSTER price lies), or check-book --tick-size "
        "0.0001"]


def test_without_an_instrument_lobster_replays_on_its_own_unit(head, tmp_path):
    config = tmp_path / "bare.toml"
    config.write_text("[replay]\ndecision_interval_ms = 1000\n")
    run = obflow("replay", "--config", config, "--data", head, "--out", tmp_path / "r")
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["result"]["instrument"] == {"symbol": "LOBSTER", "tick_size": "0.0001",
                                              "lot_size": "1"}
    converted = obflow("convert", "--data", head, "--out", tmp_path / "e.parquet")
    assert converted.returncode == 0, converted.stderr
    assert "tick 0.0001" in converted.stdout
    features = obflow("features", "--data", head, "--out", tmp_path / "f.parquet", "--quiet")
    assert features.returncode == 0, features.stderr
    research = obflow("research", "ofi-regression", "--data", head, "--out", tmp_path / "o")
    assert research.returncode == 0, research.stderr
