"""``live_latency`` for ``obflow bench``: frame received -> order decided in a live session.

``obflow venue-sim`` replays a Binance capture (the shared hftbacktest BTCUSDT day when it
is there, else the synthetic flow) over loopback at the capture's own rate and at 10x; the
engine decides on every frame, so each frame gives one sample of the ``end_to_end`` stage:
websocket receive -> parse -> sequence check -> bus -> book -> features -> strategy -> risk
-> paper order. The 10x run is repeated with ``busy_poll`` (the loop never sleeps).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.app.connector_bench import CAPTURES
from engine.app.connector_bench import SHARED
from engine.config import parse_config
from replay.sim_process import SimProcess

CAPTURE = SHARED / CAPTURES["binance_hftbacktest"][0]
SYMBOL = "BTCUSDT"
#: (label, speed, seconds, busy_poll)
RUNS = (("1x", "1", 20.0, False), ("10x", "10", 10.0, False),
        ("10x_busy_poll", "10", 10.0, True))


async def live_run(data: list[Path], speed: str, seconds: float, busy_poll: bool) -> dict:
    """One live session against the simulator; the stage figures of its engine."""
    from engine.app.runtime import run_live

    async with SimProcess("binance", data, speed=speed) as sim:
        config = parse_config({
            "venue": sim.venue_table("binance", [SYMBOL], busy_poll=busy_poll),
            "replay": {"decision_every_messages": 1},
            "features": {"vpin_bucket_lots": 10**12, "slope_lots": 10**7},
            "strategy": {"lag_ms": 200, "threshold": 0.05, "hold_ms": 2000,
                         "order_lots": 100_000},
            "risk": {"max_position_lots": 300_000, "max_order_lots": 300_000}})
        session = await run_live(config, duration_s=seconds, status=lambda _: None)
    engine = session.engines[SYMBOL]
    e2e = engine.latency.stages["end_to_end"]
    return {"p50_ns": e2e.quantile(0.5), "p99_ns": e2e.quantile(0.99),
            "p999_ns": e2e.quantile(0.999), "max_ns": e2e.max_ns, "count": e2e.count,
            "over_budget": e2e.over_budget, "frames": session.counters.frames,
            "frames_per_s": round(session.counters.frames / seconds, 1),
            "orders": len(engine.intents),
            "frame_to_book_p50_ns": session.latency.quantile(0.5)}


def bench_live_latency(runs=RUNS) -> dict:
    """``{"data": ..., "1x": {...}, "10x": {...}, "10x_busy_poll": {...}}``."""
    try:
        from uvloop import run  # what obflow live runs on
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        run = asyncio.run
    data = [CAPTURE] if CAPTURE.exists() else []
    result: dict = {"data": CAPTURE.name if data else "synthetic flow"}
    for label, speed, seconds, busy_poll in runs:
        result[label] = run(live_run(data, speed, seconds, busy_poll))
    return result


def live_table(result: dict) -> str:
    lines = [f"live: frame received -> order decided, venue-sim over loopback ({result['data']})",
             f"{'rate':<16}{'frames/s':>10}{'p50 µs':>10}{'p99 µs':>10}{'p99.9 µs':>10}"
             f"{'samples':>10}{'orders':>8}"]
    for label, r in result.items():
        if isinstance(r, dict):
            lines.append(f"{label:<16}{r['frames_per_s']:>10,.0f}{r['p50_ns'] / 1e3:>10.0f}"
                         f"{r['p99_ns'] / 1e3:>10.0f}{r['p999_ns'] / 1e3:>10.0f}"
                         f"{r['count']:>10,}{r['orders']:>8,}")
    return "\n".join(lines)


__all__ = ["bench_live_latency", "live_run", "live_table"]
