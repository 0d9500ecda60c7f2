"""Binance's own Python client (``binance-connector``), unchanged but for its base URLs, keeps a
book from ``obflow venue-sim`` over wss:// and https:// the way Binance documents it, and ends
on the same book as ``obflow book`` builds offline from the capture."""

import asyncio
import json
import threading
from decimal import Decimal

import pytest
from data_paths import shared_file
from sim_helpers import offline_books

from replay.sim_process import SimProcess
from replay.sources import open_venue_source

spot = pytest.importorskip("binance.spot")
stream_client = pytest.importorskip("binance.websocket.spot.websocket_stream")
binance_error = pytest.importorskip("binance.error")

BTC = ["binance/hftbacktest_binance_spot_btcusdt_20240808.gz",
       "binance/hftbacktest_binance_spot_btcusdt_20240809.gz"]


class LocalBook:
    """The documented procedure: buffer events, take a snapshot, drop ``u <= lastUpdateId``,
    the first event brackets ``lastUpdateId + 1``, then each ``U`` is the previous ``u + 1``."""

    def __init__(self, snapshot: dict) -> None:
        self.bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
        self.last = snapshot["lastUpdateId"]
        self.applied = 0

    def apply(self, event: dict) -> None:
        if event["u"] <= self.last:
            return
        if self.applied == 0:
            assert event["U"] <= self.last + 1 <= event["u"]
        else:
            assert event["U"] == self.last + 1
        for side, key in ((self.bids, "b"), (self.asks, "a")):
            for p, q in event[key]:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        self.last = event["u"]
        self.applied += 1

    def top(self, n: int) -> tuple[list, list]:
        return (sorted(self.bids.items(), reverse=True)[:n], sorted(self.asks.items())[:n])


async def test_binance_connector_keeps_the_offline_book_over_tls(monkeypatch):
    paths = [shared_file(p) for p in BTC]
    offline = offline_books(paths)["BTCUSDT"]
    spec = open_venue_source(paths).instruments["BTCUSDT"]
    received: list[dict] = []
    subscribed = threading.Event()

    def on_message(_socket, message: str) -> None:
        msg = json.loads(message)
        if "result" in msg:
            subscribed.set()
        else:
            received.append(msg)

    async with SimProcess("binance", paths, tls=True) as sim:
        # Trust the simulator's certificate the way these libraries are told to: the CA
        # bundle variables of websocket-client and requests (which override a session's own
        # ``verify``).
        monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(sim.cert))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.cert))
        ws = await asyncio.to_thread(stream_client.SpotWebsocketStreamClient,
                                     stream_url=sim.ws_url, on_message=on_message,
                                     is_combined=True)
        try:
            ws.subscribe(["btcusdt@depth@100ms", "btcusdt@depth@1000ms", "btcusdt@aggTrade"],
                         id=1)
            assert await asyncio.to_thread(subscribed.wait, 10)
            client = spot.Spot(base_url=sim.rest_url)
            snapshot = await asyncio.to_thread(client.depth, "BTCUSDT", limit=5000)
            await asyncio.wait_for(sim.done.wait(), 30)
            count = -1
            while count != len(received):  # until the line is quiet
                count = len(received)
                await asyncio.sleep(0.5)
            info = await asyncio.to_thread(client.exchange_info, symbol="BTCUSDT")
            stats = await asyncio.to_thread(client.ticker_24hr, "BTCUSDT")
            aggs = await asyncio.to_thread(client.agg_trades, "BTCUSDT", limit=10)
            ticker = await asyncio.to_thread(client.book_ticker, "BTCUSDT")
            final = await asyncio.to_thread(client.depth, "BTCUSDT", limit=20)
            assert await asyncio.to_thread(client.ping) == {}
            with pytest.raises(binance_error.ClientError) as refused:
                await asyncio.to_thread(client.depth, "BTCUSDT", limit=0)
        finally:
            await asyncio.to_thread(ws.stop)
    assert (refused.value.status_code, refused.value.error_code) == (400, -1100)

    fast, slow = LocalBook(snapshot), LocalBook(snapshot)
    for msg in received:
        if msg["stream"] == "btcusdt@depth@100ms":
            fast.apply(msg["data"])
        elif msg["stream"] == "btcusdt@depth@1000ms":
            slow.apply(msg["data"])
    assert fast.applied > 6000 and 0 < slow.applied < fast.applied
    assert fast.last == slow.last == final["lastUpdateId"]

    bid_px, bid_qty, ask_px, ask_qty = offline.sink.book.top(20)
    expected = ([(Decimal(int(p)) * spec.tick_size, Decimal(int(q)) * spec.lot_size)
                 for p, q in zip(bid_px, bid_qty, strict=True)],
                [(Decimal(int(p)) * spec.tick_size, Decimal(int(q)) * spec.lot_size)
                 for p, q in zip(ask_px, ask_qty, strict=True)])
    assert fast.top(20) == slow.top(20) == expected
    assert (Decimal(ticker["bidPrice"]), Decimal(ticker["askPrice"])) == (
        expected[0][0][0], expected[1][0][0])

    filters = {f["filterType"] for f in info["symbols"][0]["filters"]}
    assert {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"} <= filters
    assert stats["count"] == 19_904
    agg_stream = [m["data"] for m in received if m["stream"] == "btcusdt@aggTrade"]
    assert aggs == [{k: a[k] for k in ("a", "p", "q", "f", "l", "T", "m", "M")}
                    for a in agg_stream[-10:]]
