"""The Binance side of ``obflow venue-sim``: combined and raw streams, SUBSCRIBE requests,
and the REST endpoints a standard client calls (depth, exchangeInfo, ping, time)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson

from engine.instrument import InstrumentSpec
from replay.recorder import FeedLine
from replay.venue_sim import SimClient
from replay.venue_sim import SimFrame

QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "TUSD", "BTC", "ETH", "BNB", "BRL", "AUD", "EUR",
          "TRY", "GBP")


class _Book:
    """Levels as the venue prints them (price text -> size text), with the last update id."""

    def __init__(self, msg: dict | None = None) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.last = 0
        if msg is not None:
            self.bids = {p: q for p, q in msg["bids"]}
            self.asks = {p: q for p, q in msg["asks"]}
            self.last = int(msg["lastUpdateId"])

    def apply(self, data: dict) -> None:
        if int(data["u"]) <= self.last:
            return
        for side, key in ((self.bids, "b"), (self.asks, "a")):
            for p, q in data[key]:
                if float(q) == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        self.last = int(data["u"])

    def reply(self, limit: int) -> bytes:
        bids = sorted(self.bids.items(), key=lambda kv: -float(kv[0]))[:limit]
        asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:limit]
        return orjson.dumps({"lastUpdateId": self.last, "bids": [list(b) for b in bids],
                             "asks": [list(a) for a in asks]})


class BinanceVenue:
    venue = "binance"

    def __init__(self, symbols: list[str], instruments: dict[str, InstrumentSpec], *,
                 prescan: Iterator[FeedLine] | None = None) -> None:
        self.symbols = list(symbols)
        self.instruments = instruments
        self.books: dict[str, _Book] = {}
        self.stale: dict[str, bytes] = {}  #: symbol -> the old snapshot its next request gets
        if prescan is not None:  # serve each symbol's first recorded snapshot until then
            wanted = set(symbols)
            for line in prescan:
                symbol = line.tag.partition(":")[2]
                if line.tag.startswith("depth:") and symbol in wanted:
                    self.books[symbol] = _Book(orjson.loads(line.payload))
                    wanted.discard(symbol)
                    if not wanted:
                        break

    # -- the stream ----------------------------------------------------------------------------
    def frames(self, lines: Iterator[FeedLine]) -> Iterator[SimFrame]:
        for line in lines:
            if line.tag == "ws":
                payload = line.payload
                if payload.startswith(b'{"stream":"') and b"@depth" not in payload[:40]:
                    # Not a book frame: only its stream name is needed, no full parse.
                    stream = payload[11:payload.index(b'"', 11)].decode()
                    yield SimFrame(line.ts_recv, False, (stream, None, payload))
                    continue
                msg = orjson.loads(payload)
                data = msg.get("data", msg)
                stream = msg.get("stream") or _stream_of(data)
                if stream is None:
                    continue
                yield SimFrame(line.ts_recv, data.get("e") == "depthUpdate",
                               (stream, data, payload if "stream" in msg else None),
                               str(data.get("s", "")))
            elif line.tag.startswith("depth:"):
                symbol = line.tag[6:]
                msg = orjson.loads(line.payload)
                book = self.books.get(symbol)
                if book is None or int(msg["lastUpdateId"]) > book.last:  # a newer image
                    self.books[symbol] = _Book(msg)

    def advance(self, frame: SimFrame) -> None:
        _stream, data, _ = frame.data
        if not frame.book:
            return
        symbol = data["s"]
        book = self.books.get(symbol)
        if book is None:
            return
        book.apply(data)

    def render(self, client: SimClient, frame: SimFrame) -> list[str]:
        stream, data, raw = frame.data
        if stream not in client.subs:
            return []
        if client.path.startswith("/ws"):
            if data is None:
                data = orjson.loads(raw)["data"]
            return [orjson.dumps(data).decode()]
        if raw is not None:
            return [raw.decode()]
        return [orjson.dumps({"stream": stream, "data": data}).decode()]

    def skip(self, client: SimClient, frame: SimFrame) -> None:
        pass  # depth events carry their own update ids: the gap shows by itself

    def hold_stale(self, frame: SimFrame) -> None:
        book = self.books.get(frame.symbol)
        if book is not None:
            self.stale[frame.symbol] = book.reply(5000)

    def on_connect(self, client: SimClient) -> list[str]:
        path, _, query = client.path.partition("?")
        if path.startswith("/stream"):
            for stream in ",".join(v for k, v in _pairs(query) if k == "streams").split("/"):
                if stream:
                    client.subs.add(stream)
        elif path.startswith("/ws/"):
            client.subs.update(s for s in path[4:].split("/") if s)
        return []

    def on_message(self, client: SimClient, text: str) -> list[str]:
        """``{"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1}``"""
        try:
            msg = orjson.loads(text)
            method, rid = msg["method"], msg.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"code": 2, "msg": "Invalid request"}).decode()]
        params = msg.get("params") or []
        if method == "SUBSCRIBE":
            client.subs.update(params)
            return [orjson.dumps({"result": None, "id": rid}).decode()]
        if method == "UNSUBSCRIBE":
            client.subs.difference_update(params)
            return [orjson.dumps({"result": None, "id": rid}).decode()]
        if method == "LIST_SUBSCRIPTIONS":
            return [orjson.dumps({"result": sorted(client.subs), "id": rid}).decode()]
        return [orjson.dumps({"code": 2, "msg": f"Unknown method {method}", "id": rid}).decode()]

    # -- REST ------------------------------------------------------------------------------------
    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes] | None:
        if path in ("/api/v3/depth", "/api/v1/depth"):
            symbol = query.get("symbol", [""])[0].upper()
            if symbol not in self.books:
                return 400, orjson.dumps({"code": -1121, "msg": "Invalid symbol."})
            if symbol in self.stale:
                return 200, self.stale.pop(symbol)
            limit = int(query.get("limit", ["100"])[0])
            return 200, self.books[symbol].reply(min(max(limit, 1), 5000))
        if path == "/api/v3/exchangeInfo":
            return 200, self._exchange_info(query)
        if path == "/api/v3/ping":
            return 200, b"{}"
        if path == "/api/v3/time":
            return 200, orjson.dumps({"serverTime": time.time_ns() // 1_000_000})
        return None

    def _exchange_info(self, query: dict[str, list[str]]) -> bytes:
        wanted = set(self.instruments)
        if "symbol" in query:
            wanted &= {query["symbol"][0].upper()}
        if "symbols" in query:
            wanted &= set(orjson.loads(query["symbols"][0]))
        symbols = []
        for name in sorted(wanted):
            spec = self.instruments[name]
            base, quote = _split(name)
            symbols.append({
                "symbol": name, "status": "TRADING", "baseAsset": base, "quoteAsset": quote,
                "baseAssetPrecision": 8, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"], "isSpotTradingAllowed": True,
                "permissions": ["SPOT"],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": f"{spec.tick_size:f}",
                     "maxPrice": "1000000.00000000", "tickSize": f"{spec.tick_size:f}"},
                    {"filterType": "LOT_SIZE", "minQty": f"{spec.lot_size:f}",
                     "maxQty": "9000.00000000", "stepSize": f"{spec.lot_size:f}"}]})
        return orjson.dumps({"timezone": "UTC", "serverTime": time.time_ns() // 1_000_000,
                             "rateLimits": [], "exchangeFilters": [], "symbols": symbols})


def _stream_of(data: dict) -> str | None:
    """The stream name of a raw-stream payload (a /ws recording has no envelope)."""
    symbol = str(data.get("s", "")).lower()
    kind = data.get("e")
    if kind == "depthUpdate":
        return f"{symbol}@depth@100ms"
    if kind in ("trade", "aggTrade"):
        return f"{symbol}@{kind}"
    if kind is None and "u" in data and "A" in data:
        return f"{symbol}@bookTicker"
    return None


def _pairs(query: str) -> list[tuple[str, str]]:
    return [tuple(kv.split("=", 1)) for kv in query.split("&") if "=" in kv]  # type: ignore


def _split(symbol: str) -> tuple[str, str]:
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[:-len(quote)], quote
    return symbol[:-3], symbol[-3:]


__all__ = ["BinanceVenue"]
