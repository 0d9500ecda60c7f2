"""``obflow venue-sim`` speaks each venue's documented protocol: every Binance stream (raw and
combined, live subscriptions), the REST endpoints with the venue's error bodies, TLS, and the
Coinbase Advanced Trade session as the venue itself recorded it. Each test runs the
simulator as a subprocess and talks to it over 127.0.0.1."""

import asyncio
import gzip
import itertools
import ssl
import urllib.error
import urllib.request
from decimal import Decimal

import orjson
import pytest
import websockets
from data_paths import shared_file

from connectors.timeparse import iso_ns
from replay.sim_process import SimProcess

BTC = ["binance/hftbacktest_binance_spot_btcusdt_20240808.gz",
       "binance/hftbacktest_binance_spot_btcusdt_20240809.gz"]
CRYPTOFEED = "binance/cryptofeed_BINANCE-b38f7c_2021-04-05.raw.txt"
COINBASE = "coinbase/cryptofeed_COINBASE_advanced_trade_BTC-ETH-USD.jsonl.gz"


async def get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str, object]:
    """Status, content type and JSON body of a GET, error statuses included."""
    def call() -> tuple[int, str, bytes]:
        try:
            with urllib.request.urlopen(url, context=context, timeout=10) as r:
                return r.status, r.headers["Content-Type"], r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers["Content-Type"], e.read()

    status, kind, body = await asyncio.to_thread(call)
    return status, kind, orjson.loads(body)


async def read_all(ws, sim: SimProcess, quiet_s: float = 1.0, limit: int = 10**7) -> list[dict]:
    """Every message until the simulator has sent its data and the line goes quiet."""
    out = []
    while len(out) < limit:
        try:
            out.append(orjson.loads(await asyncio.wait_for(ws.recv(), quiet_s)))
        except TimeoutError:
            if sim.done.is_set():
                break
    return out


class Book:
    """A client's Binance book: price text -> quantity text per side."""

    def __init__(self, snapshot: dict) -> None:
        self.bids = dict(snapshot["bids"])
        self.asks = dict(snapshot["asks"])
        self.last = snapshot["lastUpdateId"]
        self.synced = False

    def apply(self, diff: dict) -> None:
        if diff["u"] <= self.last:
            return
        if not self.synced:
            assert diff["U"] <= self.last + 1 <= diff["u"], "the snapshot cannot bridge"
            self.synced = True
        else:
            assert diff["U"] == self.last + 1, "a gap in the stream"
        for side, key in ((self.bids, "b"), (self.asks, "a")):
            for p, q in diff[key]:
                if Decimal(q) == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        self.last = diff["u"]

    def top(self, n: int) -> tuple[list, list]:
        bids = sorted(self.bids.items(), key=lambda kv: -Decimal(kv[0]))[:n]
        asks = sorted(self.asks.items(), key=lambda kv: Decimal(kv[0]))[:n]
        return [list(b) for b in bids], [list(a) for a in asks]


async def test_binance_depth_streams_are_the_documented_derivations_of_the_capture():
    """@depth@100ms as recorded; @depth and @depth@1000ms the merge of each second's 100 ms
    diffs; partial books the top N of the book as played; trades split from aggTrades."""
    sym = "dentusdt"
    partial = [f"{sym}@depth{n}{s}" for n in (5, 10, 20) for s in ("", "@100ms", "@1000ms")]
    streams = [f"{sym}@depth@100ms", f"{sym}@depth", f"{sym}@depth@1000ms", *partial,
               f"{sym}@trade", f"{sym}@aggTrade", f"{sym}@bookTicker"]
    async with SimProcess("binance", [shared_file(CRYPTOFEED)]) as sim:
        async with websockets.connect(f"{sim.ws_url}/stream?streams={'/'.join(streams)}",
                                      max_size=None) as ws:
            status, _, snapshot = await get(f"{sim.rest_url}/api/v3/depth?symbol=DENTUSDT"
                                            "&limit=5000")
            messages = await read_all(ws, sim)
        _, _, final = await get(f"{sim.rest_url}/api/v3/depth?symbol=DENTUSDT&limit=20")
    assert status == 200
    by_stream: dict[str, list] = {}
    for m in messages:
        assert set(m) == {"stream", "data"}
        by_stream.setdefault(m["stream"], []).append(m["data"])
    assert set(by_stream) == set(streams)
    fast, slow = by_stream[f"{sym}@depth@100ms"], by_stream[f"{sym}@depth"]
    assert slow == by_stream[f"{sym}@depth@1000ms"]  # two names of one stream
    assert len(fast) == 1029 and 0 < len(slow) < len(fast)

    # Each 1000 ms diff is the merge of the 100 ms diffs it spans: U of the first, u of the
    # last, each level's last quantity; windows are whole seconds of event time.
    for prev, diff in itertools.pairwise(slow):
        assert diff["U"] == prev["u"] + 1 and diff["E"] // 1000 > prev["E"] // 1000
    k = 0
    for diff in slow:
        assert diff["e"] == "depthUpdate" and diff["s"] == "DENTUSDT"
        assert fast[k]["U"] == diff["U"]
        bids, asks = {}, {}
        while k < len(fast) and fast[k]["u"] <= diff["u"]:
            assert fast[k]["E"] // 1000 == diff["E"] // 1000
            bids.update(dict(fast[k]["b"]))
            asks.update(dict(fast[k]["a"]))
            k += 1
        assert fast[k - 1]["u"] == diff["u"] and fast[k - 1]["E"] == diff["E"]
        assert dict(diff["b"]) == bids and dict(diff["a"]) == asks
    assert k == len(fast)

    # Partial books equal the top N of a book kept from the snapshot and the diffs, at the
    # same update id: after every 100 ms diff, and at every 1000 ms window.
    book_fast, book_slow = Book(snapshot), Book(snapshot)
    checked = {"100ms": 0, "1000ms": 0}
    for m in messages:
        stream, data = m["stream"], m["data"]
        if stream == f"{sym}@depth@100ms":
            book_fast.apply(data)
        elif stream == f"{sym}@depth":
            book_slow.apply(data)
        elif "@depth" in stream and stream != f"{sym}@depth@1000ms":
            assert set(data) == {"lastUpdateId", "bids", "asks"}
            n = int(stream.split("@depth")[1].split("@")[0])
            speed = "100ms" if stream.endswith("@100ms") else "1000ms"
            book = book_fast if speed == "100ms" else book_slow
            if book.synced and data["lastUpdateId"] == book.last:
                assert [data["bids"], data["asks"]] == list(book.top(n)), stream
                checked[speed] += 1
    assert checked["100ms"] > 2500 and checked["1000ms"] > 150
    assert book_fast.top(20) == book_slow.top(20) == (final["bids"], final["asks"])
    assert book_fast.last == book_slow.last == final["lastUpdateId"]

    # Trades come from the recorded aggTrades: f..l contiguous, quantities summing exactly.
    trades = {t["t"]: t for t in by_stream[f"{sym}@trade"]}
    aggs = by_stream[f"{sym}@aggTrade"]
    assert sorted(trades) == list(range(aggs[0]["f"], aggs[-1]["l"] + 1))
    assert any(a["l"] > a["f"] for a in aggs)
    for a in aggs:
        fills = [trades[i] for i in range(a["f"], a["l"] + 1)]
        assert sum(Decimal(t["q"]) for t in fills) == Decimal(a["q"])
        assert {(t["p"], t["T"], t["m"], t["e"], t["s"]) for t in fills} == \
            {(a["p"], a["T"], a["m"], "trade", "DENTUSDT")}


async def test_binance_aggtrades_from_trades_and_the_trade_endpoints():
    """The BTCUSDT capture records trades only: @aggTrade groups consecutive fills at one
    price, time and side; /trades, /aggTrades and /ticker/24hr agree with the stream."""
    paths = [shared_file(p) for p in BTC]
    async with SimProcess("binance", paths) as sim:
        async with websockets.connect(f"{sim.ws_url}/ws/btcusdt@trade/btcusdt@aggTrade",
                                      max_size=None) as ws:
            messages = await read_all(ws, sim)
        rest = sim.rest_url + "/api/v3"
        _, _, recent = await get(f"{rest}/trades?symbol=BTCUSDT&limit=1000")
        _, _, aggs_rest = await get(f"{rest}/aggTrades?symbol=BTCUSDT&limit=1000")
        _, _, stats = await get(f"{rest}/ticker/24hr?symbol=BTCUSDT")
        _, _, mini = await get(f"{rest}/ticker/24hr?symbol=BTCUSDT&type=MINI")
        _, _, book = await get(f"{rest}/ticker/bookTicker?symbol=BTCUSDT")
        _, _, depth = await get(f"{rest}/depth?symbol=BTCUSDT&limit=1")
        too_many = await get(f"{rest}/trades?symbol=BTCUSDT&limit=1001")
    trades = [m for m in messages if m["e"] == "trade"]  # raw stream: no envelope
    aggs = [m for m in messages if m["e"] == "aggTrade"]
    assert len(trades) == 19_904
    assert [t["t"] for t in trades] == list(range(trades[0]["t"], trades[0]["t"] + 19_904))
    assert [a["a"] for a in aggs] == list(range(aggs[0]["a"], aggs[0]["a"] + len(aggs)))
    assert aggs[0]["f"] == trades[0]["t"] and aggs[-1]["l"] == trades[-1]["t"]
    by_id = {t["t"]: t for t in trades}
    for prev, agg in itertools.pairwise(aggs):
        assert agg["f"] == prev["l"] + 1
        fills = [by_id[i] for i in range(agg["f"], agg["l"] + 1)]
        assert {(t["p"], t["T"], t["m"]) for t in fills} == {(agg["p"], agg["T"], agg["m"])}
        assert sum(Decimal(t["q"]) for t in fills) == Decimal(agg["q"])
    assert len(aggs) < len(trades)

    assert [r["id"] for r in recent] == [t["t"] for t in trades[-1000:]]
    assert recent[-1] == {"id": trades[-1]["t"], "price": trades[-1]["p"],
                          "qty": trades[-1]["q"], "quoteQty": recent[-1]["quoteQty"],
                          "time": trades[-1]["T"], "isBuyerMaker": trades[-1]["m"],
                          "isBestMatch": True}
    assert Decimal(recent[-1]["quoteQty"]) == Decimal(trades[-1]["p"]) * Decimal(trades[-1]["q"])
    assert [a["a"] for a in aggs_rest] == [a["a"] for a in aggs[-1000:]]
    assert set(aggs_rest[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    assert too_many[0] == 400 and too_many[2]["code"] == -1100

    prices = [Decimal(t["p"]) for t in trades]
    volume = sum(Decimal(t["q"]) for t in trades)
    assert stats["count"] == 19_904 and stats["firstId"] == trades[0]["t"]
    assert Decimal(stats["volume"]) == volume
    assert Decimal(stats["highPrice"]) == max(prices) and Decimal(stats["lowPrice"]) == min(prices)
    assert stats["openPrice"] == trades[0]["p"] and stats["lastPrice"] == trades[-1]["p"]
    assert Decimal(stats["priceChange"]) == prices[-1] - prices[0]
    assert (stats["bidPrice"], stats["askPrice"]) == (book["bidPrice"], book["askPrice"])
    assert [book["bidPrice"], book["bidQty"]] == depth["bids"][0]
    assert set(mini) == {"symbol", "openPrice", "highPrice", "lowPrice", "lastPrice", "volume",
                         "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count"}


async def test_binance_raw_streams_live_subscriptions_and_rest_errors():
    async with SimProcess("binance", [], speed="20") as sim:
        async with websockets.connect(f"{sim.ws_url}/ws/btcusdt@depth") as ws:
            # Raw stream: the payload alone. The 1000 ms diff and aggTrade (derived here from
            # the trades) used to be acknowledged and then silent.
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first["e"] == "depthUpdate" and "stream" not in first

            async def reply(request: str) -> dict:
                await ws.send(request)
                while True:
                    msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                    if "result" in msg or "code" in msg:
                        return msg

            sub = '{"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1}'
            assert await reply(sub) == {"result": None, "id": 1}
            assert await reply('{"method": "LIST_SUBSCRIPTIONS", "id": 2}') == {
                "result": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 2}
            while (msg := orjson.loads(await asyncio.wait_for(ws.recv(), 5)))["e"] != "aggTrade":
                pass
            assert set(msg) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}
            assert await reply('{"method": "GET_PROPERTY", "params": ["combined"], "id": 3}') \
                == {"result": False, "id": 3}
            assert await reply('{"method": "SET_PROPERTY", "params": ["combined", true], '
                               '"id": 4}') == {"result": None, "id": 4}
            wrapped = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert set(wrapped) == {"stream", "data"}
            assert wrapped["stream"] in ("btcusdt@depth", "btcusdt@aggTrade")
            unsub = '{"method": "UNSUBSCRIBE", "params": ["btcusdt@depth"], "id": 5}'
            assert await reply(unsub) == {"result": None, "id": 5}
            assert (await reply('{"method": "LIST_SUBSCRIPTIONS", "id": 6}'))["result"] == [
                "btcusdt@aggTrade"]
            bad = await reply('{"method": "SUBSCRIBE", "params": [], "id": -1}')
            assert bad["code"] == 2 and "unsigned integer" in bad["msg"]
            bad = await reply('{"method": "PING", "id": 7}')
            assert bad["code"] == 2 and bad["id"] == 7 and "unknown variant" in bad["msg"]
            assert (await reply("not json"))["code"] == 3
            bad = await reply('{"method": "SET_PROPERTY", "params": ["combined", 1], "id": 8}')
            assert bad == {"code": 1, "msg": "Invalid value type: expected Boolean", "id": 8}
            bad = await reply('{"method": "GET_PROPERTY", "params": ["x"], "id": 9}')
            assert bad == {"code": 0, "msg": "Unknown property", "id": 9}

        rest = sim.rest_url + "/api/v3"
        for limit in ("1", "5000", "5001", "99999"):  # over 5000: cut to 5000, as documented
            status, kind, body = await get(f"{rest}/depth?symbol=BTCUSDT&limit={limit}")
            assert status == 200 and kind == "application/json"
            assert (len(body["bids"]) == 1) if limit == "1" else (len(body["bids"]) > 40)
        for limit in ("0", "abc", "-5", "", "1.5", "1" * 21):
            status, kind, body = await get(f"{rest}/depth?symbol=BTCUSDT&limit={limit}")
            assert (status, kind, body["code"]) == (400, "application/json", -1100), limit
            assert "'limit'" in body["msg"]
        assert (await get(f"{rest}/depth"))[2]["code"] == -1102
        assert (await get(f"{rest}/depth?symbol=NOPE"))[2] == {"code": -1121,
                                                              "msg": "Invalid symbol."}
        assert (await get(f"{rest}/ping"))[:3:2] == (200, {})
        assert abs((await get(f"{rest}/time"))[2]["serverTime"] / 1000 - __import__(
            "time").time()) < 60
        status, kind, body = await get(f"{rest}/nothing")
        assert (status, kind) == (404, "application/json") and "code" in body

        _, _, info = await get(f"{rest}/exchangeInfo?symbol=BTCUSDT")
        (symbol,) = info["symbols"]
        filters = {f["filterType"]: f for f in symbol["filters"]}
        assert {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "MARKET_LOT_SIZE", "ICEBERG_PARTS",
                "MAX_NUM_ORDERS", "MAX_NUM_ALGO_ORDERS", "TRAILING_DELTA",
                "PERCENT_PRICE_BY_SIDE"} <= set(filters)
        assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
        assert symbol["baseAsset"] == "BTC" and symbol["quoteAsset"] == "USDT"
        assert {r["rateLimitType"] for r in info["rateLimits"]} == {
            "REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
        assert (await get(f"{rest}/exchangeInfo?symbol=NOPE"))[2]["code"] == -1121
        _, _, tickers = await get(f"{rest}/ticker/bookTicker")
        assert [t["symbol"] for t in tickers] == ["BTCUSDT"]
        _, _, price = await get(f"{rest}/ticker/price?symbol=BTCUSDT")
        assert Decimal(price["price"]) > 0


async def test_tls_serves_wss_and_https_with_a_certificate_it_makes_or_is_given():
    async with SimProcess("binance", [], speed="20", tls=True) as sim:
        assert sim.ws_url.startswith("wss://") and sim.cert.exists()
        context = sim.ssl_context()
        context.verify_flags |= ssl.VERIFY_X509_STRICT  # as newer clients check by default
        async with websockets.connect(f"{sim.ws_url}/stream?streams=btcusdt@depth5@100ms",
                                      ssl=context) as ws:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert msg["stream"] == "btcusdt@depth5@100ms" and len(msg["data"]["bids"]) == 5
        assert (await get(f"{sim.rest_url}/api/v3/ping", context))[2] == {}
        with pytest.raises(ssl.SSLCertVerificationError):
            async with websockets.connect(f"{sim.ws_url}/ws/btcusdt@trade"):
                pass  # the default trust store does not know it
        cert, key = sim.cert, sim.cert.with_name("key.pem")
        async with SimProcess("coinbase", [], "--cert", str(cert), "--key", str(key),
                              speed="20") as given:
            given.tls = True
            status, _, body = await get(f"{given.rest_url}/api/v3/brokerage/market/products",
                                        context)
        assert status == 200 and body["products"][0]["product_id"] == "BTC-USD"


def recorded_session() -> tuple[list[str], list[dict]]:
    """The channels the capture's client subscribed to, in order, and the frames it got."""
    sent, frames = [], []
    with gzip.open(shared_file(COINBASE)) as f:
        for raw in f:
            rec = orjson.loads(raw)
            if rec["t"] == "send":
                sent.append(orjson.loads(rec["data"])["channel"])
            elif rec["t"] == "recv":
                frames.append(orjson.loads(rec["data"]))
    return sent, frames


async def test_coinbase_session_is_the_one_the_venue_recorded():
    """Subscribed the way the capture's client did, the simulator answers as the venue did:
    the same frame fields, snapshots before each subscriptions frame, the same subscriptions
    replies (level2 by that name, heartbeats as ["heartbeats"]), contiguous sequence_num and
    timestamps that never go back; REST answers from the same book."""
    channels, recorded = recorded_session()
    products = ["BTC-USD", "ETH-USD"]
    async with SimProcess("coinbase", [shared_file(COINBASE)]) as sim:
        async with websockets.connect(sim.ws_url, max_size=None) as ws:
            for channel in channels:
                await ws.send(orjson.dumps({"type": "subscribe", "product_ids": products,
                                            "channel": channel}).decode())
            frames = await read_all(ws, sim)
        rest = sim.rest_url + "/api/v3/brokerage"
        book = {p: (await get(f"{rest}/market/product_book?product_id={p}"))[2]
                for p in products}
        _, _, listed = await get(f"{rest}/market/products?product_ids=BTC-USD"
                                 "&product_ids=ETH-USD")
        _, _, one = await get(f"{rest}/market/products/ETH-USD")
        _, _, ticker = await get(f"{rest}/market/products/BTC-USD/ticker?limit=5")
        _, _, top = await get(f"{rest}/market/product_book?product_id=BTC-USD&limit=3")
        errors = [await get(f"{rest}/market/products/NOPE-USD"),
                  await get(f"{rest}/market/product_book"),
                  await get(f"{rest}/market/product_book?product_id=BTC-USD&limit=x")]

    def replies(session: list[dict]) -> list[dict]:
        return [{k: sorted(v) for k, v in f["events"][0]["subscriptions"].items()}
                for f in session if f["channel"] == "subscriptions"]

    assert replies(frames) == replies(recorded)
    assert replies(frames)[-1]["heartbeats"] == ["heartbeats"] and "level2" in replies(frames)[-1]
    for frame in frames:
        assert list(frame) == ["channel", "timestamp", "sequence_num", "events"]
    assert [f["sequence_num"] for f in frames] == list(range(len(frames)))
    stamps = [iso_ns(f["timestamp"]) for f in frames]
    assert stamps == sorted(stamps)
    # market_trades: one snapshot per product, newest first, before its subscriptions frame.
    first_reply = next(i for i, f in enumerate(frames) if f["channel"] == "subscriptions")
    snaps = [f for f in frames[:first_reply] if f["channel"] == "market_trades"]
    assert len(snaps) == 2 and all(f["events"][0]["type"] == "snapshot" for f in snaps)
    for snap in snaps:
        ids = [int(t["trade_id"]) for t in snap["events"][0]["trades"]]
        assert ids == sorted(ids, reverse=True) and len(ids) == 100
    beats = [f["events"][0] for f in frames if f["channel"] == "heartbeats"]
    assert len(beats) == 25 and all(set(b) == {"current_time", "heartbeat_counter"}
                                    for b in beats)

    # A book kept from the in-band snapshot and updates equals product_book at the end.
    kept: dict[str, tuple[dict, dict]] = {}
    for frame in frames:
        if frame["channel"] != "l2_data":
            continue
        for event in frame["events"]:
            if event["type"] == "snapshot":
                kept[event["product_id"]] = ({}, {})
            bids, asks = kept[event["product_id"]]
            for u in event["updates"]:
                side = bids if u["side"] == "bid" else asks
                if Decimal(u["new_quantity"]) == 0:
                    side.pop(u["price_level"], None)
                else:
                    side[u["price_level"]] = u["new_quantity"]
    for product in products:
        bids, asks = kept[product]
        pricebook = book[product]["pricebook"]
        assert {b["price"]: b["size"] for b in pricebook["bids"]} == bids
        assert {a["price"]: a["size"] for a in pricebook["asks"]} == asks
    assert top["pricebook"]["bids"][0] == {"price": "65083.66",
                                          "size": book["BTC-USD"]["pricebook"]["bids"][0]["size"]}
    assert top["pricebook"]["asks"][0]["price"] == "65083.67" and len(top["pricebook"]["bids"]) == 3
    assert Decimal(top["spread_absolute"]) == Decimal("0.01")
    assert Decimal(top["mid_market"]) == Decimal("65083.665")

    assert [p["product_id"] for p in listed["products"]] == products
    assert listed["num_products"] == 2
    assert one["quote_increment"] == "0.01" and one["base_name"] == "Ethereum"
    assert (one["best_bid_price"], one["best_ask_price"]) == ("1919.28", "1919.38")
    assert len(ticker["trades"]) == 5 and ticker["best_bid"] == "65083.66"
    times = [iso_ns(t["time"]) for t in ticker["trades"]]
    assert times == sorted(times, reverse=True)
    assert [(s, b["error"]) for s, _, b in errors] == [
        (404, "NOT_FOUND"), (400, "INVALID_ARGUMENT"), (400, "INVALID_ARGUMENT")]
    assert all(set(b) == {"error", "error_details", "message"} for _, _, b in errors)
