"""obflow convert: any historical input as normalised events in Parquet, which replays to the
report of its source; and every historical format through replay, book and features."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from data_paths import shared_file

from engine.app.cli import main
from engine.config import load_config
from engine.errors import DataError
from replay.backtest import run_replay
from replay.event_parquet import read_events
from replay.sources import detect_format

L2 = "tardis/H2nryHe_binance_incremental_book_L2_2019-12-01_BTCUSDT_rows1-2050.csv"
TRADES = "tardis/H2nryHe_binance_trades_2019-12-01_BTCUSDT_rows1-100.csv"


def convert(inputs, out, *extra):
    assert main(["convert", "--data", *map(str, inputs), "--out", str(out), *extra]) == 0
    assert detect_format(out) == "parquet"
    return out


def same_events(a, b):
    return len(a) == len(b) and all((a[n] == b[n]).all() for n in a.dtype.names)


def replay_result(data, config="configs/replay_synth.toml"):
    return run_replay(load_config(config), data).result


def test_tardis_convert_replays_to_the_same_report(tmp_path):
    inputs = [shared_file(L2), shared_file(TRADES)]
    out = convert(inputs, tmp_path / "btc.parquet")
    head, spec, _ = read_events(out)
    assert head["origin"] == "tardis" and spec.symbol == "BTCUSDT"
    assert (str(spec.tick_size), str(spec.lot_size)) == ("0.01", "0.000001")
    assert head["input"]["deletes_of_absent_levels"] == 3
    source = replay_result(inputs)
    assert source["events"] == 2147
    assert source["input"]["format"] == "tardis" and source["input"]["rows"] == 2150
    assert replay_result([out]) == source


def test_lobster_folder_convert_keeps_sessions(tmp_path, synth_dir):
    out = convert([synth_dir], tmp_path / "synth.parquet", "--config",
                  "configs/replay_synth.toml")
    head, spec, sessions = read_events(out)
    assert head["origin"] == "lobster" and str(spec.tick_size) == "0.01"
    assert [s.utc_offset_ns for s in sessions] == [-5 * 3600 * 10**9]
    from connectors.lobster import find_pairs
    from connectors.lobster import load_day

    (pair,) = find_pairs(synth_dir)
    assert same_events(sessions[0].events, load_day(pair, spec).events)
    source = replay_result(synth_dir)
    assert source["fills"] > 0
    assert replay_result(out) == source
    assert pq.read_metadata(out).num_rows == source["events"]


def test_algoseek_convert_and_features(tmp_path):
    from replay.synth import SynthConfig
    from replay.synth import simulate
    from replay.synth_algoseek import write_algoseek

    path = write_algoseek(simulate(SynthConfig(events=20_000, seed=3), order_log=True),
                          tmp_path)
    out = convert([path], tmp_path / "algoseek.parquet")
    source = replay_result([path])
    assert source["input"]["kinds"] == ["full_depth"]
    assert replay_result(out) == source
    # Features from the CSV and from the Parquet file are the same matrix.
    for data, name in ((path, "a.parquet"), (out, "b.parquet")):
        assert main(["features", "--data", str(data), "--out", str(tmp_path / name),
                     "--sample", "10s", "--quiet"]) == 0
    a = pq.read_table(tmp_path / "a.parquet").drop(["session"])
    b = pq.read_table(tmp_path / "b.parquet").drop(["session"])
    assert a.num_rows > 100 and a.column_names == b.column_names
    for name in a.column_names:  # NaN where a feature is undefined, in both
        np.testing.assert_array_equal(a[name].to_numpy(), b[name].to_numpy(), err_msg=name)
    assert np.isfinite(a["ofi_l1_10s"].to_numpy()).all()


def test_replay_command_on_tardis_prints_a_report(tmp_path, capsys):
    assert main(["replay", "--config", "configs/replay_synth.toml", "--data",
                 str(shared_file(L2)), str(shared_file(TRADES)), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["result"]["instrument"]["symbol"] == "BTCUSDT"
    assert report["result"]["sources"] == [shared_file(L2).name, shared_file(TRADES).name]
    assert "report:" in capsys.readouterr().out


def test_a_parquet_file_without_event_metadata_is_refused(tmp_path):
    import pyarrow as pa

    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(DataError, match="without obflow event metadata"):
        read_events(path)


def test_mixed_formats_are_refused(tmp_path, synth_dir):
    with pytest.raises(DataError, match="not one kind of venue capture"):
        run_replay(load_config("configs/replay_synth.toml"),
                   [shared_file(L2), next(synth_dir.glob("*_message_*"))])
