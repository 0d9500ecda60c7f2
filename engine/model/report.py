"""Tables and the importance plot of a training run (``obflow train`` output)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from engine.model.labels import RETURN_OUTPUT


def _cell(value, fmt: str = ".4f", width: int = 8) -> str:
    return f"{'-' if value is None else format(value, fmt):>{width}}"


def _test_span(fold: dict) -> str:
    test = fold["test"]
    return f"{test['start'][5:16].replace('T', ' ')} .. {test['end'][5:16].replace('T', ' ')}"


def direction_table(result) -> str:
    """Per fold and overall: each P(up) model beside the majority-class baseline."""
    head = (f"{'fold':<5}{'test block (UTC)':<29}{'output':<10}{'n':>7}{'acc':>8}{'bal_acc':>8}"
            f"{'auc':>8}{'logloss':>8}{'IC':>8}{'hit':>8} |{'base acc':>9}{'base ll':>8}"
            f"{'base hit':>9}")
    lines = [head]
    rows = [(str(f["fold"]), _test_span(f), f["models"]) for f in result.folds]
    rows.append(("all", "pooled out of sample", {n: {"scores": s}
                                                 for n, s in result.overall.items()}))
    for fold, span, models in rows:
        for name in result.output_names:
            if name == RETURN_OUTPUT:
                continue
            s = models[name]["scores"]
            b = s["baseline"]
            lines.append(f"{fold:<5}{span:<29}{name:<10}{s['n']:>7}{_cell(s['accuracy'])}"
                         f"{_cell(s['balanced_accuracy'])}{_cell(s['auc'])}"
                         f"{_cell(s['log_loss'])}{_cell(s['ic'], '+.4f')}"
                         f"{_cell(s['hit_rate'])} |{_cell(b['accuracy'], '.4f', 9)}"
                         f"{_cell(b['log_loss'])}{_cell(b['hit_rate'], '.4f', 9)}")
    return "\n".join(lines)


def return_table(result) -> str:
    """Per fold and overall: the forward-return model beside the training-mean baseline."""
    head = (f"{'fold':<5}{'test block (UTC)':<29}{'n':>7}{'IC':>8}{'IC pear':>8}{'hit':>8}"
            f"{'rmse bp':>9}{'R2 oos':>9} |{'base rmse':>10}")
    lines = [head]
    rows = [(str(f["fold"]), _test_span(f), f["models"][RETURN_OUTPUT]["scores"])
            for f in result.folds]
    rows.append(("all", "pooled out of sample", result.overall[RETURN_OUTPUT]))
    for fold, span, s in rows:
        lines.append(f"{fold:<5}{span:<29}{s['n']:>7}{_cell(s['ic'], '+.4f')}"
                     f"{_cell(s['ic_pearson'], '+.4f')}{_cell(s['hit_rate'])}"
                     f"{_cell(s['rmse_bps'], '.3f', 9)}{_cell(s['r2_oos'], '+.5f', 9)} |"
                     f"{_cell(s['baseline']['rmse_bps'], '.3f', 10)}")
    return "\n".join(lines)


def importance_table(importance: pd.DataFrame, top: int = 15) -> str:
    cols = [c for c in importance.columns if c != "mean"]
    lines = [f"{'feature':<28}" + "".join(f"{c:>22}" for c in cols)]
    for feature, row in importance.head(top).iterrows():
        lines.append(f"{feature:<28}" + "".join(f"{row[c]:>22.4f}" for c in cols))
    return "\n".join(lines)


def summary_tables(result) -> str:
    trees = ", ".join(f"{n} {f.best_iteration}" for n, f in result.final.items())
    labels = result.config.labels
    return "\n".join([
        "",
        f"direction models, walk-forward out of sample (dead band {labels.dead_band_bps:g} "
        f"bp; unchanged rows left out; baseline: the training majority class)",
        direction_table(result),
        "",
        f"return model ({RETURN_OUTPUT}, {labels.return_horizon}), out of sample "
        f"(baseline: the training mean)",
        return_table(result),
        "",
        "gain importance of the shipped models (share of each model's total gain)",
        importance_table(result.importance()),
        "",
        f"shipped models: trees {trees}",
    ])


def plot_importance(importance: pd.DataFrame, path: Path, top: int = 20) -> None:
    cols = [c for c in importance.columns if c != "mean"]
    fig, axes = plt.subplots(1, len(cols), figsize=(5.5 * len(cols), 0.3 * top + 1.5))
    for ax, col in zip(list(getattr(axes, "flat", [axes])), cols, strict=True):
        ranked = importance[col].sort_values(ascending=False)
        top_rows = ranked[ranked > 0].head(top)[::-1]
        ax.barh(range(len(top_rows)), top_rows.to_numpy())
        ax.set_yticks(range(len(top_rows)), top_rows.index, fontsize=7)
        ax.set_title(col)
        ax.set_xlabel("share of total gain")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
