"""``obflow replay``: load the data, run the engine through the player, write the report.

Historical files (LOBSTER, Tardis, Algoseek, event Parquet) are decoded into events and
played; venue captures and recordings go through the live feed code (``replay.venue_replay``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.pipeline import Engine
from engine.report import build_result
from engine.report import build_timing
from engine.report import write_report
from replay.historical import historical_format
from replay.historical import open_historical
from replay.player import run


@dataclass(frozen=True)
class ReplayOutcome:
    engine: Engine
    result: dict
    timing: dict
    report_path: Path | None


def run_replay(config: EngineConfig, data: str | Path | list | None = None,
               out: str | Path | None = None, *, symbol: str | None = None) -> ReplayOutcome:
    data = data or config.data.path
    if not data:
        raise ConfigError("data.path", "no data: set data.path or pass --data")
    paths = list(data) if isinstance(data, list | tuple) else [data]
    if historical_format(paths) is None:
        from replay.venue_replay import run_venue_replay  # recordings and captures

        return run_venue_replay(config, paths, out, symbol)
    data = open_historical(paths, config, symbol=symbol)
    engine = Engine(config, data.instrument)
    start = time.perf_counter()
    run(engine, data.sessions, config.replay.chunk_events)
    wall = time.perf_counter() - start
    result = build_result(engine, data.sources)
    if data.report_input():
        result["input"] = data.report_input()
    timing = build_timing(engine, wall)
    path = write_report(out, result, timing, engine) if out else None
    return ReplayOutcome(engine, result, timing, path)
