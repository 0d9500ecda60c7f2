"""``obflow book``: the book at a moment, from any data the engine reads.

Venue data goes through the live feed and ``SymbolRunner`` (so it shows the book that live
trading would have had); LOBSTER through its connector. ``at`` is exchange (event) time: the
book after the last message stamped at or before it (default: the end of the data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from connectors.config import VenueConfig
from connectors.feed import Output
from connectors.lobster import find_pairs
from connectors.lobster import load_day
from engine.book import L2Book
from engine.errors import ConfigError
from engine.events import F_LAST
from engine.feed_runner import BookOnly
from engine.feed_runner import SymbolRunner
from engine.instrument import InstrumentSpec
from engine.instrument import lobster_instrument
from replay.sources import detect_format
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

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "ts_ns": self.ts_ns, "bids": self.bids,
                "asks": self.asks}

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
    if len(data) == 1 and detect_format(data[0]) == "lobster":
        return _lobster_book(Path(data[0]), at_ns, levels)
    venue = venue or VenueConfig()
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

    drive(source, feed, consume)
    return view(sink.book, spec, symbol, sink.last_ts_ns, levels, synced=runner.synced)


def _lobster_book(path: Path, at_ns: int | None, levels: int) -> BookView:
    pairs = find_pairs(path)
    days = [load_day(pair, lobster_instrument(pair.ticker)) for pair in pairs]
    day = days[-1]
    if at_ns is not None:  # the last day that starts at or before ``at``
        started = [d for d in days if len(d.events) and d.events["ts_event"][0] <= at_ns]
        day = started[-1] if started else days[0]
    events = day.events
    end = len(events)
    if at_ns is not None:
        end = int(np.searchsorted(events["ts_event"], at_ns, side="right"))
        while end > 0 and not events["flags"][end - 1] & F_LAST:
            end -= 1  # whole messages only
    book = L2Book.covering(events[:end])
    book.apply(events[:end])
    ts = int(events["ts_event"][end - 1]) if end else 0
    return view(book, lobster_instrument(day.pair.ticker), day.pair.ticker, ts, levels)


__all__ = ["BookView", "book_at", "parse_time", "view"]
