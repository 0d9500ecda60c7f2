"""``obflow bench``: throughput and stage latency on a synthetic day, as a table and JSON.

The synthetic day is the one ``obflow synth`` writes, simulated in memory and decoded by the
LOBSTER connector, so file parsing is timed separately from the book and the pipeline.
Each throughput figure is the median of several runs; machines are shared and noisy.
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

import numba
import numpy as np
import orjson

from connectors.lobster import decode
from engine.book import L2Book
from engine.book import apply_events
from engine.config import EngineConfig
from engine.config import InstrumentConfig
from engine.features import new_state
from engine.loop import run_until
from engine.pipeline import Engine
from engine.warmup import warm_up
from replay.player import ReplaySession
from replay.player import run

NEVER = np.iinfo(np.int64).max


def _median_rate(n: int, timings: list[float]) -> float:
    return n / statistics.median(timings)


def bench_book(events: np.ndarray, repeats: int = 5) -> float:
    """Events/s of applying every event to a fresh book (arrays pre-sized)."""
    timings = []
    for _ in range(repeats):
        book = L2Book.covering(events)
        t0 = time.perf_counter()
        apply_events(book.bid, book.ask, book.hdr, events, 0, len(events))
        timings.append(time.perf_counter() - t0)
    return _median_rate(len(events), timings)


def bench_loop(events: np.ndarray, repeats: int = 5) -> float:
    """Events/s of the compiled loop: book plus streaming feature state, no decisions."""
    timings = []
    for _ in range(repeats):
        book = L2Book.covering(events)
        state = new_state()
        t0 = time.perf_counter()
        run_until(book.bid, book.ask, book.hdr, state, events, 0, NEVER, NEVER, True)
        timings.append(time.perf_counter() - t0)
    return _median_rate(len(events), timings)


def bench_pipeline(events: np.ndarray, config: EngineConfig, repeats: int = 3,
                   ) -> tuple[float, Engine]:
    """Events/s of the whole pipeline through the bus, decisions every 100 ms of event time."""
    timings = []
    engine = None
    for _ in range(repeats):
        engine = Engine(config, config.instrument.spec())
        t0 = time.perf_counter()
        run(engine, [ReplaySession("synthetic", events)], config.replay.chunk_events)
        timings.append(time.perf_counter() - t0)
    return _median_rate(len(events), timings), engine


def run_bench(events: int = 1_000_000, json_path: str | Path | None = None) -> dict:
    from replay.synth import SynthConfig
    from replay.synth import simulate

    warm_up()
    t0 = time.perf_counter()
    day = simulate(SynthConfig(events=events, levels=10, seed=1))
    simulate_s = time.perf_counter() - t0
    config = EngineConfig(instrument=InstrumentConfig(symbol="SYNTH", tick_size="0.01"))
    instrument = config.instrument.spec()
    t0 = time.perf_counter()
    batch = decode(day.messages, day.orderbook, instrument, source="synthetic")
    decode_s = time.perf_counter() - t0
    book_rate = bench_book(batch)
    loop_rate = bench_loop(batch)
    pipeline_rate, engine = bench_pipeline(batch, config)
    keys = ("p50_ns", "p99_ns", "p999_ns", "max_ns", "count", "over_budget")
    stages = {name: {k: s[k] for k in keys}
              for name, s in engine.latency.summary().items()}
    result = {
        "messages": int(day.messages.shape[0]),
        "events": len(batch),
        "decisions": engine.decisions,
        "book_events_per_s": round(book_rate, 1),
        "loop_events_per_s": round(loop_rate, 1),
        "pipeline_events_per_s": round(pipeline_rate, 1),
        "decode_events_per_s": round(len(batch) / decode_s, 1),
        "simulate_s": round(simulate_s, 3),
        "stages": stages,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "numba": numba.__version__, "cpu": platform.processor() or platform.machine()},
    }
    print(format_table(result))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(f"wrote {json_path}")
    return result


def format_table(result: dict) -> str:
    lines = [
        f"synthetic day: {result['messages']:,} messages, {result['events']:,} events, "
        f"{result['decisions']:,} decisions",
        f"{'what':<34}{'events/s':>16}",
        f"{'book only (apply_events)':<34}{result['book_events_per_s']:>16,.0f}",
        f"{'loop: book + feature state':<34}{result['loop_events_per_s']:>16,.0f}",
        f"{'full pipeline, 100 ms decisions':<34}{result['pipeline_events_per_s']:>16,.0f}",
        f"{'LOBSTER decode (arrays -> events)':<34}{result['decode_events_per_s']:>16,.0f}",
        "",
        f"{'stage':<14}{'p50 ns':>10}{'p99 ns':>10}{'p99.9 ns':>10}{'max ns':>12}{'count':>10}"
        f"{'over':>6}",
    ]
    for name, s in result["stages"].items():
        lines.append(f"{name:<14}{s['p50_ns']:>10,}{s['p99_ns']:>10,}{s['p999_ns']:>10,}"
                     f"{s['max_ns']:>12,}{s['count']:>10,}{s['over_budget']:>6}")
    return "\n".join(lines)
