"""``obflow live``: connector task -> bus -> one engine per symbol, on uvloop.

The connector publishes each frame's outputs on the bus; the consumer hands them to the
symbol runners, which call ``engine.process`` once per frame. Engines (and numba) are warmed
up and the metrics endpoint is listening before the first subscription. SIGINT/SIGTERM stop
the connector, the consumer drains the bus, every engine stops trading and flattens at its
book (``Engine.shutdown``), the recording ends with a ``stop`` line (so its replay flattens
at the same point) and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from connectors.base import ConnectorSettings
from connectors.base import StreamConnector
from connectors.base import Transport
from connectors.base import WebsocketTransport
from connectors.binance import BinanceConnector
from connectors.binance import parse_exchange_info
from connectors.coinbase import CoinbaseConnector
from connectors.coinbase import parse_products
from connectors.config import VenueConfig
from connectors.config import check_venue
from connectors.config import rest_base
from connectors.config import ws_base
from connectors.warmup import warm_up_parsers
from engine.bus import END_OF_DATA
from engine.bus import Bus
from engine.bus import Topic
from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.errors import TransportError
from engine.feed import BookBatch
from engine.feed import FeedCounters
from engine.feed_runner import SymbolRunner
from engine.feed_runner import warm_up_feed_code
from engine.instrument import InstrumentSpec
from engine.latency import LatencyHistogram
from engine.metrics import EngineCollector
from engine.metrics import serve_metrics
from engine.pipeline import Engine
from replay.recorder import Recorder
from replay.venue_replay import make_feed


@dataclass
class LiveSession:
    """What a live run leaves behind, for the summary and for tests."""

    engines: dict[str, Engine]
    runners: dict[str, SymbolRunner]
    counters: FeedCounters
    latency: LatencyHistogram  #: frame received -> book updated (wall clock)
    connector: StreamConnector | None = None
    recording: Path | None = None
    metrics_url: str = ""
    started_ns: int = field(default_factory=time.time_ns)


async def fetch_instruments(venue: VenueConfig, transport: Transport,
                            ) -> dict[str, InstrumentSpec]:
    """Config instruments, and the venue's metadata for the rest."""
    specs = venue.instrument_specs()
    missing = [s for s in venue.symbols if s not in specs]
    if missing:
        if venue.name == "binance":
            symbols = ",".join(f'"{s}"' for s in missing)
            body = await transport.get(f"{rest_base(venue)}/api/v3/exchangeInfo?"
                                       f"symbols=[{symbols}]")
            found = parse_exchange_info(body)
        else:
            body = await transport.get(f"{rest_base(venue)}/api/v3/brokerage/market/products")
            found = parse_products(body)
        for symbol in missing:
            if symbol not in found:
                raise ConfigError("venue.symbols", f"{venue.name} does not list {symbol}")
            specs[symbol] = found[symbol]
    return {s: specs[s] for s in venue.symbols}


def build_connector(venue: VenueConfig, feed, transport: Transport, sink, recorder,
                    ) -> StreamConnector:
    settings = ConnectorSettings(stale_after_s=venue.stale_after_s,
                                 backoff_initial_s=venue.backoff_initial_s,
                                 backoff_max_s=venue.backoff_max_s)
    if venue.name == "binance":
        return BinanceConnector(feed, transport, sink, ws_base=ws_base(venue),
                                rest_base=rest_base(venue), trades=venue.trades,
                                book_ticker=venue.book_ticker, depth_limit=venue.depth_limit,
                                audit_interval_s=venue.audit_interval_s,
                                audit_limit=venue.audit_limit, settings=settings,
                                recorder=recorder)
    return CoinbaseConnector(feed, transport, sink, ws_base=ws_base(venue),
                             trades=bool(venue.trades), settings=settings, recorder=recorder)


async def run_live(config: EngineConfig, *, record: str | Path | None = None,
                   duration_s: float | None = None, stop: asyncio.Event | None = None,
                   transport: Transport | None = None, status=print,
                   on_start=None) -> LiveSession:
    """Trade on paper until ``stop`` is set, a signal arrives, or ``duration_s`` passes.

    ``on_start(session)`` is called once the engines and runners exist (tests, monitors).
    """
    venue = check_venue(config.venue)
    if not venue.name or not venue.symbols:
        raise ConfigError("venue", "live trading needs [venue] name and symbols")
    transport = transport or WebsocketTransport(
        venue.name, ping_interval_s=venue.ping_interval_s, ping_timeout_s=venue.ping_timeout_s)
    stop = stop or asyncio.Event()
    record = record or venue.record or None
    try:  # everything that can refuse the config, before a file or a subscription exists
        try:
            instruments = await fetch_instruments(venue, transport)
        except TransportError as exc:
            raise ConfigError("venue.rest_url", f"cannot read instruments: {exc}") from None
        # Live, every decision is timed: each is taken from Python (through the same compiled
        # decide), none inside the loop.
        engines = {s: Engine(config, spec, compiled_loop=False)  # also warms numba
                   for s, spec in instruments.items()}
        warm_up_feed_code()
        warm_up_parsers()
        # Everything loaded so far (modules, compiled code, the model) lives for the whole
        # session: move it out of the collector's sight, so that a full collection while
        # trading scans only what trading allocates (one took 58 ms here before).
        gc.collect()
        gc.freeze()
        feed = make_feed(venue.name, instruments, venue)
        session = LiveSession(engines, {}, feed.counters, LatencyHistogram("frame_to_book"),
                              recording=Path(record) if record else None)
        server = _start_metrics(config, session, venue.name)
    except BaseException:
        await transport.aclose()
        raise
    recorder = Recorder(record, venue=venue.name, instruments=instruments) if record else None
    bus = Bus()
    queue = bus.subscribe(Topic.MARKET_DATA, "engines", maxsize=100_000)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)

    async def sink(output) -> None:
        await bus.publish(Topic.MARKET_DATA, output)

    connector = build_connector(venue, feed, transport, sink, recorder)
    session.connector = connector
    session.runners = {s: SymbolRunner(
        s, engines[s], feed.counters, prune_far_pct=venue.prune_far_pct, source=f"{venue.name}:{s}",
        request_resync=lambda sym, why: connector.spawn(connector.request_resync(sym, why)),
        live=True) for s in instruments}
    if on_start is not None:
        on_start(session)
    consumer = asyncio.ensure_future(_consume(queue, session))
    reader = asyncio.ensure_future(connector.run())
    printer = asyncio.ensure_future(_print_status(session, venue.summary_interval_s, status))
    spinner = asyncio.ensure_future(_spin()) if venue.busy_poll else None
    try:
        if duration_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration_s)
        else:
            await stop.wait()
    finally:
        connector.stop()
        await reader
        printer.cancel()
        if spinner is not None:
            spinner.cancel()
        await bus.publish(Topic.MARKET_DATA, END_OF_DATA)
        await consumer
        for engine in engines.values():
            engine.shutdown()
        if recorder is not None:
            recorder.write(time.time_ns(), "stop", b"{}")
            recorder.close()
        await transport.aclose()
        if server is not None:
            server.shutdown()
            server.server_close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    return session


def _start_metrics(config: EngineConfig, session: LiveSession, venue: str):
    metrics = config.metrics
    if not metrics.port:
        return None
    collector = EngineCollector(session.engines, {venue: session.counters})
    try:
        server, _ = serve_metrics(metrics.port, collector, addr=metrics.addr)
    except OSError as exc:
        raise ConfigError("metrics.port", f"cannot serve metrics on {metrics.addr}:"
                          f"{metrics.port}: {exc.strerror or exc}") from None
    session.metrics_url = f"http://{metrics.addr}:{metrics.port}/metrics"
    return server


async def _consume(queue, session: LiveSession) -> None:
    runners = session.runners
    latency = session.latency
    while True:
        out = await queue.get()
        if out is END_OF_DATA:
            return
        runner = runners.get(getattr(out, "symbol", ""))
        if runner is None:
            continue
        runner.on_output(out)
        if isinstance(out, BookBatch):
            latency.record(time.time_ns() - out.ts_recv)


def status_line(session: LiveSession) -> str:
    c = session.counters
    parts = []
    for symbol, runner in session.runners.items():
        engine = session.engines[symbol]
        spec = engine.instrument
        bid, ask = engine.book.best_bid_tick(), engine.book.best_ask_tick()
        touch = (f"{spec.ticks_to_price(bid)}/{spec.ticks_to_price(ask)}"
                 if bid is not None and ask is not None else "-/-")
        parts.append(f"{symbol} {'synced' if runner.synced else 'OUT OF SYNC'} {touch} "
                     f"pos {engine.portfolio.position} orders {len(engine.intents)}")
    return (" | ".join(parts) + f" || frames {c.frames:,} gaps {c.gaps} resyncs {c.resyncs} "
            f"reconnects {c.reconnects} stale {c.stale_periods} malformed {c.malformed} "
            f"frame->book p50 {session.latency.quantile(0.5) / 1000:.0f} us")


async def _spin() -> None:
    """Keep the loop polling with a zero timeout instead of sleeping in epoll."""
    while True:
        await asyncio.sleep(0)


async def _print_status(session: LiveSession, every_s: float, status) -> None:
    if not every_s:
        return
    while True:
        await asyncio.sleep(every_s)
        status(status_line(session))


__all__ = ["LiveSession", "build_connector", "fetch_instruments", "run_live", "status_line"]
