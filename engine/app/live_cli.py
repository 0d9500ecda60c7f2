"""The ``obflow live`` command around ``engine.app.runtime.run_live``: run, then summarise."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

from connectors.config import check_venue
from connectors.config import ws_base
from engine.app.runtime import run_live
from engine.app.runtime import status_line
from engine.config import EngineConfig
from engine.report import build_result
from engine.report import build_timing
from engine.report import summary_text
from engine.report import write_report


def session_results(session, wall_s: float) -> dict[str, tuple[dict, dict]]:
    """Per symbol: the deterministic result (with the feed's counters) and the timing."""
    out = {}
    for symbol, engine in session.engines.items():
        result = build_result(engine, [engine.source or symbol])
        runner = session.runners[symbol]
        result["feed"] = {"symbol": symbol, "sessions": runner.sessions,
                          "synced": runner.synced}
        timing = build_timing(engine, wall_s)
        timing["frame_to_book"] = {"p50_ns": session.latency.quantile(0.5),
                                   "p99_ns": session.latency.quantile(0.99),
                                   "count": session.latency.count}
        out[symbol] = (result, timing)
    return out


async def live_main(config: EngineConfig, record: Path | None, duration_s: float | None,
                    out: Path | None) -> int:
    venue = check_venue(config.venue)
    print(f"obflow live: {venue.name} {', '.join(venue.symbols)} via {ws_base(venue)}"
          + (f", recording to {record}" if record else ""), flush=True)
    out = out or Path(config.report.out)

    def started(session) -> None:
        if session.metrics_url:
            print(f"obflow live: metrics at {session.metrics_url}", flush=True)

    start = time.perf_counter()
    session = await run_live(config, record=record, duration_s=duration_s,
                             status=lambda line: print(line, flush=True), on_start=started)
    wall = time.perf_counter() - start
    print(f"\nobflow live: stopped after {wall:.1f} s")
    print(status_line(session))
    print("feed counters: " + orjson.dumps(
        {k: v for k, v in session.counters.as_dict().items() if k != "by_symbol"}).decode())
    for symbol, (result, timing) in session_results(session, wall).items():
        print(f"\n== {symbol} ==")
        print(summary_text(result, timing, session.engines[symbol]))
        path = write_report(out / symbol, result, timing)
        print(f"report: {path}")
    if session.recording:
        print(f"recording: {session.recording}")
    sys.stdout.flush()
    return 0


__all__ = ["live_main", "session_results"]
