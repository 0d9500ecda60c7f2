"""``obflow train`` end to end on a small multi-day synthetic feature matrix."""


import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.app.cli import main
from engine.app.feature_matrix import feature_matrix
from engine.config import load_config
from engine.errors import ModelError
from engine.features import ALL_NAMES
from engine.features import FeatureSchema
from engine.model import Predictor
from engine.model.training import read_feature_matrix
from replay.synth import business_days
from replay.synth import write_days

SMALL = """
[validation]
folds = 2
early_stopping_rounds = 10
[lightgbm]
num_boost_round = 25
min_data_in_leaf = 100
"""


@pytest.fixture(scope="module")
def matrix_path(tmp_path_factory):
    """Three synthetic days (20,000 messages each) sampled every 5 s."""
    root = tmp_path_factory.mktemp("model-data")
    write_days(root / "days", days=3, events=20_000, seed=3)
    table = feature_matrix(root / "days", load_config("configs/replay_synth.toml"), "5s")
    pq.write_table(table, root / "features.parquet")
    (root / "small.toml").write_text(SMALL)
    return root / "features.parquet"


@pytest.fixture(scope="module")
def trained(matrix_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    assert main(["train", "--features", str(matrix_path), "--out", str(out),
                 "--config", str(matrix_path.parent / "small.toml")]) == 0
    return out


def test_synthetic_days_are_distinct_sessions_in_time_order(matrix_path):
    matrix = read_feature_matrix(matrix_path)
    sessions = list(dict.fromkeys(matrix.frame["session"]))
    assert [s.split("/")[-1][6:16] for s in sessions] == ["2024-01-02", "2024-01-03",
                                                          "2024-01-04"]
    assert matrix.frame["ts_ns"].is_monotonic_increasing
    assert matrix.feature_names == ALL_NAMES and matrix.schema_hash == FeatureSchema().hash
    assert business_days(3, "2024-01-05") == ["2024-01-05", "2024-01-08", "2024-01-09"]


def test_train_writes_the_artifact_and_metrics(trained, matrix_path):
    files = sorted(p.name for p in trained.iterdir())
    assert files == ["expected_log_return.txt", "importance.csv", "importance.png",
                     "metrics.json", "p_up_1m.txt", "p_up_5m.txt", "schema.json"]
    schema = orjson.loads((trained / "schema.json").read_bytes())
    assert schema["feature_names"] == list(ALL_NAMES)
    assert schema["schema_hash"] == FeatureSchema().hash
    assert schema["feature_schema"] == FeatureSchema().as_dict()
    assert [o["name"] for o in schema["outputs"]] == ["p_up_1m", "p_up_5m",
                                                      "expected_log_return"]
    assert schema["labels"]["p_up_5m"]["horizon_ns"] == 300 * 10**9
    assert schema["labels"]["expected_log_return"]["kind"] == "forward_log_return"
    training = schema["training"]
    assert training["start"].startswith("2024-01-02T14:30") and \
        training["end"].startswith("2024-01-04T20:59")
    assert training["rows"] == pq.read_metadata(matrix_path).num_rows
    assert training["purge_ns"] == 300 * 10**9
    assert set(schema["versions"]) >= {"lightgbm", "numpy", "numba", "python", "obflow"}
    metrics = orjson.loads((trained / "metrics.json").read_bytes())
    assert len(metrics["folds"]) == 2
    for fold in metrics["folds"]:
        for name in ("p_up_1m", "p_up_5m"):
            s = fold["models"][name]["scores"]
            assert 0 <= s["accuracy"] <= 1 and 0 <= s["auc"] <= 1 and s["log_loss"] > 0
            assert s["baseline"]["balanced_accuracy"] == 0.5
            assert s["baseline"]["predicts"] in ("up", "down")
        assert "r2_oos" in fold["models"]["expected_log_return"]["scores"]
    overall = metrics["overall"]["p_up_1m"]
    assert overall["n"] == sum(f["models"]["p_up_1m"]["scores"]["n"] for f in metrics["folds"])
    assert metrics["predictor"]["parity_max_abs_diff"] <= 1e-12
    gain = metrics["importance_gain_share"]["p_up_1m"]
    assert gain["microprice"] == 0 and gain["time_of_day_h"] == 0  # excluded by default
    assert sum(gain.values()) == pytest.approx(1.0, abs=1e-4)


def test_same_inputs_give_identical_model_files(trained, matrix_path, tmp_path):
    again = tmp_path / "again"
    assert main(["train", "--features", str(matrix_path), "--out", str(again),
                 "--config", str(matrix_path.parent / "small.toml")]) == 0
    for name in ("p_up_1m.txt", "p_up_5m.txt", "expected_log_return.txt", "schema.json",
                 "metrics.json"):
        assert (again / name).read_bytes() == (trained / name).read_bytes(), name


def test_trained_predictor_matches_booster_predict_on_held_out_rows(trained, matrix_path):
    predictor = Predictor.load(trained, FeatureSchema())
    matrix = read_feature_matrix(matrix_path)
    held_out = matrix.values[-2000:]  # the last test block
    one = np.vstack([predictor.predict(row) for row in held_out])
    assert np.max(np.abs(one - predictor.booster_predict(held_out))) <= 1e-12
    assert np.isnan(held_out).any()  # missing values take LightGBM's own paths


def test_the_engine_refuses_a_model_of_another_schema(trained):
    names = tuple(n for n in ALL_NAMES if n != "vpin")
    with pytest.raises(ModelError, match="missing from the engine \\(1\\): vpin"):
        Predictor.load(trained, FeatureSchema(names))


def test_train_refuses_a_matrix_without_a_schema_hash(tmp_path, capsys):
    path = tmp_path / "bare.parquet"
    pq.write_table(pa.table({"session": ["a"] * 20, "ts_ns": list(range(20)),
                             "mid": [1.0] * 20, "x": [0.0] * 20}), path)
    assert main(["train", "--features", str(path), "--out", str(tmp_path / "m")]) == 2
    assert "no obflow.schema_hash" in capsys.readouterr().err


def test_ml_in_the_loop_gives_the_same_report_and_prediction_histogram(trained, synth_dir):
    """In the compiled loop the features and the model are evaluated in numba."""
    import dataclasses

    from loop_reference import both_ways

    from engine.config import with_strategy
    from replay.sweep import apply_overrides

    config = with_strategy(load_config("configs/replay_synth.toml"), "ml_ofi")
    config = dataclasses.replace(config, model=dataclasses.replace(config.model,
                                                                   path=str(trained)))
    config = apply_overrides(config, {"strategy.p_long": "0.5", "strategy.p_short": "0.5",
                                      "strategy.hold_ms": "20000"})
    runs = both_ways(config, synth_dir)
    (looped, with_loop), (plain, without) = runs
    assert with_loop == without
    assert looped.portfolio.fills == plain.portfolio.fills > 0
    assert (looped.prediction_counts == plain.prediction_counts).all()
    assert looped.prediction_sum == plain.prediction_sum
    assert int(looped.prediction_counts.sum()) == plain.decisions
    assert looped.latency.summary()["features"]["count"] < plain.decisions / 3
