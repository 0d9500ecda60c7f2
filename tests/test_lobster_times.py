"""LOBSTER times with more than nine decimals are rounded to the ns and counted.

LOBSTER's own published samples hold such times (``43002.632812672004``); the files here
are the shared GOOG level-1 pair with one time rewritten to 12 decimals.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from data_paths import goog_pair

from connectors.lobster import _time_ns
from connectors.lobster import read_messages_counted

ROOT = Path(__file__).resolve().parents[1]
CLI = "engine.app.cli"  #: run as ``python -m``, as the obflow script does
LINE = 5  # 34200.113246707, a hidden execution


def obflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", CLI, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def twelve_decimals(tmp_path_factory) -> tuple[Path, Path]:
    """The GOOG level-1 pair, line 5's time written as 34200.113246706999 (12 decimals)."""
    message, orderbook = goog_pair(1)
    out = tmp_path_factory.mktemp("times")
    rows = message.read_text().splitlines()
    time, rest = rows[LINE - 1].split(",", 1)
    assert time == "34200.113246707"
    rows[LINE - 1] = "34200.113246706999," + rest
    (out / message.name).write_text("\n".join(rows) + "\n")
    (out / orderbook.name).write_bytes(orderbook.read_bytes())
    return out / message.name, out / orderbook.name


@pytest.mark.parametrize(("text", "ns"), [
    ("43002.632812672004", 43002_632812672),
    ("34200.113246706999", 34200_113246707),
    ("1.0000000005", 1_000000000),  # a tie goes to the even ns
    ("1.0000000015", 1_000000002),
    ("1.00000000050001", 1_000000001),
])
def test_long_fractions_round_to_the_nearest_ns(text, ns):
    assert _time_ns(text) == ns


def test_the_reader_counts_rounded_times(twelve_decimals):
    messages, rounded = read_messages_counted(twelve_decimals[0])
    exact, none = read_messages_counted(goog_pair(1)[0])
    assert (rounded, none) == (1, 0)
    assert (messages == exact).all()


def test_check_book_book_and_replay_accept_and_count_it(twelve_decimals, tmp_path):
    message, orderbook = twelve_decimals
    checked = obflow("check-book", "--message", message, "--orderbook", orderbook, "--json")
    assert checked.returncode == 0, checked.stderr
    check = json.loads(checked.stdout)
    assert (check["mismatches"], check["message_mismatches"], check["times_rounded"]) == (0, 0, 1)

    book = obflow("book", "--data", message, "--json")
    plain = obflow("book", "--data", goog_pair(1)[0], "--json")
    assert book.returncode == 0 and plain.returncode == 0, book.stderr + plain.stderr
    view = json.loads(book.stdout)
    assert view.pop("input") == {"times_rounded": 1}
    assert view == json.loads(plain.stdout)

    replayed = obflow("replay", "--config", "configs/replay_goog.toml", "--data", message,
                      "--out", tmp_path / "report")
    assert replayed.returncode == 0, replayed.stderr
    result = json.loads((tmp_path / "report" / "report.json").read_text())["result"]
    assert result["input"] == {"format": "lobster", "symbol": "GOOG", "times_rounded": 1}
