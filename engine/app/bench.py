"""``obflow bench``: throughput and stage latency on a synthetic day, as a table and JSON.

The synthetic day is the one ``obflow synth`` writes, simulated in memory and decoded by the
LOBSTER connector, so file parsing is timed separately from the book and the pipeline.
Each throughput figure is the median of several runs; machines are shared and noisy.
"""

from __future__ import annotations

import dataclasses
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
from engine.config import with_strategy
from engine.features import evaluate
from engine.loop import RING_FULL
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


def bench_loop(events: np.ndarray, config: EngineConfig, repeats: int = 5) -> float:
    """Events/s of the compiled loop: book plus all streaming feature state, no decisions."""
    timings = []
    for _ in range(repeats):
        engine = Engine(config, config.instrument.spec())
        book, fs, rest = engine.book, engine.features, engine.execution.resting
        book.fit(int(events["px_ticks"].min()), int(events["px_ticks"].max()))
        i = 0
        t0 = time.perf_counter()
        while i < len(events):
            i, reason = run_until(book.bid, book.ask, book.hdr, fs.state, fs.params,
                                  fs.ring_ts, fs.ring_cum, fs.ring_mid2, fs.ptr,
                                  rest.orders, rest.fills, rest.info, rest.power,
                                  events, i, NEVER, NEVER, True)
            if reason == RING_FULL:
                fs.grow()
        timings.append(time.perf_counter() - t0)
    return _median_rate(len(events), timings)


def bench_feature_blocks(events: np.ndarray, config: EngineConfig, block: int = 1000,
                         ) -> dict:
    """Per-event cost of the compiled loop (book + all feature state) in blocks of ``block``
    messages, and the cost of one feature-vector evaluation, as p50/p99 over blocks/calls."""
    engine = Engine(config, config.instrument.spec())
    book, fs, rest = engine.book, engine.features, engine.execution.resting
    book.fit(int(events["px_ticks"].min()), int(events["px_ticks"].max()))
    per_event = []
    per_vector = []
    i, n = 0, len(events)
    out = engine.fvec_all
    while i < n:
        t0 = time.perf_counter_ns()
        j, _ = run_until(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts,
                         fs.ring_cum, fs.ring_mid2, fs.ptr, rest.orders, rest.fills, rest.info,
                         rest.power, events, i, NEVER, block, True)
        t1 = time.perf_counter_ns()
        if j == i:  # the ring needs room
            fs.grow()
            continue
        per_event.append((t1 - t0) / (j - i))
        t2 = time.perf_counter_ns()
        evaluate(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts, fs.ring_cum,
                 fs.ring_mid2, fs.ptr, fs.levels_book, int(events["ts_event"][j - 1]), out)
        per_vector.append(time.perf_counter_ns() - t2)
        i = j
    return {"features_ns_per_event": {"p50": round(float(np.percentile(per_event, 50)), 1),
                                      "p99": round(float(np.percentile(per_event, 99)), 1),
                                      "block_messages": block},
            "feature_vector_ns": {"p50": round(float(np.percentile(per_vector, 50)), 1),
                                  "p99": round(float(np.percentile(per_vector, 99)), 1)}}


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


#: What ``obflow bench`` can run; ``--only`` picks some of them.
SECTIONS = ("core", "predictor", "connectors", "live")


def run_bench(events: int = 1_000_000, json_path: str | Path | None = None,
              only: tuple[str, ...] = SECTIONS) -> dict:
    result: dict = {}
    if "core" in only:
        result.update(bench_core(events))
    if "predictor" in only:
        from engine.app.predictor_bench import bench_predictor
        from engine.app.predictor_bench import bench_table

        result["predictor"] = bench_predictor()
        print("\n" + bench_table(result["predictor"]))
    if "connectors" in only:
        from engine.app.connector_bench import bench_connectors
        from engine.app.connector_bench import connector_table

        result.update(bench_connectors())
        print("\n" + connector_table(result))
    if "live" in only:
        from engine.app.live_bench import bench_live_latency
        from engine.app.live_bench import live_table

        result["live_latency"] = bench_live_latency()
        print("\n" + live_table(result["live_latency"]))
    result["machine"] = {"python": platform.python_version(), "numpy": np.__version__,
                         "numba": numba.__version__,
                         "cpu": platform.processor() or platform.machine()}
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(f"wrote {json_path}")
    return result


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / \
    "microprice_momentum.py"


class _Silent:
    """The Python strategy contract at its cheapest: decides nothing, every decision."""

    name = "python_silent"

    def on_decision(self, view) -> list:
        return []


def bench_core(events: int) -> dict:
    """Book, compiled loop, features and the full pipeline on a synthetic day."""
    from replay.synth import SynthConfig
    from replay.synth import simulate

    warm_up()
    t0 = time.perf_counter()
    day = simulate(SynthConfig(events=events, levels=10, seed=1))
    simulate_s = time.perf_counter() - t0
    config = with_strategy(EngineConfig(instrument=InstrumentConfig(
        symbol="SYNTH", tick_size="0.01")), "imbalance_momentum")
    instrument = config.instrument.spec()
    t0 = time.perf_counter()
    batch = decode(day.messages, day.orderbook, instrument, source="synthetic")
    decode_s = time.perf_counter() - t0
    book_rate = bench_book(batch)
    loop_rate = bench_loop(batch, config)
    blocks = bench_feature_blocks(batch, config)
    pipeline_rate, engine = bench_pipeline(batch, config)
    # The same with every decision taken from Python: what the compiled loop saves.
    from_python = dataclasses.replace(config, replay=dataclasses.replace(config.replay,
                                                                     compiled_loop=False))
    python_rate, _ = bench_pipeline(batch, from_python, repeats=1)
    # A strategy from a file outside the packages, and one on the Python contract. Each
    # also without entries, where only the decision path is timed: a built-in against it.
    example_rate = example_quiet_rate = None
    quiet_builtin = dataclasses.replace(config, strategy=dataclasses.replace(
        config.strategy, threshold=0.999))
    builtin_quiet_rate, _ = bench_pipeline(batch, quiet_builtin, repeats=1)
    if EXAMPLE.exists():
        example = with_strategy(config, f"{EXAMPLE}:MicropriceMomentum")
        example_rate, _ = bench_pipeline(batch, example, repeats=1)
        example_quiet_rate, _ = bench_pipeline(batch, dataclasses.replace(
            example, strategy=dataclasses.replace(example.strategy, min_lean_bps=1e9)),
            repeats=1)
    silent = Engine(config, instrument, strategy=_Silent())
    t0 = time.perf_counter()
    run(silent, [ReplaySession("synthetic", batch)], config.replay.chunk_events)
    python_contract_rate = len(batch) / (time.perf_counter() - t0)
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
        "features_pipeline_events_per_s": round(pipeline_rate, 1),
        "pipeline_python_decisions_events_per_s": round(python_rate, 1),
        "pipeline_example_strategy_events_per_s": (round(example_rate, 1) if example_rate
                                                   else None),
        "pipeline_no_entries_builtin_events_per_s": round(builtin_quiet_rate, 1),
        "pipeline_no_entries_example_events_per_s": (round(example_quiet_rate, 1)
                                                     if example_quiet_rate else None),
        "pipeline_python_contract_events_per_s": round(python_contract_rate, 1),
        # Carried out in Python: the loop's decisions that emitted intents, and those
        # taken from Python (risk due, orders in flight).
        "python_decisions": engine.latency.summary()["end_to_end"]["count"],
        "n_features": len(engine.schema.names),
        **blocks,
        "decode_events_per_s": round(len(batch) / decode_s, 1),
        "simulate_s": round(simulate_s, 3),
        "stages": stages,
    }
    print(format_table(result))
    return result


def format_table(result: dict) -> str:
    lines = [
        f"synthetic day: {result['messages']:,} messages, {result['events']:,} events, "
        f"{result['decisions']:,} decisions",
        f"{'what':<34}{'events/s':>16}",
        f"{'book only (apply_events)':<34}{result['book_events_per_s']:>16,.0f}",
        f"{'loop: book + feature state':<34}{result['loop_events_per_s']:>16,.0f}",
        f"{'full pipeline, 100 ms decisions':<34}{result['pipeline_events_per_s']:>16,.0f}"
        f"  ({result['python_decisions']:,} decisions in Python)",
        f"{'  the same, every decision in Python':<34}"
        f"{result['pipeline_python_decisions_events_per_s']:>16,.0f}",
        *([f"{'  example strategy, from its file':<34}"
           f"{result['pipeline_example_strategy_events_per_s']:>16,.0f}",
           f"{'  no entries: built-in momentum':<34}"
           f"{result['pipeline_no_entries_builtin_events_per_s']:>16,.0f}",
           f"{'  no entries: example strategy':<34}"
           f"{result['pipeline_no_entries_example_events_per_s']:>16,.0f}"]
          if result["pipeline_example_strategy_events_per_s"] else []),
        f"{'  a Python on_decision strategy':<34}"
        f"{result['pipeline_python_contract_events_per_s']:>16,.0f}",
        f"{'LOBSTER decode (arrays -> events)':<34}{result['decode_events_per_s']:>16,.0f}",
        "",
        f"all {result['n_features']} features: loop ns/event p50 "
        f"{result['features_ns_per_event']['p50']:.1f}, p99 "
        f"{result['features_ns_per_event']['p99']:.1f} (blocks of 1,000 messages); "
        f"vector ns p50 {result['feature_vector_ns']['p50']:.0f}, p99 "
        f"{result['feature_vector_ns']['p99']:.0f}",
        "",
        f"{'stage':<14}{'p50 ns':>10}{'p99 ns':>10}{'p99.9 ns':>10}{'max ns':>12}{'count':>10}"
        f"{'over':>6}",
    ]
    for name, s in result["stages"].items():
        lines.append(f"{name:<14}{s['p50_ns']:>10,}{s['p99_ns']:>10,}{s['p999_ns']:>10,}"
                     f"{s['max_ns']:>12,}{s['count']:>10,}{s['over_budget']:>6}")
    return "\n".join(lines)
