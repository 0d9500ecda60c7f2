"""``obflow replay``: load the data, run the engine through the player, write the report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connectors.lobster import find_pairs
from connectors.lobster import load_day
from connectors.lobster import utc_offset_ns
from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.instrument import InstrumentSpec
from engine.pipeline import Engine
from engine.report import build_result
from engine.report import build_timing
from engine.report import write_report
from replay.player import ReplaySession
from replay.player import run
from replay.sources import detect_format


@dataclass(frozen=True)
class ReplayOutcome:
    engine: Engine
    result: dict
    timing: dict
    report_path: Path | None


def lobster_sessions(path: str | Path, instrument: InstrumentSpec) -> Iterator[ReplaySession]:
    """One session per LOBSTER pair, decoded as the player reaches it."""
    for pair in find_pairs(path):
        day = load_day(pair, instrument)
        yield ReplaySession(str(pair.message), day.events, utc_offset_ns(pair.date))


def run_replay(config: EngineConfig, data: str | Path | list | None = None,
               out: str | Path | None = None, *, symbol: str | None = None) -> ReplayOutcome:
    data = data or config.data.path
    if not data:
        raise ConfigError("data.path", "no data: set data.path or pass --data")
    paths = list(data) if isinstance(data, list | tuple) else [data]
    if len(paths) > 1 or detect_format(paths[0]) != "lobster":
        from replay.venue_replay import run_venue_replay  # recordings and captures

        return run_venue_replay(config, paths, out, symbol)
    data = paths[0]
    instrument = config.instrument.spec()
    pairs = find_pairs(data)
    engine = Engine(config, instrument)
    start = time.perf_counter()
    run(engine, lobster_sessions(data, instrument), config.replay.chunk_events)
    wall = time.perf_counter() - start
    result = build_result(engine, [p.message.name for p in pairs])
    timing = build_timing(engine, wall)
    path = write_report(out, result, timing, engine) if out else None
    return ReplayOutcome(engine, result, timing, path)
