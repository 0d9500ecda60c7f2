"""Replay venue data (recordings and captures) through the live feed code, frame by frame.

``feed_line`` is the one place where a recorded input meets a feed, with the same methods
the live connector calls; ``drive`` passes the outputs to the same ``SymbolRunner`` that live
trading uses, so a recording replays to the books and decisions of its session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from connectors.binance import BinanceFeed
from connectors.coinbase import CoinbaseFeed
from connectors.config import VenueConfig
from connectors.feed import BookBatch
from connectors.feed import Output
from connectors.feed import ResyncWanted
from connectors.feed import VenueFeed
from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.errors import DataError
from engine.feed_runner import FeedConsumer
from engine.feed_runner import SymbolRunner
from engine.instrument import InstrumentSpec
from replay.recorder import FeedLine
from replay.sources import VenueSource
from replay.sources import open_venue_source

FEEDS: dict[str, type[VenueFeed]] = {"binance": BinanceFeed, "coinbase": CoinbaseFeed}


def make_feed(venue: str, instruments: dict[str, InstrumentSpec],
              config: VenueConfig | None = None) -> VenueFeed:
    config = config or VenueConfig()
    if venue not in FEEDS:
        raise ConfigError("venue.name", f"no feed for venue {venue!r}")
    if venue == "binance":
        return BinanceFeed(instruments, buffer_limit=config.buffer_limit,
                           audit_levels=config.audit_levels)
    return FEEDS[venue](instruments)


def feed_line(feed: VenueFeed, line: FeedLine) -> list[Output]:
    """One recorded input into the feed, through the method live trading used for it."""
    tag = line.tag
    if tag == "ws":
        return feed.on_frame(line.payload, line.ts_recv)
    if tag == "connect":
        return feed.on_connect()
    kind, _, symbol = tag.partition(":")
    if kind in ("depth", "audit"):
        return feed.on_rest(kind, symbol, line.payload, line.ts_recv)
    if kind == "invalidate" and symbol in feed.instruments:
        return feed.invalidate(symbol, line.payload.decode())
    return []


class StopReplay(Exception):
    """Raised by a consumer to end ``drive`` early (``obflow book --at``)."""


def drive(source: VenueSource, feed: VenueFeed, consume: Callable[[Output], None],
          on_stop: Callable[[FeedLine], None] | None = None) -> int:
    """Feed every line; returns the number of lines read. ``on_stop`` sees the ``stop``
    line with which a live session's recording ends (where it stopped trading)."""
    n = 0
    try:
        for line in source.lines():
            n += 1
            if line.tag == "stop" and on_stop is not None:
                on_stop(line)
            for out in feed_line(feed, line):
                if not isinstance(out, ResyncWanted):  # the recording holds what followed
                    consume(out)
    except StopReplay:
        pass
    return n


def resolve_instruments(source: VenueSource, config: VenueConfig,
                        symbols: list[str]) -> dict[str, InstrumentSpec]:
    """Config ``[venue.instruments]`` first, then the data's own metadata."""
    given = config.instrument_specs()
    out = {}
    for symbol in symbols:
        spec = given.get(symbol) or source.instruments.get(symbol)
        if spec is None:
            raise DataError(source.name, 0, f"no tick size for {symbol}: add "
                            f"[venue.instruments.{symbol}] to the config")
        out[symbol] = spec
    return out


def pick_symbol(source: VenueSource, symbol: str | None, fallback: str = "") -> str:
    if symbol:
        if symbol not in source.symbols:
            raise ConfigError("--symbol", f"{symbol} is not in {source.name} (it has "
                              f"{', '.join(source.symbols)})")
        return symbol
    if len(source.symbols) == 1:
        return source.symbols[0]
    if fallback in source.symbols:
        return fallback
    raise ConfigError("--symbol", f"{source.name} holds {len(source.symbols)} symbols "
                      f"({', '.join(source.symbols)}); choose one with --symbol")


def run_venue_replay(config: EngineConfig, data: list[str | Path], out: str | Path | None,
                     symbol: str | None = None):
    """``obflow replay`` on venue data: one engine for one symbol, report as for LOBSTER."""
    from engine.pipeline import Engine
    from engine.report import build_result
    from engine.report import build_timing
    from engine.report import write_report
    from replay.backtest import ReplayOutcome

    source = open_venue_source(data)
    symbol = pick_symbol(source, symbol, config.venue.symbols[0] if config.venue.symbols
                         else config.instrument.symbol)
    instruments = resolve_instruments(source, config.venue, [symbol])
    feed = make_feed(source.venue, instruments, config.venue)
    engine = Engine(config, instruments[symbol])
    runner = SymbolRunner(symbol, engine, feed.counters, prune_far_pct=config.venue.prune_far_pct,
                          source=f"{source.venue}:{symbol}")  # as live names it
    start = time.perf_counter()
    stopped: list[FeedLine] = []
    drive(source, feed, FeedConsumer({symbol: runner}).on_output, stopped.append)
    if stopped:  # the live session flattened here
        engine.shutdown()
    else:
        engine.finish()
    wall = time.perf_counter() - start
    result = build_result(engine, [p.name for p in source.paths])
    result["feed"] = {"venue": source.venue, "symbol": symbol, "format": source.format,
                      "sessions": runner.sessions, "counters": feed.counters.as_dict()}
    timing = build_timing(engine, wall)
    path = write_report(out, result, timing) if out else None
    return ReplayOutcome(engine, result, timing, path)


def last_event_ns(out: Output) -> int | None:
    if isinstance(out, BookBatch) and len(out.events):
        return int(out.events["ts_event"].max())
    return None


__all__ = ["StopReplay", "drive", "feed_line", "make_feed", "pick_symbol",
           "resolve_instruments", "run_venue_replay"]
