"""Binance spot: combined stream of diff depth, trades and book tickers, plus REST snapshots.

The feed follows the documented local-book procedure: buffer depth events, take a REST
snapshot, drop events with ``u <= lastUpdateId``, apply the first event that brackets
``lastUpdateId + 1`` and then only events with ``U == previous u + 1``
(``connectors.sequence.check_sequence``). A gap invalidates that symbol alone and asks
for a new snapshot; the other symbols on the connection keep trading. Event time is the
venue's ``E``/``T`` (ms); receive time is the local clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from decimal import Decimal
from urllib.parse import quote

import numpy as np
import orjson

from connectors.base import FrameSource
from connectors.base import StreamConnector
from connectors.feed import AuditExpectation
from connectors.feed import BookBatch
from connectors.feed import Output
from connectors.feed import Quote
from connectors.feed import ResyncWanted
from connectors.feed import SyncState
from connectors.feed import VenueFeed
from connectors.feed import book_batch
from connectors.feed import overlay
from connectors.feed import top_of
from connectors.feed import trade_batch
from connectors.sequence import SeqCheck
from connectors.sequence import check_sequence
from engine.errors import MalformedFrameError
from engine.errors import TransportError
from engine.events import ASK
from engine.events import BID
from engine.events import BUY
from engine.events import F_SNAPSHOT
from engine.events import SELL
from engine.instrument import InstrumentSpec

VENUE = "binance"
MS = 1_000_000


class _Snapshot:
    """A REST depth reply, converted: ``lastUpdateId`` and the level image per side."""

    __slots__ = ("ask_px", "ask_qty", "bid_px", "bid_qty", "last_update_id", "ts_recv")

    def __init__(self, msg: dict, grid, ts_recv: int) -> None:
        self.last_update_id = int(msg["lastUpdateId"])
        self.bid_px, self.bid_qty = grid.pairs(msg["bids"])
        self.ask_px, self.ask_qty = grid.pairs(msg["asks"])
        self.ts_recv = ts_recv


class BinanceFeed(VenueFeed):
    """Parse and sequence-check a Binance combined (or raw) stream for several symbols.

    ``buffer_limit``: depth events kept per symbol while waiting for a snapshot;
    ``audit_levels``: levels per side compared by the periodic snapshot audit.
    """

    venue = VENUE

    def __init__(self, instruments: dict[str, InstrumentSpec], *, buffer_limit: int = 2000,
                 audit_levels: int = 10, **kwargs) -> None:
        super().__init__(instruments, **kwargs)
        self.buffer_limit = buffer_limit
        self.audit_levels = audit_levels
        self.last_u = dict.fromkeys(self.symbols, 0)
        self.buffer: dict[str, deque] = {s: deque() for s in self.symbols}
        self.snapshot: dict[str, _Snapshot | None] = dict.fromkeys(self.symbols)
        self.requested = dict.fromkeys(self.symbols, False)
        self.audit: dict[str, _Snapshot | None] = dict.fromkeys(self.symbols)

    def _reset(self, symbol: str) -> None:
        super()._reset(symbol)
        self.buffer[symbol].clear()
        self.snapshot[symbol] = None
        self.requested[symbol] = False
        self.audit[symbol] = None

    # -- frames ----------------------------------------------------------------------------
    def _frame(self, msg: dict, ts_recv: int) -> list[Output]:
        if "id" in msg and "result" in msg:
            return []  # the reply to a SUBSCRIBE request
        if "code" in msg and "msg" in msg:
            raise MalformedFrameError(VENUE, f"venue error {msg['code']}: {msg['msg']}")
        data = msg["data"] if "stream" in msg else msg  # combined envelope or raw stream
        kind = data.get("e")
        if kind == "depthUpdate":
            return self._depth(data, ts_recv)
        if kind in ("trade", "aggTrade"):
            return self._trade(data, ts_recv)
        if kind is None and "u" in data and "A" in data:
            return self._book_ticker(data)
        self.counters.ignored += 1
        return []

    def _symbol(self, data: dict) -> str | None:
        symbol = data["s"]
        if symbol not in self.instruments:
            self.counters.ignored += 1
            return None
        return symbol

    def _depth(self, data: dict, ts_recv: int) -> list[Output]:
        """``{"e": "depthUpdate", "E": 1723161255208, "s": "BTCUSDT", "U": 50093239189,
        "u": 50093239202, "b": [["61737.63000000", "0.00000000"]], "a": [...]}``

        E: event time (ms); U/u: first and final update id in the event; b/a: bids and
        asks to update, ``[price, new absolute quantity]``, quantity 0 removes the level.
        """
        symbol = self._symbol(data)
        if symbol is None:
            return []
        first, final = int(data["U"]), int(data["u"])
        grid = self.grids[symbol]
        try:
            bid_px, bid_qty = grid.pairs(data["b"])
            ask_px, ask_qty = grid.pairs(data["a"])
        except ValueError as exc:
            raise MalformedFrameError(VENUE, str(exc), symbol=symbol, seq=final) from None
        batch = book_batch(bid_px, bid_qty, ask_px, ask_qty, ts_event=int(data["E"]) * MS,
                           ts_recv=ts_recv, seq=final)
        if self.state[symbol] is SyncState.SYNCED:
            return self._apply(symbol, first, final, batch, ts_recv)
        buffer = self.buffer[symbol]
        buffer.append((first, final, batch))
        if len(buffer) > self.buffer_limit:
            buffer.popleft()
            self.counters.count("buffer_overflows", symbol)
        if self.snapshot[symbol] is not None:
            return self._bridge(symbol)
        if not self.requested[symbol]:  # stream open and buffering: now take the snapshot
            self.requested[symbol] = True
            self.counters.count("resyncs", symbol)
            return [ResyncWanted((symbol,), "initial snapshot")]
        return []

    def _apply(self, symbol: str, first: int, final: int, batch: np.ndarray,
               ts_recv: int) -> list[Output]:
        outcome = check_sequence(self.last_u[symbol], first, final)
        if outcome is SeqCheck.STALE:
            self.counters.count("duplicates", symbol)
            return []
        if outcome is not SeqCheck.APPLY:  # a gap (an overlap is outside the protocol too)
            self.counters.count("gaps", symbol)
            out = self.invalidate(symbol, f"gap: U={first} after u={self.last_u[symbol]}")
            self.buffer[symbol].append((first, final, batch))
            self.requested[symbol] = True
            return out
        self.last_u[symbol] = final
        self.counters.events += len(batch)
        out: list[Output] = [BookBatch(symbol, batch, False, final, ts_recv)]
        audit = self.audit[symbol]
        if audit is not None and audit.last_update_id <= final:
            self.audit[symbol] = None
            out.append(self._expectation(symbol, audit, batch, final))
        return out

    def _bridge(self, symbol: str) -> list[Output]:
        """Try to start a session from the held snapshot and the buffered events."""
        snap = self.snapshot[symbol]
        buffer = self.buffer[symbol]
        last = snap.last_update_id
        while buffer and buffer[0][1] <= last:
            buffer.popleft()  # already inside the snapshot
        if not buffer:
            self.state[symbol] = SyncState.WAIT_BRIDGE
            return []
        if check_sequence(last, buffer[0][0], buffer[0][1]) is SeqCheck.GAP:
            self.counters.count("stale_snapshots", symbol)
            self.counters.count("resyncs", symbol)
            self.snapshot[symbol] = None
            return [ResyncWanted((symbol,), "snapshot older than the stream")]
        parts = []
        for first, final, batch in buffer:
            if parts and check_sequence(last, first, final) is not SeqCheck.APPLY:
                self.counters.count("gaps", symbol)
                self.counters.count("resyncs", symbol)
                while buffer[0][0] != first:
                    buffer.popleft()
                self.snapshot[symbol] = None
                return [ResyncWanted((symbol,), "gap inside the buffered events")]
            parts.append(batch)
            last = final
        image = book_batch(snap.bid_px, snap.bid_qty, snap.ask_px, snap.ask_qty,
                           ts_event=int(parts[0]["ts_event"][0]) if len(parts[0]) else 0,
                           ts_recv=snap.ts_recv, seq=snap.last_update_id, flags=F_SNAPSHOT)
        session = np.concatenate([image, *parts])
        buffer.clear()
        self.snapshot[symbol] = None
        self.state[symbol] = SyncState.SYNCED
        self.last_u[symbol] = last
        self.counters.count("snapshots", symbol)
        self.counters.events += len(session)
        # Received when its last input arrived (the snapshot or the bridging diff): the
        # frame -> order latency starts there, not during the wait for a bridge.
        ready = max(snap.ts_recv, int(parts[-1]["ts_recv"].max()) if len(parts[-1]) else 0)
        return [BookBatch(symbol, session, True, last, ready)]

    def _trade(self, data: dict, ts_recv: int) -> list[Output]:
        """``{"e": "trade", "E": 1723161255343, "s": "BTCUSDT", "t": 3735683259,
        "p": "61837.63000000", "q": "0.02000000", "T": 1723161255342, "m": true}``

        t: trade id (``a`` in aggTrade); p/q: price and quantity; T: trade time (ms);
        m: the buyer is the maker, so the aggressor sold.
        """
        symbol = self._symbol(data)
        if symbol is None:
            return []
        trade_id = int(data["t"] if data["e"] == "trade" else data["a"])
        if not self.synced(symbol):
            self.counters.count("unsynced_drops", symbol)
            return []
        grid = self.grids[symbol]
        try:
            px, qty = grid.price(data["p"]), grid.size(data["q"])
        except ValueError as exc:
            raise MalformedFrameError(VENUE, str(exc), symbol=symbol, seq=trade_id) from None
        batch = trade_batch(px, qty, SELL if data["m"] else BUY, ts_event=int(data["T"]) * MS,
                            ts_recv=ts_recv, seq=trade_id)
        self.counters.events += 1
        return [BookBatch(symbol, batch, False, self.last_u[symbol], ts_recv)]

    def _book_ticker(self, data: dict) -> list[Output]:
        """``{"u": 50093239212, "s": "BTCUSDT", "b": "61837.63000000", "B": "3.78826000",
        "a": "61837.64000000", "A": "1.54698000"}``: best bid/ask and sizes at update u."""
        symbol = self._symbol(data)
        if symbol is None:
            return []
        if not self.synced(symbol):
            self.counters.count("unsynced_drops", symbol)
            return []
        grid = self.grids[symbol]
        try:
            return [Quote(symbol, int(data["u"]), grid.price(data["b"]), grid.size(data["B"]),
                          grid.price(data["a"]), grid.size(data["A"]))]
        except ValueError as exc:
            raise MalformedFrameError(VENUE, str(exc), symbol=symbol,
                                      seq=int(data["u"])) from None

    # -- REST replies ------------------------------------------------------------------------
    def on_rest(self, kind: str, symbol: str, raw: bytes | str, ts_recv: int) -> list[Output]:
        """``{"lastUpdateId": 50093239218, "bids": [[price, qty], ...], "asks": [...]}``"""
        if symbol not in self.instruments:
            self.counters.ignored += 1
            return []
        try:
            snap = _Snapshot(orjson.loads(raw), self.grids[symbol], ts_recv)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            out = self._malformed(MalformedFrameError(VENUE, f"{kind} snapshot: {exc}",
                                                      symbol=symbol))
            if kind == "depth" and not self.synced(symbol):
                self.counters.count("resyncs", symbol)
                out.append(ResyncWanted((symbol,), "malformed snapshot"))
            return out
        if kind == "audit":
            return self._audit(symbol, snap)
        if self.synced(symbol):
            self.counters.ignored += 1  # a late reply; the book is already in sync
            return []
        self.snapshot[symbol] = snap
        return self._bridge(symbol)

    def _audit(self, symbol: str, snap: _Snapshot) -> list[Output]:
        last = self.last_u[symbol]
        if not self.synced(symbol) or snap.last_update_id < last:
            self.counters.count("audits_skipped", symbol)  # cannot be lined up with the book
            return []
        if snap.last_update_id == last:
            return [self._expectation(symbol, snap, None, last)]
        self.audit[symbol] = snap  # compared right after the event that reaches it
        return []

    def _expectation(self, symbol: str, snap: _Snapshot, batch: np.ndarray | None,
                     seq: int) -> AuditExpectation:
        """The snapshot's top levels after the bridging event's updates, if any."""
        sides = []
        for side, px, qty in ((BID, snap.bid_px, snap.bid_qty), (ASK, snap.ask_px,
                                                                    snap.ask_qty)):
            if batch is not None:
                mine = batch[batch["side"] == side]
                px, qty = overlay(px, qty, mine["px_ticks"], mine["qty_lots"])
            sides.append(top_of(px, qty, side, self.audit_levels))
        return AuditExpectation(symbol, seq, sides[0][0], sides[0][1], sides[1][0], sides[1][1])


def parse_exchange_info(raw: bytes | str) -> dict[str, InstrumentSpec]:
    """Tick and lot sizes from ``/api/v3/exchangeInfo``.

    The tick is PRICE_FILTER's tickSize. Book and trade sizes carry the base asset's
    precision (``baseAssetPrecision``, 8 for BTC), finer than LOT_SIZE's stepSize, which
    only binds orders (the BTCUSDT capture has depth sizes like 25.426189).
    """
    out = {}
    for sym in orjson.loads(raw)["symbols"]:
        filters = {f["filterType"]: f for f in sym["filters"]}
        lot = (Decimal(1).scaleb(-int(sym["baseAssetPrecision"])) if "baseAssetPrecision" in sym
               else Decimal(filters["LOT_SIZE"]["stepSize"]).normalize())
        out[sym["symbol"]] = InstrumentSpec(
            sym["symbol"], tick_size=Decimal(filters["PRICE_FILTER"]["tickSize"]).normalize(),
            lot_size=lot)
    return out


def stream_names(symbols: tuple[str, ...], *, trades: str = "trade",
                 book_ticker: bool = False) -> list[str]:
    """Combined-stream names: depth@100ms, plus trade or aggTrade, plus bookTicker."""
    names = []
    for symbol in symbols:
        s = symbol.lower()
        names.append(f"{s}@depth@100ms")
        if trades:
            names.append(f"{s}@{trades}")
        if book_ticker:
            names.append(f"{s}@bookTicker")
    return names


class BinanceConnector(StreamConnector):
    """The live side: stream URL, REST snapshots on request, and the periodic audit."""

    def __init__(self, feed: BinanceFeed, transport, sink, *, ws_base: str, rest_base: str,
                 trades: str = "trade", book_ticker: bool = False, depth_limit: int = 1000,
                 audit_interval_s: float = 0.0, audit_limit: int = 100, **kwargs) -> None:
        super().__init__(feed, transport, sink, **kwargs)
        self.ws_base = ws_base.rstrip("/")
        self.rest_base = rest_base.rstrip("/")
        self.trades = trades
        self.book_ticker = book_ticker
        self.depth_limit = depth_limit
        self.audit_interval_s = audit_interval_s
        self.audit_limit = audit_limit
        self._fetching: set[str] = set()

    def ws_url(self) -> str:
        names = stream_names(self.feed.symbols, trades=self.trades, book_ticker=self.book_ticker)
        return f"{self.ws_base}/stream?streams={'/'.join(names)}"

    def depth_url(self, symbol: str, limit: int) -> str:
        return f"{self.rest_base}/api/v3/depth?symbol={quote(symbol)}&limit={limit}"

    async def on_connected(self, frames: FrameSource) -> None:
        if self.audit_interval_s > 0 and not getattr(self, "_auditing", False):
            self._auditing = True
            self.spawn(self._audit_loop())

    async def resync(self, symbols: tuple[str, ...], reason: str) -> None:
        for symbol in symbols:
            if symbol not in self._fetching:
                self.spawn(self._fetch_snapshot(symbol))

    async def _fetch_snapshot(self, symbol: str) -> None:
        self._fetching.add(symbol)
        try:
            while True:
                try:
                    body = await self.transport.get(self.depth_url(symbol, self.depth_limit))
                    break
                except TransportError as exc:
                    self.last_error = str(exc)
                    await asyncio.sleep(self.backoff.next_delay())
            ts_recv = time.time_ns()
            self._record(ts_recv, f"depth:{symbol}", body)
        finally:
            self._fetching.discard(symbol)
        await self.dispatch(self.feed.on_rest("depth", symbol, body, ts_recv))

    async def _audit_loop(self) -> None:
        while True:
            await asyncio.sleep(self.audit_interval_s)
            for symbol in self.feed.symbols:
                if not self.feed.synced(symbol):
                    continue
                try:
                    body = await self.transport.get(self.depth_url(symbol, self.audit_limit))
                except TransportError as exc:
                    self.last_error = str(exc)
                    continue
                ts_recv = time.time_ns()
                self._record(ts_recv, f"audit:{symbol}", body)
                await self.dispatch(self.feed.on_rest("audit", symbol, body, ts_recv))


__all__ = ["BinanceConnector", "BinanceFeed", "parse_exchange_info", "stream_names"]
