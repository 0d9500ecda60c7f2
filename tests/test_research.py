"""Feature matrices, information coefficients and the Cont OFI regression."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from data_paths import goog_pair

from engine.app.cli import main
from engine.app.ofi_regression import ols
from engine.app.ofi_regression import run_ofi_regression
from engine.app.ofi_regression import table
from engine.config import load_config
from engine.errors import ConfigError
from engine.features import ALL_NAMES
from engine.features import FeatureSchema
from engine.features.sampling import parse_duration_ms
from engine.features.sampling import sampling
from engine.research.ic import forward_returns
from engine.research.ic import information_coefficients

S = 1_000_000_000


def test_sampling_rules():
    assert parse_duration_ms("250ms") == 250 and parse_duration_ms("1min") == 60_000
    assert sampling("1s").decision_interval_ms == 1000
    assert sampling("every-event").decision_every_messages == 1
    assert sampling("25ev").decision_every_messages == 25
    with pytest.raises(ConfigError):
        sampling("soon")


def test_feature_matrix_cli_writes_parquet_with_schema(synth_dir, tmp_path):
    (message,) = synth_dir.glob("*_message_10.csv")
    out = tmp_path / "f.parquet"
    assert main(["features", "--data", str(message), "--out", str(out), "--sample", "500ev",
                 "--config", "configs/replay_synth.toml", "--quiet"]) == 0
    table = pq.read_table(out)
    assert table.column_names == ["session", "ts_ns", "mid", *ALL_NAMES]
    assert table.schema.metadata[b"obflow.schema_hash"].decode() == FeatureSchema().hash
    frame = table.to_pandas()
    assert 55 <= len(frame) <= 61  # 30,000 messages / 500
    assert frame["ts_ns"].is_monotonic_increasing
    assert frame["mid"].between(500, 700).all()


def test_forward_returns_use_no_future_beyond_the_horizon_and_stop_at_session_end():
    frame = pd.DataFrame({"session": ["a"] * 4 + ["b"] * 2,
                          "ts_ns": [0, S, 2 * S, 3 * S, 0, S],
                          "mid": [100.0, 101.0, 102.0, 103.0, 50.0, 55.0]})
    r = forward_returns(frame, 2 * S)
    np.testing.assert_allclose(r[:2], [np.log(1.02), np.log(103 / 101)])
    assert np.isnan(r[2:4]).all() and np.isnan(r[4:]).all()
    r1 = forward_returns(frame, S)
    assert r1[4] == pytest.approx(np.log(1.1)) and np.isnan(r1[5])


def test_ic_is_one_for_a_perfect_signal_and_near_zero_for_noise():
    rng = np.random.default_rng(5)
    n = 2000
    mid = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    fwd = np.append(np.log(mid[1:] / mid[:-1]), np.nan)
    frame = pd.DataFrame({"session": "d", "ts_ns": np.arange(n) * S, "mid": mid,
                          "perfect": fwd, "noise": rng.normal(size=n)})
    result = information_coefficients(frame, ["1s"])
    perfect = result["features"]["perfect"]["1s"]
    assert perfect["spearman"] == pytest.approx(1.0) and perfect["hit_rate"] == 1.0
    assert abs(result["features"]["noise"]["1s"]["spearman"]) < 0.08
    assert perfect["n"] == n - 1


def test_ic_cli_writes_table_json_and_plot(synth_dir, tmp_path):
    (message,) = synth_dir.glob("*_message_10.csv")
    matrix = tmp_path / "f.parquet"
    main(["features", "--data", str(message), "--out", str(matrix), "--sample", "1s",
          "--config", "configs/replay_synth.toml", "--quiet"])
    assert main(["ic", "--features", str(matrix), "--horizons", "1s,10s",
                 "--out", str(tmp_path / "ic")]) == 0
    result = json.loads((tmp_path / "ic" / "ic.json").read_text())
    assert set(result["features"]) == set(ALL_NAMES)
    # The synthetic mid responds to depth imbalance: the imbalance must carry signal.
    assert result["features"]["depth_imbalance_l1"]["10s"]["spearman"] > 0.05
    assert (tmp_path / "ic" / "ic.png").stat().st_size > 10_000


def test_ols_recovers_a_known_line():
    x = np.arange(50, dtype=float)
    fit = ols(x, 3.0 + 0.5 * x)
    assert fit["beta"] == pytest.approx(0.5) and fit["r2"] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    noisy = ols(x, 0.5 * x + rng.normal(0, 5, 50))
    assert 0 < noisy["r2"] < 1 and noisy["t_beta"] > 2
    assert ols(x[:5], x[:5]) is None


def test_cont_regression_on_the_goog_day_has_high_r2(tmp_path):
    message, _ = goog_pair(10)
    result = run_ofi_regression(message, load_config("configs/replay_goog.toml"), 10_000,
                                tmp_path)
    assert len(result["windows"]) == 13  # 09:30-16:00 in half hours
    rows = table(result).splitlines()  # labelled in New York time
    assert rows[1].startswith("09:30") and rows[13].startswith("15:30")
    assert result["average_r2"] > 0.3
    assert result["average_beta"] > 0 and result["average_t_beta"] > 2
    assert (tmp_path / "ofi_regression.png").exists()
    saved = json.loads((tmp_path / "ofi_regression.json").read_text())
    assert saved["average_r2"] == pytest.approx(result["average_r2"])
