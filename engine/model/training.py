"""``obflow train``: three LightGBM models on a feature matrix, validated walk-forward.

Outputs (in predictor order): ``p_up_<h>`` for each direction horizon (binary, P(up)), and
``expected_log_return`` (regression on the forward log return). Each fold trains each
model on its training rows with early stopping on its validation rows and scores it on its
test block; the shipped models are then trained on all rows the same way (the last
``valid_fraction`` watched by early stopping) and written with ``schema.json``,
``metrics.json`` and the gain importance (``importance.csv``, ``importance.png``).

Determinism: LightGBM runs with a fixed seed, ``deterministic=True``, column-wise histograms
and a fixed thread count; the same matrix and config give byte-identical model files.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from engine.errors import DataError
from engine.features.registry import FeatureSchema
from engine.model.artifact import ARTIFACT_FORMAT
from engine.model.artifact import SCHEMA_FILE
from engine.model.artifact import read_artifact
from engine.model.artifact import sha256_file
from engine.model.artifact import write_json
from engine.model.config import TrainConfig
from engine.model.config import load_train_config
from engine.model.labels import RETURN_OUTPUT
from engine.model.labels import Labels
from engine.model.labels import build_labels
from engine.model.metrics import direction_scores
from engine.model.metrics import return_scores
from engine.model.splits import Fold
from engine.model.splits import final_split
from engine.model.splits import walk_forward

META_COLUMNS = ("session", "ts_ns", "mid")
SCHEMA_HASH_KEY = b"obflow.schema_hash"


@dataclass(frozen=True)
class FeatureMatrix:
    """A feature matrix read from Parquet, sorted by time."""

    path: Path
    frame: pd.DataFrame  # session, ts_ns, mid (features stay in ``values``)
    values: np.ndarray  # float64 (n_rows, n_features), C order
    feature_names: tuple[str, ...]
    schema_hash: str
    sample: str

    def feature_schema(self) -> dict | None:
        """The full schema when the default parameters reproduce the file's hash."""
        try:
            schema = FeatureSchema(self.feature_names)
        except ValueError:
            return None
        return schema.as_dict() if schema.hash == self.schema_hash else None


def read_feature_matrix(path: str | Path) -> FeatureMatrix:
    """A matrix written by ``obflow features``; refuses files without the schema hash."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise DataError(str(path), 0, "no such file") from None
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise DataError(str(path), 0, f"not a Parquet feature matrix: {exc}") from None
    meta = table.schema.metadata or {}
    if SCHEMA_HASH_KEY not in meta:
        raise DataError(str(path), 0, "no obflow.schema_hash in the Parquet metadata "
                                      "(write the matrix with obflow features)")
    missing = [c for c in META_COLUMNS if c not in table.column_names]
    if missing:
        raise DataError(str(path), 0, f"missing columns: {', '.join(missing)}")
    names = tuple(c for c in table.column_names if c not in META_COLUMNS)
    if not names:
        raise DataError(str(path), 0, "no feature columns")
    if table.num_rows < 10:
        raise DataError(str(path), 0, f"{table.num_rows} rows: too few to train on")
    frame = table.select(list(META_COLUMNS)).to_pandas()
    # sessions in the order they start, rows in time order within each session
    frame["_start"] = frame.groupby("session", sort=False)["ts_ns"].transform("min")
    frame = frame.sort_values(["_start", "session", "ts_ns"], kind="stable")
    rows = frame.index.to_numpy()
    frame = frame.drop(columns="_start")
    values = np.column_stack([table.column(n).to_numpy(zero_copy_only=False).astype(np.float64)
                              for n in names])[rows]
    return FeatureMatrix(path, frame.reset_index(drop=True), np.ascontiguousarray(values),
                         names, meta[SCHEMA_HASH_KEY].decode(),
                         meta.get(b"obflow.sample", b"").decode())


def _iso(ts_ns: int) -> str:
    return pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").isoformat()


def _span(ts_ns: np.ndarray, rows: np.ndarray) -> dict:
    if len(rows) == 0:
        return {"rows": 0}
    return {"rows": len(rows), "start": _iso(ts_ns[rows[0]]), "end": _iso(ts_ns[rows[-1]])}


@dataclass
class FittedModel:
    booster: object  # lightgbm.Booster
    best_iteration: int
    train_rows: int
    valid_rows: int
    metric: str
    valid_metric: float  # the early-stopping metric at the best iteration


def training_values(matrix: FeatureMatrix, config: TrainConfig) -> np.ndarray:
    """The matrix as LightGBM sees it in training: excluded features all missing."""
    hidden = [j for j, n in enumerate(matrix.feature_names) if n in config.features.exclude]
    if not hidden:
        return matrix.values
    values = matrix.values.copy()
    values[:, hidden] = np.nan
    return values


def fit_model(objective: str, values: np.ndarray, target: np.ndarray, fold: Fold,
              config: TrainConfig, feature_names: tuple[str, ...]) -> FittedModel:
    """One LightGBM model on the fold's labelled training rows, early-stopped on its
    labelled validation rows (``values`` from ``training_values``)."""
    import lightgbm as lgb

    train = fold.train[np.isfinite(target[fold.train])]
    valid = fold.valid[np.isfinite(target[fold.valid])]
    if len(train) < 2 or len(valid) < 1:
        raise DataError("features", 0, f"fold {fold.index}: {len(train)} labelled training "
                                       f"and {len(valid)} validation rows: too few")
    metric = config.validation.direction_metric if objective == "binary" else "l2"
    params = config.lightgbm.params(objective, metric)
    dtrain = lgb.Dataset(values[train], target[train], feature_name=list(feature_names),
                         params={"verbosity": -1, "max_bin": params["max_bin"]},
                         free_raw_data=True)
    dvalid = lgb.Dataset(values[valid], target[valid], reference=dtrain)
    record: dict = {}
    booster = lgb.train(params, dtrain, num_boost_round=config.lightgbm.num_boost_round,
                        valid_sets=[dvalid], valid_names=["valid"],
                        callbacks=[lgb.early_stopping(config.validation.early_stopping_rounds,
                                                      first_metric_only=True, verbose=False),
                                   lgb.record_evaluation(record)])
    best = booster.best_iteration or booster.current_iteration()
    value = record["valid"][metric][best - 1]
    return FittedModel(booster, int(best), len(train), len(valid), metric, float(value))


def _metric(fitted: FittedModel) -> dict:
    return {fitted.metric: float(f"{fitted.valid_metric:.6g}")}


def _objective(name: str) -> str:
    return "regression" if name == RETURN_OUTPUT else "binary"


def _scores(name: str, labels: Labels, rows: np.ndarray, pred: np.ndarray,
            base: np.ndarray) -> dict:
    if name == RETURN_OUTPUT:
        return return_scores(pred, labels.targets[name][rows], train_mean=base)
    return direction_scores(labels.targets[name][rows], pred, labels.returns[name][rows],
                            train_up_rate=base)


@dataclass
class TrainResult:
    matrix: FeatureMatrix
    config: TrainConfig
    output_names: tuple[str, ...]
    purge_ns: int
    folds: list[dict] = field(default_factory=list)
    overall: dict = field(default_factory=dict)
    final: dict[str, FittedModel] = field(default_factory=dict)
    oos_rows: np.ndarray | None = None  # rows of the last test block (held out)

    def importance(self) -> pd.DataFrame:
        """Gain importance of the shipped models, as each model's share of total gain."""
        table = {}
        for name, fitted in self.final.items():
            gain = fitted.booster.feature_importance(importance_type="gain",
                                                     iteration=fitted.best_iteration)
            total = gain.sum()
            table[name] = gain / total if total > 0 else gain
        frame = pd.DataFrame(table, index=list(self.matrix.feature_names))
        frame["mean"] = frame.mean(axis=1)
        return frame.sort_values("mean", ascending=False, kind="stable")


def train(matrix: FeatureMatrix, config: TrainConfig, *, log=print) -> TrainResult:
    """Walk-forward validation, then the shipped models on all rows."""
    labels = build_labels(matrix.frame, config.labels)
    ts = matrix.frame["ts_ns"].to_numpy()
    purge_ns = config.validation.purge_ns(config.labels)
    names = config.labels.output_names
    result = TrainResult(matrix, config, names, purge_ns)
    values = training_values(matrix, config)
    folds = walk_forward(ts, config.validation.folds, config.validation.valid_fraction,
                         purge_ns)
    pooled = {n: np.full(len(ts), np.nan) for n in names}
    pooled_base = {n: np.full(len(ts), np.nan) for n in names}
    tested = np.zeros(len(ts), dtype=bool)
    for fold in folds:
        t0 = time.perf_counter()
        entry = {"fold": fold.index, "train": _span(ts, fold.train),
                 "valid": _span(ts, fold.valid), "test": _span(ts, fold.test), "models": {}}
        for name in names:
            target = labels.targets[name]
            fitted = fit_model(_objective(name), values, target, fold, config,
                               matrix.feature_names)
            pred = fitted.booster.predict(matrix.values[fold.test],
                                          num_iteration=fitted.best_iteration)
            train_target = target[fold.train]
            base = float(np.nanmean(train_target))
            pooled[name][fold.test] = pred
            pooled_base[name][fold.test] = base
            entry["models"][name] = {"best_iteration": fitted.best_iteration,
                                     "train_rows": fitted.train_rows,
                                     "valid_rows": fitted.valid_rows,
                                     "valid_metric": _metric(fitted),
                                     "scores": _scores(name, labels, fold.test, pred,
                                                       np.full(len(fold.test), base))}
        tested[fold.test] = True
        result.folds.append(entry)
        log(f"fold {fold.index}/{len(folds)}: trained in {time.perf_counter() - t0:.1f} s")
    rows = np.flatnonzero(tested)
    result.overall = {n: _scores(n, labels, rows, pooled[n][rows], pooled_base[n][rows])
                      for n in names}
    result.oos_rows = folds[-1].test
    t0 = time.perf_counter()
    last = final_split(ts, config.validation.valid_fraction, purge_ns)
    for name in names:
        result.final[name] = fit_model(_objective(name), values, labels.targets[name],
                                       last, config, matrix.feature_names)
    log(f"final models: trained in {time.perf_counter() - t0:.1f} s")
    return result


def _versions() -> dict:
    import lightgbm as lgb

    try:
        from importlib.metadata import version

        obflow = version("obflow")
    except Exception:  # not installed as a distribution (a source checkout)
        obflow = "unknown"
    return {"obflow": obflow, "lightgbm": lgb.__version__, "numpy": np.__version__,
            "numba": numba.__version__, "pandas": pd.__version__,
            "python": platform.python_version()}


def write_artifact(result: TrainResult, out: str | Path) -> Path:
    """Model files, schema.json, metrics.json and the importance table and plot."""
    from engine.model.report import plot_importance

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    matrix, config = result.matrix, result.config
    ts = matrix.frame["ts_ns"].to_numpy()
    outputs = []
    for name in result.output_names:
        fitted = result.final[name]
        path = out / f"{name}.txt"
        fitted.booster.save_model(str(path), num_iteration=fitted.best_iteration)
        outputs.append({"name": name, "file": path.name, "sha256": sha256_file(path),
                        "objective": _objective(name), "trees": fitted.best_iteration,
                        "train_rows": fitted.train_rows, "valid_rows": fitted.valid_rows,
                        "valid_metric": _metric(fitted)})
    importance = result.importance()
    importance.to_csv(out / "importance.csv", index_label="feature", float_format="%.6f")
    plot_importance(importance, out / "importance.png")
    training = {"features_file": matrix.path.name, "features_sha256": sha256_file(matrix.path),
                "sample": matrix.sample, "rows": len(ts),
                "sessions": list(dict.fromkeys(Path(s).name for s in matrix.frame["session"])),
                "start": _iso(ts[0]), "end": _iso(ts[-1]), "start_ns": int(ts[0]),
                "end_ns": int(ts[-1]), "purge_ns": result.purge_ns,
                "config": config.as_dict()}
    metrics = {"training": training, "folds": result.folds, "overall": result.overall,
               "final": {o["name"]: {k: o[k] for k in ("trees", "train_rows", "valid_rows",
                                                          "valid_metric")} for o in outputs},
               "importance_gain_share": {c: {f: round(float(v), 6) for f, v in
                                             importance[c].items()}
                                         for c in result.output_names}}
    schema = {"format": ARTIFACT_FORMAT, "feature_names": list(matrix.feature_names),
              "schema_hash": matrix.schema_hash, "feature_schema": matrix.feature_schema(),
              "outputs": outputs, "labels": config.labels.definitions(),
              "training": training, "metrics": result.overall, "versions": _versions()}
    write_json(out / SCHEMA_FILE, schema)
    # the held-out parity check through the same loader the engine uses
    from engine.model.predictor import Predictor

    predictor = Predictor.from_artifact(read_artifact(out))
    held_out = matrix.values[result.oos_rows[:2000]]
    metrics["predictor"] = {"parity_rows": len(held_out),
                            "parity_max_abs_diff": predictor.parity(held_out),
                            "trees": dict(zip(predictor.output_names,
                                              predictor.ensemble.trees_per_model(),
                                              strict=True)),
                            "depth": predictor.ensemble.depth}
    write_json(out / "metrics.json", metrics)
    return out


def run_train(features: str | Path, out: str | Path, config_path: str | Path | None = None,
              *, log=print) -> TrainResult:
    """Read the matrix, train, write the artifact into ``out``; print the tables."""
    from engine.model.report import summary_tables

    config = load_train_config(config_path)
    matrix = read_feature_matrix(features)
    log(f"{matrix.path}: {len(matrix.frame):,} rows, {len(matrix.feature_names)} features, "
        f"{matrix.frame['session'].nunique()} sessions, schema {matrix.schema_hash}")
    result = train(matrix, config, log=log)
    write_artifact(result, out)
    log(summary_tables(result))
    log(f"wrote {Path(out)}: {', '.join(f'{n}.txt' for n in result.output_names)}, "
        f"{SCHEMA_FILE}, metrics.json, importance.csv, importance.png")
    return result
