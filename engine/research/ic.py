"""``obflow ic``: information coefficients of every feature against forward log returns.

For each row at time t the forward return over h is log(mid(t + h) / mid(t)), with mid(t + h)
the last mid sampled at or before t + h in the same session; rows whose horizon runs past
the session's last sample are left out. Pearson IC, Spearman IC (Pearson of ranks) and the
hit rate (sign of the feature equals sign of the return, among rows where neither is 0).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import orjson
import pandas as pd

from engine.features.sampling import parse_duration_ms

META_COLUMNS = ("session", "ts_ns", "mid")


def forward_returns(frame: pd.DataFrame, horizon_ns: int) -> np.ndarray:
    out = np.full(len(frame), np.nan)
    for _, idx in frame.groupby("session", sort=False).indices.items():
        ts = frame["ts_ns"].to_numpy()[idx]
        mid = frame["mid"].to_numpy()[idx]
        j = np.searchsorted(ts, ts + horizon_ns, side="right") - 1
        inside = ts + horizon_ns <= ts[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(mid[j] / mid)
        out[idx] = np.where(inside, r, np.nan)
    return out


def information_coefficients(frame: pd.DataFrame, horizons: list[str]) -> dict:
    features = [c for c in frame.columns if c not in META_COLUMNS]
    result: dict = {"rows": len(frame), "horizons": horizons, "features": {}}
    returns = {h: forward_returns(frame, parse_duration_ms(h) * 1_000_000) for h in horizons}
    for name in features:
        x = frame[name].to_numpy(dtype=np.float64)
        per = {}
        for h in horizons:
            r = returns[h]
            ok = np.isfinite(x) & np.isfinite(r)
            n = int(ok.sum())
            if n < 3 or np.std(x[ok]) == 0 or np.std(r[ok]) == 0:
                per[h] = {"n": n, "pearson": None, "spearman": None, "hit_rate": None}
                continue
            pearson = float(np.corrcoef(x[ok], r[ok])[0, 1])
            rx = pd.Series(x[ok]).rank().to_numpy()
            rr = pd.Series(r[ok]).rank().to_numpy()
            spearman = float(np.corrcoef(rx, rr)[0, 1])
            signed = ok & (x != 0) & (r != 0)
            hit = float((np.sign(x[signed]) == np.sign(r[signed])).mean()) if signed.any() \
                else None
            per[h] = {"n": n, "pearson": round(pearson, 6), "spearman": round(spearman, 6),
                      "hit_rate": None if hit is None else round(hit, 6)}
        result["features"][name] = per
    return result


def table(result: dict) -> str:
    horizons = result["horizons"]
    head = f"{'feature':<28}" + "".join(f"{'sp ' + h:>10}{'pe ' + h:>10}" for h in horizons)
    lines = [head]
    first = horizons[0]

    def key(item):
        v = item[1][first]["spearman"]
        return -abs(v) if v is not None else 0.0

    for name, per in sorted(result["features"].items(), key=key):
        cells = ""
        for h in horizons:
            sp, pe = per[h]["spearman"], per[h]["pearson"]
            cells += f"{'-' if sp is None else f'{sp:+.4f}':>10}"
            cells += f"{'-' if pe is None else f'{pe:+.4f}':>10}"
        lines.append(f"{name:<28}{cells}")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    names = list(result["features"])
    horizons = result["horizons"]
    fig, ax = plt.subplots(figsize=(12, max(6, 0.22 * len(names))))
    height = 0.8 / len(horizons)
    y = np.arange(len(names))
    for k, h in enumerate(horizons):
        values = [result["features"][n][h]["spearman"] or 0.0 for n in names]
        ax.barh(y + k * height, values, height=height, label=h)
    ax.set_yticks(y + 0.4 - height / 2, names, fontsize=7)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("Spearman IC with the forward log return")
    ax.legend(title="horizon")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_ic(features_path: str | Path, horizons: list[str], out: str | Path) -> dict:
    frame = pd.read_parquet(features_path)
    frame = frame.sort_values(["session", "ts_ns"], kind="stable").reset_index(drop=True)
    result = information_coefficients(frame, horizons)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ic.json").write_bytes(
        orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    plot(result, out / "ic.png")
    return result
