"""Tests for replay.synth.

The checks below are an independent pure-Python/numpy reading of the LOBSTER contract: they
only look at the written arrays/files, never at simulator internals.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from replay.synth import SynthConfig
from replay.synth import SynthDay
from replay.synth import simulate
from replay.synth import write_lobster

ASK_EMPTY = 9_999_999_999
BID_EMPTY = -9_999_999_999
BUY = 1  # direction of a buy limit order (bid side)
SELL = -1  # direction of a sell limit order (ask side)


@pytest.fixture(scope="module")
def day() -> SynthDay:
    return simulate(SynthConfig(events=20_000, seed=11))


@pytest.fixture(scope="module")
def big_day() -> SynthDay:
    return simulate(SynthConfig(events=100_000, seed=3))


def _levels(row: np.ndarray, direction: int) -> list[tuple[int, int]]:
    """Occupied (price, size) levels of one side, best first."""
    if direction == SELL:
        prices, sizes, empty = row[0::4], row[1::4], ASK_EMPTY
    else:
        prices, sizes, empty = row[2::4], row[3::4], BID_EMPTY
    return [(int(p), int(s)) for p, s in zip(prices, sizes, strict=True) if p != empty]


def _horizon(row: np.ndarray, direction: int, n_levels: int) -> int | None:
    """Worst visible price of a full side (None when the whole side is visible)."""
    lv = _levels(row, direction)
    return lv[-1][0] if len(lv) == n_levels else None


def _not_worse(price: int, ref: int | None, direction: int) -> bool:
    if ref is None:
        return True
    return price >= ref if direction == BUY else price <= ref


# --- 1. determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    cfg = SynthConfig(events=5_000, seed=5)
    a = write_lobster(simulate(cfg), tmp_path / "a")
    b = write_lobster(simulate(cfg), tmp_path / "b")
    c = write_lobster(simulate(SynthConfig(events=5_000, seed=6)), tmp_path / "c")
    for pa, pb, pc in zip(a, b, c, strict=True):
        assert pa.name == pb.name == pc.name
        assert pa.read_bytes() == pb.read_bytes()
        assert pa.read_bytes() != pc.read_bytes()


def test_file_names_format_and_round_trip(tmp_path: Path) -> None:
    cfg = SynthConfig(events=2_000, levels=5, seed=2)
    d = simulate(cfg)
    msg_path, book_path = write_lobster(d, tmp_path, ticker="ABC", date="2024-03-01")
    assert msg_path.name == "ABC_2024-03-01_34200000_57600000_message_5.csv"
    assert book_path.name == "ABC_2024-03-01_34200000_57600000_orderbook_5.csv"
    msg_lines = msg_path.read_bytes().split(b"\n")
    book_lines = book_path.read_bytes().split(b"\n")
    assert msg_lines[-1] == b"" and book_lines[-1] == b""  # "\n"-terminated, no header
    assert len(msg_lines) - 1 == len(book_lines) - 1 == cfg.events
    line_re = re.compile(rb"^\d{5}\.\d{9},[1-5],\d+,\d+,\d+,-?1$")
    assert all(line_re.match(line) for line in msg_lines[:-1])
    times = [line.split(b",", 1)[0].split(b".") for line in msg_lines[:-1]]
    ns = np.array([int(s) * 10**9 + int(f) for s, f in times], dtype=np.int64)
    np.testing.assert_array_equal(ns, d.messages[:, 0])
    rest = np.array([[int(v) for v in line.split(b",")[1:]] for line in msg_lines[:-1]])
    np.testing.assert_array_equal(rest, d.messages[:, 1:])
    book = np.array([[int(v) for v in line.split(b",")] for line in book_lines[:-1]])
    np.testing.assert_array_equal(book, d.orderbook)


# --- 2. shapes and sanity -------------------------------------------------------------------


def test_shapes_and_sanity(day: SynthDay) -> None:
    cfg = day.config
    m, b = day.messages, day.orderbook
    n, n_levels = cfg.events, cfg.levels
    assert m.dtype == np.int64 and b.dtype == np.int64
    assert m.shape == (n, 6) and b.shape == (n, 4 * n_levels)
    t, typ, oid, size, price, direction = m.T
    assert np.all(np.diff(t) >= 0)
    assert t[0] > cfg.session_start_ns and t[-1] < cfg.session_end_ns
    assert set(np.unique(typ).tolist()) == {1, 2, 3, 4, 5}
    assert np.all(size > 0)
    assert np.all(price % cfg.tick == 0) and np.all(price > 0)
    assert set(np.unique(direction).tolist()) == {-1, 1}
    assert np.all(oid[typ == 5] == 0) and np.all(oid[typ != 5] > 0)
    new_ids = oid[typ == 1]
    assert np.all(np.diff(new_ids) > 0)  # ids assigned in order flow
    # spread over the session: mean gap ~ session / events
    mean_gap = (t[-1] - t[0]) / (n - 1)
    assert 0.8 < mean_gap / ((cfg.session_end_ns - cfg.session_start_ns) / n) < 1.1

    ask_p, ask_s, bid_p, bid_s = b[:, 0::4], b[:, 1::4], b[:, 2::4], b[:, 3::4]
    assert np.all(ask_p[:, 0] != ASK_EMPTY) and np.all(bid_p[:, 0] != BID_EMPTY)
    assert np.all(ask_p[:, 0] > bid_p[:, 0])  # never crossed or locked
    ask_on, bid_on = ask_p != ASK_EMPTY, bid_p != BID_EMPTY
    assert np.all(ask_on[0]) and np.all(bid_on[0])  # row 1 already shows L levels
    assert np.all((ask_s > 0) == ask_on) and np.all((bid_s > 0) == bid_on)
    assert np.all(ask_p[ask_on] % cfg.tick == 0) and np.all(bid_p[bid_on] % cfg.tick == 0)
    # occupied levels are contiguous from the top and strictly ordered
    assert np.all(ask_on[:, :-1] >= ask_on[:, 1:]) and np.all(bid_on[:, :-1] >= bid_on[:, 1:])
    assert np.all(np.diff(ask_p, axis=1)[ask_on[:, 1:]] > 0)
    assert np.all(np.diff(bid_p, axis=1)[bid_on[:, 1:]] < 0)
    assert np.mean(ask_on.all(axis=1) & bid_on.all(axis=1)) > 0.99


def test_order_level_semantics(day: SynthDay) -> None:
    """Executions hit the touch, hidden trades leave the book alone, ids behave like orders."""
    m, b = day.messages, day.orderbook
    remaining: dict[int, int] = {}
    meta: dict[int, tuple[int, int]] = {}
    dead: set[int] = set()
    all_new = set(m[m[:, 1] == 1, 2].tolist())
    for k in range(m.shape[0]):
        _, typ, oid, size, price, direction = (int(v) for v in m[k])
        if k > 0 and typ == 4:  # the executed order is at the best price of its side
            assert price == _levels(b[k - 1], direction)[0][0]
        if k > 0 and typ == 5:
            np.testing.assert_array_equal(b[k], b[k - 1])
        if typ == 1:
            remaining[oid] = size
            meta[oid] = (price, direction)
        elif typ in (2, 3, 4):
            assert oid not in dead
            if oid in meta:
                assert meta[oid] == (price, direction)
                assert size <= remaining[oid]  # unwritten events can only shrink an order
                remaining[oid] -= size
            else:  # submitted unseen (deep or before the open), never announced later
                assert oid not in all_new
            if typ == 3:
                dead.add(oid)
    # a multi-fill market order shares one timestamp and walks away from the touch
    t, typ = m[:, 0], m[:, 1]
    same = (typ[1:] == 4) & (typ[:-1] == 4) & (t[1:] == t[:-1])
    assert same.sum() > 100


# --- 3. message / orderbook consistency -----------------------------------------------------


def test_message_matches_orderbook_delta(day: SynthDay) -> None:
    m, b = day.messages, day.orderbook
    n_levels = day.config.levels
    checked = 0
    for k in range(1, m.shape[0]):
        typ, size, price, direction = (int(v) for v in m[k, [1, 3, 4, 5]])
        if typ not in (1, 2, 3, 4):
            continue
        prev, cur = b[k - 1], b[k]
        if not (
            _not_worse(price, _horizon(prev, direction, n_levels), direction)
            and _not_worse(price, _horizon(cur, direction, n_levels), direction)
        ):
            continue
        before = dict(_levels(prev, direction)).get(price, 0)
        after = dict(_levels(cur, direction)).get(price, 0)
        assert after - before == (size if typ == 1 else -size), k
        # the other side is untouched
        assert _levels(prev, -direction) == _levels(cur, -direction), k
        checked += 1
    assert checked > 0.9 * m.shape[0] * 0.9


# --- 4. full replay from row 0 --------------------------------------------------------------


def test_replay_from_row0_reproduces_book() -> None:
    """Apply messages 1..n-1 (types 1-4) to a dict book built from row 0 only.

    The dict is never overwritten from later rows near the top: it only learns levels that
    slide into view from beyond the previous row's L-th level (they were unobservable) and
    forgets levels pushed out of view (unwritten messages may change them).
    """
    n_levels = 50
    d = simulate(SynthConfig(events=8_000, levels=n_levels, seed=21))
    m, b = d.messages, d.orderbook
    books = {s: dict(_levels(b[0], s)) for s in (BUY, SELL)}
    horizon = {s: _horizon(b[0], s, n_levels) for s in (BUY, SELL)}
    for k in range(1, m.shape[0]):
        typ, size, price, direction = (int(v) for v in m[k, [1, 3, 4, 5]])
        side = books[direction]
        if typ == 1:
            side[price] = side.get(price, 0) + size
        elif typ in (2, 3, 4):
            left = side[price] - size
            assert left >= 0, k
            if left:
                side[price] = left
            else:
                del side[price]
        for s in (BUY, SELL):
            row_levels = _levels(b[k], s)
            for p, q in row_levels:
                if not _not_worse(p, horizon[s], s):
                    books[s][p] = q
            h = _horizon(b[k], s, n_levels)
            kept = {p: q for p, q in books[s].items() if _not_worse(p, h, s)}
            books[s] = kept
            horizon[s] = h
            replayed = sorted(kept.items(), reverse=(s == BUY))
            assert replayed[:10] == row_levels[:10], (k, s)
            assert replayed == row_levels, (k, s)


# --- 5. realism: moving price, imbalance signal, book shape --------------------------------


def test_price_moves_and_imbalance_predicts(big_day: SynthDay) -> None:
    m, b = big_day.messages, big_day.orderbook
    tick = big_day.config.tick
    mid = (b[:, 0] + b[:, 2]) / 2.0
    assert mid.max() - mid.min() > 10 * tick
    assert mid.max() - mid.min() < 2_000 * tick  # wanders, does not run away
    imbalance = (b[:, 3] - b[:, 1]) / (b[:, 3] + b[:, 1])
    t = m[:, 0]
    ahead = np.searchsorted(t, t + 10**9, side="right") - 1
    future = np.sign(mid[ahead] - mid)
    assert np.corrcoef(imbalance, future)[0, 1] > 0.02


def test_book_shape_and_sizes(big_day: SynthDay) -> None:
    cfg = big_day.config
    m, b = big_day.messages, big_day.orderbook
    spread_ticks = (b[:, 0] - b[:, 2]) // cfg.tick
    assert np.mean(spread_ticks == 1) > 0.6 and np.mean(spread_ticks > 1) > 0.02
    depth = (b[:, 1::4] + b[:, 3::4]).mean(axis=0)
    assert depth[0] < depth[2] and depth[3] > depth[-1] * 0.5  # hump near the touch
    new_sizes = m[m[:, 1] == 1, 3]
    assert np.mean(new_sizes % 100 == 0) > 0.6 and np.mean(new_sizes < 100) > 0.02
    # U-shaped intraday activity: busy first/last half hour, quiet lunch
    half_hour = (m[:, 0] - cfg.session_start_ns) // (1_800 * 10**9)
    counts = np.bincount(half_hour, minlength=13)
    assert counts[0] > 1.5 * counts[6] and counts[12] > 1.5 * counts[6]


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SynthConfig(start_price=5_800_050)
    with pytest.raises(ValueError):
        SynthConfig(events=0)
