"""The compiled tree evaluator against LightGBM, the predictor, the schema check, the bench."""

import lightgbm as lgb
import numpy as np
import orjson
import pytest

from engine.app.predictor_bench import bench_predictor
from engine.errors import ModelError
from engine.features import ALL_NAMES
from engine.features import FeatureParams
from engine.features import FeatureSchema
from engine.model import Predictor
from engine.model.artifact import ARTIFACT_FORMAT
from engine.model.artifact import check_schema
from engine.model.artifact import read_artifact
from engine.model.artifact import schema_difference
from engine.model.artifact import sha256_file
from engine.model.artifact import write_json
from engine.model.trees import ensemble_from_texts
from engine.model.trees import predict_batch

BASE = {"verbosity": -1, "max_depth": 6, "num_leaves": 31, "learning_rate": 0.1, "seed": 1,
        "deterministic": True, "num_threads": 1, "force_col_wise": True,
        "min_data_in_leaf": 20}


def _data(n=4000, p=12, seed=0, *, missing=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    if missing:
        x[rng.random((n, p)) < 0.1] = np.nan
        x[:, 3] = np.where(rng.random(n) < 0.3, 0.0, x[:, 3])
    signal = np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, -1]) + 0.5 * rng.standard_normal(n)
    return x, signal


def _hard_rows(n, p, seed=1):
    """Held-out rows with every kind of value LightGBM treats specially."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    for value, share in ((np.nan, 0.1), (0.0, 0.1), (1e-40, 0.03), (-1e-36, 0.03),
                         (-0.0, 0.03), (np.inf, 0.02), (-np.inf, 0.02)):
        x[rng.random(x.shape) < share] = value
    return x


def _models():
    x, signal = _data()
    xc, signal_c = _data(seed=2, missing=False)
    y = (signal > 0).astype(float)
    return [
        ("nan_missing", lgb.train({**BASE, "objective": "binary"}, lgb.Dataset(x, y), 60)),
        ("zero_missing", lgb.train({**BASE, "objective": "binary", "zero_as_missing": True},
                                   lgb.Dataset(x, y), 60)),
        ("no_missing", lgb.train({**BASE, "objective": "regression"},
                                 lgb.Dataset(xc, signal_c * 1e-4), 40)),
        ("shallow", lgb.train({**BASE, "objective": "binary", "max_depth": 2, "num_leaves": 3,
                               "use_missing": False}, lgb.Dataset(x, y), 7)),
        ("sigmoid2", lgb.train({**BASE, "objective": "binary", "sigmoid": 2.0},
                               lgb.Dataset(x, y), 9)),
    ]


@pytest.fixture(scope="module")
def models():
    return _models()


def test_compiled_trees_equal_booster_predict_on_held_out_rows(models):
    rows = _hard_rows(3000, 12)
    ensemble = ensemble_from_texts([b.model_to_string() for _, b in models],
                                   [n for n, _ in models])
    assert ensemble.depth == 6 and ensemble.trees_per_model() == [60, 60, 40, 7, 9]
    mine = predict_batch(ensemble, rows)
    for m, (name, booster) in enumerate(models):
        ref = booster.predict(rows)
        assert np.max(np.abs(mine[:, m] - ref)) <= 1e-12, name
        assert np.array_equal(mine[:, m], ref), name  # in fact bit for bit


def test_one_leaf_trees_and_infinite_thresholds_are_handled():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 2))
    x[rng.random(2000) < 0.5, 0] = np.nan
    y = (np.isnan(x[:, 0]) ^ (rng.random(2000) < 0.1)).astype(float)
    # NaN against everything else: LightGBM writes threshold=inf, NaN going right
    booster = lgb.train({**BASE, "objective": "binary", "min_data_in_leaf": 5},
                        lgb.Dataset(x, y), 3)
    thresholds = [line for line in booster.model_to_string().splitlines()
                  if line.startswith("threshold=")]
    assert thresholds[0].split("=")[1].split()[0] == "inf"
    constant = lgb.train({**BASE, "objective": "regression", "min_data_in_leaf": 10_000},
                         lgb.Dataset(x, y), 2)  # too few rows to split: one-leaf trees
    assert "num_leaves=1" in constant.model_to_string()
    ensemble = ensemble_from_texts([booster.model_to_string(), constant.model_to_string()])
    rows = _hard_rows(500, 2)
    mine = predict_batch(ensemble, rows)
    np.testing.assert_array_equal(mine[:, 0], booster.predict(rows))
    np.testing.assert_array_equal(mine[:, 1], constant.predict(rows))


def test_unsupported_models_are_refused():
    x, signal = _data(n=500, p=3, missing=False)
    category = np.floor(np.abs(x[:, 0]) * 3)
    cat = lgb.train({**BASE, "objective": "regression", "min_data_in_leaf": 5,
                     "min_data_per_group": 5, "cat_smooth": 1},
                    lgb.Dataset(np.column_stack([category, x[:, 1:]]),
                                np.where(category % 2 == 0, 1.0, -1.0),
                                categorical_feature=[0]), 2)
    with pytest.raises(ModelError, match="categorical"):
        ensemble_from_texts([cat.model_to_string()], ["cat"])
    multi = lgb.train({**BASE, "objective": "multiclass", "num_class": 3},
                      lgb.Dataset(x, np.digitize(signal, [-0.5, 0.5])), 2)
    with pytest.raises(ModelError, match="single-output"):
        ensemble_from_texts([multi.model_to_string()], ["multi"])
    poisson = lgb.train({**BASE, "objective": "poisson"}, lgb.Dataset(x, np.abs(signal)), 2)
    with pytest.raises(ModelError, match="not supported"):
        ensemble_from_texts([poisson.model_to_string()], ["poisson"])
    with pytest.raises(ModelError, match="not a LightGBM"):
        ensemble_from_texts(["hello"], ["junk"])


# --- artifact and schema check ---------------------------------------------------------------

def _write_model_dir(path, schema: FeatureSchema, seed=0):
    """A small three-output artifact for ``schema`` (as obflow train lays it out)."""
    rng = np.random.default_rng(seed)
    p = len(schema.names)
    x = rng.standard_normal((3000, p))
    x[rng.random(x.shape) < 0.05] = np.nan
    signal = np.nan_to_num(x[:, 0] - x[:, 1]) + rng.standard_normal(3000)
    path.mkdir(parents=True, exist_ok=True)
    outputs = []
    for name, objective, target in (("p_up_1m", "binary", signal > 0),
                                    ("p_up_5m", "binary", signal > 0.5),
                                    ("expected_log_return", "regression", signal * 1e-4)):
        booster = lgb.train({**BASE, "objective": objective},
                            lgb.Dataset(x, target.astype(float), feature_name=list(schema.names)),
                            30)
        booster.save_model(str(path / f"{name}.txt"))
        outputs.append({"name": name, "file": f"{name}.txt",
                        "sha256": sha256_file(path / f"{name}.txt")})
    write_json(path / "schema.json", {"format": ARTIFACT_FORMAT,
                                      "feature_names": list(schema.names),
                                      "schema_hash": schema.hash,
                                      "feature_schema": schema.as_dict(), "outputs": outputs})
    return x


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m"
    _write_model_dir(path, FeatureSchema())
    return path


def test_predictor_loads_warms_up_and_matches_booster_predict(model_dir):
    predictor = Predictor.load(model_dir, FeatureSchema())
    assert predictor.output_names == ("p_up_1m", "p_up_5m", "expected_log_return")
    assert predictor.feature_names == ALL_NAMES
    rows = _hard_rows(1000, len(ALL_NAMES), seed=9)
    one = np.vstack([predictor.predict(np.ascontiguousarray(r)) for r in rows])
    ref = predictor.booster_predict(rows)
    assert np.max(np.abs(one - ref)) <= 1e-12
    np.testing.assert_array_equal(predictor.predict_batch(rows), one)
    out = predictor.predict(rows[0])
    assert out.shape == (3,) and out.dtype == np.float64 and 0 < out[0] < 1
    assert predictor.predict(rows[0]) is not out  # a new array each call
    # a column slice (not contiguous) and a float32 row still work, off the fast path
    np.testing.assert_array_equal(predictor.predict(np.asfortranarray(rows)[1]), one[1])
    with pytest.raises(ModelError, match="55 values"):
        predictor.predict(rows[0, :55].copy())


def test_schema_mismatch_is_refused_naming_the_features(model_dir):
    names = list(ALL_NAMES)
    dropped = [n for n in names if n not in ("vpin", "kyle_lambda_1m")]
    with pytest.raises(ModelError) as err:
        Predictor.load(model_dir, FeatureSchema(tuple(dropped)))
    message = str(err.value)
    assert "missing from the engine (2): vpin, kyle_lambda_1m" in message
    assert FeatureSchema().hash in message

    swapped = names.copy()
    i, j = names.index("spread_bps"), names.index("microprice")
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(ModelError,
                       match=r"reordered \(2\): spread_bps \(model #29, engine #33\), microprice"):
        Predictor.load(model_dir, FeatureSchema(tuple(swapped)))

    with pytest.raises(ModelError, match="vpin_bucket_lots 5000 \\(model\\) vs 1000"):
        Predictor.load(model_dir, FeatureSchema(params=FeatureParams(vpin_bucket_lots=1000)))


def test_schema_difference_names_missing_extra_and_reordered():
    text = schema_difference(("a", "b", "c", "d"), ("b", "a", "d", "e"))
    assert "missing from the engine (1): c" in text
    assert "extra in the engine, unknown to the model (1): e" in text
    assert "reordered (2): a (model #0, engine #1), b (model #1, engine #0)" in text


def test_a_changed_model_file_or_a_bad_schema_json_is_refused(tmp_path):
    path = tmp_path / "m"
    _write_model_dir(path, FeatureSchema(), seed=3)
    artifact = read_artifact(path)
    check_schema(artifact, FeatureSchema())  # fits
    model = path / "p_up_5m.txt"
    model.write_text(model.read_text().replace("shrinkage=0.1", "shrinkage=0.2", 1))
    with pytest.raises(ModelError, match=r"p_up_5m\.txt: sha256 differs"):
        Predictor.load(path, FeatureSchema())
    raw = orjson.loads((path / "schema.json").read_bytes())
    (path / "schema.json").write_bytes(orjson.dumps({**raw, "format": 99}))
    with pytest.raises(ModelError, match="format 99"):
        Predictor.load(path, FeatureSchema())
    with pytest.raises(ModelError, match=r"no schema\.json"):
        Predictor.load(tmp_path / "nowhere", FeatureSchema())


def test_bench_predictor_reports_the_three_paths(model_dir):
    result = bench_predictor(model_dir, schema=FeatureSchema(), calls=2000, booster_calls=50)
    for entry in (result, result["booster_predict"], result["lightgbm_fast_c_api"]):
        assert 0 < entry["p50_ns"] <= entry["p99_ns"] <= entry["p999_ns"]
    assert result["calls"] == 2000 and result["booster_predict"]["calls"] == 50
    assert result["trees"] == {"p_up_1m": 30, "p_up_5m": 30, "expected_log_return": 30}
    assert result["parity_max_abs_diff"] <= 1e-12
    assert result["c_api_parity_max_abs_diff"] <= 1e-12
    assert result["p50_ns"] < result["booster_predict"]["p50_ns"]
