"""The Binance feed on the real captures: documented sync, bookTicker agreement, gaps on one
symbol only, malformed frames counted."""

from decimal import Decimal

import orjson
import pytest
from data_paths import shared_file
from feed_reference import binance_reference_book
from feed_reference import top

from connectors.binance import BinanceFeed
from connectors.feed import BookBatch
from connectors.feed import Invalidated
from connectors.feed import ResyncWanted
from engine.events import ASK
from engine.events import BID
from engine.feed_runner import BookOnly
from engine.feed_runner import FeedConsumer
from engine.feed_runner import SymbolRunner
from engine.instrument import InstrumentSpec
from replay.sources import open_venue_source
from replay.venue_replay import drive
from replay.venue_replay import feed_line
from replay.venue_replay import make_feed

BTC_FILES = ["binance/hftbacktest_binance_spot_btcusdt_20240808.gz",
             "binance/hftbacktest_binance_spot_btcusdt_20240809.gz"]
CRYPTOFEED = "binance/cryptofeed_BINANCE-b38f7c_2021-04-05.raw.txt"


def _runners(source, prune_far_pct=5.0):
    feed = make_feed(source.venue, source.instruments)
    runners = {s: SymbolRunner(s, BookOnly(spec), feed.counters, prune_far_pct=prune_far_pct)
               for s, spec in source.instruments.items()}
    return feed, runners


def test_btcusdt_capture_syncs_and_matches_every_book_ticker():
    source = open_venue_source([shared_file(f) for f in BTC_FILES])
    assert source.format == "hftbacktest" and source.symbols == ["BTCUSDT"]
    assert source.instruments["BTCUSDT"].tick_size == Decimal("0.01")
    feed, runners = _runners(source)
    drive(source, feed, FeedConsumer(runners).on_output)
    c = feed.counters
    assert (c.quote_checks, c.quote_mismatches) == (1072, 0)
    assert (c.gaps, c.malformed, c.snapshots, c.crossed_books) == (0, 0, 1, 0)
    assert c.unsynced_drops == 4  # three depth-free frames before the snapshot bridged
    book = runners["BTCUSDT"].sink.book
    bids, asks, last_u = binance_reference_book([shared_file(f) for f in BTC_FILES])
    assert feed.last_u["BTCUSDT"] == last_u
    spec = source.instruments["BTCUSDT"]
    bid_px, bid_qty, ask_px, ask_qty = book.top(100)
    assert [(spec.ticks_to_price(int(p)), spec.lots_to_qty(int(q)))
            for p, q in zip(bid_px, bid_qty, strict=True)] == top(bids, 100, bids=True)
    assert [(spec.ticks_to_price(int(p)), spec.lots_to_qty(int(q)))
            for p, q in zip(ask_px, ask_qty, strict=True)] == top(asks, 100, bids=False)


def test_a_gap_on_one_symbol_resyncs_that_symbol_alone():
    source = open_venue_source([shared_file(CRYPTOFEED)])
    assert len(source.symbols) == 10
    feed, runners = _runners(source)
    consumer = FeedConsumer(runners)
    dropped = None
    outputs = []
    for line in source.lines():
        if (dropped is None and line.tag == "ws" and b"zilusdt@depth" in line.payload
                and feed.synced("ZILUSDT")):
            dropped = line  # lose one ZILUSDT depth frame
            continue
        for out in feed_line(feed, line):
            outputs.append(out)
            if not isinstance(out, ResyncWanted):
                consumer.on_output(out)
    invalidated = [o for o in outputs if isinstance(o, Invalidated)]
    assert [(o.symbol, o.reason.split(":")[0]) for o in invalidated] == [("ZILUSDT", "gap")]
    assert ("ZILUSDT",) in [o.symbols for o in outputs if isinstance(o, ResyncWanted)]
    assert feed.counters.by_symbol["ZILUSDT"]["gaps"] == 1 and feed.counters.gaps == 1
    assert not runners["ZILUSDT"].synced and not runners["ZILUSDT"].sink.book_valid
    others = [s for s in source.symbols if s != "ZILUSDT"]
    assert all(runners[s].synced for s in others)
    assert feed.counters.quote_mismatches == 0 and feed.counters.quote_checks > 900
    after = [o for o in outputs[outputs.index(invalidated[0]):] if isinstance(o, BookBatch)]
    assert {o.symbol for o in after} == set(others)  # nothing more for ZILUSDT


def test_malformed_frames_are_counted_and_the_feed_goes_on():
    spec = InstrumentSpec("BTCUSDT", Decimal("0.01"), Decimal("0.00000001"))
    feed = BinanceFeed({"BTCUSDT": spec})
    runner = SymbolRunner("BTCUSDT", BookOnly(spec), feed.counters)
    snapshot = {"lastUpdateId": 10, "bids": [["100.00", "1"]], "asks": [["100.01", "2"]]}

    def depth(first, final, bids, asks=()):
        return orjson.dumps({"stream": "btcusdt@depth@100ms", "data": {
            "e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first, "u": final,
            "b": bids, "a": list(asks)}})

    frames = [depth(9, 11, [["99.99", "3"]]), b"{not json", b"[1, 2]",
              orjson.dumps({"stream": "x", "data": {"e": "depthUpdate", "s": "BTCUSDT"}})]
    outs = []
    for raw in frames:
        outs += feed.on_frame(raw, 5)
    outs += feed.on_rest("depth", "BTCUSDT", orjson.dumps(snapshot), 6)
    outs += feed.on_frame(depth(12, 12, [["99.995", "1"]]), 7)  # off the tick grid
    for out in outs:
        if not isinstance(out, ResyncWanted):
            runner.on_output(out)
    assert feed.counters.malformed == 4
    assert "price '99.995' is not a decimal on the grid 0.01" in feed.errors[-1]
    assert "binance BTCUSDT seq 12" in feed.errors[-1]
    assert isinstance(outs[-1], ResyncWanted) and not runner.synced  # its update is lost
    book = runner.sink.book
    assert book.qty_at_tick(BID, 9999) == 300000000 and book.qty_at_tick(ASK, 10001) == 2 * 10**8


@pytest.mark.parametrize("stale", [True, False])
def test_snapshot_older_than_the_buffer_is_fetched_again(stale):
    spec = InstrumentSpec("BTCUSDT", Decimal("0.01"), Decimal("1"))
    feed = BinanceFeed({"BTCUSDT": spec})
    event = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 50, "u": 55, "b": [], "a": []}
    assert isinstance(feed.on_frame(orjson.dumps(event), 1)[0], ResyncWanted)
    last = 40 if stale else 52
    outs = feed.on_rest("depth", "BTCUSDT", orjson.dumps(
        {"lastUpdateId": last, "bids": [["1.00", "1"]], "asks": [["1.01", "1"]]}), 2)
    if stale:
        assert [type(o) for o in outs] == [ResyncWanted] and feed.counters.stale_snapshots == 1
    else:
        (batch,) = outs
        assert batch.starts_session and batch.seq == 55 and len(batch.events) == 2


def test_a_session_is_received_when_its_last_input_arrives():
    """Frame -> order latency of a new session starts at the snapshot or at the diff that
    bridges it, whichever came last, not at the snapshot while it waited for a bridge."""
    spec = InstrumentSpec("BTCUSDT", Decimal("0.01"), Decimal("1"))
    feed = BinanceFeed({"BTCUSDT": spec})

    def event(first, final):
        return orjson.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first,
                             "u": final, "b": [["1.00", "2"]], "a": []})

    feed.on_frame(event(40, 45), 100)
    snapshot = {"lastUpdateId": 50, "bids": [["1.00", "1"]], "asks": [["1.01", "1"]]}
    assert feed.on_rest("depth", "BTCUSDT", orjson.dumps(snapshot), 200) == []  # no bridge
    (batch,) = feed.on_frame(event(51, 53), 900)
    assert batch.starts_session and batch.seq == 53 and batch.ts_recv == 900
