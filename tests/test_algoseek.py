"""Algoseek Full Depth and TAQ: the real rows of FORMATS.md, books per venue and consolidated,
and the synthetic flow written both as LOBSTER and as Algoseek."""

import numpy as np
import pytest

from connectors.algoseek import CANCEL
from connectors.algoseek import CROSS
from connectors.algoseek import DELETE
from connectors.algoseek import EXECUTE
from connectors.algoseek import FILL
from connectors.algoseek import HIDDEN
from connectors.algoseek import load_algoseek
from connectors.algoseek import read_algoseek
from connectors.lobster import session_offset_ns
from engine.book import L2Book
from engine.errors import ConfigError
from engine.errors import DataError
from engine.events import ASK
from engine.events import BID
from engine.events import BUY
from engine.events import F_LAST
from engine.events import SELL
from engine.events import TRADE
from replay.sources import detect_format
from replay.synth import SynthConfig
from replay.synth import simulate
from replay.synth import write_lobster
from replay.synth_algoseek import write_algoseek

HEADER = "Date,Timestamp,OrderNumber,EventType,Ticker,Price,Quantity,MPID,Exchange\n"
# The real IBM rows quoted in ../shared/data/FORMATS.md (2014-01-28).
REAL_ROWS = """\
20140128,04:00:00.512,2251812698588658,ADD BID,IBM,176.33,400,ARCA,ARCA
20140128,08:39:57.809,5465656,EXECUTE BID,IBM,0.00,20,,EDGX
20140128,10:36:48.812,1945224513754175736,CANCEL BID,IBM,0.00,20,,BATS
20140128,09:31:53.010,2546370,FILL ASK,IBM,0.00,0,,EDGA
20140128,09:31:53.012,-9223372036852999808,DELETE BID,IBM,0.00,0,,NYSE
20140128,09:31:40.765,0,TRADE BID,IBM,177.9,2,,NASDAQ
20140128,16:00:00.581,7433153,CROSS,IBM,0.00,0,,NASDAQ
"""


def write(tmp_path, body, name="IBM.FullDepth.20140128.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(header + body)
    return path


def test_the_real_rows_parse_exactly(tmp_path):
    path = write(tmp_path, REAL_ROWS)
    assert detect_format(path) == "algoseek"
    f = read_algoseek(path)
    assert f.kind == "full_depth" and f.tickers == ["IBM"]
    assert f.venues == ["ARCA", "EDGX", "BATS", "EDGA", "NYSE", "NASDAQ"]
    # Order numbers are int64, beyond 2^53 and negative, never floats.
    assert f.order.tolist() == [2251812698588658, 5465656, 1945224513754175736, 2546370,
                                -9223372036852999808, 0, 7433153]
    assert f.action.tolist() == [1, EXECUTE, CANCEL, FILL, DELETE, HIDDEN, CROSS]
    assert f.side.tolist()[:6] == [BID, BID, BID, ASK, BID, BID]
    # 04:00:00.512 US/Eastern (EST) is 09:00:00.512 UTC.
    assert int(f.ts[0]) == session_offset_ns("2014-01-28") + (4 * 3600 + 0.512) * 10**9
    assert int(f.ts[0]) == 1390899600512000000
    assert [f.price.mant[0], f.price.exp[0], f.price.mant[5], f.price.exp[5]] == [17633, 2,
                                                                               1779, 1]
    assert f.qty.tolist() == [400, 20, 20, 0, 0, 2, 0]


def test_an_execute_of_an_unknown_order_names_its_line(tmp_path):
    # The quoted rows come from different parts of the day: the EDGX order was added earlier.
    path = write(tmp_path, REAL_ROWS)
    with pytest.raises(DataError, match=r"\.csv:3: no such order in this exchange's book "
                                        r"\(order 5465656, EDGX\)"):
        load_algoseek([path])


# A consistent two-venue day around the first real row: ARCA and NASDAQ books.
TWO_VENUES = """\
20140128,04:00:00.512,2251812698588658,ADD BID,IBM,176.33,400,ARCA,ARCA
20140128,04:00:01.000,11,ADD ASK,IBM,176.40,300,,ARCA
20140128,04:00:02.000,-9223372036852999808,ADD BID,IBM,176.33,100,,NASDAQ
20140128,04:00:03.000,12,ADD ASK,IBM,176.38,50,,NASDAQ
20140128,04:00:04.000,12,EXECUTE ASK,IBM,0.00,20,,NASDAQ
20140128,04:00:05.000,2251812698588658,CANCEL BID,IBM,0.00,150,,ARCA
20140128,04:00:06.000,0,TRADE BID,IBM,176.35,7,,NASDAQ
20140128,04:00:07.000,12,FILL ASK,IBM,0.00,0,,NASDAQ
20140128,04:00:08.000,13,ADD BID,IBM,176.45,10,,NASDAQ
20140128,04:00:09.000,13,DELETE BID,IBM,0.00,0,,NASDAQ
20140128,16:00:00.581,7433153,CROSS,IBM,0.00,0,,NASDAQ
"""


def final_book(data):
    book = L2Book.covering(data.events)
    book.apply(data.events)
    return book


def test_books_per_venue_and_consolidated(tmp_path):
    path = write(tmp_path, TWO_VENUES)
    (cons,) = load_algoseek([path], symbol="IBM")
    (arca,) = load_algoseek([path], symbol="IBM@ARCA")
    (nasdaq,) = load_algoseek([path], symbol="IBM@NASDAQ")
    assert str(cons.instrument.tick_size) == "0.01"
    tick = 1 / 0.01

    def px(p):
        return round(p * tick)

    b = final_book(cons)
    assert (b.best_bid_tick(), b.qty_at_tick(BID, px(176.33))) == (px(176.33), 250 + 100)
    assert (b.best_ask_tick(), b.qty_at_tick(ASK, px(176.40))) == (px(176.40), 300)
    assert b.levels(ASK) == 1  # the NASDAQ ask was executed, then filled away
    b = final_book(arca)
    assert b.qty_at_tick(BID, px(176.33)) == 250 and b.levels(BID) == 1
    b = final_book(nasdaq)
    assert b.qty_at_tick(BID, px(176.33)) == 100 and b.levels(ASK) == 0
    # Trades: the execution and the fill sell-side resting (buyer aggressor), the hidden
    # trade against a bid (seller aggressor); the CROSS with no price prints nothing.
    trades = cons.events[cons.events["kind"] == TRADE]
    assert trades["qty_lots"].tolist() == [20, 7, 30]
    assert trades["side"].tolist() == [BUY, SELL, BUY]
    assert trades["px_ticks"].tolist() == [px(176.38), px(176.35), px(176.38)]
    assert cons.counters["crosses_without_price"] == 1
    # 176.45 on NASDAQ crosses ARCA's 176.40 ask: the consolidated book holds the message
    # open until it uncrosses; the NASDAQ book alone is never crossed.
    assert cons.counters["crossed_rows"] == 1
    assert nasdaq.counters["crossed_rows"] == 0
    ends = np.flatnonzero(cons.events["flags"] & F_LAST)
    seq_of_ends = cons.events["seq"][ends].tolist()
    assert 10 not in seq_of_ends and 11 in seq_of_ends  # line 10 is the crossing ADD
    for data in (cons, arca, nasdaq):
        final_book(data)  # never crossed at a message end


def test_unknown_book_is_a_config_error(tmp_path):
    path = write(tmp_path, TWO_VENUES)
    with pytest.raises(ConfigError, match="IBM@EDGX is not in"):
        load_algoseek([path], symbol="IBM@EDGX")


@pytest.mark.parametrize("row,where", [
    ("20140128,04:00:02.000,12,MODIFY BID,IBM,176.30,10,,ARCA",
     r":3: unknown EventType 'MODIFY BID'"),
    ("20140128,04:00:02.000,12,ADD BID,IBM,0.00,10,,ARCA",
     r":3: price 0 where a price is needed \(order 12, ARCA\)"),
    ("20140128,04:00:02.000,11,ADD BID,IBM,176.30,10,,ARCA",
     r":3: order number is already in the book \(order 11, ARCA\)"),
    ("20140128,04:00:02.000,11,EXECUTE ASK,IBM,0.00,301,,ARCA",
     r":3: quantity is more than the order has left"),
    ("20140128,04:00:02.000,11,EXECUTE BID,IBM,0.00,1,,ARCA",
     r":3: side differs from the order's ADD"),
    ("20140128,4:00:02,11,EXECUTE ASK,IBM,0.00,1,,ARCA",
     r":3: Timestamp '4:00:02' is not HH:MM:SS"),
    ("20140128,04:00:02.000,11,EXECUTE ASK,IBM,0.00,1,ARCA",
     r":3: expected 9 columns, found 8"),
])
def test_bad_rows_name_file_and_line(tmp_path, row, where):
    path = write(tmp_path, "20140128,04:00:01.000,11,ADD ASK,IBM,176.40,300,,ARCA\n" + row + "\n")
    with pytest.raises(DataError, match=where):
        load_algoseek([path])


def test_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "20140128,04:00:01.000,11,ADD ASK,IBM,176.40,300,ARCA\n",
                 header="Date,Timestamp,OrderNumber,EventType,Ticker,Price,Quantity,Exchange\n")
    with pytest.raises(DataError, match=r":1: not an Algoseek .* \(missing Full Depth column\(s\) "
                                        r"MPID\)"):
        load_algoseek([path])


def test_minute_bars_are_refused_with_the_reason(tmp_path):
    path = write(tmp_path, "20200128,AAPL,04:00,1,2\n",
                 header="Date,Ticker,TimeBarStart,Open,Close\n")
    with pytest.raises(DataError, match="minute bars hold no order-book events"):
        load_algoseek([path])


TAQ_HEADER = "Date,Timestamp,EventType,Ticker,Price,Quantity,Exchange,Conditions\n"
TAQ_ROWS = """\
20150128,09:30:00.001,QUOTE BID,IBM,153.10,200,NYSE,00000001
20150128,09:30:00.002,QUOTE ASK,IBM,153.20,300,NYSE,00000001
20150128,09:30:00.003,QUOTE BID,IBM,153.10,100,ARCA,00000001
20150128,09:30:00.004,QUOTE ASK NB,IBM,153.15,100,ARCA,00000001
20150128,09:30:00.005,TRADE,IBM,153.15,100,ARCA,00000000
20150128,09:30:00.006,QUOTE BID,IBM,153.12,500,NYSE,00000001
20150128,09:30:00.007,TRADE CANCELLED,IBM,153.15,100,ARCA,00000000
20150128,09:30:00.008,QUOTE ASK,IBM,0.00,0,ARCA,00000001
"""


def test_taq_quotes_replace_each_venue_quote(tmp_path):
    path = write(tmp_path, TAQ_ROWS, name="IBM.TradesQuotes.20150128.csv", header=TAQ_HEADER)
    f = read_algoseek(path)
    assert f.kind == "taq"
    (cons,) = load_algoseek([path])
    b = final_book(cons)
    assert str(cons.instrument.tick_size) == "0.01"
    # NYSE's bid moved from 153.10 to 153.12; ARCA still bids 153.10; ARCA's ask left.
    assert (b.best_bid_tick(), b.qty_at_tick(BID, 15312), b.qty_at_tick(BID, 15310)) == (
        15312, 500, 100)
    assert (b.best_ask_tick(), b.qty_at_tick(ASK, 15320), b.levels(ASK)) == (15320, 300, 1)
    trades = cons.events[cons.events["kind"] == TRADE]
    assert trades["qty_lots"].tolist() == [100] and trades["side"].tolist() == [0]
    assert cons.counters["trade_cancellations"] == 1


@pytest.fixture(scope="module")
def synth_both(tmp_path_factory):
    """One synthetic flow, written as LOBSTER (10 levels) and as Algoseek Full Depth."""
    out = tmp_path_factory.mktemp("synth_algoseek")
    config = SynthConfig(events=20_000, levels=10, seed=5)
    day = simulate(config, order_log=True)
    write_lobster(day, out)
    return day, write_algoseek(day, out), out


def test_round_trip_algoseek_book_equals_the_lobster_book(synth_both):
    day, path, _ = synth_both
    (data,) = load_algoseek([path])
    assert data.counters["times_raised"] == 0 and data.counters["crossed_rows"] == 0
    ev = data.events
    msg_t = day.messages[:, 0] + session_offset_ns("2024-01-02")
    # The order log holds every order event, the LOBSTER file those touching 10 levels; an
    # invisible event takes the time of the next written message. Compare at the last
    # message of each time stamp.
    last_at_time = np.flatnonzero(np.append(msg_t[1:] != msg_t[:-1], True))
    ends = np.searchsorted(ev["ts_event"], msg_t[last_at_time], side="right")
    assert (ev["flags"][ends - 1] & F_LAST).all()
    book = L2Book.covering(ev)
    start = 0
    compared = 0
    for k, end in zip(last_at_time, ends, strict=True):
        book.apply(ev[start:end])
        start = end
        bid_px, bid_qty, ask_px, ask_qty = book.top(10)
        row = day.orderbook[k]
        # LOBSTER rows are USD x 10000, the Algoseek grid is the cent: 100 units a tick.
        got = np.empty(40, dtype=np.int64)
        got[0::4], got[1::4] = np.where(ask_qty > 0, ask_px * 100, 9999999999), ask_qty
        got[2::4], got[3::4] = np.where(bid_qty > 0, bid_px * 100, -9999999999), bid_qty
        assert (got == row).all(), f"message {k + 1}"
        compared += 1
    assert compared > 0.5 * len(day.messages)
    # Every execution is a trade in both: visible (type 4) and hidden (type 5).
    lobster_trades = np.isin(day.messages[:, 1], (4, 5))
    trades = ev[ev["kind"] == TRADE]
    assert len(trades) == int(lobster_trades.sum())
    assert int(trades["qty_lots"].sum()) == int(day.messages[lobster_trades, 3].sum())


def test_synth_command_writes_algoseek(tmp_path):
    from engine.app.cli import main

    assert main(["synth", "--out", str(tmp_path), "--events", "3000", "--format",
                 "algoseek"]) == 0
    (path,) = tmp_path.glob("*.FullDepth.*.csv")
    assert detect_format(path) == "algoseek"
    (data,) = load_algoseek([path])
    assert data.symbol == "SYNTH" and len(data.events) > 3000
