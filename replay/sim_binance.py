"""The Binance side of ``obflow venue-sim``: every public depth, trade and book-ticker stream,
raw (``/ws/...``) and combined (``/stream?streams=...``), the live subscription methods, and
the public REST market-data endpoints a standard client calls.

Streams the capture holds are passed through as recorded. The others are derived from the
recorded book and trades the way Binance documents them:

- ``<sym>@depth`` / ``<sym>@depth@1000ms``: the merge of the 100 ms diffs of one second of
  event time (``E``): ``U`` of the first, ``u`` of the last, each level's last quantity. A
  window is sent when the first diff of the next one arrives (or at the end of the data).
- ``<sym>@depth<N>`` / ``<sym>@depth<N>@1000ms`` / ``<sym>@depth<N>@100ms`` (N = 5, 10, 20):
  ``{"lastUpdateId", "bids", "asks"}``, the top N of the book as played, after every diff
  (100 ms) or at every one-second window (1000 ms).
- ``<sym>@aggTrade`` from ``@trade``: consecutive trades of one symbol at the same price,
  trade time and aggressor side are one taker order's fills; the group is sent when the next
  trade does not continue it or a later depth event arrives. Aggregate ids count up from the
  first trade id.
- ``<sym>@trade`` from ``@aggTrade``: an aggregate of trades ``f``..``l`` becomes those trades
  at its price and time. How its quantity split between the fills is not recorded: it is
  divided evenly on the 1e-8 grid (the remainder on the first fills), so ids stay contiguous
  and quantities sum exactly to the aggregate.
- ``<sym>@bookTicker`` from the book after every diff, when the capture has none.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

import orjson

from engine.instrument import InstrumentSpec
from replay.recorder import FeedLine
from replay.venue_sim import SimClient
from replay.venue_sim import SimFrame

QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "TUSD", "BTC", "ETH", "BNB", "BRL", "AUD", "EUR",
          "TRY", "GBP")
PARTIAL_LEVELS = (5, 10, 20)
DAY_MS = 86_400_000
PRESCAN_LINES = 20_000  #: lines read ahead to learn which streams the capture records
LOT = Decimal("0.00000001")
ILLEGAL_NUMBER = "^[0-9]{1,20}$"


class ApiError(Exception):
    """A REST error as Binance sends it: HTTP status and ``{"code": -1121, "msg": "..."}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> bytes:
        return orjson.dumps({"code": self.code, "msg": self.msg})


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

    def top(self, limit: int) -> tuple[list[list[str]], list[list[str]]]:
        bids = heapq.nlargest(limit, self.bids.items(), key=lambda kv: float(kv[0]))
        asks = heapq.nsmallest(limit, self.asks.items(), key=lambda kv: float(kv[0]))
        return [list(b) for b in bids], [list(a) for a in asks]

    def partial(self, limit: int) -> dict:
        """``{"lastUpdateId": 160, "bids": [["0.0024", "10"]], "asks": [["0.0026", "100"]]}``"""
        bids, asks = self.top(limit)
        return {"lastUpdateId": self.last, "bids": bids, "asks": asks}

    def reply(self, limit: int) -> bytes:
        return orjson.dumps(self.partial(limit))


@dataclass
class _Trade:
    """One trade as ``/api/v3/trades`` lists it."""

    id: int
    price: str
    qty: str
    time: int  #: T, ms
    buyer_maker: bool


@dataclass
class _Agg:
    """One aggregate trade as ``/api/v3/aggTrades`` lists it."""

    a: int
    p: str
    q: str
    f: int
    l: int  # noqa: E741 - Binance's field name
    T: int
    m: bool


@dataclass
class _Window:
    """The 100 ms diffs of one second being merged into a 1000 ms diff."""

    second: int
    first: int  #: U of the first diff
    last: int = 0  #: u of the last diff
    event_ms: int = 0
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)

    def add(self, data: dict) -> None:
        self.last = int(data["u"])
        self.event_ms = int(data["E"])
        for p, q in data["b"]:
            self.bids[p] = q
        for p, q in data["a"]:
            self.asks[p] = q

    def diff(self, symbol: str) -> dict:
        """``{"e": "depthUpdate", "E": 1723161256000, "s": "BTCUSDT", "U": 50093239189,
        "u": 50093239300, "b": [["61837.63000000", "3.78826000"]], "a": [...]}``"""
        return {"e": "depthUpdate", "E": self.event_ms, "s": symbol, "U": self.first,
                "u": self.last, "b": [[p, q] for p, q in self.bids.items()],
                "a": [[p, q] for p, q in self.asks.items()]}


@dataclass
class _Group:
    """Consecutive fills of one taker order, becoming one aggTrade."""

    price: str
    time: int
    buyer_maker: bool
    first: int
    last: int
    event_ms: int
    qty: Decimal

    def continues(self, data: dict) -> bool:
        return (data["p"] == self.price and int(data["T"]) == self.time
                and bool(data["m"]) == self.buyer_maker and int(data["t"]) == self.last + 1)


def _kind(stream: str) -> str:
    """``btcusdt@depth@100ms`` -> ``depth@100ms``."""
    return stream.partition("@")[2]


class BinanceVenue:
    venue = "binance"
    not_found = orjson.dumps({"code": -1000, "msg": "Unknown endpoint."})
    internal_error = orjson.dumps({"code": -1000, "msg": "An unknown error occurred while "
                                                         "processing the request."})

    def __init__(self, symbols: list[str], instruments: dict[str, InstrumentSpec], *,
                 prescan: Iterator[FeedLine] | None = None) -> None:
        self.symbols = list(symbols)
        self.instruments = instruments
        self.books: dict[str, _Book] = {}
        self.stale: dict[str, bytes] = {}  #: symbol -> the old snapshot its next request gets
        self.recorded: dict[str, set[str]] = {}  #: symbol -> stream kinds the capture holds
        self._seen: set[str] = set()
        self.trades: dict[str, list[_Trade]] = {}
        self.aggs: dict[str, list[_Agg]] = {}
        self.now_ms = 0  #: event time of the data as played
        self._windows: dict[str, _Window] = {}
        self._groups: dict[str, _Group] = {}
        self._next_agg: dict[str, int] = {}
        self._cache: tuple[SimFrame | None, dict] = (None, {})
        self._targets: dict[tuple[str, bool], tuple[str, ...]] = {}
        if prescan is not None:
            self._prescan(prescan, set(symbols))

    def _prescan(self, lines: Iterator[FeedLine], wanted: set[str]) -> None:
        """Each symbol's first recorded snapshot (served until the stream passes it) and the
        streams the capture records, from its first lines."""
        for n, line in enumerate(lines):
            symbol = line.tag.partition(":")[2]
            if line.tag.startswith("depth:") and symbol in wanted:
                self.books[symbol] = _Book(orjson.loads(line.payload))
                wanted.discard(symbol)
            elif line.tag == "ws":
                stream = _stream_name(line.payload)
                if stream:
                    self._record(stream)
            if not wanted and n >= PRESCAN_LINES:
                break

    def _record(self, stream: str) -> None:
        if stream in self._seen:
            return
        self._seen.add(stream)
        symbol, _, kind = stream.partition("@")
        self.recorded.setdefault(symbol.upper(), set()).add(kind)

    def _has(self, symbol: str, kind: str) -> bool:
        return kind in self.recorded.get(symbol, ())

    # -- the stream ----------------------------------------------------------------------------
    def frames(self, lines: Iterator[FeedLine]) -> Iterator[SimFrame]:
        for line in lines:
            if line.tag == "ws":
                yield from self._ws_frames(line)
            elif line.tag.startswith("depth:"):
                symbol = line.tag[6:]
                msg = orjson.loads(line.payload)
                book = self.books.get(symbol)
                if book is None or int(msg["lastUpdateId"]) > book.last:  # a newer image
                    self.books[symbol] = _Book(msg)
        for symbol in list(self._groups):
            yield self._close_group(symbol, 0)
        for symbol in list(self._windows):
            yield from self._close_window(symbol, 0)

    def _ws_frames(self, line: FeedLine) -> Iterator[SimFrame]:
        payload = line.payload
        ts = line.ts_recv
        if payload.startswith(b'{"stream":"') and b"@bookTicker" in payload[:60]:
            # The most frequent frame: only its stream name is needed, no full parse.
            stream = payload[11:payload.index(b'"', 11)].decode()
            self._record(stream)
            yield SimFrame(ts, False, (stream, None, payload))
            return
        msg = orjson.loads(payload)
        data = msg.get("data", msg)
        stream = msg.get("stream") or _stream_of(data)
        if stream is None:
            return
        self._record(stream)
        raw = payload if "stream" in msg else None
        kind = data.get("e")
        symbol = str(data.get("s", ""))
        if kind == "depthUpdate":
            if symbol in self._groups and int(data["E"]) > self._groups[symbol].time:
                yield self._close_group(symbol, ts)
            window = self._windows.get(symbol)
            second = int(data["E"]) // 1000
            if window is not None and window.second != second:
                yield from self._close_window(symbol, ts)
                window = None
            if window is None:
                window = self._windows[symbol] = _Window(second, int(data["U"]))
            window.add(data)
            yield SimFrame(ts, True, (stream, data, raw), symbol)
            low = symbol.lower()
            yield SimFrame(ts, False, (f"{low}@depth*@100ms", None, None), symbol, derived=True)
        elif kind == "trade":
            group = self._groups.get(symbol)
            if group is not None and not group.continues(data):
                yield self._close_group(symbol, ts)
                group = None
            yield SimFrame(ts, False, (stream, data, raw), symbol)
            if not self._has(symbol, "aggTrade"):
                if group is None:
                    self._groups[symbol] = _Group(
                        data["p"], int(data["T"]), bool(data["m"]), int(data["t"]),
                        int(data["t"]), int(data["E"]), Decimal(data["q"]))
                else:
                    group.last = int(data["t"])
                    group.event_ms = int(data["E"])
                    group.qty += Decimal(data["q"])
        elif kind == "aggTrade":
            yield SimFrame(ts, False, (stream, data, raw), symbol)
            if not self._has(symbol, "trade"):
                yield from self._split(data, ts)
        else:
            yield SimFrame(ts, False, (stream, data, raw), symbol)

    def _close_group(self, symbol: str, ts: int) -> SimFrame:
        group = self._groups.pop(symbol)
        agg = self._next_agg.setdefault(symbol, group.first)
        self._next_agg[symbol] = agg + 1
        data = {"e": "aggTrade", "E": group.event_ms, "s": symbol, "a": agg, "p": group.price,
                "q": f"{group.qty:.8f}", "f": group.first, "l": group.last, "T": group.time,
                "m": group.buyer_maker, "M": True}
        return SimFrame(ts, False, (f"{symbol.lower()}@aggTrade", data, None), symbol,
                        derived=True)

    def _split(self, data: dict, ts: int) -> Iterator[SimFrame]:
        first, last = int(data["f"]), int(data["l"])
        fills = last - first + 1
        lots = int(Decimal(data["q"]) / LOT)
        share, extra = divmod(lots, fills)
        symbol = data["s"]
        for k in range(fills):
            qty = (share + (1 if k < extra else 0)) * LOT
            trade = {"e": "trade", "E": data["E"], "s": symbol, "t": first + k, "p": data["p"],
                     "q": f"{qty:.8f}", "T": data["T"], "m": data["m"], "M": True}
            yield SimFrame(ts, False, (f"{symbol.lower()}@trade", trade, None), symbol,
                           derived=True)

    def _close_window(self, symbol: str, ts: int) -> Iterator[SimFrame]:
        """The merged 1000 ms diff, then the 1000 ms partial books (the book as played is at
        the end of the window: the next diff has not been applied yet)."""
        window = self._windows.pop(symbol)
        low = symbol.lower()
        yield SimFrame(ts, False, (f"{low}@depth@1000ms", window.diff(symbol), None), symbol,
                       derived=True)
        yield SimFrame(ts, False, (f"{low}@depth*@1000ms", None, None), symbol, derived=True)

    def advance(self, frame: SimFrame) -> None:
        stream, data, _ = frame.data
        if data is None:
            return
        kind = _kind(stream)
        symbol = frame.symbol or str(data.get("s", ""))
        if frame.book:
            self.now_ms = max(self.now_ms, int(data["E"]))
            book = self.books.get(symbol)
            if book is not None:
                book.apply(data)
        elif kind == "trade":
            self.now_ms = max(self.now_ms, int(data["T"]))
            self.trades.setdefault(symbol, []).append(_Trade(
                int(data["t"]), data["p"], data["q"], int(data["T"]), bool(data["m"])))
        elif kind == "aggTrade":
            self.now_ms = max(self.now_ms, int(data["T"]))
            self.aggs.setdefault(symbol, []).append(_Agg(
                int(data["a"]), data["p"], data["q"], int(data["f"]), int(data["l"]),
                int(data["T"]), bool(data["m"])))

    # -- what each client gets -------------------------------------------------------------
    def _names(self, stream: str, symbol: str) -> tuple[str, ...]:
        """The stream names a frame is sent on: a derived frame serves several."""
        key = (stream, self._has(symbol, "bookTicker"))
        names = self._targets.get(key)
        if names is None:
            low, _, kind = stream.partition("@")
            if kind == "depth*@100ms":
                names = tuple(f"{low}@depth{n}@100ms" for n in PARTIAL_LEVELS)
                if not key[1]:
                    names += (f"{low}@bookTicker",)
            elif kind == "depth*@1000ms":
                names = tuple(f"{low}@depth{n}{s}" for n in PARTIAL_LEVELS
                              for s in ("", "@1000ms"))
            elif kind == "depth@1000ms":
                names = (f"{low}@depth", stream)
            else:
                names = (stream,)
            self._targets[key] = names
        return names

    def _payload(self, frame: SimFrame, name: str) -> bytes:
        """The raw payload of the frame on stream ``name``, computed once per frame."""
        held, cache = self._cache
        if held is not frame:  # held, not id(): a freed frame's id is reused by the next
            cache = {}
            self._cache = (frame, cache)
        out = cache.get(name)
        if out is None:
            _, data, raw = frame.data
            if data is None and raw is not None:
                data = orjson.loads(raw)["data"]
            elif data is None:
                book = self.books.get(frame.symbol)
                kind = _kind(name)
                if kind == "bookTicker":
                    bids, asks = book.top(1) if book else ([], [])
                    if not bids or not asks:
                        return b""
                    data = {"u": book.last, "s": frame.symbol, "b": bids[0][0],
                            "B": bids[0][1], "a": asks[0][0], "A": asks[0][1]}
                else:
                    levels = int(kind[5:].partition("@")[0])
                    data = book.partial(levels) if book else {"lastUpdateId": 0, "bids": [],
                                                              "asks": []}
            out = cache[name] = orjson.dumps(data)
        return out

    def render(self, client: SimClient, frame: SimFrame) -> list[str]:
        stream, _, raw = frame.data
        symbol = frame.symbol or stream.partition("@")[0].upper()
        names = [n for n in self._names(stream, symbol) if n in client.subs]
        if not names:
            return []
        combined = client.props.get("combined", not client.path.startswith("/ws"))
        out = []
        for name in names:
            if combined and raw is not None and name == stream:
                out.append(raw.decode())  # as recorded, byte for byte
                continue
            body = self._payload(frame, name)
            if not body:
                continue
            if combined:
                out.append(f'{{"stream":"{name}","data":{body.decode()}}}')
            else:
                out.append(body.decode())
        return out

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
        """``{"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1}``; errors as
        Binance sends them, e.g. ``{"code": 2, "msg": "Invalid request: ...", "id": 1}``."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return [_ws_error(3, f"Invalid JSON: {exc}", None)]
        if not isinstance(msg, dict):
            return [_ws_error(3, "Invalid JSON: expected an object", None)]
        rid = msg.get("id")
        method = msg.get("method")
        if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool) or rid < 0):
            return [_ws_error(2, "Invalid request: request ID must be an unsigned integer",
                              None)]
        if method is None:
            return [_ws_error(2, "Invalid request: missing field `method`", rid)]
        params = msg.get("params") or []
        if not isinstance(params, list):
            return [_ws_error(2, "Invalid request: params must be an array", rid)]
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not all(isinstance(p, str) for p in params):
                return [_ws_error(2, "Invalid request: stream names must be strings", rid)]
            if method == "SUBSCRIBE":
                client.subs.update(params)
            else:
                client.subs.difference_update(params)
            return [_ws_result(None, rid)]
        if method == "LIST_SUBSCRIPTIONS":
            return [_ws_result(sorted(client.subs), rid)]
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not params or not isinstance(params[0], str):
                return [_ws_error(2, "Invalid request: property name must be a string", rid)]
            if params[0] != "combined":
                return [_ws_error(0, "Unknown property", rid)]
            if method == "GET_PROPERTY":
                combined = client.props.get("combined", not client.path.startswith("/ws"))
                return [_ws_result(combined, rid)]
            if len(params) < 2 or not isinstance(params[1], bool):
                return [_ws_error(1, "Invalid value type: expected Boolean", rid)]
            client.props["combined"] = params[1]
            return [_ws_result(None, rid)]
        return [_ws_error(2, f"Invalid request: unknown variant {method}, expected one of "
                             "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, "
                             "`GET_PROPERTY`", rid)]

    # -- REST ------------------------------------------------------------------------------------
    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes] | None:
        handler = _ROUTES.get(path)
        if handler is None:
            return None
        try:
            result = handler(self, query)
        except ApiError as exc:
            return exc.status, exc.body()
        return 200, result if isinstance(result, bytes) else orjson.dumps(result)

    def _symbol(self, query: dict[str, list[str]]) -> str:
        symbol = query.get("symbol", [""])[0]
        if not symbol:
            raise ApiError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, "
                                  "or malformed.")
        if symbol.upper() not in self.instruments:
            raise ApiError(-1121, "Invalid symbol.")
        return symbol.upper()

    def _wanted(self, query: dict[str, list[str]], *, listed_only: bool = False,
                ) -> list[str] | None:
        """``symbol=X`` or ``symbols=["X","Y"]``; None when neither is given (all).
        ``listed_only``: names in ``symbols`` it does not list are dropped, not refused."""
        if "symbol" in query and "symbols" in query:
            raise ApiError(-1128, "Combination of optional parameters invalid.")
        if "symbol" in query:
            return [self._symbol(query)]
        if "symbols" in query:
            try:
                names = orjson.loads(query["symbols"][0])
            except orjson.JSONDecodeError:
                raise ApiError(-1100, "Illegal characters found in parameter 'symbols'; legal "
                                      "range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\")"
                                      "{0,}){0,1}\\]$'.") from None
            if not isinstance(names, list) or not names:
                raise ApiError(-1102, "Mandatory parameter 'symbols' was not sent, was "
                                      "empty/null, or malformed.")
            names = [str(n).upper() for n in names]
            if listed_only:
                return [n for n in names if n in self.instruments]
            if any(n not in self.instruments for n in names):
                raise ApiError(-1121, "Invalid symbol.")
            return names
        return None

    def _exchange_info(self, query: dict[str, list[str]]) -> dict:
        # ``symbols=[...]`` leaves out names it does not list rather than refusing them with
        # -1121 as the venue does, so that a client's own check can name the missing symbol.
        wanted = self._wanted(query, listed_only=True)
        names = sorted(self.instruments) if wanted is None else wanted
        return {"timezone": "UTC", "serverTime": time.time_ns() // 1_000_000,
                "rateLimits": RATE_LIMITS, "exchangeFilters": [],
                "symbols": [_symbol_info(n, self.instruments[n]) for n in names]}

    def _book_ticker(self, query: dict[str, list[str]]) -> dict | list:
        """``{"symbol": "BTCUSDT", "bidPrice": "61837.63000000", "bidQty": "3.78826000",
        "askPrice": "61837.64000000", "askQty": "1.54698000"}``"""
        wanted = self._wanted(query)
        out = []
        for name in wanted or sorted(self.instruments):
            book = self.books.get(name)
            bids, asks = book.top(1) if book else ([], [])
            bid = bids[0] if bids else ["0.00000000", "0.00000000"]
            ask = asks[0] if asks else ["0.00000000", "0.00000000"]
            out.append({"symbol": name, "bidPrice": bid[0], "bidQty": bid[1],
                        "askPrice": ask[0], "askQty": ask[1]})
        return out[0] if "symbol" in query else out

    def _price_ticker(self, query: dict[str, list[str]]) -> dict | list:
        """``{"symbol": "BTCUSDT", "price": "61837.63000000"}``: the last trade."""
        wanted = self._wanted(query)
        out = []
        for name in wanted or sorted(self.instruments):
            trades = self._trade_list(name)
            out.append({"symbol": name, "price": trades[-1].price if trades else "0.00000000"})
        return out[0] if "symbol" in query else out

    def _ticker_24hr(self, query: dict[str, list[str]]) -> dict | list:
        """The rolling 24 h statistics over the trades played so far, e.g. ``{"symbol":
        "BTCUSDT", "priceChange": "-12.01000000", "priceChangePercent": "-0.019",
        "weightedAvgPrice": "61830.12345678", "prevClosePrice": "61842.00000000", "lastPrice":
        "61829.99000000", "lastQty": "0.00100000", "bidPrice": .., "bidQty": .., "askPrice": ..,
        "askQty": .., "openPrice": "61842.00000000", "highPrice": .., "lowPrice": ..,
        "volume": "512.34000000", "quoteVolume": "31678234.12000000", "openTime":
        1723075200000, "closeTime": 1723161600000, "firstId": 3735683259, "lastId":
        3735703162, "count": 19904}``; ``type=MINI`` leaves out the book and last-trade
        fields."""
        kind = query.get("type", ["FULL"])[0].upper()
        if kind not in ("FULL", "MINI"):
            raise ApiError(-1100, "Illegal characters found in parameter 'type'; legal range "
                                  "is 'FULL, MINI'.")
        wanted = self._wanted(query)
        out = [self._stats(n, kind == "MINI") for n in wanted or sorted(self.instruments)]
        return out[0] if "symbol" in query else out

    def _stats(self, symbol: str, mini: bool) -> dict:
        trades = self._trade_list(symbol)
        close = self.now_ms or (trades[-1].time if trades else time.time_ns() // 1_000_000)
        start = bisect_left(trades, close - DAY_MS, key=lambda t: t.time)
        window = trades[start:]
        zero = "0.00000000"
        stats = {"symbol": symbol, "openPrice": zero, "highPrice": zero, "lowPrice": zero,
                 "lastPrice": zero, "volume": zero, "quoteVolume": zero,
                 "openTime": close - DAY_MS, "closeTime": close, "firstId": -1, "lastId": -1,
                 "count": 0}
        full = {"priceChange": zero, "priceChangePercent": "0.000", "weightedAvgPrice": zero,
                "prevClosePrice": zero, "lastQty": zero}
        if window:
            prices = [Decimal(t.price) for t in window]
            volume = sum((Decimal(t.qty) for t in window), Decimal(0))
            quote = sum((p * Decimal(t.qty) for p, t in zip(prices, window, strict=True)),
                        Decimal(0))
            first, last = prices[0], prices[-1]
            stats.update({"openPrice": window[0].price, "highPrice": _px(max(prices)),
                          "lowPrice": _px(min(prices)), "lastPrice": window[-1].price,
                          "volume": _px(volume), "quoteVolume": _px(quote),
                          "openTime": window[0].time, "closeTime": close,
                          "firstId": window[0].id, "lastId": window[-1].id,
                          "count": window[-1].id - window[0].id + 1})
            # Before the capture there is no close: the first price in the window stands in.
            prev = trades[start - 1].price if start else window[0].price
            full.update({"priceChange": _px(last - first),
                         "priceChangePercent": f"{(last - first) / first * 100:.3f}",
                         "weightedAvgPrice": _px(quote / volume) if volume else zero,
                         "prevClosePrice": prev, "lastQty": window[-1].qty})
        if mini:
            return stats
        book = self.books.get(symbol)
        bids, asks = book.top(1) if book else ([], [])
        bid = bids[0] if bids else [zero, zero]
        ask = asks[0] if asks else [zero, zero]
        return {"symbol": symbol, **{k: full[k] for k in ("priceChange", "priceChangePercent",
                                                            "weightedAvgPrice", "prevClosePrice")},
                "lastPrice": stats["lastPrice"], "lastQty": full["lastQty"], "bidPrice": bid[0],
                "bidQty": bid[1], "askPrice": ask[0], "askQty": ask[1],
                **{k: stats[k] for k in ("openPrice", "highPrice", "lowPrice", "volume",
                                         "quoteVolume", "openTime", "closeTime", "firstId",
                                         "lastId", "count")}}

    def _trade_list(self, symbol: str) -> list[_Trade]:
        return self.trades.get(symbol, [])

    def _recent_trades(self, query: dict[str, list[str]]) -> list[dict]:
        """``[{"id": 3735683259, "price": "61837.63000000", "qty": "0.02000000", "quoteQty":
        "1236.7526", "time": 1723161255342, "isBuyerMaker": true, "isBestMatch": true}]``,
        oldest first; ``fromId`` (``/api/v3/historicalTrades``) starts at that id."""
        symbol = self._symbol(query)
        limit = _int(query, "limit", 500, 1, 1000)
        trades = self._trade_list(symbol)
        if "fromId" in query:
            from_id = _int(query, "fromId", 0, 0, 2**63)
            start = bisect_left(trades, from_id, key=lambda t: t.id)
            chosen = trades[start:start + limit]
        else:
            chosen = trades[-limit:]
        return [{"id": t.id, "price": t.price, "qty": t.qty,
                 "quoteQty": f"{(Decimal(t.price) * Decimal(t.qty)).normalize():f}",
                 "time": t.time, "isBuyerMaker": t.buyer_maker, "isBestMatch": True}
                for t in chosen]

    def _agg_trades(self, query: dict[str, list[str]]) -> list[dict]:
        """``[{"a": 18938405, "p": "0.21448000", "q": "2062.90000000", "f": 23806928,
        "l": 23806928, "T": 1617647603483, "m": false, "M": true}]``, oldest first."""
        symbol = self._symbol(query)
        limit = _int(query, "limit", 500, 1, 1000)
        aggs = self.aggs.get(symbol, [])
        if "fromId" in query:
            start = bisect_left(aggs, _int(query, "fromId", 0, 0, 2**63), key=lambda a: a.a)
            chosen = aggs[start:start + limit]
        elif "startTime" in query or "endTime" in query:
            lo = _int(query, "startTime", 0, 0, 2**63)
            hi = _int(query, "endTime", 2**63, 0, 2**63)
            if "startTime" in query and "endTime" in query and hi - lo > 3_600_000:
                raise ApiError(-1127, "More than 1 hours between startTime and endTime.")
            start = bisect_left(aggs, lo, key=lambda a: a.T)
            chosen = [a for a in aggs[start:] if hi >= a.T][:limit]
        else:
            chosen = aggs[-limit:]
        return [{"a": a.a, "p": a.p, "q": a.q, "f": a.f, "l": a.l, "T": a.T, "m": a.m,
                 "M": True} for a in chosen]

    def _avg_price(self, query: dict[str, list[str]]) -> dict:
        """``{"mins": 5, "price": "61836.12345678", "closeTime": 1723161600000}``: the
        volume-weighted price of the last five minutes of trades."""
        symbol = self._symbol(query)
        trades = self._trade_list(symbol)
        close = trades[-1].time if trades else self.now_ms
        window = trades[bisect_left(trades, close - 300_000, key=lambda t: t.time):]
        volume = sum((Decimal(t.qty) for t in window), Decimal(0))
        quote = sum((Decimal(t.price) * Decimal(t.qty) for t in window), Decimal(0))
        return {"mins": 5, "price": _px(quote / volume) if volume else "0.00000000",
                "closeTime": close}


def _depth(venue: BinanceVenue, query: dict[str, list[str]]) -> bytes:
    """``GET /api/v3/depth?symbol=BTCUSDT&limit=1000``: ``{"lastUpdateId": 50093239218,
    "bids": [["61837.63000000", "3.78826000"], ...], "asks": [...]}``, the book as of the last
    frame sent. ``limit`` defaults to 100; as documented, a limit over 5000 is cut to 5000,
    and one that is not a positive integer is refused with -1100."""
    symbol = venue._symbol(query)
    limit = min(_int(query, "limit", 100, 1, 2**63), 5000)
    if symbol not in venue.books:
        return orjson.dumps({"lastUpdateId": 0, "bids": [], "asks": []})
    if symbol in venue.stale:
        return venue.stale.pop(symbol)
    return venue.books[symbol].reply(limit)


_ROUTES = {
    "/api/v3/depth": _depth, "/api/v1/depth": _depth,
    "/api/v3/exchangeInfo": BinanceVenue._exchange_info,
    "/api/v3/ticker/bookTicker": BinanceVenue._book_ticker,
    "/api/v3/ticker/price": BinanceVenue._price_ticker,
    "/api/v3/ticker/24hr": BinanceVenue._ticker_24hr,
    "/api/v3/trades": BinanceVenue._recent_trades,
    "/api/v3/historicalTrades": BinanceVenue._recent_trades,
    "/api/v3/aggTrades": BinanceVenue._agg_trades,
    "/api/v3/avgPrice": BinanceVenue._avg_price,
    "/api/v3/ping": lambda venue, query: {},
    "/api/v3/time": lambda venue, query: {"serverTime": time.time_ns() // 1_000_000},
}

#: The spot limits as ``exchangeInfo`` lists them (not enforced here).
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def _symbol_info(name: str, spec: InstrumentSpec) -> dict:
    """One ``exchangeInfo`` symbol with the filters the venue lists for spot pairs::

        {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
         "baseAssetPrecision": 8, ..., "filters": [{"filterType": "PRICE_FILTER",
         "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
         {"filterType": "LOT_SIZE", ...}, ...], "permissionSets": [["SPOT"]]}
    """
    base, quote = _split(name)
    tick, lot = _px(spec.tick_size), _px(spec.lot_size)
    min_notional = "5.00000000" if quote not in ("BTC", "ETH", "BNB") else "0.00010000"
    return {
        "symbol": name, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
        "cancelReplaceAllowed": True, "amendAllowed": True, "pegInstructionsAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": lot, "maxQty": "9000.00000000",
             "stepSize": lot},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000",
             "stepSize": "0.00000000"},
            {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10,
             "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10,
             "maxTrailingBelowDelta": 2000},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5",
             "bidMultiplierDown": "0.2", "askMultiplierUp": "5", "askMultiplierDown": "0.2",
             "avgPriceMins": 5},
            {"filterType": "NOTIONAL", "minNotional": min_notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _px(value: Decimal) -> str:
    return f"{value:.8f}"


def _int(query: dict[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    """An integer parameter, refused with Binance's -1100 when not digits or out of range."""
    if name not in query:
        return default
    text = query[name][0]
    if not text.isdigit() or len(text) > 20:
        raise ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                              f"is '{ILLEGAL_NUMBER}'.")
    value = int(text)
    if not lo <= value <= hi:
        raise ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                              f"is '{lo} - {hi}'.")
    return value


def _ws_result(result: object, rid: int | None) -> str:
    return orjson.dumps({"result": result, "id": rid}).decode()


def _ws_error(code: int, msg: str, rid: int | None) -> str:
    body: dict = {"code": code, "msg": msg}
    if rid is not None:
        body["id"] = rid
    return orjson.dumps(body).decode()


def _stream_name(payload: bytes) -> str | None:
    if payload.startswith(b'{"stream":"'):
        return payload[11:payload.index(b'"', 11)].decode()
    try:
        msg = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return msg.get("stream") or _stream_of(msg.get("data", msg)) if isinstance(msg, dict) \
        else None


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


__all__ = ["ApiError", "BinanceVenue"]
