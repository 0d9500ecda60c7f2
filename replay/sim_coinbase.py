"""The Coinbase side of ``obflow venue-sim``: the Advanced Trade websocket and the public
market-data REST endpoints.

Websocket, as the venue sends it (checked against the recorded session in the shared
cryptofeed capture): a subscription gets its snapshots first (``level2``: the book as played;
``market_trades``: the latest trades, newest first; ``ticker``, ``candles``: the latest
recorded), then a ``subscriptions`` frame listing every subscription of the connection by
the channel names a client subscribes with (``level2``, not ``l2_data``; heartbeats as
``"heartbeats": ["heartbeats"]``). ``sequence_num`` counts every frame of the connection,
and a frame's ``timestamp`` never goes backwards on a connection, whichever of the capture's
clock or the simulator's own frames it comes from.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

import orjson

from connectors.timeparse import iso_ns
from engine.instrument import InstrumentSpec
from replay.recorder import FeedLine
from replay.venue_sim import SimClient
from replay.venue_sim import SimFrame

#: Channel a client subscribes to -> channel name on the frames it gets.
FRAME_CHANNEL = {"level2": "l2_data", "market_trades": "market_trades",
                 "heartbeats": "heartbeats", "ticker": "ticker", "ticker_batch": "ticker_batch",
                 "candles": "candles", "status": "status"}
SUBSCRIBE_CHANNEL = {v: k for k, v in FRAME_CHANNEL.items()}
#: Channels not tied to a product: listed as ``"heartbeats": ["heartbeats"]``.
GLOBAL_CHANNELS = ("heartbeats", "status")
SNAPSHOT_TRADES = 100  #: trades per product in a market_trades snapshot, as the venue sends
KEPT_TRADES = 1000  #: per product, for the REST ticker


def _iso(ts_ns: int, digits: int = 9) -> str:
    """Go's RFC 3339 with trailing zeros trimmed, as the venue prints time:
    ``2026-08-09T21:05:52.85643877Z``."""
    whole = dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S")
    frac = f"{ts_ns % 1_000_000_000:09d}"[:digits].rstrip("0")
    return f"{whole}.{frac}Z" if frac else f"{whole}Z"


def recorded_products(path: str | Path) -> dict[str, dict]:
    """The products reply a cryptofeed JSONL capture recorded, by product id (empty if none)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        for raw in islice(f, 50):
            rec = orjson.loads(raw)
            if rec.get("t") == "http" and "products" in rec.get("url", ""):
                return {p["product_id"]: p for p in orjson.loads(rec["data"])["products"]}
    return {}


class ApiError(Exception):
    """A REST error as Coinbase sends it: ``{"error": "NOT_FOUND", "error_details":
    "ProductID not found", "message": "ProductID not found"}``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> bytes:
        return orjson.dumps({"error": self.error, "error_details": self.message,
                             "message": self.message})


class CoinbaseVenue:
    venue = "coinbase"
    not_found = orjson.dumps({"error": "NOT_FOUND", "error_details": "route not found",
                              "message": "route not found"})
    internal_error = orjson.dumps({"error": "INTERNAL", "error_details": "internal error",
                                   "message": "internal error"})

    def __init__(self, symbols: list[str], instruments: dict[str, InstrumentSpec], *,
                 products: dict[str, dict] | None = None) -> None:
        self.symbols = list(symbols)
        self.instruments = instruments
        self.products = products or {}  #: the recorded products reply, by product id
        self.books: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        self.trades: dict[str, deque] = {}  #: product -> trades, oldest first
        self.tickers: dict[str, dict] = {}  #: product -> the latest ticker
        self.candles: dict[str, dict[str, dict]] = {}  #: product -> start -> candle
        self.now_ns = 0  #: the venue's clock: the latest frame timestamp played

    # -- the stream ----------------------------------------------------------------------------
    def frames(self, lines: Iterator[FeedLine]) -> Iterator[SimFrame]:
        for line in lines:
            if line.tag != "ws":
                continue
            msg = orjson.loads(line.payload)
            channel = msg.get("channel")
            if channel not in SUBSCRIBE_CHANNEL or channel == "subscriptions":
                continue
            stamp = msg.get("timestamp", "")
            for event in msg.get("events", []):
                kind = event.get("type")
                if channel != "l2_data" and kind == "snapshot":
                    # Sent to the recording client on its subscription: it seeds what the
                    # simulator sends on each subscription of its own.
                    self._remember(channel, event)
                    continue
                # One event per frame; a level2 snapshot only feeds our book (clients get
                # their own on subscribing).
                yield SimFrame(line.ts_recv, channel == "l2_data" and kind == "update",
                               (channel, stamp, event), event.get("product_id", ""))

    def _remember(self, channel: str, event: dict) -> None:
        if channel == "market_trades":
            for t in reversed(event.get("trades", [])):  # a snapshot lists newest first
                self.trades.setdefault(t["product_id"], deque(maxlen=KEPT_TRADES)).append(t)
        elif channel == "ticker":
            for t in event.get("tickers", []):
                self.tickers[t["product_id"]] = t
        elif channel == "candles":
            for c in event.get("candles", []):
                self.candles.setdefault(c["product_id"], {})[c["start"]] = c

    def advance(self, frame: SimFrame) -> None:
        channel, stamp, event = frame.data
        if stamp:
            self.now_ns = max(self.now_ns, iso_ns(stamp))
        if channel != "l2_data":
            if event.get("type") == "update":
                self._remember(channel, event)
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
            t.get("product_id") for t in event.get("trades", event.get("tickers",
                                                                        event.get("candles", [])))}
        if not products:  # heartbeats, status: every subscriber of the channel
            return any(key.startswith(f"{channel}:") for key in client.subs)
        return any(f"{channel}:{p}" in client.subs for p in products) or \
            f"{channel}:*" in client.subs

    def render(self, client: SimClient, frame: SimFrame) -> list[str]:
        if not self._wants(client, frame):
            return []
        channel, stamp, event = frame.data
        if channel == "l2_data" and event["type"] == "snapshot":
            return [self._snapshot(client, event["product_id"])]  # the book as now played
        return [self._frame(client, channel, iso_ns(stamp) if stamp else self.now_ns, [event])]

    def skip(self, client: SimClient, frame: SimFrame) -> None:
        if self._wants(client, frame):
            client.seq += 1  # the number of the lost frame is never sent: a gap

    def hold_stale(self, frame: SimFrame) -> None:
        """Not offered: ``simulator_for`` refuses the fault (snapshots come in-band)."""

    def _frame(self, client: SimClient, channel: str, ts_ns: int, events: list) -> str:
        """``{"channel": "l2_data", "timestamp": "2026-08-09T21:05:48.505350477Z",
        "sequence_num": 14, "events": [...]}``: numbered and stamped per connection."""
        client.seq += 1
        last = client.props.get("ts_ns", 0)
        ts_ns = max(ts_ns, last)  # the connection's clock never goes back
        client.props["ts_ns"] = ts_ns
        return orjson.dumps({"channel": channel, "timestamp": _iso(ts_ns),
                             "sequence_num": client.seq, "events": events}).decode()

    def on_connect(self, client: SimClient) -> list[str]:
        return []

    def on_message(self, client: SimClient, text: str) -> list[str]:
        """``{"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}``"""
        try:
            msg = orjson.loads(text)
            kind, channel = msg["type"], msg["channel"]
            products = list(msg.get("product_ids") or [])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"type": "error", "message": "Failed to parse request"}
                                 ).decode()]
        if channel not in FRAME_CHANNEL or kind not in ("subscribe", "unsubscribe"):
            return [orjson.dumps({"type": "error", "message": f"unknown {kind} {channel}"}
                                 ).decode()]
        frame_channel = FRAME_CHANNEL[channel]
        if channel in GLOBAL_CHANNELS:
            keys = {f"{frame_channel}:{channel}"}
        else:
            keys = {f"{frame_channel}:{p}" for p in products or ["*"]}
        out = []
        if kind == "subscribe":
            client.subs |= keys
            # Snapshots first, then the subscriptions frame, in the venue's order.
            for product in products:
                out += self._snapshots(client, channel, product)
        else:
            client.subs -= keys
        subs: dict[str, list[str]] = {}
        for key in sorted(client.subs):
            chan, _, product = key.partition(":")
            subs.setdefault(SUBSCRIBE_CHANNEL[chan], []).append(product)
        out.append(self._frame(client, "subscriptions", self.now_ns, [{"subscriptions": subs}]))
        return out

    def _snapshots(self, client: SimClient, channel: str, product: str) -> list[str]:
        if channel == "level2" and product in self.books:
            return [self._snapshot(client, product)]
        if channel == "market_trades" and product in self.trades:
            trades = list(self.trades[product])[-SNAPSHOT_TRADES:][::-1]
            return [self._frame(client, "market_trades", self.now_ns,
                                [{"type": "snapshot", "trades": trades}])]
        if channel == "ticker" and product in self.tickers:
            return [self._frame(client, "ticker", self.now_ns,
                                [{"type": "snapshot", "tickers": [self.tickers[product]]}])]
        if channel == "candles" and product in self.candles:
            candles = [c for _, c in sorted(self.candles[product].items())]
            return [self._frame(client, "candles", self.now_ns,
                                [{"type": "snapshot", "candles": candles}])]
        return []

    def _snapshot(self, client: SimClient, product: str) -> str:
        """``{"type": "snapshot", "product_id": "BTC-USD", "updates": [{"side": "bid",
        "event_time": "2026-08-09T21:05:48.170326Z", "price_level": "65083.66",
        "new_quantity": "0.20371215"}, ...]}``, bids best first, then offers best first."""
        bids, asks = self.books[product]
        ts = _iso(self.now_ns, 6)
        updates = [{"side": "bid", "event_time": ts, "price_level": p, "new_quantity": q}
                   for p, q in sorted(bids.items(), key=lambda kv: -float(kv[0]))]
        updates += [{"side": "offer", "event_time": ts, "price_level": p, "new_quantity": q}
                    for p, q in sorted(asks.items(), key=lambda kv: float(kv[0]))]
        return self._frame(client, "l2_data", self.now_ns, [{
            "type": "snapshot", "product_id": product, "updates": updates}])

    # -- REST ------------------------------------------------------------------------------------
    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes] | None:
        path = path.rstrip("/")
        # The public ``/market/...`` routes, and the same reads on the authenticated paths
        # (no keys are checked here).
        for prefix in ("/api/v3/brokerage/market", "/api/v3/brokerage"):
            if path.startswith(prefix + "/"):
                route = path[len(prefix):]
                break
        else:
            return None
        try:
            if route == "/products":
                return 200, orjson.dumps(self._products(query))
            if route == "/product_book":
                return 200, orjson.dumps(self._product_book(query))
            if route == "/best_bid_ask":
                return 200, orjson.dumps(self._best_bid_ask(query))
            if route == "/time":
                return 200, orjson.dumps(self._time())
            if route.startswith("/products/"):
                product, _, tail = route[len("/products/"):].partition("/")
                if tail == "ticker":
                    return 200, orjson.dumps(self._ticker(product, query))
                if not tail:
                    return 200, orjson.dumps(self._product(self._known(product)))
        except ApiError as exc:
            return exc.status, exc.body()
        return None

    def _known(self, product: str) -> str:
        if not product:
            raise ApiError(400, "INVALID_ARGUMENT", "valid product_id is required")
        if product not in self.instruments:
            raise ApiError(404, "NOT_FOUND", "ProductID not found")
        return product

    def _products(self, query: dict[str, list[str]]) -> dict:
        """``{"products": [{"product_id": "BTC-USD", "price": "65083.67", ...}],
        "num_products": 1}``; ``product_ids`` repeats, ``limit``/``offset`` page."""
        wanted = query.get("product_ids") or sorted(self.instruments)
        products = [self._product(p) for p in wanted if p in self.instruments]
        offset = _int(query, "offset", 0)
        limit = _int(query, "limit", 0)
        products = products[offset:offset + limit] if limit else products[offset:]
        return {"products": products, "num_products": len(products)}

    def _product(self, product: str) -> dict:
        """The recorded product record when the capture has one, else one with the same
        fields; price and best bid/ask are the book as played."""
        spec = self.instruments[product]
        base, _, quote = product.partition("-")
        record = dict(self.products.get(product) or {
            "product_id": product, "price": "", "price_percentage_change_24h": "",
            "volume_24h": "", "volume_percentage_change_24h": "",
            "base_increment": f"{spec.lot_size:f}", "quote_increment": f"{spec.tick_size:f}",
            "quote_min_size": "1", "quote_max_size": "150000000",
            "base_min_size": f"{spec.lot_size:f}", "base_max_size": "3400", "base_name": base,
            "quote_name": quote, "watched": False, "is_disabled": False, "new": False,
            "status": "online", "cancel_only": False, "limit_only": False, "post_only": False,
            "trading_disabled": False, "auction_mode": False, "product_type": "SPOT",
            "quote_currency_id": quote, "base_currency_id": base,
            "fcm_trading_session_details": None, "mid_market_price": "", "alias": "",
            "alias_to": [], "base_display_symbol": base, "quote_display_symbol": quote,
            "view_only": False, "price_increment": f"{spec.tick_size:f}",
            "display_name": product, "product_venue": "CBE"})
        trades = self.trades.get(product)
        if trades:
            record["price"] = trades[-1]["price"]
        bid, ask = self._touch(product)
        record["best_bid_price"], record["best_ask_price"] = bid[0], ask[0]
        return record

    def _touch(self, product: str) -> tuple[tuple[str, str], tuple[str, str]]:
        bids, asks = self.books.get(product, ({}, {}))
        bid = max(bids.items(), key=lambda kv: float(kv[0])) if bids else ("", "")
        ask = min(asks.items(), key=lambda kv: float(kv[0])) if asks else ("", "")
        return bid, ask

    def _product_book(self, query: dict[str, list[str]]) -> dict:
        """``{"pricebook": {"product_id": "BTC-USD", "bids": [{"price": "65083.66", "size":
        "0.20371215"}], "asks": [...], "time": "2026-08-09T21:06:12.857403Z"}, "last":
        "65083.67", "mid_market": "65083.665", "spread_bps": "0.0015364", "spread_absolute":
        "0.01"}``: the book as played, ``limit`` levels a side (all without it)."""
        product = self._known(query.get("product_id", [""])[0])
        limit = _int(query, "limit", 0)
        bids, asks = self.books.get(product, ({}, {}))
        top_bids = sorted(bids.items(), key=lambda kv: -float(kv[0]))
        top_asks = sorted(asks.items(), key=lambda kv: float(kv[0]))
        if limit:
            top_bids, top_asks = top_bids[:limit], top_asks[:limit]
        out = {"pricebook": {"product_id": product,
                             "bids": [{"price": p, "size": q} for p, q in top_bids],
                             "asks": [{"price": p, "size": q} for p, q in top_asks],
                             "time": _iso(self.now_ns, 6)}}
        trades = self.trades.get(product)
        out["last"] = trades[-1]["price"] if trades else ""
        if top_bids and top_asks:
            bid, ask = Decimal(top_bids[0][0]), Decimal(top_asks[0][0])
            mid = (bid + ask) / 2
            out.update({"mid_market": f"{mid.normalize():f}",
                        "spread_bps": f"{((ask - bid) / mid * 10_000).normalize():f}",
                        "spread_absolute": f"{(ask - bid).normalize():f}"})
        else:
            out.update({"mid_market": "", "spread_bps": "", "spread_absolute": ""})
        return out

    def _best_bid_ask(self, query: dict[str, list[str]]) -> dict:
        """``{"pricebooks": [{"product_id": "BTC-USD", "bids": [{"price": .., "size": ..}],
        "asks": [...], "time": ".."}]}``"""
        books = []
        for product in query.get("product_ids") or sorted(self.instruments):
            self._known(product)
            bid, ask = self._touch(product)
            books.append({"product_id": product,
                          "bids": [{"price": bid[0], "size": bid[1]}] if bid[0] else [],
                          "asks": [{"price": ask[0], "size": ask[1]}] if ask[0] else [],
                          "time": _iso(self.now_ns, 6)})
        return {"pricebooks": books}

    def _ticker(self, product: str, query: dict[str, list[str]]) -> dict:
        """``{"trades": [{"trade_id": "1068572092", "product_id": "BTC-USD", "price":
        "65083.66", "size": "0.00171442", "time": "2026-08-09T21:05:49.205817Z", "side":
        "BUY", "exchange": ""}], "best_bid": "65083.66", "best_ask": "65083.67"}``, newest
        trade first."""
        product = self._known(product)
        limit = _int(query, "limit", SNAPSHOT_TRADES)
        trades = list(self.trades.get(product, ()))[::-1][:limit]
        bid, ask = self._touch(product)
        return {"trades": [{**t, "bid": "", "ask": "", "exchange": ""} for t in trades],
                "best_bid": bid[0], "best_ask": ask[0]}

    def _time(self) -> dict:
        """``{"iso": "2026-08-09T21:06:12.857Z", "epochSeconds": "1786309572",
        "epochMillis": "1786309572857"}``: wall time, as the venue's clock."""
        now = dt.datetime.now(dt.UTC)
        ms = int(now.timestamp() * 1000)
        return {"iso": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
                "epochSeconds": str(ms // 1000), "epochMillis": str(ms)}


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    if name not in query:
        return default
    text = query[name][0]
    if not text.isdigit():
        raise ApiError(400, "INVALID_ARGUMENT", f"invalid value for {name}: {text!r}")
    return int(text)


__all__ = ["ApiError", "CoinbaseVenue", "recorded_products"]
