"""The Coinbase feed: the Advanced Trade capture, connection-wide sequence gaps, duplicates,
and the older Exchange feed format."""

from decimal import Decimal

import orjson
from data_paths import shared_file

from connectors.coinbase import CoinbaseFeed
from connectors.feed import BookBatch
from connectors.feed import Invalidated
from connectors.feed import ResyncWanted
from engine.events import ASK
from engine.events import BID
from engine.events import BUY
from engine.events import SELL
from engine.events import TRADE
from engine.feed_runner import BookOnly
from engine.feed_runner import FeedConsumer
from engine.feed_runner import SymbolRunner
from engine.instrument import InstrumentSpec
from replay.sources import open_venue_source
from replay.venue_replay import drive
from replay.venue_replay import make_feed

CAPTURE = "coinbase/cryptofeed_COINBASE_advanced_trade_BTC-ETH-USD.jsonl.gz"
USD = InstrumentSpec("BTC-USD", Decimal("0.01"), Decimal("0.00000001"))


def test_advanced_trade_capture_ends_on_the_documented_top_of_book():
    source = open_venue_source([shared_file(CAPTURE)])
    assert (source.format, source.venue, source.symbols) == (
        "cryptofeed-jsonl", "coinbase", ["BTC-USD", "ETH-USD"])
    assert source.instruments["BTC-USD"].lot_size == Decimal("0.00000001")
    feed = make_feed("coinbase", {s: source.instruments[s] for s in source.symbols})
    runners = {s: SymbolRunner(s, BookOnly(feed.instruments[s]), feed.counters)
               for s in source.symbols}
    trades = []

    def consume(out):
        if isinstance(out, BookBatch) and out.events["kind"][0] == TRADE:
            book = runners[out.symbol].sink.book
            trades.append((int(out.events["px_ticks"][0]), int(out.events["side"][0]),
                           book.best_bid_tick(), book.best_ask_tick()))
        FeedConsumer(runners).on_output(out)

    drive(source, feed, consume)
    c = feed.counters
    assert (c.gaps, c.duplicates, c.malformed, c.snapshots, c.crossed_books) == (0, 0, 0, 2, 0)
    btc, eth = runners["BTC-USD"].sink.book, runners["ETH-USD"].sink.book
    assert (btc.best_bid_tick(), btc.best_ask_tick()) == (6508366, 6508367)
    assert (eth.best_bid_tick(), eth.best_ask_tick()) == (191928, 191938)
    # side is the maker's: a print at the ask was a buyer lifting it
    assert len(trades) == 78  # 79 live trades, one before the BTC snapshot
    at_ask = [side for px, side, bid, ask in trades if px == ask]
    at_bid = [side for px, side, bid, ask in trades if px == bid]
    assert at_ask and set(at_ask) == {BUY} and at_bid and set(at_bid) == {SELL}


def _frame(num, events, channel="l2_data"):
    return orjson.dumps({"channel": channel, "timestamp": "2026-08-09T21:05:48.1Z",
                         "sequence_num": num, "events": events})


def _l2(kind, product, *levels):
    return {"type": kind, "product_id": product, "updates": [
        {"side": side, "event_time": "2026-08-09T21:05:48.1Z", "price_level": px,
         "new_quantity": qty} for side, px, qty in levels]}


def test_a_sequence_gap_resyncs_every_product_and_a_duplicate_is_dropped():
    eth = InstrumentSpec("ETH-USD", Decimal("0.01"), Decimal("0.00000001"))
    feed = CoinbaseFeed({"BTC-USD": USD, "ETH-USD": eth})
    outs = []
    outs += feed.on_frame(_frame(0, [_l2("snapshot", "BTC-USD", ("bid", "10.00", "1"),
                                         ("offer", "10.01", "2"))]), 1)
    outs += feed.on_frame(_frame(1, [_l2("snapshot", "ETH-USD", ("bid", "5.00", "1"),
                                         ("offer", "5.01", "1"))]), 1)
    outs += feed.on_frame(_frame(2, [_l2("update", "BTC-USD", ("bid", "10.00", "3"))]), 2)
    assert feed.synced("BTC-USD") and feed.synced("ETH-USD")
    dup = feed.on_frame(_frame(2, [_l2("update", "BTC-USD", ("bid", "10.00", "9"))]), 3)
    assert dup == [] and feed.counters.duplicates == 1
    gap = feed.on_frame(_frame(4, [_l2("update", "BTC-USD", ("bid", "10.00", "4"))]), 4)
    assert [type(o) for o in gap] == [Invalidated, Invalidated, ResyncWanted]
    assert gap[-1].symbols == ("BTC-USD", "ETH-USD") and feed.counters.gaps == 1
    assert not feed.synced("BTC-USD") and not feed.synced("ETH-USD")
    batches = [o for o in outs if isinstance(o, BookBatch)]
    assert [b.starts_session for b in batches] == [True, True, False]
    assert batches[2].events["qty_lots"].tolist() == [3 * 10**8]


def test_the_older_exchange_feed_replays():
    feed = CoinbaseFeed({"BTC-USD": USD})
    runner = SymbolRunner("BTC-USD", BookOnly(USD), feed.counters)
    frames = [
        {"type": "subscriptions", "channels": []},
        {"type": "l2update", "product_id": "BTC-USD", "time": "2019-08-14T20:42:27.265Z",
         "changes": [["buy", "10101.80", "0.1"]]},  # before the snapshot: dropped
        {"type": "snapshot", "product_id": "BTC-USD", "bids": [["10101.10", "0.45054140"]],
         "asks": [["10102.55", "0.57753524"]]},
        {"type": "l2update", "product_id": "BTC-USD", "time": "2019-08-14T20:42:27.265Z",
         "changes": [["buy", "10101.80", "0.162567"], ["sell", "10102.55", "0"]]},
        {"type": "match", "trade_id": 10, "sequence": 50, "product_id": "BTC-USD",
         "size": "5.23512", "price": "10101.80", "side": "sell",
         "time": "2019-08-14T20:42:28.000Z"},
    ]
    for frame in frames:
        for out in feed.on_frame(orjson.dumps(frame), 7):
            runner.on_output(out)
    book = runner.sink.book
    assert runner.synced and feed.counters.unsynced_drops == 1
    assert book.best_bid_tick() == 1010180 and book.qty_at_tick(BID, 1010180) == 16256700
    assert book.levels(ASK) == 0
    assert runner.sink.events == 5  # 2 snapshot levels, 2 updates, 1 trade (a buy)
