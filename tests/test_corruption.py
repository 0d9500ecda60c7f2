"""Corrupted input: either the right result or one line ``file:line: what is wrong``, exit 2.

Every corruption is made at test time from slices of the shared LOBSTER, Tardis, Binance
and Coinbase files and run through the real command line in a subprocess.
"""

import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.grid import Grid
from connectors.tardis import load_tardis
from engine.errors import DataError
from engine.instrument import InstrumentSpec

ROOT = Path(__file__).resolve().parents[1]
CLI = "engine.app.cli" if importlib.util.find_spec("engine.app.cli") else "engine.cli"


def obflow(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", CLI, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# -- exact decimals: beyond int64, NaN and infinity are refused, never wrapped ---------------

GRID = Grid(InstrumentSpec("BTCUSDT", Decimal("0.01"), Decimal("0.00000001")))


@pytest.mark.parametrize(("pair", "match"), [
    (["99999999999999999999999", "1"], r"price '99999999999999999999999' .* \(beyond the "
                                       r"64-bit range: expected at most 92233720368\.54775807\)"),
    (["1.00", "92233720368.54775808"], r"size '92233720368\.54775808' .*\(beyond the 64-bit"),
    (["NaN", "1"], r"price 'NaN' .* \(NaN or infinity"),
    (["1.00", "inf"], r"size 'inf' .* \(NaN or infinity"),
    (["1.005", "1"], r"price '1\.005' .* \(expected a whole multiple of 0\.01\)"),
    (["1,2", "1"], r"price '1,2' .* \(expected digits"),
    ([1.5, "1"], r"price 1\.5 .* \(expected a decimal string, found float\)"),
])
def test_venue_decimals_that_do_not_fit_are_refused(pair, match):
    with pytest.raises(ValueError, match=match):
        GRID.pairs([pair])
    with pytest.raises(ValueError, match=match):
        (GRID.price if match.startswith("price") else GRID.size)(
            pair[0] if match.startswith("price") else pair[1])


def test_the_largest_value_that_fits_is_exact():
    assert GRID.size("92233720368.54775807") == 2**63 - 1
    px, qty = GRID.pairs([["1.00", "92233720368.54775807"]])
    assert (px[0], qty[0]) == (100, 2**63 - 1)


def tardis_book(tmp_path: Path, line: int, column: int, value: str) -> Path:
    from data_paths import shared_file

    source = shared_file("tardis/H2nryHe_binance_incremental_book_L2_2019-12-01_BTCUSDT_"
                         "rows1-2050.csv")
    rows = source.read_text().splitlines()
    fields = rows[line - 1].split(",")
    fields[column] = value
    rows[line - 1] = ",".join(fields)
    out = tmp_path / "book.csv"
    out.write_text("\n".join(rows) + "\n")
    return out


@pytest.mark.parametrize(("column", "value", "match"), [
    (7, "99999999999999999999999", r"amount '99999999999999999999999' is not a plain "
                                   r"non-negative decimal \(more digits than fit in 64 bits"),
    (7, "1.000000000000000000000001", r"\(more digits than fit in 64 bits"),
    (7, "0." + "0" * 30 + "1", r"\(more digits than fit in 64 bits"),
    (6, "nan", r"price 'nan' is not a plain non-negative decimal \(NaN or infinity"),
    (7, "inf", r"amount 'inf' .* \(NaN or infinity"),
    (7, "-inf", r"amount '-inf' .* \(NaN or infinity"),
    (2, "99999999999999999999999", r"column timestamp: '99999999999999999999999' is beyond "
                                   r"the 64-bit integer range"),
    (3, "9223372036854775000", r"local_timestamp 9223372036854775000 is outside "
                               r"0\.\.9223372036854775 \(expected µs since the Unix epoch\)"),
])
def test_tardis_values_that_do_not_fit_are_refused(tmp_path, column, value, match):
    path = tardis_book(tmp_path, 2020, column, value)
    with pytest.raises(DataError, match=match) as info:
        load_tardis([path])
    assert info.value.line == 2020 and str(info.value).startswith(f"{path}:2020: ")
