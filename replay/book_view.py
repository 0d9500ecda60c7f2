"""``obflow book``: the book at a moment, from any data the engine reads.

Venue data goes through the live feed and ``SymbolRunner`` (so it shows the book that live
trading would have had); historical files (LOBSTER, Tardis, Algoseek, event Parquet) through
their decoders. ``at`` is exchange (event) time: the
book after the last message stamped at or before it (default: the end of the data).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from connectors.config import VenueConfig
from connectors.feed import Output
from connectors.feed import VenueFeed
from connectors.lobster import find_pairs
from connectors.lobster import load_day
from engine.book import L2Book
from engine.config import EngineConfig
from engine.errors import BookError
from engine.errors import ConfigError
from engine.errors import DataError
from engine.events import F_LAST
from engine.feed_runner import BookOnly
from engine.feed_runner import SymbolRunner
from engine.instrument import InstrumentSpec
from engine.instrument import lobster_instrument
from replay.historical import historical_format
from replay.historical import open_historical
from replay.sources import FeedLine
from replay.sources import VenueSource
from replay.sources import open_venue_source
from replay.venue_replay import StopReplay
from replay.venue_replay import drive
from replay.venue_replay import last_event_ns
from replay.venue_replay import make_feed
from replay.venue_replay import pick_symbol
from replay.venue_replay import resolve_instruments


@dataclass(frozen=True)
class BookView:
    symbol: str
    ts_ns: int
    bids: list[list[float]]  #: [[price, size], ...] best first, in the venue's units
    asks: list[list[float]]
    synced: bool = True
    input: dict | None = None  #: decoder counters worth telling (LOBSTER: times_rounded)

    def as_dict(self) -> dict:
        out = {"symbol": self.symbol, "ts_ns": self.ts_ns, "bids": self.bids,
               "asks": self.asks}
        if self.input:
            out["input"] = self.input
        return out

    def text(self) -> str:
        when = dt.datetime.fromtimestamp(self.ts_ns / 1e9, dt.UTC).isoformat(
            timespec="microseconds") if self.ts_ns else "-"
        lines = [f"{self.symbol} at {when} ({self.ts_ns} ns)"
                 + ("" if self.synced else "  [OUT OF SYNC: last synced book]"),
                 f"{'bid size':>16} {'bid':>14} | {'ask':<14} {'ask size':<16}"]
        for k in range(max(len(self.bids), len(self.asks))):
            b = self.bids[k] if k < len(self.bids) else None
            a = self.asks[k] if k < len(self.asks) else None
            lines.append(f"{_num(b[1]) if b else '':>16} {_num(b[0]) if b else '':>14} | "
                         f"{_num(a[0]) if a else '':<14} {_num(a[1]) if a else '':<16}")
        return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:.10f}".rstrip("0").rstrip(".")


def parse_time(text: str | None) -> int | None:
    """Epoch ns as an integer, or an ISO time (UTC unless it has an offset)."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError("--at", f"{text!r} is neither epoch ns nor an ISO time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def view(book: L2Book, spec: InstrumentSpec, symbol: str, ts_ns: int, levels: int,
         *, synced: bool = True) -> BookView:
    bid_px, bid_qty, ask_px, ask_qty = book.top(levels)

    def side(px: np.ndarray, qty: np.ndarray) -> list[list[float]]:
        return [[float(spec.ticks_to_price(int(p))), float(spec.lots_to_qty(int(q)))]
                for p, q in zip(px, qty, strict=True) if q > 0]

    return BookView(symbol, ts_ns, side(bid_px, bid_qty), side(ask_px, ask_qty), synced)


def book_at(data: list[str | Path], *, symbol: str | None = None, at_ns: int | None = None,
            levels: int = 10, venue: VenueConfig | None = None) -> BookView:
    venue = venue or VenueConfig()
    fmt = historical_format(data)
    if fmt == "lobster":
        return _lobster_book(Path(data[0]), at_ns, levels)
    if fmt is not None:
        return _historical_book(data, venue, symbol, at_ns, levels)
    source = open_venue_source(data)
    symbol = pick_symbol(source, symbol)
    spec = resolve_instruments(source, venue, [symbol])[symbol]
    feed = make_feed(source.venue, {symbol: spec}, venue)
    sink = BookOnly(spec)
    runner = SymbolRunner(symbol, sink, feed.counters, prune_far_pct=venue.prune_far_pct)

    def consume(out: Output) -> None:
        ts = last_event_ns(out)
        if at_ns is not None and ts is not None and ts > at_ns:
            raise StopReplay
        runner.on_output(out)

    checked = _Checked(source, feed)

    def consume_checked(out: Output) -> None:
        try:
            consume(out)
        except BookError as exc:  # name the capture's file and line, not the symbol
            raise DataError(checked.path, checked.line, exc.reason) from None

    drive(checked, feed, consume_checked)
    if not runner.synced and not checked.stopped_early:
        raise DataError(source.name, 0, f"{symbol}: the book never synced (expected a depth "
                        "snapshot that the capture's updates bridge)")
    return view(sink.book, spec, symbol, sink.last_ts_ns, levels, synced=runner.synced)


class _Checked:
    """A venue source whose malformed frames stop the book with file and line.

    Live, a malformed frame is counted and the book resyncs from a new snapshot; a capture
    holds no new snapshot, so the book would silently stay stale (or empty) to the end.
    """

    def __init__(self, source: VenueSource, feed: VenueFeed) -> None:
        self.source = source
        self.feed = feed
        self.path = ""
        self.line = 0
        self.stopped_early = True

    @property
    def name(self) -> str:
        return self.source.name

    def lines(self) -> Iterator[FeedLine]:
        malformed = self.feed.counters.malformed
        for path in self.source.paths:
            self.path = str(path)
            one = VenueSource([path], self.source.format, self.source.venue,
                              self.source.symbols, self.source.instruments)
            for line in one.lines():
                self.line = line.line
                yield line  # the feed has taken it when the next one is asked for
                if self.feed.counters.malformed != malformed:
                    raise DataError(self.path, self.line,
                                    f"malformed frame: {self.feed.errors[-1]}")
        self.stopped_early = False


def _lobster_book(path: Path, at_ns: int | None, levels: int) -> BookView:
    pairs = find_pairs(path)
    days = [load_day(pair, lobster_instrument(pair.ticker)) for pair in pairs]
    ticker = pairs[-1].ticker
    out = _book_of_sessions([(str(d.pair.message), d.events) for d in days],
                            lobster_instrument(ticker), ticker, at_ns, levels)
    rounded = sum(d.times_rounded for d in days)
    return dataclasses.replace(out, input={"times_rounded": rounded}) if rounded else out


def _historical_book(data: list[str | Path], venue: VenueConfig, symbol: str | None,
                     at_ns: int | None, levels: int) -> BookView:
    """Tardis, Algoseek or event Parquet: the decoded events applied up to ``at``."""
    source = open_historical(data, EngineConfig(venue=venue), symbol=symbol)
    sessions = [(s.source, s.events) for s in source.sessions]
    spec = source.instrument
    return _book_of_sessions(sessions, spec, spec.symbol, at_ns, levels)


def _book_of_sessions(sessions: list[tuple[str, np.ndarray]], spec: InstrumentSpec,
                      symbol: str, at_ns: int | None, levels: int) -> BookView:
    """The book of the last session that starts at or before ``at`` (or the last), after
    its last whole message at or before ``at``. Applying checks every message end, so a
    book that crossed on the way stops with the event's source line."""
    name, events = sessions[-1]
    if at_ns is not None:
        started = [s for s in sessions if len(s[1]) and s[1]["ts_event"][0] <= at_ns]
        name, events = started[-1] if started else sessions[0]
    end = len(events)
    if at_ns is not None:
        end = int(np.searchsorted(events["ts_event"], at_ns, side="right"))
        while end > 0 and not events["flags"][end - 1] & F_LAST:
            end -= 1  # whole messages only
    book = L2Book.covering(events[:end], source=name)
    book.apply(events[:end])
    ts = int(events["ts_event"][end - 1]) if end else 0
    return view(book, spec, symbol, ts, levels)


__all__ = ["BookView", "book_at", "parse_time", "view"]
