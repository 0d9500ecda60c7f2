"""LOBSTER connector and check-book against the real GOOG sample, and bad input."""

import gzip
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from data_paths import GOOG
from data_paths import goog_pair

from connectors.lobster import LobsterPair
from connectors.lobster import load_day
from connectors.lobster import read_messages
from engine.errors import CrossedBookError
from engine.errors import DataError
from engine.errors import SequenceError
from engine.events import BUY
from engine.events import F_LAST
from engine.events import F_SNAPSHOT
from engine.events import SELL
from engine.events import TRADE
from engine.instrument import lobster_instrument
from replay.check_book import check_day


def check(message: Path, orderbook: Path, tick: str = "0.0001"):
    inst = lobster_instrument("T", tick)
    return check_day(load_day(LobsterPair.from_files(message, orderbook), inst),
                     inst.raw_units_per_tick)


@pytest.mark.parametrize("levels", [1, 5, 10])
def test_goog_book_equals_every_orderbook_row(levels):
    result = check(*goog_pair(levels))
    assert result.mismatches == 0
    assert result.message_mismatches == 0
    assert result.first_mismatch_line is None
    assert result.events > 80_000


def test_times_parse_to_exact_nanoseconds():
    message, _ = goog_pair(5)
    msgs = read_messages(message)
    with open(message) as f:
        texts = [line.split(",", 1)[0] for line in f]
    exact = [int(Decimal(t) * 1_000_000_000) for t in texts]
    assert msgs[:, 0].tolist() == exact


def test_events_follow_the_readme_conventions():
    day = load_day(LobsterPair.from_message(goog_pair(10)[0]))
    ev = day.events
    # Line 1 is a visible execution of a buy limit order (direction 1): a seller-initiated trade,
    # followed by the snapshot of orderbook row 1.
    assert ev[0]["kind"] == TRADE and ev[0]["side"] == SELL and ev[0]["seq"] == 1
    assert (ev["flags"][1:21] & F_SNAPSHOT).all() and not ev["flags"][21] & F_SNAPSHOT
    # 2012-06-21 09:30:00.015105074 New York time, in epoch ns.
    assert ev[0]["ts_event"] == 1340285400015105074
    # Every message that produced events ends with F_LAST, exactly once.
    last = ev[(ev["flags"] & F_LAST) != 0]
    assert len(np.unique(last["seq"])) == len(last)
    trades = ev[ev["kind"] == TRADE]
    msgs = day.messages
    executions = msgs[np.isin(msgs[:, 1], (4, 5))]
    assert len(trades) == len(executions)
    assert (trades["side"] == -executions[:, 5]).all()
    assert set(np.unique(trades["side"]).tolist()) == {BUY, SELL}


def test_hidden_midpoint_executions_are_refused_on_a_cent_grid():
    message, orderbook = goog_pair(1)
    with pytest.raises(DataError, match="off the instrument's tick grid") as info:
        check(message, orderbook, tick="0.01")
    line = info.value.line
    with open(message) as f:
        row = f.readlines()[line - 1].split(",")
    assert row[1] == "5" and int(row[4]) % 100 == 50


def test_a_corrupted_orderbook_row_is_counted_as_a_mismatch(tmp_path):
    message, orderbook = goog_pair(5)
    rows = orderbook.read_text().splitlines()
    fields = rows[100].split(",")
    fields[3] = str(int(fields[3]) + 1)  # bid size 1
    rows[100] = ",".join(fields)
    bad = tmp_path / "orderbook.csv"
    bad.write_text("\n".join(rows) + "\n")
    result = check(message, bad)
    assert result.mismatches >= 1
    assert result.first_mismatch_line == 101


# -- bad input: each stops with the file and line -------------------------------------------

GOOD_MESSAGES = [
    "34200.000000001,1,1,100,1000000,1",
    "34200.000000002,1,2,100,1010000,-1",
    "34200.000000003,1,3,50,1000000,1",
    "34200.000000004,4,1,30,1000000,1",
]
GOOD_BOOK = [
    "9999999999,0,1000000,100",
    "1010000,100,1000000,100",
    "1010000,100,1000000,150",
    "1010000,100,1000000,120",
]


def write_pair(tmp_path, messages, book, *, gz=False):
    suffix = ".csv.gz" if gz else ".csv"
    m = tmp_path / f"TEST_2024-01-02_34200000_57600000_message_1{suffix}"
    o = tmp_path / f"TEST_2024-01-02_34200000_57600000_orderbook_1{suffix}"
    for path, rows in ((m, messages), (o, book)):
        data = ("\n".join(rows) + "\n").encode()
        path.write_bytes(gzip.compress(data) if gz else data)
    return m, o


def test_a_good_small_pair_checks_clean_plain_and_gzip(tmp_path):
    for gz in (False, True):
        folder = tmp_path / str(gz)
        folder.mkdir()
        result = check(*write_pair(folder, GOOD_MESSAGES, GOOD_BOOK, gz=gz))
        assert (result.mismatches, result.message_mismatches) == (0, 0)


@pytest.mark.parametrize(
    ("line", "replacement", "error", "match"),
    [
        (3, "34200.000000003,1,3,50,1000000", DataError, "expected 6 columns, found 5"),
        (2, "34200.000000002,1,2,abc,1010000,-1", DataError, "column 4: 'abc'"),
        (3, "34200.000000003,9,3,50,1000000,1", DataError, "unknown event type 9"),
        (3, "34200.000000003,1,3,-50,1000000,1", DataError, "negative size -50"),
        (4, "34199.000000000,4,1,30,1000000,1", SequenceError, "time goes backwards"),
        (3, "34200.000000003,1,3,50,1000000,2", DataError, "direction 2"),
        (4, "34200.000000004,4,1,999,1000000,1", DataError, "removes more than"),
    ],
)
def test_malformed_message_rows_name_file_and_line(tmp_path, line, replacement, error, match):
    messages = list(GOOD_MESSAGES)
    messages[line - 1] = replacement
    m, o = write_pair(tmp_path, messages, GOOD_BOOK)
    with pytest.raises(error, match=match) as info:
        check(m, o)
    assert info.value.line == line
    assert info.value.path.endswith(m.name)
    assert f"{m.name}:{line}" in str(info.value)


def test_files_of_different_lengths_are_refused(tmp_path):
    m, o = write_pair(tmp_path, GOOD_MESSAGES, GOOD_BOOK[:3])
    with pytest.raises(DataError, match="4 rows but orderbook file has 3") as info:
        check(m, o)
    assert info.value.line == 4


def test_a_crossed_orderbook_row_is_refused(tmp_path):
    book = list(GOOD_BOOK)
    book[2] = "1010000,100,1010000,150"
    m, o = write_pair(tmp_path, GOOD_MESSAGES, book)
    with pytest.raises(DataError, match="orderbook row is crossed") as info:
        check(m, o)
    assert info.value.line == 3 and "orderbook" in info.value.path


def test_a_message_that_crosses_the_book_stops_replay_at_its_line(tmp_path):
    from engine.config import EngineConfig
    from replay.backtest import run_replay

    messages = list(GOOD_MESSAGES)
    messages[2] = "34200.000000003,1,3,50,1010000,1"  # a bid at the best ask
    m, _ = write_pair(tmp_path, messages, GOOD_BOOK)
    with pytest.raises(CrossedBookError) as info:
        run_replay(EngineConfig(), m)
    assert info.value.seq == 3 and info.value.source.endswith(m.name)


def test_orderbook_is_found_beside_the_message_file(tmp_path):
    message, orderbook = goog_pair(1)
    shutil.copy(message, tmp_path / message.name)
    with pytest.raises(DataError, match="no orderbook file beside it"):
        LobsterPair.from_message(tmp_path / message.name)
    pair = LobsterPair.from_message(message)
    assert pair.orderbook == orderbook and pair.levels == 1 and pair.ticker == "GOOG"
    assert GOOG in pair.message.name
