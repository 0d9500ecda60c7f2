"""``bench_predictor``: the model stage's cost for one row, beside LightGBM's own paths.

Three ways to get the three outputs of one float64 row, each timed call by call with
``perf_counter_ns`` (about 100 ns of the figure is the timer and the Python call):

* ``predictor``: ``Predictor.predict(row)``, the compiled complete-tree kernel;
* ``booster_predict``: ``Booster.predict(row[None, :])`` on each of the three boosters;
* ``lightgbm_fast_c_api``: LightGBM's single-row fast path
  (``LGBM_BoosterPredictForMatSingleRowFast``, set up once per booster by
  ``...FastInit``), called through ctypes for each booster.

Without a model directory the bench builds the largest model the default training config
can ship: every output at the ``num_boost_round`` cap, trees grown to ``max_depth``, on
random rows with NaNs. The kernel's cost does not depend on the row (every tree takes
exactly ``depth`` steps), so random rows time it fairly.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

import numpy as np

from engine.features.registry import FeatureSchema
from engine.model.predictor import Predictor

_C_API_PREDICT_NORMAL = 0
_C_API_DTYPE_FLOAT64 = 1


def _percentiles(ns: list[int] | np.ndarray) -> dict:
    a = np.asarray(ns, dtype=np.float64)
    return {"p50_ns": round(float(np.percentile(a, 50)), 1),
            "p99_ns": round(float(np.percentile(a, 99)), 1),
            "p999_ns": round(float(np.percentile(a, 99.9)), 1),
            "mean_ns": round(float(a.mean()), 1), "calls": len(a)}


def _time_calls(fn, rows: np.ndarray, calls: int) -> list[int]:
    out = []
    n = len(rows)
    clock = time.perf_counter_ns
    for i in range(calls):
        row = rows[i % n]
        t0 = clock()
        fn(row)
        out.append(clock() - t0)
    return out


class FastSingleRow:
    """LightGBM's single-row fast prediction C API for one booster (ctypes)."""

    def __init__(self, booster, n_features: int) -> None:
        from lightgbm.basic import _LIB
        from lightgbm.basic import _safe_call

        self._lib, self._safe_call = _LIB, _safe_call
        self._handle = ctypes.c_void_p()
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(_C_API_PREDICT_NORMAL), ctypes.c_int(0),
            ctypes.c_int(-1), ctypes.c_int(_C_API_DTYPE_FLOAT64), ctypes.c_int32(n_features),
            ctypes.c_char_p(b"num_threads=1"), ctypes.byref(self._handle)))
        self._out = np.zeros(1, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._len = ctypes.c_int64(0)
        self._len_ref = ctypes.byref(self._len)
        self._fn = _LIB.LGBM_BoosterPredictForMatSingleRowFast

    def __call__(self, row: np.ndarray) -> float:
        self._fn(self._handle, row.ctypes.data_as(ctypes.c_void_p), self._len_ref,
                 self._out_ptr)
        return float(self._out[0])

    def close(self) -> None:
        if self._handle:
            self._safe_call(self._lib.LGBM_FastConfigFree(self._handle))
            self._handle = ctypes.c_void_p()


def bench_model(schema: FeatureSchema | None = None, *, trees: int | None = None,
                seed: int = 0) -> Predictor:
    """The largest model the default training config ships: each output ``trees`` deep
    (default: the ``num_boost_round`` cap) without early stopping, on random rows."""
    import lightgbm as lgb

    from engine.model.config import LightGBMConfig
    from engine.model.labels import LabelConfig

    schema = schema or FeatureSchema()
    config = LightGBMConfig()
    trees = trees or config.num_boost_round
    rng = np.random.default_rng(seed)
    n, p = 20_000, len(schema.names)
    x = rng.standard_normal((n, p))
    x[rng.random((n, p)) < 0.05] = np.nan
    signal = np.nan_to_num(x[:, :8]).sum(axis=1) + rng.standard_normal(n)
    texts = []
    outputs = LabelConfig().output_names
    for name in outputs:
        objective = "binary" if name.startswith("p_up") else "regression"
        target = (signal > 0).astype(float) if objective == "binary" else signal * 1e-4
        metric = "auc" if objective == "binary" else "l2"
        params = {**config.params(objective, metric), "min_data_in_leaf": 20,
                  "feature_fraction": 1.0, "bagging_fraction": 1.0}
        booster = lgb.train(params, lgb.Dataset(x, target, feature_name=list(schema.names)),
                            num_boost_round=trees)
        texts.append(booster.model_to_string())
    return Predictor.from_texts(texts, output_names=outputs, feature_names=schema.names,
                                schema_hash=schema.hash, source=f"bench model ({trees} trees "
                                                                f"per output)")


def bench_predictor(model_dir: str | Path | None = None, *, schema: FeatureSchema | None = None,
                    trees: int | None = None, rows: np.ndarray | None = None,
                    calls: int = 20_000, booster_calls: int = 2_000, seed: int = 0) -> dict:
    """The ``predictor`` bench entry: one row through the Predictor, through
    ``Booster.predict`` and through LightGBM's fast single-row C API (ns per row, all three
    outputs). ``model_dir``: a trained model (checked against ``schema`` when given), else
    the bench model of ``bench_model`` with ``trees`` per output (default: the training
    cap). ``rows``: rows to cycle through (default: random rows with NaNs)."""
    if model_dir is None:
        predictor = bench_model(schema, trees=trees, seed=seed)
    elif schema is not None:
        predictor = Predictor.load(model_dir, schema)
    else:
        from engine.model.artifact import read_artifact

        predictor = Predictor.from_artifact(read_artifact(model_dir))
    if rows is None:
        rng = np.random.default_rng(seed)
        rows = rng.standard_normal((1024, predictor.n_features))
        rows[rng.random(rows.shape) < 0.05] = np.nan
    rows = np.ascontiguousarray(rows, dtype=np.float64)

    fast = [FastSingleRow(b, predictor.n_features) for b in predictor.boosters]
    try:
        def c_api(row):
            return [f(row) for f in fast]

        def booster(row):
            one = row.reshape(1, -1)
            return [b.predict(one, num_threads=1) for b in predictor.boosters]

        check = rows[: min(len(rows), 256)]
        mine = np.vstack([predictor.predict(r) for r in check])
        parity = float(np.max(np.abs(mine - predictor.booster_predict(check))))
        c_parity = float(np.max(np.abs(mine - np.array([c_api(r) for r in check]))))
        for fn in (predictor.predict, c_api, booster):  # warm up each path
            _time_calls(fn, rows, 200)
        result = {
            **_percentiles(_time_calls(predictor.predict, rows, calls)),
            "booster_predict": _percentiles(_time_calls(booster, rows, booster_calls)),
            "lightgbm_fast_c_api": _percentiles(_time_calls(c_api, rows, calls)),
        }
    finally:
        for f in fast:
            f.close()
    result.update({
        "outputs": list(predictor.output_names),
        "trees": dict(zip(predictor.output_names, predictor.ensemble.trees_per_model(),
                          strict=True)),
        "depth": predictor.ensemble.depth,
        "model": predictor.source,
        "parity_max_abs_diff": parity,
        "c_api_parity_max_abs_diff": c_parity,
    })
    return result


def bench_table(result: dict) -> str:
    """The predictor bench as a small table."""
    lines = [f"predictor bench: {result['model']}, trees {result['trees']}, depth "
             f"{result['depth']}, |predict - Booster.predict| <= "
             f"{result['parity_max_abs_diff']:.1e}",
             f"{'path (one row, all outputs)':<34}{'p50 ns':>10}{'p99 ns':>10}{'p99.9 ns':>10}"]
    for label, entry in (("Predictor.predict (compiled)", result),
                         ("LightGBM fast single-row C API", result["lightgbm_fast_c_api"]),
                         ("Booster.predict", result["booster_predict"])):
        lines.append(f"{label:<34}{entry['p50_ns']:>10,.0f}{entry['p99_ns']:>10,.0f}"
                     f"{entry['p999_ns']:>10,.0f}")
    return "\n".join(lines)
