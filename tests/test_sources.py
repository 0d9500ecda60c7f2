"""Data formats, recordings, the book command and the audit: what replay and book read."""

import json
from decimal import Decimal

import orjson
import pytest
from data_paths import goog_pair
from data_paths import shared_file

from connectors.binance import BinanceFeed
from connectors.feed import AuditExpectation
from connectors.feed import BookBatch
from connectors.feed import Invalidated
from engine.app.cli import main
from engine.errors import DataError
from engine.feed_runner import BookOnly
from engine.feed_runner import SymbolRunner
from engine.instrument import InstrumentSpec
from replay.book_view import parse_time
from replay.recorder import Recorder
from replay.recorder import read_recording
from replay.sources import detect_format

BTC = "binance/hftbacktest_binance_spot_btcusdt_20240808.gz"
CRYPTOFEED = "binance/cryptofeed_BINANCE-b38f7c_2021-04-05.raw.txt"
COINBASE = "coinbase/cryptofeed_COINBASE_advanced_trade_BTC-ETH-USD.jsonl.gz"
SPEC = InstrumentSpec("BTCUSDT", Decimal("0.01"), Decimal("0.00000001"))


def test_formats_are_detected():
    assert detect_format(shared_file(BTC)) == "hftbacktest"
    assert detect_format(shared_file(CRYPTOFEED)) == "cryptofeed-raw"
    assert detect_format(shared_file(COINBASE)) == "cryptofeed-jsonl"
    assert detect_format(goog_pair(1)[0]) == "lobster"


def test_unknown_format_names_the_file(tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("hello world\n")
    with pytest.raises(DataError, match=r"x\.txt:1: unknown data format"):
        detect_format(bad)


def test_a_recording_round_trips_and_survives_truncation(tmp_path):
    path = tmp_path / "rec.gz"
    rec = Recorder(path, venue="binance", instruments={"BTCUSDT": SPEC})
    rec.write(5, "connect", "ws://x")
    rec.write(6, "ws", '{"a":\n1}')
    rec.write(7, "depth:BTCUSDT", b'{"lastUpdateId":1,"bids":[],"asks":[]}')
    rec.close()
    meta, lines = read_recording(path)
    assert meta["venue"] == "binance" and meta["instruments"]["BTCUSDT"]["tick_size"] == "0.01"
    got = [(x.ts_recv, x.tag, x.payload) for x in lines]
    assert got == [(5, "connect", b"ws://x"), (6, "ws", b'{"a": 1}'),
                   (7, "depth:BTCUSDT", b'{"lastUpdateId":1,"bids":[],"asks":[]}')]
    raw = path.read_bytes()
    (tmp_path / "cut.gz").write_bytes(raw[:len(raw) - 12])  # killed mid-write
    meta, lines = read_recording(tmp_path / "cut.gz")
    assert len(list(lines)) <= 3 and meta["format"] == "obflow-recording"


def test_book_json_at_a_time_and_at_the_end(capsys):
    path = str(shared_file(BTC))
    assert main(["book", "--data", path, "--levels", "3", "--json"]) == 0
    end = json.loads(capsys.readouterr().out)
    assert set(end) == {"symbol", "ts_ns", "bids", "asks"} and end["symbol"] == "BTCUSDT"
    assert len(end["bids"]) == 3 and end["bids"][0][0] < end["asks"][0][0]
    assert end["bids"] == sorted(end["bids"], reverse=True)
    at = parse_time("2024-08-09T00:00:00Z")
    assert main(["book", "--data", path, "--at", "2024-08-09T00:00:00Z", "--json"]) == 0
    mid = json.loads(capsys.readouterr().out)
    assert mid["ts_ns"] <= at < end["ts_ns"] and mid["ts_ns"] > at - 1_000_000_000
    assert len(mid["bids"]) == 10


def test_book_of_goog_and_multi_symbol_needs_a_symbol(capsys):
    message, _ = goog_pair(5)
    assert main(["book", "--data", str(message), "--levels", "5", "--json"]) == 0
    goog = json.loads(capsys.readouterr().out)
    assert goog["symbol"] == "GOOG" and len(goog["asks"]) == 5
    assert goog["bids"][0][0] < goog["asks"][0][0] < 600
    assert main(["book", "--data", str(shared_file(CRYPTOFEED))]) == 2
    assert "choose one with --symbol" in capsys.readouterr().err


def test_replay_runs_captures_through_the_pipeline(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("[features]\nvpin_bucket_lots = 10000000000000\n")
    code = main(["replay", "--config", str(config), "--data", str(shared_file(COINBASE)),
                 "--symbol", "ETH-USD", "--out", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().err
    report = orjson.loads((tmp_path / "r" / "report.json").read_bytes())["result"]
    assert report["feed"]["symbol"] == "ETH-USD" and report["feed"]["sessions"] == 1
    assert report["events"] > 5_000 and report["decisions"] > 100


def test_an_audit_that_disagrees_invalidates_and_asks_for_a_resync():
    feed = BinanceFeed({"BTCUSDT": SPEC}, audit_levels=2)
    asked = []
    runner = SymbolRunner("BTCUSDT", BookOnly(SPEC), feed.counters,
                          request_resync=lambda s, why: asked.append((s, why)))

    def depth(first, final, bids):
        return orjson.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first,
                             "u": final, "b": bids, "a": []})

    def snap(last, bid_qty):
        return orjson.dumps({"lastUpdateId": last, "bids": [["10.00", bid_qty], ["9.99", "1"]],
                             "asks": [["10.01", "1"]]})

    outs = feed.on_frame(depth(5, 6, []), 1)
    outs += feed.on_rest("depth", "BTCUSDT", snap(5, "1"), 2)
    outs += feed.on_rest("audit", "BTCUSDT", snap(7, "2"), 3)  # newer than the book: held
    outs += feed.on_frame(depth(7, 8, [["9.99", "4"]]), 4)  # brackets 7: compare after it
    outs += feed.on_rest("audit", "BTCUSDT", snap(8, "1"), 5)  # after the loss: skipped
    for out in outs:
        if isinstance(out, BookBatch | AuditExpectation | Invalidated):
            runner.on_output(out)
    audits = [o for o in outs if isinstance(o, AuditExpectation)]
    assert [a.seq for a in audits] == [8, 8]
    assert audits[0].bid_qty.tolist() == [2 * 10**8, 4 * 10**8]  # the snapshot + the event
    assert feed.counters.audits == 1 and feed.counters.audit_disagreements == 1
    assert feed.counters.audits_skipped == 1
    assert asked == [("BTCUSDT", "snapshot audit disagrees with the book")]
    assert not runner.synced and not runner.sink.book_valid
