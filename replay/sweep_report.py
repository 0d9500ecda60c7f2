"""Sweep outputs: a table, ``sweep.json`` and plots (lines, or a heatmap for two params)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import orjson

METRICS = (("net", "net PnL"), ("sharpe_net", "net Sharpe"), ("fill_rate", "fill rate"),
           ("slippage_vs_expected", "slippage vs expected"))


def _label(point: dict) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in point.items())


def table(result: dict) -> str:
    width = max([44, *(len(_label(p["point"])) + 2 for p in result["points"])])
    lines = [f"{'point':<{width}}{'net':>12}{'gross':>12}{'Sharpe':>9}{'fill':>8}{'slip':>10}"
             f"{'trades':>8}{'days':>6}"]
    for p in result["points"]:
        sharpe = "-" if p["sharpe_net"] is None else f"{p['sharpe_net']:.2f}"
        fill = "-" if p["fill_rate"] is None else f"{p['fill_rate']:.1%}"
        lines.append(f"{_label(p['point']):<{width}}{p['net']:>12.2f}{p['gross']:>12.2f}"
                     f"{sharpe:>9}{fill:>8}{p['slippage_vs_expected']:>10.2f}"
                     f"{p['trades']:>8}{len(p['days']):>6}")
    for f in result["failures"]:
        lines.append(f"FAILED {f['file']} {_label(f['point'])}: {f['error']}")
    return "\n".join(lines)


def plot(result: dict, path: Path, *, x_name: str | None = None) -> None:
    points = result["points"]
    names = list(points[0]["point"]) if points else []
    if len(names) == 2 and x_name is None:
        xs = sorted({p["point"][names[0]] for p in points}, key=float)
        ys = sorted({p["point"][names[1]] for p in points}, key=float)
        grid = np.full((len(ys), len(xs)), np.nan)
        for p in points:
            grid[ys.index(p["point"][names[1]]), xs.index(p["point"][names[0]])] = p["net"]
        fig, ax = plt.subplots(figsize=(7, 5))
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="RdYlGn")
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        fig.colorbar(im, label="net PnL")
    else:
        key = x_name or (names[0] if names else "")
        x = [float(p["point"][key]) for p in points]
        fig, axes = plt.subplots(2, 2, figsize=(10, 6))
        for ax, (metric, label) in zip(axes.flat, METRICS, strict=True):
            y = [np.nan if p[metric] is None else p[metric] for p in points]
            ax.plot(x, y, marker="o")
            ax.set_title(label)
            ax.set_xlabel(key.split(".")[-1])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(out: str | Path, sweep: dict, *, x_name: str | None = None) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_bytes(orjson.dumps(sweep, option=orjson.OPT_INDENT_2))
    if sweep["result"]["points"]:
        plot(sweep["result"], out / "sweep.png", x_name=x_name)
    return out / "sweep.json"
