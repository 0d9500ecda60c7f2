"""LOBSTER values that do not fit: refused with file, line, the value and what was expected."""

import pytest

from connectors.lobster import LobsterPair
from connectors.lobster import load_day
from engine.errors import DataError
from engine.instrument import lobster_instrument

MESSAGES = [
    "34200.000000001,1,1,100,1000000,1",
    "34200.000000002,1,2,100,1010000,-1",
    "34200.000000003,1,3,50,1000000,1",
    "34200.000000004,4,1,30,1000000,1",
]
BOOK = [
    "9999999999,0,1000000,100",
    "1010000,100,1000000,100",
    "1010000,100,1000000,150",
    "1010000,100,1000000,120",
]


def load(tmp_path, messages, book=BOOK):
    m = tmp_path / "TEST_2024-01-02_34200000_57600000_message_1.csv"
    o = tmp_path / "TEST_2024-01-02_34200000_57600000_orderbook_1.csv"
    m.write_text("".join(f"{r}\n" for r in messages))
    o.write_text("".join(f"{r}\n" for r in book))
    return load_day(LobsterPair.from_message(m), lobster_instrument("T"))


@pytest.mark.parametrize(("column", "value", "match"), [
    (3, "99999999999999999999999", r"column 4: '99999999999999999999999' is beyond the "
                                   r"64-bit integer range \(expected -9223372036854775808"),
    (4, "9223372036854775808", r"column 5: '9223372036854775808' is beyond the 64-bit"),
    (3, "nan", r"column 4: 'nan' is not a valid integer \(expected digits"),
    (3, "inf", r"column 4: 'inf' is not a valid integer"),
    (4, "-inf", r"column 5: '-inf' is not a valid integer"),
    (4, "1e6", r"column 5: '1e6' is not a valid integer"),
    (3, "9223372036854775807", r"size 9223372036854775807 is beyond 1,000,000,000,000,000 "
                               r"\(expected a size of shares"),
    (0, "nan", r"column 1: 'nan' is not a valid time \(expected seconds after midnight"),
    (0, "34200.-1", r"column 1: '34200.-1' is not a valid time"),
    (0, "99999999999999999999.5", r"column 1: time '99999999999999999999.5' is beyond any "
                                  r"trading day"),
])
def test_message_values_beyond_int64_or_not_numbers_are_refused(tmp_path, column, value, match):
    messages = list(MESSAGES)
    fields = messages[2].split(",")
    fields[column] = value
    messages[2] = ",".join(fields)
    with pytest.raises(DataError, match=match) as info:
        load(tmp_path, messages)
    assert info.value.line == 3 and str(info.value).startswith(f"{info.value.path}:3: ")


def test_a_long_time_that_rounds_is_not_refused(tmp_path):
    messages = list(MESSAGES)
    messages[2] = "34200.000000003" + "4" * 80 + messages[2][15:]
    day = load(tmp_path, messages)
    assert day.times_rounded == 1 and day.messages[2, 0] == 34200_000000003


@pytest.mark.parametrize("value", ["99999999999999999999999", "nan", "9223372036854775807"])
def test_orderbook_values_that_do_not_fit_are_refused(tmp_path, value):
    book = list(BOOK)
    book[1] = f"1010000,{value},1000000,100"
    with pytest.raises(DataError, match=repr(value) if value == "nan" else value) as info:
        load(tmp_path, MESSAGES, book)
    assert info.value.line == 2 and "orderbook" in info.value.path


@pytest.mark.parametrize("both", [True, False])
def test_a_duplicated_message_is_refused_at_its_line(tmp_path, both):
    """Written twice with its row, the second copy would add 50 again while the row still
    says 150: refused at the copy's line, never a silently wrong book."""
    messages = MESSAGES[:3] + MESSAGES[2:]
    book = BOOK[:3] + BOOK[2:] if both else BOOK
    with pytest.raises(DataError) as info:
        load(tmp_path, messages, book)
    if both:
        assert info.value.line == 4
        assert "shows 150 at bid 1000000, but the message makes it 200 (150 in the row " \
               "before + 50): a duplicated, missing or altered message" in str(info.value)
    else:  # the files no longer have the same length
        assert "5 rows but orderbook file has 4" in str(info.value)
