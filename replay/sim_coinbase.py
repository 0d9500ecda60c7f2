"""The Coinbase side of ``obflow venue-sim``: the Advanced Trade websocket (subscribe per
channel, an in-band level2 snapshot on subscription, ``sequence_num`` per connection) and the
public products endpoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import orjson

from engine.instrument import InstrumentSpec
from replay.recorder import FeedLine
from replay.venue_sim import SimClient
from replay.venue_sim import SimFrame

#: Channel a client subscribes to -> channel name on the frames it gets.
FRAME_CHANNEL = {"level2": "l2_data", "market_trades": "market_trades",
                 "heartbeats": "heartbeats", "ticker": "ticker", "ticker_batch": "ticker_batch",
                 "candles": "candles", "status": "status"}


def _iso(ts_ns: int) -> str:
    whole = dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ts_ns % 1_000_000_000:09d}Z"


class CoinbaseVenue:
    venue = "coinbase"

    def __init__(self, symbols: list[str], instruments: dict[str, InstrumentSpec]) -> None:
        self.symbols = list(symbols)
        self.instruments = instruments
        self.books: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        self.now_ns = 0

    # -- the stream ----------------------------------------------------------------------------
    def frames(self, lines: Iterator[FeedLine]) -> Iterator[SimFrame]:
        for line in lines:
            if line.tag != "ws":
                continue
            msg = orjson.loads(line.payload)
            channel = msg.get("channel")
            if channel not in FRAME_CHANNEL.values() or channel == "subscriptions":
                continue
            for event in msg.get("events", []):
                # One event per frame; a snapshot only feeds our book (clients get their own).
                book = channel == "l2_data"
                if channel == "market_trades" and event.get("type") == "snapshot":
                    continue
                yield SimFrame(line.ts_recv, book and event.get("type") == "update",
                               (channel, msg.get("timestamp", ""), event),
                               event.get("product_id", ""))

    def advance(self, frame: SimFrame) -> None:
        channel, _, event = frame.data
        self.now_ns = frame.ts_recv
        if channel != "l2_data":
            return
        product = event["product_id"]
        if event["type"] == "snapshot":
            self.books[product] = ({}, {})
        bids, asks = self.books.setdefault(product, ({}, {}))
        for u in event["updates"]:
            side = bids if u["side"] == "bid" else asks
            if float(u["new_quantity"]) == 0:
                side.pop(u["price_level"], None)
            else:
                side[u["price_level"]] = u["new_quantity"]

    def _wants(self, client: SimClient, frame: SimFrame) -> bool:
        channel, _, event = frame.data
        products = {event.get("product_id")} if "product_id" in event else {
            t.get("product_id") for t in event.get("trades", event.get("tickers", []))}
        if not products:  # heartbeats, status: every subscriber of the channel
            return any(key.startswith(f"{channel}:") for key in client.subs)
        return any(f"{channel}:{p}" in client.subs for p in products) or \
            f"{channel}:*" in client.subs

    def render(self, client: SimClient, frame: SimFrame) -> list[str]:
        if not self._wants(client, frame):
            return []
        channel, timestamp, event = frame.data
        if channel == "l2_data" and event["type"] == "snapshot":
            return [self._snapshot(client, event["product_id"])]  # the book as now played
        return [self._frame(client, channel, timestamp, [event])]

    def skip(self, client: SimClient, frame: SimFrame) -> None:
        if self._wants(client, frame):
            client.seq += 1  # the number of the lost frame is never sent: a gap

    def hold_stale(self, frame: SimFrame) -> None:
        """Not offered: ``simulator_for`` refuses the fault (snapshots come in-band)."""

    def _frame(self, client: SimClient, channel: str, timestamp: str, events: list) -> str:
        client.seq += 1
        return orjson.dumps({"channel": channel, "client_id": "", "timestamp": timestamp,
                             "sequence_num": client.seq, "events": events}).decode()

    def on_connect(self, client: SimClient) -> list[str]:
        return []

    def on_message(self, client: SimClient, text: str) -> list[str]:
        """``{"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}``"""
        try:
            msg = orjson.loads(text)
            kind, channel = msg["type"], msg["channel"]
            products = list(msg.get("product_ids", []))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"type": "error", "message": "Failed to parse request"}
                                 ).decode()]
        if channel not in FRAME_CHANNEL or kind not in ("subscribe", "unsubscribe"):
            return [orjson.dumps({"type": "error", "message": f"unknown {kind} {channel}"}
                                 ).decode()]
        keys = {f"{FRAME_CHANNEL[channel]}:{p}" for p in products or ["*"]}
        if kind == "subscribe":
            client.subs |= keys
        else:
            client.subs -= keys
        subs: dict[str, list[str]] = {}
        for key in sorted(client.subs):
            chan, _, product = key.partition(":")
            subs.setdefault(chan, []).append(product)
        # Numbered in the order sent: the subscriptions reply, then the snapshots.
        out = [self._frame(client, "subscriptions", _iso(self.now_ns), [{"subscriptions": subs}])]
        if kind == "subscribe" and channel == "level2":
            out += [self._snapshot(client, p) for p in products if p in self.books]
        return out

    def _snapshot(self, client: SimClient, product: str) -> str:
        bids, asks = self.books[product]
        ts = _iso(self.now_ns)
        updates = [{"side": "bid", "event_time": ts, "price_level": p, "new_quantity": q}
                   for p, q in sorted(bids.items(), key=lambda kv: -float(kv[0]))]
        updates += [{"side": "offer", "event_time": ts, "price_level": p, "new_quantity": q}
                    for p, q in sorted(asks.items(), key=lambda kv: float(kv[0]))]
        return self._frame(client, "l2_data", ts, [{"type": "snapshot", "product_id": product,
                                                    "updates": updates}])

    # -- REST ------------------------------------------------------------------------------------
    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes] | None:
        base = "/api/v3/brokerage/market/products"
        if path.rstrip("/") == base:
            wanted = query.get("product_ids") or list(self.instruments)
            products = [self._product(p) for p in wanted if p in self.instruments]
            return 200, orjson.dumps({"products": products, "num_products": len(products)})
        if path.startswith(base + "/"):
            product = path[len(base) + 1:]
            if product in self.instruments:
                return 200, orjson.dumps(self._product(product))
            return 404, orjson.dumps({"error": "NOT_FOUND", "message": "product not found"})
        return None

    def _product(self, product: str) -> dict:
        spec = self.instruments[product]
        base, _, quote = product.partition("-")
        bids, _asks = self.books.get(product, ({}, {}))
        price = max(bids, key=float) if bids else "0"
        return {"product_id": product, "price": price, "base_increment": f"{spec.lot_size:f}",
                "quote_increment": f"{spec.tick_size:f}", "base_min_size": f"{spec.lot_size:f}",
                "quote_min_size": "1", "base_currency_id": base, "quote_currency_id": quote,
                "status": "online", "is_disabled": False, "trading_disabled": False,
                "product_type": "SPOT"}


__all__ = ["CoinbaseVenue"]
