"""Connector benchmarks: frames/s parsed, sequence-checked and applied per venue format, and
frame received -> book updated latency over loopback against ``obflow venue-sim``.

``bench_connectors()`` returns ``{"connector_frames_per_s": {format: frames/s},
"connector_latency": {venue: {"p50_ns", "p99_ns", "count"}}}`` for ``obflow bench``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import orjson

from connectors.feed import ResyncWanted
from connectors.warmup import warm_up_parsers
from engine.config import parse_config
from engine.feed_runner import BookOnly
from engine.feed_runner import FeedConsumer
from engine.feed_runner import SymbolRunner
from engine.feed_runner import warm_up_feed_code
from replay.recorder import FeedLine
from replay.sim_flow import synthetic_lines
from replay.sim_process import SimProcess
from replay.sources import open_venue_source
from replay.venue_replay import feed_line
from replay.venue_replay import make_feed

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CAPTURES = {
    "binance_hftbacktest": ["binance/hftbacktest_binance_spot_btcusdt_20240808.gz"],
    "binance_cryptofeed": ["binance/cryptofeed_BINANCE-b38f7c_2021-04-05.raw.txt"],
    "coinbase_advanced_trade": ["coinbase/cryptofeed_COINBASE_advanced_trade_BTC-ETH-USD.jsonl.gz"],
}


def frames_per_s(venue: str, instruments: dict, symbols: list[str], lines: list[FeedLine],
                 repeats: int = 3) -> float:
    """Median frames/s of feed + symbol runner (book only) over lines held in memory."""
    rates = []
    for _ in range(repeats):
        feed = make_feed(venue, {s: instruments[s] for s in symbols})
        runners = {s: SymbolRunner(s, BookOnly(instruments[s]), feed.counters) for s in symbols}
        consume = FeedConsumer(runners).on_output
        t0 = time.perf_counter()
        for line in lines:
            for out in feed_line(feed, line):
                if not isinstance(out, ResyncWanted):
                    consume(out)
        rates.append(feed.counters.frames / (time.perf_counter() - t0))
    return statistics.median(rates)


def _exchange_feed_lines(n: int = 20_000) -> tuple[list[FeedLine], dict]:
    """The older Coinbase Exchange format, written from the synthetic Advanced Trade flow."""
    lines, instruments = synthetic_lines("coinbase", "BTC-USD", seed=3, start_ns=0)
    out = []
    for line in lines:
        msg = orjson.loads(line.payload)
        for event in msg["events"]:
            if msg["channel"] == "l2_data" and event["type"] == "snapshot":
                frame = {"type": "snapshot", "product_id": "BTC-USD",
                         "bids": [[u["price_level"], u["new_quantity"]] for u in event["updates"]
                                  if u["side"] == "bid"],
                         "asks": [[u["price_level"], u["new_quantity"]] for u in event["updates"]
                                  if u["side"] != "bid"]}
            elif msg["channel"] == "l2_data":
                frame = {"type": "l2update", "product_id": "BTC-USD", "time": msg["timestamp"],
                         "changes": [["buy" if u["side"] == "bid" else "sell", u["price_level"],
                                      u["new_quantity"]] for u in event["updates"]]}
            else:
                continue
            out.append(FeedLine(line.ts_recv, "ws", orjson.dumps(frame), line.line))
        if len(out) >= n:
            return out, instruments
    return out, instruments


def bench_formats() -> dict[str, float]:
    warm_up_feed_code()
    warm_up_parsers()
    result = {}
    for name, files in CAPTURES.items():
        paths = [SHARED / f for f in files]
        if not all(p.exists() for p in paths):
            continue
        source = open_venue_source(paths)
        lines = list(source.lines())
        result[name] = round(frames_per_s(source.venue, source.instruments, source.symbols,
                                          lines), 1)
    lines, instruments = _exchange_feed_lines()
    result["coinbase_exchange"] = round(frames_per_s("coinbase", instruments, ["BTC-USD"],
                                                     lines), 1)
    return result


async def _latency(venue: str, seconds: float, speed: str) -> dict:
    from engine.app.runtime import run_live

    symbol = "BTCUSDT" if venue == "binance" else "BTC-USD"
    async with SimProcess(venue, [], speed=speed) as sim:
        config = parse_config({"venue": sim.venue_table(venue, [symbol]),
                               "features": {"vpin_bucket_lots": 10**13}})
        session = await run_live(config, duration_s=seconds, status=lambda _: None)
    hist = session.latency
    return {"p50_ns": hist.quantile(0.5), "p99_ns": hist.quantile(0.99), "count": hist.count}


def bench_latency(seconds: float = 4.0, speed: str = "10") -> dict[str, dict]:
    """Synthetic flow at ``speed`` x real time (about 300 frames/s at 10): no backlog, so the
    figure is the connector's own path: websocket recv -> parse -> bus -> engine.process."""
    try:
        from uvloop import run  # what obflow live runs on
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        run = asyncio.run
    return {venue: run(_latency(venue, seconds, speed)) for venue in ("binance", "coinbase")}


def bench_connectors() -> dict:
    return {"connector_frames_per_s": bench_formats(), "connector_latency": bench_latency()}


def connector_table(result: dict) -> str:
    lines = [f"{'connector (feed + sync + book)':<34}{'frames/s':>16}"]
    lines += [f"{name:<34}{rate:>16,.0f}" for name, rate in
              result["connector_frames_per_s"].items()]
    lines.append(f"{'frame received -> book (loopback)':<34}{'p50 µs':>8}{'p99 µs':>8}"
                 f"{'frames':>8}")
    lines += [f"{venue:<34}{r['p50_ns'] / 1e3:>8.0f}{r['p99_ns'] / 1e3:>8.0f}{r['count']:>8,}"
              for venue, r in result["connector_latency"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(orjson.dumps(bench_connectors(), option=orjson.OPT_INDENT_2).decode())


__all__ = ["bench_connectors", "bench_formats", "bench_latency", "connector_table"]
