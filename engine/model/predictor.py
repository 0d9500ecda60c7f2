"""The model stage: a preloaded, warmed-up, single-row predictor for a model directory.

``Predictor.load(model_dir, schema)`` reads ``schema.json``, refuses a model trained on
another feature schema (``ModelError`` naming the features that differ) or a model file
that changed since training, packs the LightGBM models into one ``TreeEnsemble`` and
compiles a kernel with the ensemble's arrays frozen in as constants, so a call passes
only the row and a scratch buffer (numba's dispatch costs about 100 ns per argument).
Loading then checks the kernel against ``Booster.predict`` on rows with NaNs, zeros and
infinities and warms it up, so the first prediction on the hot path pays no compilation.

``predict(row)`` takes one float64 row in schema order (NaN for a missing value: the trees'
own missing-value rules apply) and returns a new array ``[p_up_1m, p_up_5m,
expected_log_return]`` in ``output_names`` order. One instance is not meant to be called
from several threads at once (it reuses its scratch buffer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from engine.errors import ModelError
from engine.features.registry import FeatureSchema
from engine.model.artifact import Artifact
from engine.model.artifact import check_schema
from engine.model.artifact import read_artifact
from engine.model.artifact import read_model_texts
from engine.model.trees import TreeEnsemble
from engine.model.trees import ensemble_from_texts
from engine.model.trees import model_feature_names
from engine.model.trees import predict_batch
from engine.model.trees import predict_into

#: Largest difference from Booster.predict that loading accepts (the kernel is exact in
#: practice: the same doubles, summed in the same order).
PARITY_TOLERANCE = 1e-12
_WARM_UP_CALLS = 200


def _compile_kernel(ensemble: TreeEnsemble):
    """A compiled ``kernel(row, work) -> outputs`` with the ensemble frozen in.

    ``work`` is scratch: the row's three copies. The outputs are a new array.
    """
    codes, thresholds, leaves, model_trees, transforms, sigmoids, depth = ensemble.arrays()
    n_features, n_models = ensemble.n_features, ensemble.n_models

    @njit("float64[::1](float64[::1], float64[::1])", nogil=True)
    def kernel(row, work):
        if row.shape[0] != n_features:
            raise ValueError("row length differs from the model's feature count")
        out = np.empty(n_models, dtype=np.float64)
        predict_into(row, codes, thresholds, leaves, model_trees, transforms, sigmoids, depth,
                     work, out)
        return out

    return kernel


def _check_rows(n_features: int, seed: int = 0) -> np.ndarray:
    """Rows that exercise every missing-value path: normal values, NaN, exact and tiny
    zeros, infinities."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((256, n_features)) * rng.choice([1e-4, 1.0, 1e3], (256, 1))
    for value, share in ((np.nan, 0.1), (0.0, 0.1), (1e-40, 0.02), (-0.0, 0.02),
                         (np.inf, 0.01), (-np.inf, 0.01)):
        rows[rng.random(rows.shape) < share] = value
    rows[0] = 0.0
    rows[1] = np.nan
    return rows


class Predictor:
    """Loaded models: ``predict(row)`` gives ``output_names`` for one row."""

    def __init__(self, ensemble: TreeEnsemble, boosters: list, *,
                 output_names: tuple[str, ...], feature_names: tuple[str, ...],
                 schema_hash: str, source: str) -> None:
        self.ensemble = ensemble
        self.boosters = boosters  # lightgbm.Booster per output, for checks and benches
        self.output_names = tuple(output_names)
        self.feature_names = tuple(feature_names)
        self.schema_hash = schema_hash
        self.source = source
        self.n_features = ensemble.n_features
        self._work = np.zeros(3 * self.n_features, dtype=np.float64)
        self._kernel = _compile_kernel(ensemble)

    @classmethod
    def load(cls, model_dir: str | Path, schema: FeatureSchema, *,
             check: bool = True) -> Predictor:
        """Load, check and warm up the model in ``model_dir`` for an engine computing
        ``schema``. Raises ModelError on a schema mismatch, a changed or unreadable model
        file, or (with ``check``) a kernel that disagrees with ``Booster.predict``."""
        artifact = read_artifact(model_dir)
        check_schema(artifact, schema)
        return cls.from_artifact(artifact, check=check)

    @classmethod
    def from_artifact(cls, artifact: Artifact, *, check: bool = True) -> Predictor:
        """Load without the feature-schema check: for tools that read a model outside an
        engine (the training report, benchmarks). The engine uses ``load``."""
        return cls.from_texts(read_model_texts(artifact), output_names=artifact.output_names,
                              feature_names=artifact.feature_names,
                              schema_hash=artifact.schema_hash, source=str(artifact.path),
                              check=check)

    @classmethod
    def from_texts(cls, texts: list[str], *, output_names: tuple[str, ...],
                   feature_names: tuple[str, ...], schema_hash: str = "",
                   source: str = "<models>", check: bool = True) -> Predictor:
        """Predictor over LightGBM text models, one per output, checked and warmed up."""
        import lightgbm as lgb

        for text, name in zip(texts, output_names, strict=True):
            if tuple(model_feature_names(text, name)) != tuple(feature_names):
                raise ModelError(f"{source}: {name} was trained on other feature names "
                                 f"than schema.json lists")
        ensemble = ensemble_from_texts(texts, list(output_names))
        try:
            boosters = [lgb.Booster(model_str=text) for text in texts]
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"{source}: LightGBM cannot read a model: {exc}") from None
        predictor = cls(ensemble, boosters, output_names=output_names,
                        feature_names=feature_names, schema_hash=schema_hash, source=source)
        predictor.warm_up(check=check)
        return predictor

    def predict(self, row: np.ndarray) -> np.ndarray:
        """``output_names`` for one float64 row in schema order (a new array)."""
        try:
            return self._kernel(row, self._work)
        except ValueError:
            raise ModelError(f"row has {len(row)} values, the model takes "
                             f"{self.n_features}") from None
        except TypeError:  # not a contiguous float64 vector: convert (off the fast path)
            row = np.ascontiguousarray(row, dtype=np.float64)
            if row.ndim != 1:
                raise ModelError(f"predict takes one row, got shape {row.shape}") from None
            return self._kernel(row, self._work)

    def predict_batch(self, rows: np.ndarray) -> np.ndarray:
        """(n_rows, n_outputs) for a 2-D array of rows; the same arithmetic as ``predict``."""
        return predict_batch(self.ensemble, rows)

    def booster_predict(self, rows: np.ndarray) -> np.ndarray:
        """LightGBM's own predictions, (n_rows, n_outputs): the reference."""
        rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        return np.column_stack([b.predict(rows) for b in self.boosters])

    def parity(self, rows: np.ndarray) -> float:
        """Largest |predict(row) - Booster.predict(row)| over ``rows``."""
        mine = np.vstack([self.predict(np.ascontiguousarray(r)) for r in rows])
        return float(np.max(np.abs(mine - self.booster_predict(rows)), initial=0.0))

    def warm_up(self, *, check: bool = True) -> None:
        """Compile the kernel and run it; with ``check``, compare with Booster.predict."""
        rows = _check_rows(self.n_features)
        if check:
            diff = self.parity(rows)
            if not diff <= PARITY_TOLERANCE:
                raise ModelError(f"{self.source}: compiled predictor differs from "
                                 f"Booster.predict by {diff:.3g} (> {PARITY_TOLERANCE:g})")
        for i in range(_WARM_UP_CALLS):
            self._kernel(rows[i % len(rows)], self._work)

    def describe(self) -> dict:
        return {"source": self.source, "outputs": list(self.output_names),
                "schema_hash": self.schema_hash, "features": self.n_features,
                "trees": dict(zip(self.output_names, self.ensemble.trees_per_model(),
                                  strict=True)),
                "depth": self.ensemble.depth}
