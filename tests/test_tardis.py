"""Tardis.dev CSV files: the real samples in ../shared/data/tardis, decoded and replayed."""

import csv
import gzip
import json
from decimal import Decimal

import numpy as np
import pytest
from data_paths import shared_file

from connectors.tardis import load_tardis
from connectors.tardis import read_tardis
from engine.app.cli import main
from engine.book import L2Book
from engine.errors import CrossedBookError
from engine.errors import DataError
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import BUY
from engine.events import F_LAST
from engine.events import F_SNAPSHOT
from engine.events import SELL
from engine.events import TRADE
from replay.sources import detect_format

L2 = "tardis/H2nryHe_binance_incremental_book_L2_2019-12-01_BTCUSDT_rows1-2050.csv"
TRADES = "tardis/H2nryHe_binance_trades_2019-12-01_BTCUSDT_rows1-100.csv"
QUOTES = "tardis/nautilus_binance-futures_quotes_2020-02-22_BTCUSDT.csv"
SNAP25 = "tardis/nautilus_binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.csv"
SNAP5 = "tardis/nautilus_binance-futures_book_snapshot_5_2020-09-01_BTCUSDT.csv"
FUT_TRADES = "tardis/nautilus_binance-futures_trades_2020-02-22_BTCUSDT.csv"
BITMEX = "tardis/nautilus_bitmex_trades_2020-03-01_XBTUSD.csv"
DERIBIT = "tardis/nautilus_deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv"


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plain_rebuild(path):
    """The book from the rows in file order, with dicts: the reference."""
    book = {"bid": {}, "ask": {}}
    prev_snapshot = False
    for r in rows_of(path):
        snapshot = r["is_snapshot"] == "true"
        if snapshot and not prev_snapshot:
            book = {"bid": {}, "ask": {}}
        prev_snapshot = snapshot
        side, px, amount = book[r["side"]], Decimal(r["price"]), Decimal(r["amount"])
        if amount == 0:
            side.pop(px, None)
        else:
            side[px] = amount
    return book


def book_side(book, spec, side):
    px_col = "bid" if side == BID else "ask"
    bid_px, bid_qty, ask_px, ask_qty = book.top(5000)
    px, qty = (bid_px, bid_qty) if px_col == "bid" else (ask_px, ask_qty)
    return {spec.tick_size * int(p): spec.lot_size * int(q)
            for p, q in zip(px, qty, strict=True) if q > 0}


def test_formats_are_detected():
    for name in (L2, TRADES, QUOTES, SNAP25, BITMEX):
        assert detect_format(shared_file(name)) == "tardis"
    assert read_tardis(shared_file(SNAP25)).kind == "book_snapshot_25"
    assert read_tardis(shared_file(SNAP5)).kind == "book_snapshot_5"
    assert read_tardis(shared_file(QUOTES)).kind == "quotes"


def test_l2_book_equals_a_plain_rebuild_and_never_crosses():
    path = shared_file(L2)
    data = load_tardis([path])
    spec = data.instrument
    assert (spec.tick_size, spec.lot_size) == (Decimal("0.01"), Decimal("0.000001"))
    # The 3 deletes of levels beyond the 1,000-level snapshot are counted, not fatal.
    assert data.counters["deletes_of_absent_levels"] == 3
    # Exchange time goes backwards right after the snapshot (E before the snapshot's stamp).
    assert data.counters["times_raised"] > 0
    assert (np.diff(data.events["ts_event"]) >= 0).all()
    ev = data.events
    ends = np.flatnonzero(ev["flags"] & F_LAST)
    # One snapshot message, then one message per local_timestamp batch (7 of them).
    assert len(ends) == 1 + 7
    assert (ev["flags"][: ends[0] + 1] & F_SNAPSHOT).all()
    book = L2Book.covering(ev)
    start = 0
    for end in ends + 1:  # message by message: the book is never crossed or locked
        book.apply(ev[start:end])
        assert book.best_bid_tick() < book.best_ask_tick()
        start = end
    ref = plain_rebuild(path)
    assert book_side(book, spec, BID) == ref["bid"]
    assert book_side(book, spec, ASK) == ref["ask"]
    assert len(ref["bid"]) == len(ref["ask"]) == 1000
    assert (book.best_bid_tick(), book.best_ask_tick()) == (753941, 754127)


def test_book_command_on_the_l2_sample(capsys):
    assert main(["book", "--data", str(shared_file(L2)), "--levels", "2", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["symbol"] == "BTCUSDT"
    assert view["bids"][0] == [7539.41, 0.226735] and view["asks"][0] == [7541.27, 0.260806]


def test_trades_keep_aggressor_side_price_and_time():
    path = shared_file(TRADES)
    data = load_tardis([path])
    ev = data.events
    rows = rows_of(path)
    assert len(ev) == 100 and (ev["kind"] == TRADE).all()
    assert int((ev["side"] == BUY).sum()) == 52 and int((ev["side"] == SELL).sum()) == 48
    spec = data.instrument
    for e, r in zip(ev, rows, strict=True):
        assert spec.tick_size * int(e["px_ticks"]) == Decimal(r["price"])
        assert spec.lot_size * int(e["qty_lots"]) == Decimal(r["amount"])
        assert int(e["ts_event"]) == int(r["timestamp"]) * 1000
        assert int(e["ts_recv"]) == int(r["local_timestamp"]) * 1000


def test_book_and_trades_merge_by_local_time():
    data = load_tardis([shared_file(L2), shared_file(TRADES)])
    ev = data.events
    assert len(ev) == 2047 + 100
    recv = ev["ts_recv"]
    assert (np.diff(recv) >= 0).all()
    # Trades after the snapshot's local time land after it, those before it before it.
    snap_recv = int(ev["ts_recv"][ev["kind"] == BOOK_DELTA][0])
    trades = ev[ev["kind"] == TRADE]
    first_book = int(np.flatnonzero(ev["kind"] == BOOK_DELTA)[0])
    assert int((trades["ts_recv"] < snap_recv).sum()) == first_book


def test_quotes_rebuild_the_top_of_book_on_every_row():
    path = shared_file(QUOTES)
    data = load_tardis([path])
    spec = data.instrument
    ev = data.events
    ends = np.flatnonzero(ev["flags"] & F_LAST) + 1
    rows = rows_of(path)
    book = L2Book.covering(ev)
    start, k = 0, 0
    for end in ends:
        book.apply(ev[start:end])
        seq = int(ev["seq"][end - 1])
        while k < len(rows) and k + 2 < seq:  # rows that changed nothing
            k += 1
        r = rows[k]
        bid_px, bid_qty, ask_px, ask_qty = book.top(1)
        assert spec.tick_size * int(bid_px[0]) == Decimal(r["bid_price"])
        assert spec.lot_size * int(bid_qty[0]) == Decimal(r["bid_amount"])
        assert spec.tick_size * int(ask_px[0]) == Decimal(r["ask_price"])
        assert spec.lot_size * int(ask_qty[0]) == Decimal(r["ask_amount"])
        assert book.levels(BID) == book.levels(ASK) == 1
        start = end
    assert len(ends) > 9000


@pytest.mark.parametrize("name,levels", [(SNAP25, 25), (SNAP5, 5)])
def test_book_snapshots_end_on_the_last_row(name, levels):
    path = shared_file(name)
    data = load_tardis([path])
    spec = data.instrument
    book = L2Book.covering(data.events)
    book.apply(data.events)
    last = rows_of(path)[-1]
    bid_px, bid_qty, ask_px, ask_qty = book.top(levels)
    for i in range(levels):
        assert spec.tick_size * int(ask_px[i]) == Decimal(last[f"asks[{i}].price"])
        assert spec.lot_size * int(ask_qty[i]) == Decimal(last[f"asks[{i}].amount"])
        assert spec.tick_size * int(bid_px[i]) == Decimal(last[f"bids[{i}].price"])
        assert spec.lot_size * int(bid_qty[i]) == Decimal(last[f"bids[{i}].amount"])
    assert book.levels(BID) == book.levels(ASK) == levels


def test_other_exchanges_parse():
    bitmex = load_tardis([shared_file(BITMEX)])  # UUID trade ids, USD contracts
    assert len(bitmex.events) == 10 and (bitmex.events["side"] == SELL).all()
    deribit = load_tardis([shared_file(DERIBIT)])  # asks only: nothing to cross
    book = L2Book.covering(deribit.events)
    book.apply(deribit.events)
    assert book.levels(ASK) == 15 and book.levels(BID) == 0
    futures = load_tardis([shared_file(FUT_TRADES)])
    assert len(futures.events) == 9999


def test_gzip_file_reads_the_same(tmp_path):
    path = shared_file(L2)
    gz = tmp_path / "book.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert detect_format(gz) == "tardis"
    a, b = load_tardis([gz]).events, load_tardis([path]).events
    assert all((a[name] == b[name]).all() for name in a.dtype.names) and len(a) == len(b)


HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"


def write(tmp_path, text, name="bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("body,where", [
    ("binance,X,1,1,true,bid,10.0,1\nbinance,X,2,2,false,middle,10.0,1\n",
     r"bad\.csv:3: unknown side 'middle'"),
    ("binance,X,1,1,true,bid,10.0,1\nbinance,X,2,2,false,bid,ten,1\n",
     r"bad\.csv:3: price 'ten' is not a plain non-negative decimal"),
    ("binance,X,1,1,true,bid,10.0,1\nbinance,X,2,2,false,bid,10.0,-1\n",
     r"bad\.csv:3: amount '-1'"),
    ("binance,X,1,1,true,bid,10.0,1\nbinance,X,x,2,false,bid,10.0,1\n",
     r"bad\.csv:3: column timestamp: 'x'"),
    ("binance,X,1,1,true,bid,10.0,1\nbinance,X,2,2,false,bid\n",
     r"bad\.csv:3: expected 8 columns, found 6"),
])
def test_bad_rows_name_file_and_line(tmp_path, body, where):
    with pytest.raises(DataError, match=where):
        load_tardis([write(tmp_path, HEADER + body)])


def test_a_missing_column_is_named(tmp_path):
    path = write(tmp_path, "exchange,symbol,timestamp,local_timestamp,side,price,amount\n"
                 "binance,X,1,1,bid,10.0,1\n")
    assert detect_format(path) == "tardis"
    with pytest.raises(DataError, match=r"bad\.csv:1: not a supported Tardis CSV header"):
        load_tardis([path])


def test_a_crossed_update_stops_with_its_line(tmp_path):
    path = write(tmp_path, HEADER + "binance,X,1,1,true,bid,10.0,1\n"
                 "binance,X,1,1,true,ask,10.5,1\nbinance,X,2,2,false,bid,10.6,1\n")
    ev = load_tardis([path]).events
    book = L2Book.covering(ev, source=str(path))
    with pytest.raises(CrossedBookError, match="crossed book") as err:
        book.apply(ev)
    assert err.value.seq == 4
