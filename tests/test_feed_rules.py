"""Pure pieces of the live feeds: sequence rules, exact decimal grids, ISO time, far pruning."""

from decimal import Decimal

import numpy as np
import pytest

from connectors.grid import Grid
from connectors.grid import infer_grid
from connectors.sequence import SeqCheck
from connectors.sequence import check_sequence
from connectors.sequence import check_sequence_num
from connectors.timeparse import iso_ns
from engine.book import NO_PRICE
from engine.book import L2Book
from engine.book import drop_far
from engine.book import prune_far
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.events import make_batch
from engine.instrument import InstrumentSpec

BTC = InstrumentSpec("BTCUSDT", Decimal("0.01"), Decimal("0.00000001"))


@pytest.mark.parametrize(("last", "first", "final", "outcome"), [
    (100, 101, 105, SeqCheck.APPLY),   # U == previous u + 1
    (100, 90, 100, SeqCheck.STALE),    # u <= lastUpdateId: drop
    (100, 101, 100, SeqCheck.STALE),
    (100, 95, 101, SeqCheck.BRIDGE),   # U <= lastUpdateId + 1 <= u: first after a snapshot
    (100, 102, 110, SeqCheck.GAP),     # an update id is missing
])
def test_binance_sequence_rules(last, first, final, outcome):
    assert check_sequence(last, first, final) is outcome


def test_coinbase_sequence_num_rules():
    assert check_sequence_num(None, 17) is SeqCheck.APPLY
    assert check_sequence_num(17, 18) is SeqCheck.APPLY
    assert check_sequence_num(17, 17) is SeqCheck.STALE
    assert check_sequence_num(17, 12) is SeqCheck.STALE
    assert check_sequence_num(17, 19) is SeqCheck.GAP


def test_grid_converts_exactly_and_refuses_off_grid_values():
    grid = Grid(BTC)
    px, qty = grid.pairs([["61837.63000000", "1.54698000"], ["0.01", "0.00000001"], ["7", "0"]])
    assert px.tolist() == [6183763, 1, 700]
    assert qty.tolist() == [154698000, 1, 0]
    assert grid.price("61837.63") == 6183763 and grid.size("25.42618900") == 2542618900
    for bad in ("61837.635", "1.2.3", "-1", "", "1e5", ".5", "1,5"):
        with pytest.raises(ValueError, match="not a decimal on the grid"):
            grid.price(bad)
        with pytest.raises(ValueError, match="not a decimal on the grid"):
            grid.pairs([[bad, "1"]])
    with pytest.raises(ValueError, match=r"size '0\.000000001'"):
        grid.pairs([["1.00", "0.000000001"]])


def test_grid_matches_decimal_on_random_values():
    rng = np.random.default_rng(5)
    grid = Grid(InstrumentSpec("X", Decimal("0.005"), Decimal("0.001")))
    ticks = rng.integers(0, 10**9, 500)
    texts = [f"{Decimal(int(t)) * Decimal('0.005'):f}" for t in ticks]
    px = grid.prices(texts)
    assert px.tolist() == ticks.tolist()
    assert grid.prices([t + "0000" for t in texts]).tolist() == ticks.tolist()


def test_infer_grid_finds_the_coarsest_common_step():
    spec = infer_grid(["0.21437000", "0.21449000", "0.21500000"], ["2800.0", "0.5"], "ZIL")
    assert spec.tick_size == Decimal("0.00001") and spec.lot_size == Decimal("0.5")


def test_iso_ns_keeps_nanoseconds():
    assert iso_ns("2026-08-09T21:05:48.228568804Z") == 1786309548228568804
    assert iso_ns("2014-11-07T08:19:27Z") == 1415348367000000000
    assert iso_ns("2014-11-07T08:19:27.5+00:00") == 1415348367500000000
    with pytest.raises(ValueError, match="ISO"):
        iso_ns("2014-11-07 08:19")


def test_drop_far_keeps_message_ends_and_prune_removes_far_levels():
    rows = [(BOOK_DELTA, BID, 1000, 5, 1, 1, 1, 0), (BOOK_DELTA, BID, 10, 5, 1, 1, 1, F_LAST),
            (BOOK_DELTA, ASK, 1001, 5, 2, 2, 2, 0), (BOOK_DELTA, ASK, 5000, 5, 2, 2, 2, F_LAST)]
    kept = drop_far(make_batch(rows), 1000, 1001, 100)
    assert kept["px_ticks"].tolist() == [1000, 1001]
    assert kept["flags"].tolist() == [F_LAST, F_LAST]
    untouched = drop_far(make_batch(rows), NO_PRICE, NO_PRICE, 100)
    assert len(untouched) == 4
    book = L2Book(capacity=8192)
    book.apply(make_batch(rows))
    assert prune_far(book.bid, book.ask, book.hdr, 100) == 2
    assert (book.levels(BID), book.levels(ASK)) == (1, 1)
    assert (book.best_bid_tick(), book.best_ask_tick()) == (1000, 1001)


def test_prune_scans_only_where_levels_can_be():
    rows = [(BOOK_DELTA, BID, 5000, 5, 1, 1, 1, 0), (BOOK_DELTA, BID, 4800, 5, 1, 1, 1, 0),
            (BOOK_DELTA, BID, 4850, 5, 1, 1, 1, F_LAST),
            (BOOK_DELTA, ASK, 5001, 5, 2, 2, 2, 0), (BOOK_DELTA, ASK, 5300, 5, 2, 2, 2, F_LAST)]
    full, bounded = L2Book(capacity=1 << 16), L2Book(capacity=1 << 16)
    for book in (full, bounded):
        book.apply(make_batch(rows))
    assert prune_far(full.bid, full.ask, full.hdr, 100) == 3
    # Levels reach down to 4800 and up to 5300: a scan from there finds the same three.
    assert prune_far(bounded.bid, bounded.ask, bounded.hdr, 100, 4800, 5300) == 3
    assert (full.bid == bounded.bid).all() and (full.ask == bounded.ask).all()
    assert bounded.levels(BID) == 1 and bounded.levels(ASK) == 1
