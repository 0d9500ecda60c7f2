"""Parameter and latency sweeps: one replay per (data file, parameter point), on Ray.

Each task replays one file with one set of config overrides and returns its figures and its
1-minute net PnL changes; results merge into per-point totals (Sharpe over all days' minutes)
with the per-day figures kept. The same tasks run serially with ``workers=0``: replays are
deterministic, so both give identical results. A task that fails (a corrupt file) is
reported with its file and error, and the other results are kept.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import typing
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.errors import ObflowError
from engine.features.sampling import parse_duration_ms
from engine.report import MINUTE_NS
from engine.report import MINUTES_PER_YEAR

OVERRIDABLE = ("strategy", "risk", "execution", "replay", "features")


def parse_values(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def latency_us(text: str) -> float:
    """``0``, ``500us``, ``5ms``, ``1s`` -> microseconds."""
    if text == "0":
        return 0.0
    if text.endswith("us"):
        return float(text[:-2])
    return parse_duration_ms(text) * 1000.0


def latency_points(latencies: str) -> list[dict[str, float]]:
    """``0,1ms,5ms`` -> order-entry and market-data latency both set to each value."""
    points = []
    for v in parse_values(latencies):
        us = latency_us(v)
        points.append({"execution.order_latency_us": us, "execution.md_latency_us": us})
    if not points:
        raise ConfigError("--latencies", "no latency given")
    return points


def param_points(params: list[str]) -> list[dict[str, str]]:
    """``strategy.kappa=0.2,0.4`` (repeatable) -> the grid of every combination."""
    axes = []
    for spec in params:
        name, _, values = spec.partition("=")
        if not values:
            raise ConfigError("--param", f"{spec!r} is not NAME=V1,V2,...")
        axes.append([(name.strip(), v) for v in parse_values(values)])
    return [dict(combo) for combo in itertools.product(*axes)]


def _convert(annotation, value, name: str):
    if isinstance(value, str):
        try:
            if annotation is int:
                return int(value)
            if annotation is float:
                return float(value)
            if annotation is bool:
                return value.lower() in ("1", "true", "yes")
        except ValueError:
            raise ConfigError(name, f"{value!r} is not a {annotation.__name__}") from None
    if annotation is float:
        return float(value)
    return value


def apply_overrides(config: EngineConfig, overrides: dict) -> EngineConfig:
    """Set ``section.field`` values on a config (the strategy section is the active one's)."""
    for name, value in overrides.items():
        section, _, field = name.partition(".")
        if section not in OVERRIDABLE or not field:
            raise ConfigError(name, f"sweepable names are {', '.join(OVERRIDABLE)}.FIELD")
        target = getattr(config, section)
        hints = typing.get_type_hints(type(target))
        if field not in hints:
            raise ConfigError(name, f"{type(target).__name__} has no field {field!r}")
        try:
            new = dataclasses.replace(target, **{field: _convert(hints[field], value, name)})
        except ValueError as exc:
            raise ConfigError(name, str(exc)) from None
        config = dataclasses.replace(config, **{section: new})
    return config


def replay_point(config: EngineConfig, data: str, overrides: dict) -> dict:
    """One task: replay ``data`` with ``overrides``; figures, or the error with its file."""
    from replay.backtest import run_replay

    try:
        outcome = run_replay(apply_overrides(config, overrides), data)
    except ObflowError as exc:
        return {"file": str(data), "point": overrides, "error": str(exc)}
    r = outcome.result
    engine = outcome.engine
    money = float(engine.instrument.tick_size * engine.instrument.lot_size)
    minute_pnl: list[float] = []
    if len(engine.marks):
        ts = engine.marks.ts_ns
        net = engine.marks.equity2 / 2 * money - engine.marks.fees
        last = np.flatnonzero(np.diff(ts // MINUTE_NS))
        closes = np.append(net[last], net[-1])
        minute_pnl = np.diff(np.concatenate([[0.0], closes])).round(9).tolist()
    return {"file": str(data), "point": overrides, "net": r["pnl"]["net"],
            "gross": r["pnl"]["gross"], "fees": r["pnl"]["fees"], "trades": r["n_trades"],
            "fills": r["fills"], "traded_lots": r["traded_lots"],
            "submitted_lots": engine.execution.submitted_lots,
            "slippage_vs_expected": r["pnl"]["slippage_vs_expected"],
            "sharpe_net": r["sharpe"]["net"], "minute_pnl": minute_pnl}


def _sharpe(changes: list[float]) -> float | None:
    if len(changes) < 2:
        return None
    sd = float(np.std(changes, ddof=1))
    return None if sd == 0 else round(float(np.mean(changes)) / sd * math.sqrt(MINUTES_PER_YEAR),
                                      6)


def merge(points: list[dict], results: list[dict]) -> dict:
    """Per-point totals over days, the per-day figures, and the failures."""
    merged = []
    for point in points:
        days = [r for r in results if r["point"] == point and "error" not in r]
        submitted = sum(d["submitted_lots"] for d in days)
        minutes = [x for d in days for x in d["minute_pnl"]]
        merged.append({
            "point": point,
            "days": [{k: d[k] for k in ("file", "net", "gross", "fees", "trades", "sharpe_net")}
                     for d in days],
            "net": round(sum(d["net"] for d in days), 6),
            "gross": round(sum(d["gross"] for d in days), 6),
            "fees": round(sum(d["fees"] for d in days), 6),
            "trades": sum(d["trades"] for d in days),
            "fill_rate": round(sum(d["traded_lots"] for d in days) / submitted, 6)
            if submitted else None,
            "slippage_vs_expected": round(sum(d["slippage_vs_expected"] for d in days), 6),
            "sharpe_net": _sharpe(minutes),
        })
    failures = [{"file": r["file"], "point": r["point"], "error": r["error"]}
                for r in results if "error" in r]
    return {"points": merged, "failures": failures}


def run_tasks(config: EngineConfig, files: list[str], points: list[dict], *,
              workers: int | None = None, address: str | None = None,
              progress: bool = True) -> list[dict]:
    """Every (file, point) replay; ``workers=0`` runs serially in this process."""
    tasks = [(f, p) for p in points for f in files]
    bar = tqdm(total=len(tasks), unit="replay", disable=not progress)
    if workers == 0:
        results = []
        for f, p in tasks:
            results.append(replay_point(config, f, p))
            bar.update()
        bar.close()
        return results
    import ray

    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(replay_point)
    try:
        pending = {remote.remote(config, f, p): k for k, (f, p) in enumerate(tasks)}
        results: list[dict | None] = [None] * len(tasks)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            k = pending.pop(done[0])
            try:
                results[k] = ray.get(done[0])
            except Exception as exc:  # a crashed worker: keep the others
                f, p = tasks[k]
                results[k] = {"file": f, "point": p, "error": f"{type(exc).__name__}: {exc}"}
            bar.update()
    finally:
        bar.close()
        if started:
            ray.shutdown()
    return [r for r in results if r is not None]


def data_files(paths: list[str | Path]) -> list[str]:
    """Message files of the given files and folders, in a stable order."""
    from connectors.lobster import find_pairs

    files: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            files += [str(p.message) for p in find_pairs(path)]
        else:
            files.append(str(path))
    return files


def sweep(config: EngineConfig, paths: list, points: list[dict], *, workers: int | None = None,
          address: str | None = None, progress: bool = True) -> dict:
    files = data_files(paths)
    start = time.perf_counter()
    results = run_tasks(config, files, points, workers=workers, address=address,
                        progress=progress)
    out = merge(points, results)
    out["files"] = files
    return {"result": out, "timing": {"wall_s": round(time.perf_counter() - start, 3),
                                      "workers": workers, "tasks": len(results)}}
