"""Seeded synthetic order flow written as a LOBSTER message/orderbook file pair.

Why this exists: strategies and the replay engine need realistic, reproducible level-L book
data without shipping licensed LOBSTER files. The simulator keeps a full order-level book
(price-time priority, unique increasing order ids) and emits only the messages that touch the
visible L levels, exactly as a LOBSTER level-L extract would.

Model (event time, Cont-Stoikov-Talreja flavoured zero-intelligence flow with feedback):

* limit orders arrive at a distance of i ticks from the opposite best quote (so they can never
  cross or lock the book) with a slowly decaying profile, which keeps the touch refilled and the
  spread mostly one tick;
* each resting order is cancelled at a rate that is higher close to the touch, which together
  with executions at the touch yields a hump-shaped depth profile;
* market orders walk the book in price-time priority; their side depends on the level-1 depth
  imbalance (so imbalance carries real information about the next mid move), and a share of
  them repeats the previous sign, like split metaorders, which lets the price wander;
* hidden executions are trades at the touch (or inside a wide spread) with no book change.

Timestamps are assigned to the written events afterwards: bursty gamma inter-arrivals mapped
through a U-shaped intraday intensity, so the file covers the whole session.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

__all__ = ["SynthConfig", "SynthDay", "business_days", "simulate", "write_days", "write_lobster"]

EMPTY_ASK_PRICE = 9_999_999_999
EMPTY_BID_PRICE = -9_999_999_999

# --- internal model parameters (rates are relative, per unit of event time) -----------------
_GRID = 1 << 16  # price grid cells (ticks) held by the internal book
_LIMIT_RATE = 1.0  # new limit orders, both sides together
_MARKET_RATE = 0.080  # market orders
_HIDDEN_RATE = 0.030  # hidden executions
_IMPROVE_RATE = 1.50  # extra quote-improving limit orders per tick of spread above one
_CANCEL_RATE = 0.020  # max per-order cancellation rate (thinned by distance)
_PARTIAL_CANCEL_P = 0.04  # share of cancellations that are partial (type 2)
_IMBALANCE_BETA = 0.35  # market buy probability = clip(0.5 + beta * imbalance, 0.1, 0.9)
_SIGN_PERSIST = 0.6  # chance a market order repeats the previous sign (split metaorders)
_PLACE_DEPTH = 120  # limit orders are placed 1.._PLACE_DEPTH ticks from the opposite best
_BURN_IN_EVENTS = 150_000  # unwritten events run before the open so the book is stationary
_FIRST_ORDER_ID = 1_000_001
_INIT_LEVELS = 40

# order table columns
_O_ID = 0
_O_SIDE = 1
_O_PX = 2
_O_SIZE = 3
_O_PREV = 4
_O_NEXT = 5
_O_POS = 6
# scalar state slots
_S_BEST = 0  # 0: best bid index, 1: best ask index
_S_NLV = 2  # 2: occupied bid levels, 3: occupied ask levels
_S_NLIVE = 4
_S_NFREE = 5
_S_NEXTID = 6
# level table planes
_L_SIZE = 0
_L_HEAD = 1
_L_TAIL = 2


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of one simulated trading day (all prices in LOBSTER units, USD x 10000)."""

    events: int = 200_000  # number of message rows written
    levels: int = 10  # L
    seed: int = 7
    start_price: int = 5_800_000  # USD x 10000 ($580.00), on the tick grid
    tick: int = 100  # price grid in LOBSTER units ($0.01)
    session_start_ns: int = 34_200 * 10**9  # 09:30
    session_end_ns: int = 57_600 * 10**9  # 16:00

    def __post_init__(self) -> None:
        if self.events < 1:
            raise ValueError("events must be >= 1")
        if self.levels < 1:
            raise ValueError("levels must be >= 1")
        if self.tick < 1 or self.start_price % self.tick != 0:
            raise ValueError("start_price must lie on the tick grid (tick >= 1)")
        if self.start_price < 2 * self.tick:
            raise ValueError("start_price must be at least two ticks")
        if not 0 <= self.session_start_ns < self.session_end_ns - 2:
            raise ValueError("need 0 <= session_start_ns < session_end_ns")


@dataclass(frozen=True)
class SynthDay:
    """A simulated day: LOBSTER message rows (time in ns) and the top-L book after each row.

    ``config`` is the configuration that produced the day; it names the files written by
    :func:`write_lobster` (session start/end) and defaults to ``SynthConfig()``.
    """

    messages: np.ndarray  # int64 (n, 6): time ns after midnight, type, order id, size, price, dir
    orderbook: np.ndarray  # int64 (n, 4*L)
    config: SynthConfig = SynthConfig()
    #: Every order event of the session in the message layout, with the book at the open first
    #: (type 1 rows at the session start); types as LOBSTER's, plus 9: an execution that
    #: completes the order. None unless ``simulate(order_log=True)``.
    order_log: np.ndarray | None = None


# --- numba kernels: order-level book --------------------------------------------------------


@njit(cache=True)
def _grow(orders, live, free, st):
    """Double the order pool; the new slots go onto the free stack."""
    cap = orders.shape[0]
    new_orders = np.empty((2 * cap, orders.shape[1]), np.int64)
    new_orders[:cap] = orders
    new_live = np.empty(2 * cap, np.int64)
    new_live[:cap] = live
    new_free = np.empty(2 * cap, np.int64)
    nfree = 0
    for slot in range(2 * cap - 1, cap - 1, -1):
        new_free[nfree] = slot
        nfree += 1
    st[_S_NFREE] = nfree
    return new_orders, new_live, new_free


@njit(cache=True)
def _add_order(orders, live, free, lvl, st, side, px, size):
    """Append a new order at the tail of its price level (time priority)."""
    st[_S_NFREE] -= 1
    slot = free[st[_S_NFREE]]
    nlive = st[_S_NLIVE]
    tail = lvl[_L_TAIL, side, px]
    orders[slot, _O_ID] = st[_S_NEXTID]
    orders[slot, _O_SIDE] = side
    orders[slot, _O_PX] = px
    orders[slot, _O_SIZE] = size
    orders[slot, _O_PREV] = tail
    orders[slot, _O_NEXT] = -1
    orders[slot, _O_POS] = nlive
    st[_S_NEXTID] += 1
    live[nlive] = slot
    st[_S_NLIVE] = nlive + 1
    if tail == -1:
        lvl[_L_HEAD, side, px] = slot
        st[_S_NLV + side] += 1
        best = st[_S_BEST + side]
        if st[_S_NLV + side] == 1 or (side == 0 and px > best) or (side == 1 and px < best):
            st[_S_BEST + side] = px
    else:
        orders[tail, _O_NEXT] = slot
    lvl[_L_TAIL, side, px] = slot
    lvl[_L_SIZE, side, px] += size
    return slot


@njit(cache=True)
def _reduce_order(orders, live, free, lvl, st, slot, qty):
    """Remove qty shares from an order; unlink it (and maybe its level) when it hits zero."""
    side = orders[slot, _O_SIDE]
    px = orders[slot, _O_PX]
    orders[slot, _O_SIZE] -= qty
    lvl[_L_SIZE, side, px] -= qty
    if orders[slot, _O_SIZE] > 0:
        return
    prev = orders[slot, _O_PREV]
    nxt = orders[slot, _O_NEXT]
    if prev == -1:
        lvl[_L_HEAD, side, px] = nxt
    else:
        orders[prev, _O_NEXT] = nxt
    if nxt == -1:
        lvl[_L_TAIL, side, px] = prev
    else:
        orders[nxt, _O_PREV] = prev
    pos = orders[slot, _O_POS]
    nlive = st[_S_NLIVE] - 1
    last = live[nlive]
    live[pos] = last
    orders[last, _O_POS] = pos
    st[_S_NLIVE] = nlive
    free[st[_S_NFREE]] = slot
    st[_S_NFREE] += 1
    if lvl[_L_HEAD, side, px] == -1:
        st[_S_NLV + side] -= 1
        if st[_S_NLV + side] > 0 and st[_S_BEST + side] == px:
            step = -1 if side == 0 else 1
            i = px + step
            while lvl[_L_HEAD, side, i] == -1:
                i += step
            st[_S_BEST + side] = i


@njit(cache=True)
def _nth_level(lvl, st, side, n):
    """Grid index of the n-th occupied level (1-based) on a side, or -1 if there are fewer."""
    nlv = st[_S_NLV + side]
    if nlv < n:
        return -1
    step = -1 if side == 0 else 1
    i = st[_S_BEST + side]
    cnt = 0
    while True:
        if lvl[_L_HEAD, side, i] != -1:
            cnt += 1
            if cnt == n:
                return i
        i += step


@njit(cache=True)
def _is_visible(lvl, st, side, px, n_levels):
    """True when an event at px is not worse than the L-th occupied level (pre-event book)."""
    best = st[_S_BEST + side]
    depth = best - px if side == 0 else px - best
    if depth < n_levels:
        return True
    lth = _nth_level(lvl, st, side, n_levels)
    if lth == -1:
        return True
    return depth <= (best - lth if side == 0 else lth - best)


@njit(cache=True)
def _last_order_on_side(lvl, st, side, slot):
    """True if slot is the only resting order on its side (never remove it: no empty side)."""
    px = st[_S_BEST + side]
    only = lvl[_L_HEAD, side, px] == slot and lvl[_L_TAIL, side, px] == slot
    return st[_S_NLV + side] == 1 and only


@njit(cache=True)
def _write_book_row(book, k, lvl, st, n_levels, base_px, tick):
    """Top-L snapshot in LOBSTER column order, padded with the LOBSTER dummy values."""
    for side in range(2):
        nlv = st[_S_NLV + side]
        step = -1 if side == 0 else 1
        i = st[_S_BEST + side]
        col = 2 if side == 0 else 0
        found = 0
        while found < n_levels and found < nlv:
            if lvl[_L_HEAD, side, i] != -1:
                book[k, 4 * found + col] = base_px + i * tick
                book[k, 4 * found + col + 1] = lvl[_L_SIZE, side, i]
                found += 1
            i += step
        for j in range(found, n_levels):
            book[k, 4 * j + col] = EMPTY_BID_PRICE if side == 0 else EMPTY_ASK_PRICE
            book[k, 4 * j + col + 1] = 0


@njit(cache=True)
def _draw_limit_size(rng):
    """Mostly round lots of 100, some larger round lots, some odd lots."""
    u = rng.random()
    if u < 0.60:
        return 100
    if u < 0.82:
        return 100 * rng.integers(2, 6)
    if u < 0.87:
        return 100 * rng.integers(6, 11)
    if u < 0.90:
        return 100 * rng.integers(1, 6) + 50
    return rng.integers(1, 100)


@njit(cache=True)
def _draw_market_size(rng):
    """Marketable order size; the heavy tail makes some orders walk several resting orders."""
    u = rng.random()
    if u < 0.50:
        return 100
    if u < 0.75:
        return 100 * rng.integers(2, 5)
    if u < 0.84:
        return 100 * rng.integers(5, 11)
    return rng.integers(1, 100)


# --- numba kernels: the simulation ----------------------------------------------------------


@njit(cache=True)
def _log_event(log, n, group, typ, oid, size, price, direction):
    """Append an order-log row (see ``SynthDay.order_log``), growing the array when full."""
    if n == log.shape[0]:
        grown = np.empty((2 * n + 4096, 6), np.int64)
        grown[:n] = log[:n]
        log = grown
    log[n, 0] = group
    log[n, 1] = typ
    log[n, 2] = oid
    log[n, 3] = size
    log[n, 4] = price
    log[n, 5] = direction
    return log, n + 1


@njit(cache=True)
def _simulate_core(rng, n_events, n_levels, center, base_px, tick, place_cum, cancel_acc,
                   log_orders):
    """Run burn-in plus the visible session; returns message rows, book rows, event groups,
    and (with ``log_orders``) every order event of the session, visible or not."""
    n_grid = _GRID
    lvl = np.zeros((3, 2, n_grid), np.int64)
    lvl[_L_HEAD] = -1
    lvl[_L_TAIL] = -1
    cap = 1 << 12
    orders = np.zeros((cap, 7), np.int64)
    live = np.empty(cap, np.int64)
    free = np.empty(cap, np.int64)
    for j in range(cap):
        free[j] = cap - 1 - j
    st = np.zeros(8, np.int64)
    st[_S_NFREE] = cap
    st[_S_NEXTID] = _FIRST_ORDER_ID

    # Seed book: a few orders on each of the first levels, then burn in without writing.
    for i in range(_INIT_LEVELS):
        for side in range(2):
            px = center - i if side == 0 else center + 1 + i
            if px < 0 or px >= n_grid:
                continue
            for _ in range(2 + (i % 3)):
                if st[_S_NFREE] == 0:
                    orders, live, free = _grow(orders, live, free, st)
                _add_order(orders, live, free, lvl, st, side, px, 100)

    msgs = np.zeros((n_events, 6), np.int64)
    book = np.zeros((n_events, 4 * n_levels), np.int64)
    group = np.zeros(n_events, np.int64)
    n_place = place_cum.shape[0]
    n_acc = cancel_acc.shape[0]
    total_place = place_cum[n_place - 1]
    k = 0
    n_group = 0
    step = 0
    shifted = False
    last_mkt_side = 1
    log = np.zeros((4096 if log_orders else 0, 6), np.int64)
    n_log = 0
    while k < n_events:
        if not shifted and step >= _BURN_IN_EVENTS:
            # Re-centre the stationary book so that the open starts at start_price.
            shifted = True
            off = center - st[_S_BEST]
            if off != 0:
                j = 0
                while j < st[_S_NLIVE]:
                    slot = live[j]
                    npx = orders[slot, _O_PX] + off
                    side = orders[slot, _O_SIDE]
                    if (npx < 0 or npx >= n_grid) and not _last_order_on_side(lvl, st, side, slot):
                        _reduce_order(orders, live, free, lvl, st, slot, orders[slot, _O_SIZE])
                    else:
                        j += 1
                new_lvl = np.zeros((3, 2, n_grid), np.int64)
                new_lvl[_L_HEAD] = -1
                new_lvl[_L_TAIL] = -1
                lo = max(0, -off)
                hi = min(n_grid, n_grid - off)
                new_lvl[:, :, lo + off : hi + off] = lvl[:, :, lo:hi]
                lvl = new_lvl
                for j in range(st[_S_NLIVE]):
                    orders[live[j], _O_PX] += off
                st[_S_BEST] += off
                st[_S_BEST + 1] += off
            if log_orders:  # the book at the open, level by level in queue order
                for side in range(2):
                    for px in range(n_grid):
                        slot = lvl[_L_HEAD, side, px]
                        while slot != -1:
                            log, n_log = _log_event(log, n_log, -1, 1, orders[slot, _O_ID],
                                                    orders[slot, _O_SIZE], base_px + px * tick,
                                                    1 if side == 0 else -1)
                            slot = orders[slot, _O_NEXT]
        step += 1
        writing = shifted
        nlive = st[_S_NLIVE]
        bid = st[_S_BEST]
        ask = st[_S_BEST + 1]
        improve = _IMPROVE_RATE * (ask - bid - 1)
        total = _LIMIT_RATE + improve + _MARKET_RATE + _HIDDEN_RATE + _CANCEL_RATE * nlive
        u = rng.random() * total
        if u < _LIMIT_RATE + improve:
            # New limit order i ticks away from the opposite best: never crosses or locks.
            # A wide spread attracts extra orders one tick inside it (liquidity refill).
            side = 0 if rng.random() < 0.5 else 1
            if u < _LIMIT_RATE:
                i = np.searchsorted(place_cum, rng.random() * total_place, side="right") + 1
                if i > n_place:
                    i = n_place
            else:
                i = ask - bid - 1
            px = ask - i if side == 0 else bid + i
            if px < 0 or px >= n_grid:
                continue
            size = _draw_limit_size(rng)
            vis = writing and _is_visible(lvl, st, side, px, n_levels)
            if st[_S_NFREE] == 0:
                orders, live, free = _grow(orders, live, free, st)
            slot = _add_order(orders, live, free, lvl, st, side, px, size)
            if writing and log_orders:
                log, n_log = _log_event(log, n_log, n_group, 1, orders[slot, _O_ID], size,
                                        base_px + px * tick, 1 if side == 0 else -1)
            if vis:
                msgs[k, 1] = 1
                msgs[k, 2] = orders[slot, _O_ID]
                msgs[k, 3] = size
                msgs[k, 4] = base_px + px * tick
                msgs[k, 5] = 1 if side == 0 else -1
                _write_book_row(book, k, lvl, st, n_levels, base_px, tick)
                group[k] = n_group
                n_group += 1
                k += 1
        elif u < _LIMIT_RATE + improve + _MARKET_RATE:
            # Market order: buy probability rises with the level-1 depth imbalance.
            qb = lvl[_L_SIZE, 0, bid]
            qa = lvl[_L_SIZE, 1, ask]
            p_buy = 0.5 + _IMBALANCE_BETA * (qb - qa) / (qb + qa)
            p_buy = min(0.9, max(0.1, p_buy))
            if rng.random() < _SIGN_PERSIST:
                side = last_mkt_side
            else:
                side = 1 if rng.random() < p_buy else 0  # resting side that gets executed
            last_mkt_side = side
            rem = _draw_market_size(rng)
            wrote = False
            while rem > 0 and k < n_events:
                px = st[_S_BEST + side]
                slot = lvl[_L_HEAD, side, px]
                if _last_order_on_side(lvl, st, side, slot):
                    break
                q = min(rem, orders[slot, _O_SIZE])
                if writing:
                    msgs[k, 1] = 4
                    msgs[k, 2] = orders[slot, _O_ID]
                    msgs[k, 3] = q
                    msgs[k, 4] = base_px + px * tick
                    msgs[k, 5] = 1 if side == 0 else -1
                    if log_orders:  # 9: the execution that completes the order
                        log, n_log = _log_event(log, n_log, n_group,
                                                9 if q == orders[slot, _O_SIZE] else 4,
                                                orders[slot, _O_ID], q, base_px + px * tick,
                                                1 if side == 0 else -1)
                _reduce_order(orders, live, free, lvl, st, slot, q)
                if writing:
                    _write_book_row(book, k, lvl, st, n_levels, base_px, tick)
                    group[k] = n_group
                    k += 1
                    wrote = True
                rem -= q
            if wrote:
                n_group += 1
        elif u < _LIMIT_RATE + improve + _MARKET_RATE + _HIDDEN_RATE:
            # Hidden execution: a trade with no visible book change.
            if not writing:
                continue
            direction = 1 if rng.random() < 0.5 else -1
            if ask - bid >= 2 and rng.random() < 0.5:
                px = (ask + bid) // 2
            else:
                px = bid if direction == 1 else ask
            msgs[k, 1] = 5
            msgs[k, 2] = 0
            msgs[k, 3] = rng.integers(1, 101) if rng.random() < 0.6 else 100 * rng.integers(1, 4)
            msgs[k, 4] = base_px + px * tick
            msgs[k, 5] = direction
            if log_orders:
                log, n_log = _log_event(log, n_log, n_group, 5, 0, msgs[k, 3], msgs[k, 4],
                                        direction)
            if k > 0:
                book[k] = book[k - 1]
            else:
                _write_book_row(book, k, lvl, st, n_levels, base_px, tick)
            group[k] = n_group
            n_group += 1
            k += 1
        else:
            # Cancellation proposal, thinned so that orders near the touch cancel faster.
            slot = live[rng.integers(0, nlive)]
            side = orders[slot, _O_SIDE]
            px = orders[slot, _O_PX]
            dist = bid - px if side == 0 else px - ask
            acc = cancel_acc[dist] if dist < n_acc else cancel_acc[n_acc - 1]
            if rng.random() >= acc or _last_order_on_side(lvl, st, side, slot):
                continue
            osz = orders[slot, _O_SIZE]
            if osz > 1 and rng.random() < _PARTIAL_CANCEL_P:
                mtype = 2
                if osz % 100 == 0 and osz >= 200:
                    qty = 100 * rng.integers(1, osz // 100)
                else:
                    qty = rng.integers(1, osz)
            else:
                mtype = 3
                qty = osz
            vis = writing and _is_visible(lvl, st, side, px, n_levels)
            if writing and log_orders:
                log, n_log = _log_event(log, n_log, n_group, mtype, orders[slot, _O_ID], qty,
                                        base_px + px * tick, 1 if side == 0 else -1)
            if vis:
                msgs[k, 1] = mtype
                msgs[k, 2] = orders[slot, _O_ID]
                msgs[k, 3] = qty
                msgs[k, 4] = base_px + px * tick
                msgs[k, 5] = 1 if side == 0 else -1
            _reduce_order(orders, live, free, lvl, st, slot, qty)
            if vis:
                _write_book_row(book, k, lvl, st, n_levels, base_px, tick)
                group[k] = n_group
                n_group += 1
                k += 1
    return msgs, book, group, n_group, log[:n_log]


def _cancel_acceptance() -> np.ndarray:
    """Per-order cancel intensity relative to the maximum, by ticks from the own best quote."""
    d = np.arange(0, _PLACE_DEPTH + 1, dtype=np.float64)
    acc = 0.25 + 0.75 * np.exp(-d / 3.0)
    acc[-1] = 1.0  # orders stranded far from the market are cleaned up quickly
    return acc


def _placement_profile() -> np.ndarray:
    """Cumulative weights of placing a limit order i = 1..D ticks from the opposite best.

    Chosen so that arrivals / cancellation gives a target depth profile that rises over the
    first few levels and then decays slowly (executions thin the touch further).
    """
    i = np.arange(1, _PLACE_DEPTH + 1, dtype=np.float64)
    target = (1.0 - 0.5 * np.exp(-(i - 1.0) / 1.5)) * np.exp(-(i - 1.0) / 40.0)
    w = target * _cancel_acceptance()[:-1]
    return np.cumsum(w)


def _session_times(
    rng: np.random.Generator, n_group: int, start_ns: int, end_ns: int
) -> np.ndarray:
    """Bursty event times with a U-shaped intraday intensity, strictly inside the session."""
    gaps = rng.gamma(0.5, 1.0, size=n_group + 1)
    cum = np.cumsum(gaps)
    u = cum[:-1] / cum[-1]
    # intensity(x) = 1 + 2 * (2x - 1)^2 on x in [0, 1]: busy open and close, quiet lunch
    x = np.linspace(0.0, 1.0, 4097)
    cdf = x + 2.0 * ((2.0 * x - 1.0) ** 3 + 1.0) / 6.0
    cdf /= cdf[-1]
    frac = np.interp(u, cdf, x)
    span = end_ns - start_ns
    t = start_ns + np.floor(frac * span).astype(np.int64)
    t = np.clip(t, start_ns + 1, end_ns - 1)
    return np.maximum.accumulate(t)


def simulate(config: SynthConfig, *, order_log: bool = False) -> SynthDay:
    """Simulate one day; same config gives identical arrays (all randomness from config.seed).

    ``order_log`` also keeps every order event of the session (``SynthDay.order_log``)."""
    rng = np.random.default_rng(config.seed)
    center = min(_GRID // 2, config.start_price // config.tick - 1)
    base_px = config.start_price - center * config.tick
    msgs, book, group, n_group, log = _simulate_core(
        rng,
        config.events,
        config.levels,
        center,
        base_px,
        config.tick,
        _placement_profile(),
        _cancel_acceptance(),
        order_log,
    )
    times = _session_times(rng, n_group, config.session_start_ns, config.session_end_ns)
    msgs[:, 0] = times[group]
    if not order_log:
        return SynthDay(messages=msgs, orderbook=book, config=config)
    # Events between two written messages take the time of the next one; the book at the
    # open takes the session start.
    stamps = np.append(times, times[-1:] if len(times) else [config.session_start_ns])
    log[:, 0] = np.where(log[:, 0] < 0, config.session_start_ns,
                         stamps[np.minimum(log[:, 0], len(times))])
    return SynthDay(messages=msgs, orderbook=book, config=config, order_log=log)


# --- CSV writing ----------------------------------------------------------------------------


@njit(cache=True)
def _n_digits(v):
    """Decimal digits of v >= 0 (comparisons only: the length pass stays cheap)."""
    n = 1
    p = 10
    while v >= p and n < 18:
        n += 1
        p *= 10
    return n if v < p else n + 1


@njit(cache=True)
def _int_len(v):
    return _n_digits(-v) + 1 if v < 0 else _n_digits(v)


@njit(cache=True)
def _put_uint(buf, end, v):
    """Write v >= 0 right-aligned so that its last digit lands at buf[end - 1]."""
    u = np.uint64(v)
    ten = np.uint64(10)
    i = end - 1
    while True:
        buf[i] = np.uint8(48) + np.uint8(u % ten)
        u //= ten
        if u == 0:
            break
        i -= 1


@njit(cache=True)
def put_int(buf, pos, v):
    """Write integer ``v`` in decimal at ``buf[pos]``; returns the position after it."""
    if v < 0:
        buf[pos] = 45  # '-'
        pos += 1
        v = -v
    pos += _n_digits(v)
    _put_uint(buf, pos, v)
    return pos


@njit(cache=True)
def _format_csv(arr, time_col):
    """CSV bytes of an int64 matrix; with time_col, column 0 (ns) becomes seconds.9 decimals."""
    n, m = arr.shape
    total = 0
    for r in range(n):
        for c in range(m):
            v = arr[r, c]
            if c == 0 and time_col:
                total += _int_len(v // 1_000_000_000) + 10
            else:
                total += _int_len(v)
        total += m  # separators and newline
    buf = np.empty(total, np.uint8)
    pos = 0
    for r in range(n):
        for c in range(m):
            v = arr[r, c]
            if c == 0 and time_col:
                sec = v // 1_000_000_000
                pos += _n_digits(sec)
                _put_uint(buf, pos, sec)
                buf[pos] = 46  # '.'
                frac = v - sec * 1_000_000_000
                for i in range(9, 0, -1):
                    buf[pos + i] = 48 + frac % 10
                    frac //= 10
                pos += 10
            else:
                pos = put_int(buf, pos, v)
            buf[pos] = 44 if c < m - 1 else 10  # ',' or '\n'
            pos += 1
    return buf


def write_lobster(
    day: SynthDay, out_dir: str | Path, *, ticker: str = "SYNTH", date: str = "2024-01-02"
) -> tuple[Path, Path]:
    """Writes <ticker>_<date>_<start_ms>_<end_ms>_message_<L>.csv and ..._orderbook_<L>.csv.

    Returns (message_path, orderbook_path). Formatting happens in numba into one byte buffer
    per file because np.savetxt is far too slow for millions of rows.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_levels = day.orderbook.shape[1] // 4
    if day.messages.shape[0] and int(day.messages[:, 0].min()) < 0:
        raise ValueError("message times must be non-negative")
    start_ms = day.config.session_start_ns // 1_000_000
    end_ms = day.config.session_end_ns // 1_000_000
    stem = f"{ticker}_{date}_{start_ms}_{end_ms}"
    msg_path = out / f"{stem}_message_{n_levels}.csv"
    book_path = out / f"{stem}_orderbook_{n_levels}.csv"
    msgs = np.ascontiguousarray(day.messages, dtype=np.int64)
    book = np.ascontiguousarray(day.orderbook, dtype=np.int64)
    with open(msg_path, "wb") as fh:
        fh.write(_format_csv(msgs, True))
    with open(book_path, "wb") as fh:
        fh.write(_format_csv(book, False))
    return msg_path, book_path


def business_days(n: int, first: str = "2024-01-02") -> list[str]:
    """``n`` business days from ``first`` (ISO dates): the days of ``obflow synth --days``."""
    start = np.datetime64(first)
    return [str(np.busday_offset(start, k, roll="forward")) for k in range(n)]


def write_days(out: str | Path, *, days: int, events: int, seed: int, levels: int = 10,
               ) -> list[Path]:
    """Write ``days`` LOBSTER pairs into ``out`` (day k seeded ``seed + k``); the message
    paths."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    return [write_lobster(simulate(SynthConfig(events=events, levels=levels, seed=seed + k)),
                          out, date=date)[0]
            for k, date in enumerate(business_days(days))]
