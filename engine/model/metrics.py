"""Out-of-sample scores of the direction and return models, beside their baselines.

Direction (P(up) against labels 1/0): accuracy and balanced accuracy at p > 0.5, ROC AUC,
log loss; the IC (Spearman rank correlation of P(up) with the forward log return, over
every row with a known return, unchanged ones included) and the hit rate (sign of
P(up) - 0.5 against the sign of the return, over rows where both are non-zero). The
baseline predicts the training set's majority class with its base rate as the probability.

Return (predicted against realised forward log return): Pearson and Spearman IC, hit rate,
RMSE and out-of-sample R² against the baseline that predicts the training mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPS = 1e-15


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank().to_numpy()


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    r = _ranks(p)
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    recalls = [float((pred[y == c] == c).mean()) for c in (0, 1) if (y == c).any()]
    return float(np.mean(recalls))


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """None when undefined: fewer than 3 rows, or a constant side."""
    if len(x) < 3:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        r = float(np.corrcoef(x, y)[0, 1])
    return r if np.isfinite(r) else None


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    return pearson(_ranks(x), _ranks(y)) if len(x) >= 3 else None


def hit_rate(signal: np.ndarray, r: np.ndarray) -> float | None:
    both = (signal != 0) & (r != 0)
    if not both.any():
        return None
    return float((np.sign(signal[both]) == np.sign(r[both])).mean())


def _round(d: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}


def direction_scores(y: np.ndarray, p: np.ndarray, r: np.ndarray, *,
                     train_up_rate: float | np.ndarray) -> dict:
    """Scores of P(up) ``p`` on rows with labels ``y`` (NaN: unchanged or unknown) and forward
    returns ``r`` (NaN: unknown). ``train_up_rate``: the training share of up labels, per
    row when the rows pool several folds."""
    labelled = np.isfinite(y)
    yl, pl = y[labelled], p[labelled]
    base_p = np.broadcast_to(np.asarray(train_up_rate, dtype=np.float64), y.shape)[labelled]
    base_pred = (base_p > 0.5).astype(np.float64)
    pred = (pl > 0.5).astype(np.float64)
    known = np.isfinite(r)
    base_signal = np.broadcast_to(np.asarray(train_up_rate, dtype=np.float64), y.shape)
    out = {
        "n": int(labelled.sum()),
        "up_rate": float(yl.mean()) if len(yl) else None,
        "accuracy": float((pred == yl).mean()) if len(yl) else None,
        "balanced_accuracy": balanced_accuracy(yl, pred) if len(yl) else None,
        "auc": auc(yl, pl),
        "log_loss": log_loss(yl, pl) if len(yl) else None,
        "ic": spearman(p[known], r[known]),
        "hit_rate": hit_rate(p[known] - 0.5, r[known]),
        "baseline": {
            "predicts": "up" if np.all(base_pred == 1) else "down" if np.all(base_pred == 0)
            else "majority of each fold",
            "accuracy": float((base_pred == yl).mean()) if len(yl) else None,
            "balanced_accuracy": balanced_accuracy(yl, base_pred) if len(yl) else None,
            "auc": 0.5,
            "log_loss": log_loss(yl, base_p) if len(yl) else None,
            "hit_rate": hit_rate(base_signal[known] - 0.5, r[known]),
        },
    }
    out["baseline"] = _round(out["baseline"])
    return _round(out)


def return_scores(pred: np.ndarray, r: np.ndarray, *,
                  train_mean: float | np.ndarray) -> dict:
    """Scores of predicted forward log returns against realised ones (NaN: unknown)."""
    known = np.isfinite(r)
    pk, rk = pred[known], r[known]
    base = np.broadcast_to(np.asarray(train_mean, dtype=np.float64), r.shape)[known]
    if not known.any():
        return {"n": 0}
    sse, sse_base = float(np.sum((pk - rk) ** 2)), float(np.sum((base - rk) ** 2))
    out = {
        "n": int(known.sum()),
        "ic": spearman(pk, rk),
        "ic_pearson": pearson(pk, rk),
        "hit_rate": hit_rate(pk, rk),
        "rmse_bps": float(np.sqrt(sse / len(rk)) * 1e4),
        "r2_oos": float(1 - sse / sse_base) if sse_base > 0 else None,
        "baseline": {"predicts": "training mean",
                     "rmse_bps": float(np.sqrt(sse_base / len(rk)) * 1e4),
                     "hit_rate": hit_rate(base, rk)},
    }
    out["baseline"] = _round(out["baseline"])
    return _round(out)
