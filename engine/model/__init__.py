"""LightGBM models on the engine's features: labels, training, the artifact, the predictor.

    labels.py     direction and forward-return labels, per session, no look-ahead
    config.py     the training config (labels, walk-forward validation, LightGBM)
    splits.py     walk-forward folds with a purge gap
    metrics.py    out-of-sample scores beside their baselines
    training.py   ``obflow train``: walk-forward validation, shipped models, the artifact
    report.py     training tables and the importance plot
    artifact.py   schema.json, model file checksums, the feature-schema check
    trees.py      LightGBM text models as flat arrays and the compiled evaluator
    predictor.py  the model stage: ``Predictor.load(model_dir, schema).predict(row)``
    bench.py      ``bench_predictor``: one-row latency beside Booster.predict
    synthetic.py  several synthetic days for a demo model

Only the predictor is imported here: the pipeline imports it, and training pulls in the
replay machinery.
"""

from engine.model.predictor import Predictor

__all__ = ["Predictor"]
