"""Algoseek US equity order-level files (Full Depth / market-by-order, and TAQ) as L2 events.

Full Depth (one CSV per ticker and day, US/Eastern times, ../shared/data/FORMATS.md)::

    Date,Timestamp,OrderNumber,EventType,Ticker,Price,Quantity,MPID,Exchange
    20140128,04:00:00.512,2251812698588658,ADD BID,IBM,176.33,400,ARCA,ARCA

Each exchange keeps its own book of orders, keyed by (Exchange, OrderNumber) as int64:

* ``ADD BID|ASK`` rests Quantity at Price; its price is the order's for every later row
  (EXECUTE, CANCEL, FILL and DELETE rows carry 0.00);
* ``EXECUTE`` executes Quantity of the order, ``FILL`` executes what is left and removes it
  (its Quantity is 0, or what was left); each gives a TRADE, the aggressor opposite the
  resting side, before the level change;
* ``CANCEL`` removes Quantity, ``DELETE`` the rest of the order;
* ``TRADE BID|ASK`` is a trade against hidden liquidity on that side (no book change);
* ``CROSS`` is an auction print: a TRADE with no side, or, as in the data, price and
  quantity 0 with nothing to print, counted as ``crosses_without_price`` and skipped.

TAQ (``Date,Timestamp,EventType,Ticker,Price,Quantity,Exchange,Conditions``) is the same
with one order per exchange and side: ``QUOTE BID|ASK [NB]`` replaces that exchange's quote
(price 0 empties it), ``TRADE [NB]`` prints with no aggressor side, and ``TRADE [NB]
CANCELLED`` is counted as ``trade_cancellations`` and skipped (a print cannot be unsent).

The order books aggregate into L2 per exchange (symbol ``IBM@ARCA``) or summed over
exchanges (symbol ``IBM``, the consolidated book). Each row is one message, except that a
consolidated book crossed across exchanges (a locked or crossed market, which real data
shows) is not a consistent book: such rows are counted as ``crossed_rows`` and their
message ends only at the next row that uncrosses it. An exchange's own book must never
cross. An order that is missing, added twice, over-executed, or a price of 0 where a price is
needed is a DataError naming the file line: the book would be wrong from there on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
from numba import njit

from connectors.lobster import session_offset_ns
from connectors.tardis import common_step
from connectors.vendor_csv import DecimalColumn
from connectors.vendor_csv import codes
from connectors.vendor_csv import emit_delta
from connectors.vendor_csv import emit_event
from connectors.vendor_csv import header_of
from connectors.vendor_csv import ints
from connectors.vendor_csv import labels
from connectors.vendor_csv import level_slots
from connectors.vendor_csv import line_of
from connectors.vendor_csv import monotone_time
from connectors.vendor_csv import pick_symbol
from connectors.vendor_csv import read_table
from connectors.vendor_csv import string_chunks
from engine.book import H_SIZE
from engine.book import apply_delta
from engine.book import is_crossed
from engine.errors import ConfigError
from engine.errors import DataError
from engine.events import ASK
from engine.events import BID
from engine.events import F_LAST
from engine.events import TRADE
from engine.events import event_dtype
from engine.instrument import InstrumentSpec

FULL_DEPTH = ("Date", "Timestamp", "OrderNumber", "EventType", "Ticker", "Price", "Quantity",
              "MPID", "Exchange")
TAQ = ("Date", "Timestamp", "EventType", "Ticker", "Price", "Quantity", "Exchange",
       "Conditions")
MINUTE_BARS = ("Date", "Ticker", "TimeBarStart")

#: Row actions.
ADD, EXECUTE, CANCEL, FILL, DELETE, HIDDEN, CROSS, QUOTE, TRADE_CANCELLED = range(1, 10)
_SIDES = {"BID": BID, "ASK": ASK}
EVENT_TYPES = {f"{name} {s}": (action, side) for name, action in (
    ("ADD", ADD), ("EXECUTE", EXECUTE), ("CANCEL", CANCEL), ("FILL", FILL),
    ("DELETE", DELETE), ("TRADE", HIDDEN), ("CROSS", CROSS)) for s, side in _SIDES.items()}
EVENT_TYPES["CROSS"] = (CROSS, 0)
TAQ_EVENT_TYPES = {"TRADE": (HIDDEN, 0), "TRADE NB": (HIDDEN, 0),
                   "TRADE CANCELLED": (TRADE_CANCELLED, 0),
                   "TRADE NB CANCELLED": (TRADE_CANCELLED, 0)}
TAQ_EVENT_TYPES.update({f"QUOTE {s}{nb}": (QUOTE, side) for s, side in _SIDES.items()
                        for nb in ("", " NB")})

#: Problems found while decoding, by code.
PROBLEMS = {1: "no such order in this exchange's book", 2: "order number is already in the book",
            3: "price 0 where a price is needed", 4: "quantity is more than the order has left",
            5: "FILL quantity differs from what the order has left",
            6: "quantity must be positive", 7: "side differs from the order's ADD"}
#: Counter slots of the decoder.
C_CROSSED, C_CROSS_NO_PRICE, C_TRADE_CANCELLED = range(3)
COUNTER_NAMES = ("crossed_rows", "crosses_without_price", "trade_cancellations")


def algoseek_kind(header: list[str]) -> str | None:
    """``full_depth``, ``taq``, ``minute_bars`` or None."""
    if tuple(header) == FULL_DEPTH:
        return "full_depth"
    if tuple(header) == TAQ:
        return "taq"
    if tuple(header[:3]) == MINUTE_BARS:
        return "minute_bars"
    return None


@njit(cache=True)
def _times_of_day(data, offsets, out, start):
    """``HH:MM:SS[.f..]`` to ns after midnight; returns -1 or the first bad index."""
    n = offsets.shape[0] - 1
    for i in range(n):
        a = np.int64(offsets[i])
        b = np.int64(offsets[i + 1])
        k = start + i
        if b - a < 8 or data[a + 2] != 58 or data[a + 5] != 58:  # ':'
            return k
        v = 0
        for j in (a, a + 1, a + 3, a + 4, a + 6, a + 7):
            c = data[j]
            if c < 48 or c > 57:
                return k
            v = v * 10 + (c - 48)
        h, m, s = v // 10000, (v // 100) % 100, v % 100
        if h > 23 or m > 59 or s > 60:
            return k
        frac = 0
        digits = 0
        if b - a > 8:
            if data[a + 8] != 46 or b - a > 18:  # '.', at most 9 decimals
                return k
            for j in range(a + 9, b):
                c = data[j]
                if c < 48 or c > 57:
                    return k
                frac = frac * 10 + (c - 48)
                digits += 1
        while digits < 9:
            frac *= 10
            digits += 1
        out[k] = ((h * 60 + m) * 60 + s) * 1_000_000_000 + frac
    return -1


def _timestamps(table: pa.Table, path: str) -> np.ndarray:
    """Epoch ns from Date (yyyymmdd) and Timestamp (US/Eastern time of day)."""
    tod = np.empty(table.num_rows, dtype=np.int64)
    start = 0
    for raw, off in string_chunks(table["Timestamp"]):
        bad = _times_of_day(raw, off, tod, start)
        if bad >= 0:
            raise DataError(path, line_of(bad), f"Timestamp {table['Timestamp'][bad].as_py()!r} "
                            "is not HH:MM:SS[.fraction]")
        start += len(off) - 1
    dates = ints(table["Date"])
    midnight = np.zeros(len(dates), dtype=np.int64)
    for day in np.unique(dates):
        try:
            iso = dt.datetime.strptime(str(day), "%Y%m%d").date().isoformat()
        except ValueError:
            i = int(np.flatnonzero(dates == day)[0])
            raise DataError(path, line_of(i), f"Date {day} is not yyyymmdd") from None
        midnight[dates == day] = session_offset_ns(iso)
    return midnight + tod


@dataclass
class AlgoseekFile:
    """One parsed file; prices still decimal."""

    path: Path
    kind: str
    tickers: list[str]
    ticker_idx: np.ndarray
    venues: list[str]
    venue_idx: np.ndarray
    ts: np.ndarray  #: epoch ns
    action: np.ndarray
    side: np.ndarray
    order: np.ndarray  #: OrderNumber (0 for TAQ)
    price: DecimalColumn
    qty: np.ndarray
    date: str  #: first Date, ISO


def read_algoseek(path: str | Path) -> AlgoseekFile:
    path = Path(path)
    name = str(path)
    header = header_of(path)
    kind = algoseek_kind(header)
    if kind == "minute_bars":
        raise DataError(name, 1, "Algoseek minute bars hold no order-book events; replay "
                        "needs Full Depth or TAQ tick files")
    if kind is None:
        closest = max((FULL_DEPTH, TAQ), key=lambda cols: len(set(cols) & set(header)))
        missing = [c for c in closest if c not in header]
        what = "Full Depth" if closest is FULL_DEPTH else "TAQ"
        raise DataError(name, 1, f"not an Algoseek Full Depth or TAQ header: "
                        f"{','.join(header)}" + (f" (missing {what} column(s) "
                                                 f"{', '.join(missing)})" if missing else ""))
    types = {c: pa.string() for c in header}
    types.update({"Date": pa.int64(), "Quantity": pa.int64(), "OrderNumber": pa.int64()})
    table = read_table(path, types, required=header)
    mapping = EVENT_TYPES if kind == "full_depth" else TAQ_EVENT_TYPES
    code = codes(table["EventType"], {k: a * 4 + (s % 4) for k, (a, s) in mapping.items()},
                 path=name, name="EventType")
    side = (code % 4).astype(np.int8)
    side[side == 3] = ASK  # -1 % 4
    tickers, ticker_idx = labels(table["Ticker"])
    venues, venue_idx = labels(table["Exchange"])
    ts = _timestamps(table, name)
    first = str(int(table["Date"][0].as_py())) if table.num_rows else "19700101"
    order = ints(table["OrderNumber"]) if kind == "full_depth" else np.zeros(len(ts), np.int64)
    return AlgoseekFile(path, kind, tickers, ticker_idx, venues, venue_idx, ts,
                        (code // 4).astype(np.int8), side, order,
                        DecimalColumn(table["Price"], path=name, name="Price"),
                        ints(table["Quantity"]),
                        f"{first[:4]}-{first[4:6]}-{first[6:]}")


def _order_slots(f: AlgoseekFile, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """A dense slot per (Exchange, OrderNumber); TAQ: one per exchange and side."""
    venue = f.venue_idx[rows].astype(np.int64)
    if f.kind == "taq":
        return venue * 2 + (f.side[rows] == ASK), 2 * len(f.venues)
    slots = np.full(len(rows), -1, dtype=np.int64)
    action = f.action[rows]
    ref = np.flatnonzero((action >= ADD) & (action <= DELETE))
    if not ref.size:
        return slots, 1
    v, o = venue[ref], f.order[rows][ref]
    order = np.lexsort((o, v))
    v, o = v[order], o[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (o[1:] != o[:-1])
    slots[ref[order]] = np.cumsum(new) - 1
    return slots, int(new.sum())


@njit(cache=True, inline="always")
def _open_order(o_live, o_side, o_lvl, o_qty, k, side, level, qty) -> None:
    o_live[k] = True
    o_side[k] = side
    o_lvl[k] = level
    o_qty[k] = qty


@njit(cache=True)
def _decode_orders(action, side, venue, slot, px, qty, lvl, lvl_px, n_slots, n_venues, target,
                   ts, seq, out, count_only, counters):
    """Order rows to L2 events of the ``target`` exchange (-1: all, consolidated).

    Returns (events, row of a problem or -1, problem code).
    """
    n = action.shape[0]
    n_lvl = lvl_px.shape[0]
    o_side = np.zeros(n_slots, np.int8)
    o_lvl = np.zeros(n_slots, np.int64)
    o_qty = np.zeros(n_slots, np.int64)
    o_live = np.zeros(n_slots, np.bool_)
    bid = np.zeros(n_lvl, np.int64)  # the target book, by level slot
    ask = np.zeros(n_lvl, np.int64)
    hdr = np.zeros(H_SIZE, np.int64)
    hdr[1] = -1
    hdr[2] = n_lvl
    n_out = 0
    first = 0
    for i in range(n):
        a = action[i]
        mine = target < 0 or venue[i] == target
        t = ts[i]
        k = slot[i]
        trade_side = 0
        trade_px = 0
        trade_qty = 0
        change = 0  # size change of the order's level
        sd = side[i]
        level = -1
        if a == ADD:
            if px[i] <= 0:
                return n_out, i, 3
            if qty[i] <= 0:
                return n_out, i, 6
            if o_live[k]:
                return n_out, i, 2
            _open_order(o_live, o_side, o_lvl, o_qty, k, sd, lvl[i], qty[i])
            level = lvl[i]
            change = qty[i]
        elif a == EXECUTE or a == CANCEL or a == FILL or a == DELETE:
            if not o_live[k]:
                return n_out, i, 1
            if o_side[k] != sd:
                return n_out, i, 7
            q = qty[i]
            if a == FILL or a == DELETE:
                if a == FILL and q != 0 and q != o_qty[k]:
                    return n_out, i, 5
                q = o_qty[k]
                o_live[k] = False
            elif q <= 0:
                return n_out, i, 6
            elif q > o_qty[k]:
                return n_out, i, 4
            o_qty[k] -= q
            level = o_lvl[k]
            change = -q
            if a == EXECUTE or a == FILL:
                trade_side = -sd
                trade_px = lvl_px[level]
                trade_qty = q
        elif a == HIDDEN or a == CROSS:
            if px[i] <= 0 or qty[i] <= 0:
                if a == CROSS:
                    counters[C_CROSS_NO_PRICE] += 1
                    continue
                return n_out, i, 3 if px[i] <= 0 else 6
            trade_side = -sd
            trade_px = px[i]
            trade_qty = qty[i]
        elif a == QUOTE:
            if o_live[k]:  # the exchange's previous quote on this side leaves
                old = o_lvl[k]
                o_live[k] = False
                if mine:
                    book = bid if sd == BID else ask
                    new_size = book[old] - o_qty[k]
                    n_out = emit_delta(out, n_out, count_only, t, t, seq[i], sd, lvl_px[old],
                                  new_size, 0)
                    apply_delta(bid, ask, hdr, sd, old, new_size)
            if px[i] > 0 and qty[i] > 0:
                _open_order(o_live, o_side, o_lvl, o_qty, k, sd, lvl[i], qty[i])
                level = lvl[i]
                change = qty[i]
        else:  # TRADE_CANCELLED
            counters[C_TRADE_CANCELLED] += 1
            continue
        if not mine:
            continue
        if trade_qty > 0:
            n_out = emit_event(out, n_out, count_only, TRADE, t, t, seq[i], trade_side,
                               trade_px, trade_qty, 0)
        if level >= 0:
            book = bid if sd == BID else ask
            new_size = book[level] + change
            n_out = emit_delta(out, n_out, count_only, t, t, seq[i], sd, lvl_px[level], new_size, 0)
            apply_delta(bid, ask, hdr, sd, level, new_size)
        if n_out > first:
            if target < 0 and is_crossed(hdr):
                counters[C_CROSSED] += 1
            else:
                if not count_only:
                    out[n_out - 1].flags |= F_LAST
                first = n_out
    return n_out, -1, 0


@dataclass
class AlgoseekData:
    path: Path
    symbol: str  #: ``TICKER`` (consolidated) or ``TICKER@EXCHANGE``
    kind: str
    date: str
    venues: list[str]
    instrument: InstrumentSpec
    events: np.ndarray
    counters: dict[str, int]


def split_symbol(symbol: str) -> tuple[str, str]:
    ticker, _, venue = symbol.partition("@")
    return ticker, venue


def books_of(f: AlgoseekFile) -> list[str]:
    """Every book a file offers: each ticker consolidated, then per exchange."""
    return [*f.tickers, *(f"{t}@{v}" for t in f.tickers for v in f.venues)]


def infer_instrument(f: AlgoseekFile, symbol: str) -> InstrumentSpec:
    """Tick: the coarsest grid of the ticker's prices; lot: one share."""
    ticker, _ = split_symbol(symbol)
    mask = (f.ticker_idx == f.tickers.index(ticker)) & (f.price.mant > 0)
    return InstrumentSpec(symbol, f.price.step(mask), Decimal(1))


def load_algoseek(paths: list[str | Path], *, symbol: str | None = None,
                  instruments: dict[str, InstrumentSpec] | None = None) -> list[AlgoseekData]:
    """Decode files (one per day) into the L2 events of one book each (module doc).

    The instrument is ``instruments[symbol]`` (or ``[ticker]``), else inferred from every
    file's prices, so all days share one grid.
    """
    files = [read_algoseek(p) for p in paths]
    names = ",".join(str(f.path) for f in files)
    tickers = sorted(set.intersection(*(set(f.tickers) for f in files)))
    symbol = pick_symbol(symbol, tickers, names, "tickers")
    ticker, venue = split_symbol(symbol)
    for f in files:
        if ticker not in f.tickers or (venue and venue not in f.venues):
            raise ConfigError("--symbol", f"{symbol} is not in {f.path} (books: "
                              f"{', '.join(books_of(f))})")
    given = instruments or {}
    spec = given.get(symbol) or given.get(ticker)
    if spec is None:
        spec = InstrumentSpec(symbol, common_step([infer_instrument(f, symbol).tick_size
                                                   for f in files]), Decimal(1))
    return [_decode_file(f, symbol, spec) for f in files]


def _decode_file(f: AlgoseekFile, symbol: str, spec: InstrumentSpec) -> AlgoseekData:
    name = str(f.path)
    ticker, venue = split_symbol(symbol)
    rows = np.flatnonzero(f.ticker_idx == f.tickers.index(ticker))
    px = f.price.units(spec.tick_size, what=f"tick {spec.tick_size}")[rows]
    action = f.action[rows]
    sets_level = (action == ADD) | ((action == QUOTE) & (px > 0))
    lvl = np.full(len(rows), -1, dtype=np.int64)
    lvl[sets_level], lvl_px = level_slots(px[sets_level])
    slots, n_slots = _order_slots(f, rows)
    ts = np.ascontiguousarray(f.ts[rows])
    raised = monotone_time(ts)
    target = f.venues.index(venue) if venue else -1
    counters = np.zeros(len(COUNTER_NAMES), dtype=np.int64)
    args = (action, f.side[rows], f.venue_idx[rows].astype(np.int64), slots, px, f.qty[rows],
            lvl, lvl_px, n_slots, len(f.venues), target, ts, (rows + 2).astype(np.int64))
    count, bad, problem = _decode_orders(*args, np.zeros(0, event_dtype), True, counters)
    if problem:
        i = int(rows[bad])
        raise DataError(name, line_of(i), f"{PROBLEMS[problem]} (order {f.order[i]}, "
                        f"{f.venues[f.venue_idx[i]]})")
    events = np.zeros(count, dtype=event_dtype)
    counters[:] = 0
    _decode_orders(*args, events, False, counters)
    out = {"rows": len(rows), "times_raised": int(raised)}
    out.update({k: int(v) for k, v in zip(COUNTER_NAMES, counters, strict=True)})
    return AlgoseekData(f.path, symbol, f.kind, f.date, list(f.venues), spec, events, out)


__all__ = ["EVENT_TYPES", "FULL_DEPTH", "TAQ", "TAQ_EVENT_TYPES", "AlgoseekData",
           "AlgoseekFile", "algoseek_kind", "books_of", "load_algoseek", "read_algoseek",
           "split_symbol"]
