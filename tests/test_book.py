import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from engine.book import L2Book
from engine.errors import BookRangeError
from engine.errors import CrossedBookError
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.events import make_batch


def delta(side, px, qty, seq=1, flags=F_LAST):
    return (BOOK_DELTA, side, px, qty, 0, 0, seq, flags)


def test_best_levels_follow_adds_and_removals():
    book = L2Book(capacity=16)
    book.apply(make_batch([delta(BID, 100, 5), delta(BID, 98, 2), delta(ASK, 103, 7),
                           delta(ASK, 101, 1)]))
    assert (book.best_bid_tick(), book.best_ask_tick()) == (100, 101)
    book.apply(make_batch([delta(ASK, 101, 0), delta(BID, 100, 0)]))
    assert (book.best_bid_tick(), book.best_ask_tick()) == (98, 103)
    book.apply(make_batch([delta(BID, 98, 0)]))
    assert book.best_bid_tick() is None
    assert book.levels(BID) == 0 and book.levels(ASK) == 1


def test_top_and_depth_report_occupied_levels_only():
    book = L2Book(capacity=64)
    book.apply(make_batch([delta(BID, 50, 1), delta(BID, 47, 2), delta(BID, 40, 3),
                           delta(ASK, 52, 4), delta(ASK, 60, 5)]))
    bid_px, bid_qty, ask_px, ask_qty = book.top(3)
    assert bid_px.tolist() == [50, 47, 40] and bid_qty.tolist() == [1, 2, 3]
    assert ask_px[:2].tolist() == [52, 60] and ask_qty.tolist() == [4, 5, 0]
    assert book.depth(2) == (3, 9)
    assert book.qty_at_tick(BID, 47) == 2 and book.qty_at_tick(ASK, 47) == 0


def test_crossed_book_is_reported_with_the_event_sequence():
    book = L2Book()
    book.apply(make_batch([delta(BID, 100, 1, seq=1), delta(ASK, 101, 1, seq=2)]))
    with pytest.raises(CrossedBookError, match="seq 3") as info:
        book.apply(make_batch([delta(BID, 101, 1, seq=3)]))
    assert info.value.seq == 3


def test_crossed_state_inside_a_message_is_allowed_until_its_last_event():
    book = L2Book()
    book.apply(make_batch([delta(BID, 100, 1), delta(ASK, 102, 1)]))
    # A message that first adds the new ask, then removes the old bid: fine at its end.
    book.apply(make_batch([delta(BID, 103, 1, flags=0), delta(ASK, 102, 0, flags=0),
                           delta(ASK, 104, 1)]))
    assert (book.best_bid_tick(), book.best_ask_tick()) == (103, 104)


def test_arrays_grow_and_recentre_keeping_levels():
    book = L2Book(capacity=16)
    book.apply(make_batch([delta(BID, 1000, 5), delta(ASK, 1001, 6)]))
    book.apply(make_batch([delta(ASK, 1500, 7), delta(BID, 600, 8)]))
    assert book.capacity >= 1024
    assert book.top(2)[0].tolist() == [1000, 600]
    assert book.top(2)[2].tolist() == [1001, 1500]
    assert book.qty_at_tick(ASK, 1500) == 7


def test_removing_a_level_outside_the_arrays_changes_nothing():
    book = L2Book(capacity=16)
    book.apply(make_batch([delta(BID, 1000, 5), delta(ASK, 1001, 6)]))
    bid, ask = book.bid.copy(), book.ask.copy()
    book.apply(make_batch([delta(ASK, 1 << 40, 0), delta(BID, 3, 0)]))  # far deletes
    assert book.capacity == 16
    assert np.array_equal(book.bid, bid) and np.array_equal(book.ask, ask)


def test_a_price_too_far_away_is_refused():
    book = L2Book()
    book.apply(make_batch([delta(BID, 0, 1)]))
    with pytest.raises(BookRangeError):
        book.apply(make_batch([delta(ASK, 1 << 40, 1, seq=9)]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([BID, ASK]), st.integers(0, 400),
                          st.integers(0, 5)), min_size=1, max_size=200))
def test_book_matches_a_dict_reference(updates):
    book = L2Book(capacity=16)
    ref = {BID: {}, ASK: {}}
    for side, px, qty in updates:
        # Keep the reference uncrossed: bids below 200, asks at or above.
        px = px % 200 if side == BID else 200 + px % 200
        book.apply(make_batch([delta(side, px, qty)]))
        if qty:
            ref[side][px] = qty
        else:
            ref[side].pop(px, None)
    bids = sorted(ref[BID].items(), reverse=True)[:5]
    asks = sorted(ref[ASK].items())[:5]
    bid_px, bid_qty, ask_px, ask_qty = book.top(5)
    assert list(zip(bid_px[:len(bids)].tolist(), bid_qty[:len(bids)].tolist(), strict=True)) == bids
    assert list(zip(ask_px[:len(asks)].tolist(), ask_qty[:len(asks)].tolist(), strict=True)) == asks
    assert (bid_qty[len(bids):] == 0).all() and (ask_qty[len(asks):] == 0).all()
    assert book.best_bid_tick() == (bids[0][0] if bids else None)
    assert book.best_ask_tick() == (asks[0][0] if asks else None)
    assert book.depth(3) == (sum(q for _, q in bids[:3]), sum(q for _, q in asks[:3]))
    assert np.int64(book.levels(BID)) == len(ref[BID])
