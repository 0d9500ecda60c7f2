"""Coinbase: the Advanced Trade websocket (level2, market_trades, heartbeats) and, for old
recordings, the Exchange feed (snapshot, l2update, match).

Advanced Trade numbers every frame of a connection with ``sequence_num``
(``connectors.sequence.check_sequence_num``). The number is shared by all channels and
products, so a gap cannot be pinned on one product: every level2 product on the connection
is invalidated and resubscribed, which brings a fresh in-band snapshot. The Exchange feed
carries no sequence on book updates, so only a reconnect resyncs it.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import orjson

from connectors.base import FrameSource
from connectors.base import StreamConnector
from connectors.feed import BookBatch
from connectors.feed import Invalidated
from connectors.feed import Output
from connectors.feed import ResyncWanted
from connectors.feed import SyncState
from connectors.feed import VenueFeed
from connectors.feed import book_batch
from connectors.feed import trade_batch
from connectors.sequence import SeqCheck
from connectors.sequence import check_sequence_num
from connectors.timeparse import iso_ns
from engine.errors import MalformedFrameError
from engine.events import BUY
from engine.events import F_SNAPSHOT
from engine.events import SELL
from engine.instrument import InstrumentSpec

VENUE = "coinbase"
#: Trade ``side`` on both feeds is the maker's side; the aggressor is the other one.
AGGRESSOR = {"BUY": SELL, "SELL": BUY, "buy": SELL, "sell": BUY}


class CoinbaseFeed(VenueFeed):
    """Parse Advanced Trade or Exchange feed frames for several products."""

    venue = VENUE

    def __init__(self, instruments: dict[str, InstrumentSpec], **kwargs) -> None:
        super().__init__(instruments, **kwargs)
        self.last_num: int | None = None  #: last ``sequence_num`` on this connection
        self.seq = dict.fromkeys(self.symbols, 0)  #: per product: last sequence_num applied

    def on_connect(self) -> list[Output]:
        self.last_num = None
        return super().on_connect()

    # -- frames ----------------------------------------------------------------------------
    def _frame(self, msg: dict, ts_recv: int) -> list[Output]:
        channel = msg.get("channel")
        if channel is None:
            return self._exchange(msg, ts_recv)
        num = int(msg["sequence_num"])
        outcome = check_sequence_num(self.last_num, num)
        if outcome is SeqCheck.STALE:
            self.counters.duplicates += 1
            return []
        out: list[Output] = []
        if outcome is SeqCheck.GAP:
            out = self._gap(num)
        self.last_num = num
        if channel == "l2_data":
            for event in msg["events"]:
                out += self._level2(event, num, ts_recv)
        elif channel == "market_trades":
            for event in msg["events"]:
                if event["type"] == "update":  # the snapshot repeats old trades
                    out += self._trades(event["trades"], num, ts_recv)
        elif channel in ("heartbeats", "subscriptions"):
            pass  # they keep the connection fresh; staleness is watched by the connector
        elif channel == "error" or msg.get("type") == "error":
            raise MalformedFrameError(VENUE, f"venue error: {msg.get('message', msg)}")
        else:
            self.counters.ignored += 1
        return out

    def _gap(self, num: int) -> list[Output]:
        """A lost frame may have held any product's update: resync every product."""
        self.counters.gaps += 1
        out: list[Output] = []
        for symbol in self.symbols:
            self.counters.by_symbol.setdefault(symbol, Counter())["gaps"] += 1
            if self.state[symbol] is SyncState.SYNCED:
                out.append(Invalidated(symbol, f"gap: sequence_num {num} after "
                                       f"{self.last_num}"))
            self._reset(symbol)
            self.counters.count("resyncs", symbol)
        out.append(ResyncWanted(self.symbols, "sequence gap"))
        return out

    def _level2(self, event: dict, num: int, ts_recv: int) -> list[Output]:
        """``{"type": "snapshot"|"update", "product_id": "BTC-USD", "updates": [{"side":
        "bid"|"offer", "event_time": "2026-08-09T21:05:48.768515Z", "price_level":
        "65034.85", "new_quantity": "0.67656036"}]}``: new_quantity is the absolute size at
        the level, "0" removes it."""
        symbol = event["product_id"]
        if symbol not in self.instruments:
            self.counters.ignored += 1
            return []
        snapshot = event["type"] == "snapshot"
        if not snapshot and not self.synced(symbol):
            self.counters.count("unsynced_drops", symbol)
            return []
        updates = event["updates"]
        bids = [(u["price_level"], u["new_quantity"]) for u in updates if u["side"] == "bid"]
        asks = [(u["price_level"], u["new_quantity"]) for u in updates if u["side"] != "bid"]
        ts_event = iso_ns(updates[-1]["event_time"]) if updates else 0
        return self._book(symbol, bids, asks, ts_event, ts_recv, num, snapshot)

    def _book(self, symbol: str, bids: list, asks: list, ts_event: int, ts_recv: int,
              seq: int, snapshot: bool) -> list[Output]:
        grid = self.grids[symbol]
        try:
            bid_px, bid_qty = grid.pairs(bids)
            ask_px, ask_qty = grid.pairs(asks)
        except ValueError as exc:
            raise MalformedFrameError(VENUE, str(exc), symbol=symbol, seq=seq) from None
        batch = book_batch(bid_px, bid_qty, ask_px, ask_qty, ts_event=ts_event, ts_recv=ts_recv,
                           seq=seq, flags=F_SNAPSHOT if snapshot else 0)
        if snapshot:
            self.state[symbol] = SyncState.SYNCED
            self.counters.count("snapshots", symbol)
        self.seq[symbol] = seq
        self.counters.events += len(batch)
        return [BookBatch(symbol, batch, snapshot, seq, ts_recv)] if len(batch) or snapshot \
            else []

    def _trades(self, trades: list, seq: int, ts_recv: int) -> list[Output]:
        """``{"product_id": "BTC-USD", "trade_id": "1068572091", "price": "65083.67",
        "size": "0.01034361", "time": "2026-08-09T21:05:48.167634Z", "side": "SELL"}``"""
        out: list[Output] = []
        for t in trades:
            symbol = t["product_id"]
            if symbol not in self.instruments:
                self.counters.ignored += 1
                continue
            if not self.synced(symbol):
                self.counters.count("unsynced_drops", symbol)
                continue
            grid = self.grids[symbol]
            trade_id = int(t["trade_id"])
            try:
                px, qty = grid.price(t["price"]), grid.size(t["size"])
            except ValueError as exc:
                raise MalformedFrameError(VENUE, str(exc), symbol=symbol, seq=trade_id) from None
            batch = trade_batch(px, qty, AGGRESSOR[t["side"]], ts_event=iso_ns(t["time"]),
                                ts_recv=ts_recv, seq=trade_id)
            self.counters.events += 1
            out.append(BookBatch(symbol, batch, False, self.seq[symbol], ts_recv))
        return out

    # -- the older Exchange feed ------------------------------------------------------------
    def _exchange(self, msg: dict, ts_recv: int) -> list[Output]:
        """``{"type": "snapshot", "product_id": "BTC-USD", "bids": [["10101.10", "0.45"]],
        "asks": [...]}``, ``{"type": "l2update", "product_id": "BTC-USD", "time": "...",
        "changes": [["buy", "10101.80", "0.162567"]]}`` (size absolute, "0" removes) and
        ``{"type": "match", "trade_id": 10, "product_id": "BTC-USD", "price": "400.23",
        "size": "5.23", "side": "sell", "time": "..."}`` (side: the maker's side)."""
        kind = msg.get("type")
        if kind == "error":
            raise MalformedFrameError(VENUE, f"venue error: {msg.get('message', msg)}")
        if kind in ("snapshot", "l2update"):
            symbol = msg["product_id"]
            if symbol not in self.instruments:
                self.counters.ignored += 1
                return []
            if kind == "snapshot":
                ts = iso_ns(msg["time"]) if "time" in msg else ts_recv
                return self._book(symbol, [b[:2] for b in msg["bids"]],
                                  [a[:2] for a in msg["asks"]], ts, ts_recv, 0, True)
            if not self.synced(symbol):
                self.counters.count("unsynced_drops", symbol)
                return []
            changes = msg["changes"]
            bids = [c[1:3] for c in changes if c[0] == "buy"]
            asks = [c[1:3] for c in changes if c[0] != "buy"]
            return self._book(symbol, bids, asks, iso_ns(msg["time"]), ts_recv,
                              self.seq[symbol], False)
        if kind in ("match", "last_match"):
            if kind == "last_match":
                return []  # the trade before the subscription: not live flow
            return self._trades([msg], 0, ts_recv)
        if kind not in ("heartbeat", "subscriptions", "ticker"):
            self.counters.ignored += 1
        return []


def parse_products(raw: bytes | str) -> dict[str, InstrumentSpec]:
    """Tick and lot sizes from the products list (``quote_increment``, ``base_increment``)."""
    msg = orjson.loads(raw)
    products = msg["products"] if isinstance(msg, dict) else msg
    return {p["product_id"]: InstrumentSpec(
        p["product_id"], tick_size=Decimal(p["quote_increment"]).normalize(),
        lot_size=Decimal(p["base_increment"]).normalize()) for p in products}


def subscribe_message(channel: str, products: tuple[str, ...], *,
                      unsubscribe: bool = False) -> str:
    return orjson.dumps({"type": "unsubscribe" if unsubscribe else "subscribe",
                         "product_ids": list(products), "channel": channel}).decode()


class CoinbaseConnector(StreamConnector):
    """Subscribes level2, market_trades and heartbeats; resyncs by resubscribing level2."""

    def __init__(self, feed: CoinbaseFeed, transport, sink, *, ws_base: str,
                 trades: bool = True, **kwargs) -> None:
        super().__init__(feed, transport, sink, **kwargs)
        self.ws_base = ws_base
        self.trades = trades
        self._frames_for_resync: FrameSource | None = None

    def ws_url(self) -> str:
        return self.ws_base

    def channels(self) -> list[str]:
        return ["heartbeats", "level2", *(["market_trades"] if self.trades else [])]

    async def on_connected(self, frames: FrameSource) -> None:
        self._frames_for_resync = frames
        for channel in self.channels():
            await frames.send(subscribe_message(channel, self.feed.symbols))

    async def resync(self, symbols: tuple[str, ...], reason: str) -> None:
        frames = self._frames_for_resync
        if frames is None:
            return  # not connected: the next connection subscribes afresh
        await frames.send(subscribe_message("level2", symbols, unsubscribe=True))
        await frames.send(subscribe_message("level2", symbols))


__all__ = ["CoinbaseConnector", "CoinbaseFeed", "parse_products", "subscribe_message"]
