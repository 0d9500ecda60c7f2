"""``obflow research ofi-regression``: Cont, Kukanov & Stoikov (2014), section 3.

Over fixed intervals of event time, regress the mid-price change on the level-1 order-flow
imbalance, ΔP_k = α + β OFI_k + ε_k, separately in every half-hour window of each session,
as the paper does; report β, its t-statistic and R² per window and their averages.

The series comes from the engine itself: the replay takes a decision at every interval
boundary and reads the cumulative level-1 OFI and the mid there. Between two decisions no
event arrived, so values at skipped boundaries equal those at the last decision before them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import orjson

from engine.config import EngineConfig
from engine.config import ReplayConfig
from engine.features.state import C_OFI
from engine.features.state import S_CUM
from engine.pipeline import Engine
from replay.player import run

WINDOW_NS = 30 * 60 * 1_000_000_000
MIN_SAMPLES = 10


class _OfiSampler:
    name = "ofi_sampler"
    required_features = ()

    def __init__(self, holder: list[Engine]) -> None:
        self._holder = holder
        self.rows: list[tuple[str, int, float, float]] = []  # session, ts, mid2, cum OFI
        self.offsets: dict[str, int] = {}  # session -> exchange local time minus UTC

    def on_decision(self, view) -> list:
        engine = self._holder[0]
        bid, ask = view.best_bid_tick, view.best_ask_tick
        mid2 = float(bid + ask) if bid is not None and ask is not None else math.nan
        self.rows.append((engine.source, view.ts_ns, mid2,
                          float(engine.features.state[S_CUM + C_OFI])))
        self.offsets[engine.source] = engine.utc_offset_ns
        return []


def sample_intervals(data: str | Path | list, config: EngineConfig, interval_ms: int,
                     ) -> list[dict]:
    """Per session: interval end times, mid changes (price units) and OFI (lots)."""
    from replay.historical import open_historical

    config = replace(config, replay=ReplayConfig(decision_interval_ms=interval_ms))
    source = open_historical(data if isinstance(data, list) else [data], config)
    instrument = source.instrument
    holder: list[Engine] = []
    sampler = _OfiSampler(holder)
    engine = Engine(config, instrument, strategy=sampler)
    holder.append(engine)
    run(engine, source.sessions, config.replay.chunk_events)
    step = interval_ms * 1_000_000
    tick = float(instrument.tick_size)
    out = []
    for session in dict.fromkeys(r[0] for r in sampler.rows):
        rows = [r for r in sampler.rows if r[0] == session]
        ts = np.array([r[1] for r in rows], dtype=np.int64)
        mid2 = np.array([r[2] for r in rows])
        cum = np.array([r[3] for r in rows])
        grid = np.arange(ts[0], ts[-1] + 1, step, dtype=np.int64)
        k = np.searchsorted(ts, grid, side="right") - 1
        out.append({"session": session, "end_ns": grid[1:],
                    "utc_offset_ns": sampler.offsets.get(session, 0),
                    "dp": np.diff(mid2[k]) / 2.0 * tick, "ofi": np.diff(cum[k])})
    return out


def ols(x: np.ndarray, y: np.ndarray) -> dict | None:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < MIN_SAMPLES or np.var(x) == 0:
        return None
    xm, ym = x.mean(), y.mean()
    sxx = ((x - xm) ** 2).sum()
    beta = ((x - xm) * (y - ym)).sum() / sxx
    alpha = ym - beta * xm
    resid = y - alpha - beta * x
    sst = ((y - ym) ** 2).sum()
    r2 = 1.0 - (resid ** 2).sum() / sst if sst > 0 else math.nan
    se = math.sqrt((resid ** 2).sum() / (n - 2) / sxx) if n > 2 else math.nan
    return {"n": n, "alpha": alpha, "beta": beta, "t_beta": beta / se if se > 0 else math.nan,
            "r2": r2}


def regress(samples: list[dict]) -> dict:
    windows = []
    for s in samples:
        offset = s.get("utc_offset_ns", 0)
        half_hour = (s["end_ns"] + offset) // WINDOW_NS  # half hours of exchange time
        for w in np.unique(half_hour):
            sel = half_hour == w
            fit = ols(s["ofi"][sel], s["dp"][sel])
            if fit is not None:
                windows.append({"session": s["session"],
                                "window_start_ns": int(w * WINDOW_NS - offset),
                                "utc_offset_ns": int(offset),
                                **{k: float(v) if k != "n" else v for k, v in fit.items()}})
    r2 = [w["r2"] for w in windows if math.isfinite(w["r2"])]
    pooled = ols(np.concatenate([s["ofi"] for s in samples]),
                 np.concatenate([s["dp"] for s in samples]))
    return {"windows": windows, "average_r2": float(np.mean(r2)) if r2 else None,
            "average_beta": float(np.mean([w["beta"] for w in windows])) if windows else None,
            "average_t_beta": float(np.mean([w["t_beta"] for w in windows])) if windows
            else None, "pooled": pooled}


def table(result: dict) -> str:
    lines = [f"{'window':<14}{'n':>6}{'beta':>14}{'t(beta)':>10}{'R2':>8}"]
    for w in result["windows"]:  # exchange local time
        hhmm = ((w["window_start_ns"] + w.get("utc_offset_ns", 0)) // 60_000_000_000) % 1440
        lines.append(f"{hhmm // 60:02d}:{hhmm % 60:02d}{'':<9}{w['n']:>6}{w['beta']:>14.3e}"
                     f"{w['t_beta']:>10.2f}{w['r2']:>8.3f}")
    lines.append(f"average R2 {result['average_r2']:.3f} over {len(result['windows'])} windows;"
                 f" average beta {result['average_beta']:.3e}, t {result['average_t_beta']:.2f}")
    return "\n".join(lines)


def plot(samples: list[dict], result: dict, path: Path) -> None:
    x = np.concatenate([s["ofi"] for s in samples])
    y = np.concatenate([s["dp"] for s in samples])
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(x, y, s=4, alpha=0.3)
    pooled = result["pooled"]
    if pooled:
        xs = np.linspace(np.nanmin(x), np.nanmax(x), 50)
        ax.plot(xs, pooled["alpha"] + pooled["beta"] * xs, color="red",
                label=f"pooled fit, R² {pooled['r2']:.2f}")
        ax.legend()
    ax.set_xlabel("OFI over the interval (lots)")
    ax.set_ylabel("mid-price change (price units)")
    ax.set_title(f"Price change vs OFI; mean half-hour R² {result['average_r2']:.2f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_ofi_regression(data: str | Path | list, config: EngineConfig, interval_ms: int,
                       out: str | Path) -> dict:
    samples = sample_intervals(data, config, interval_ms)
    result = regress(samples)
    result["interval_ms"] = interval_ms
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ofi_regression.json").write_bytes(
        orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    plot(samples, result, out / "ofi_regression.png")
    return result
