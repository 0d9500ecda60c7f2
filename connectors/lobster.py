"""LOBSTER historical files: a message file and its orderbook file, decoded into events.

The orderbook file's row k is the top-N book after message k. Replay starts from row 0 as a
snapshot (after the trade of message 0, if it was one) and then decodes messages 1..n-1:

* types 4, 5 and 6 give a TRADE whose aggressor is the opposite of the resting order's
  direction (LOBSTER readme: executing a sell limit order is a buyer-initiated trade);
* types 1-4 give a BOOK_DELTA at the message's price: the size in the previous row plus or
  minus the message's size, computed from the message, never copied from the next row;
* a level-N file only covers N levels per side, so levels that slide into view when a
  visible level empties, and levels pushed out of view by a better one, come from the
  orderbook rows as BOOK_DELTAs flagged ``F_VIEW``. Only prices beyond the previous or next
  row's N-th level are taken from rows, so a wrong decoding inside the view stays visible
  to ``obflow check-book``;
* type 7 gives HALT (price -1) or RESUME (price 0 or 1).

Every event's ``seq`` is the 1-based line of its message, so errors can name file and line.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from numba import njit

from engine.errors import DataError
from engine.errors import SequenceError
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.events import F_SNAPSHOT
from engine.events import F_VIEW
from engine.events import HALT
from engine.events import RESUME
from engine.events import TRADE
from engine.events import event_dtype
from engine.instrument import InstrumentSpec
from engine.instrument import lobster_instrument

EMPTY_ASK = 9_999_999_999  #: price of an empty ask slot in an orderbook row
EMPTY_BID = -9_999_999_999  #: price of an empty bid slot
MESSAGE_COLUMNS = 6
EXCHANGE_TZ = "America/New_York"  #: LOBSTER times are seconds after midnight, NASDAQ local time

_NAME = re.compile(
    r"^(?P<ticker>.+?)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv(?P<gz>\.gz)?$"
)

# Message columns after parsing.
M_TIME, M_TYPE, M_ID, M_SIZE, M_PRICE, M_DIR = range(6)


@dataclass(frozen=True)
class LobsterPair:
    """A message file and the orderbook file that belongs to it."""

    message: Path
    orderbook: Path
    ticker: str
    date: str
    levels: int

    @classmethod
    def from_message(cls, message: str | Path) -> LobsterPair:
        """Find the orderbook file beside a message file, by LOBSTER's naming scheme."""
        message = Path(message)
        m = _NAME.match(message.name)
        if not m or m["kind"] != "message":
            raise DataError(str(message), 0, "not a LOBSTER message file name "
                            "(TICKER_YYYY-MM-DD_START_END_message_N.csv[.gz])")
        stem = message.name.replace("_message_", "_orderbook_")
        candidates = [message.with_name(stem), message.with_name(stem.removesuffix(".gz")),
                      message.with_name(stem + ".gz" if not stem.endswith(".gz") else stem)]
        for orderbook in candidates:
            if orderbook.exists():
                return cls(message, orderbook, m["ticker"], m["date"], int(m["levels"]))
        raise DataError(str(message), 0, f"no orderbook file beside it ({candidates[0].name})")

    @classmethod
    def from_files(cls, message: str | Path, orderbook: str | Path) -> LobsterPair:
        """A pair given explicitly; the date defaults to 1970-01-01 if the name has none."""
        message, orderbook = Path(message), Path(orderbook)
        m = _NAME.match(message.name)
        ticker, date = (m["ticker"], m["date"]) if m else (message.stem, "1970-01-01")
        return cls(message, orderbook, ticker, date, levels=0)


def find_pairs(path: str | Path) -> list[LobsterPair]:
    """A message file, or a folder of LOBSTER pairs (sorted by name, so by ticker and date)."""
    path = Path(path)
    if path.is_dir():
        messages = sorted(p for p in path.iterdir() if _NAME.match(p.name)
                          and "_message_" in p.name)
        if not messages:
            raise DataError(str(path), 0, "no LOBSTER message files in this folder")
        return [LobsterPair.from_message(p) for p in messages]
    return [LobsterPair.from_message(path)]


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


INT64_MAX = 2**63 - 1
MAX_VALUE = 10**15  #: largest size or price accepted: sums of levels stay far inside int64
MAX_TIME_S = 1_000_000  #: seconds after midnight; more is no trading day (and would overflow)
TIME_TEXT = 64  #: characters the fast read keeps of a time; longer ones are read again whole


def _first_bad_line(path: Path, columns: int | None, parsers: list) -> tuple[int, str]:
    """Slow path after a fast parse failed: find the first bad line and say what is wrong.

    Reads bytes, so text that is not UTF-8 and a gzip stream cut short are named by line too.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    line_no = 0
    try:
        with opener(path, "rb") as f:
            for line_no, raw in enumerate(f, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return line_no, (f"byte {raw[exc.start:exc.start + 1]!r} at column "
                                     f"{exc.start + 1} is not UTF-8 text (expected a CSV line of "
                                     "numbers)")
                row = next(csv.reader([text]), [])
                want = columns or len(parsers)
                if len(row) != want:
                    return line_no, f"expected {want} columns, found {len(row)}"
                for col, field in enumerate(row):
                    parse = parsers[min(col, len(parsers) - 1)]
                    try:
                        parse(field)
                    except ValueError as exc:
                        return line_no, f"column {col + 1}: {exc}"
    except (EOFError, OSError) as exc:  # gzip.BadGzipFile is an OSError
        return line_no + 1, f"the gzip stream is cut short or damaged ({exc})"
    return 0, "unreadable"


def _time_ns(field: str) -> int:
    """Seconds after midnight as text, to integer ns without float rounding.

    More than nine decimals are rounded to the nearest ns, ties to even (LOBSTER's own
    samples hold times such as ``43002.632812672004``).
    """
    whole, _, frac = field.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or not whole.isascii() \
            or not frac.isascii():
        raise ValueError(f"{field!r} is not a valid time (expected seconds after midnight, "
                         "digits with an optional fraction)")
    if int(whole) >= MAX_TIME_S:
        raise ValueError(f"time {field!r} is beyond any trading day (expected seconds after "
                         f"midnight, below {MAX_TIME_S:,})")
    ns = int(whole) * 1_000_000_000 + int(frac[:9].ljust(9, "0"))
    rest = frac[9:]
    if rest and (rest[0] > "5" or (rest[0] == "5" and (rest[1:].strip("0") or ns % 2))):
        ns += 1
    return ns


def _int(field: str) -> int:
    """An integer that fits int64 (the engine's ticks, lots and ids)."""
    text = field.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not (body.isascii() and body.isdigit()):
        raise ValueError(f"{field!r} is not a valid integer (expected digits with an optional "
                         "sign)")
    value = int(text)
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError(f"{field!r} is beyond the 64-bit integer range (expected "
                         f"{-INT64_MAX - 1} to {INT64_MAX})")
    return value


def read_messages(path: str | Path) -> np.ndarray:
    """Parse a message file into an int64 (n, 6) array; time in ns after midnight.

    Validates what the decoder relies on and names the file and line of the first problem.
    """
    return read_messages_counted(path)[0]


def read_messages_counted(path: str | Path) -> tuple[np.ndarray, int]:
    """``read_messages`` and how many times had more than nine decimals (rounded to ns)."""
    path = Path(path)
    parsers = [_time_ns] + [_int] * 5
    _refuse_empty(path, "message")
    dtype = [("t", f"U{TIME_TEXT}")] + [(f"c{i}", np.int64) for i in range(1, MESSAGE_COLUMNS)]
    try:
        raw = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=1)
    except (ValueError, EOFError, OSError):
        line, why = _first_bad_line(path, MESSAGE_COLUMNS, parsers)
        raise DataError(str(path), line, why) from None
    out = np.empty((raw.shape[0], MESSAGE_COLUMNS), dtype=np.int64)
    for i in range(1, MESSAGE_COLUMNS):
        out[:, i] = raw[f"c{i}"]
    try:
        if (np.char.str_len(raw["t"]) >= TIME_TEXT).any():  # the fast read may have cut it
            out[:, M_TIME], rounded = _times_of_lines(path)
        else:
            out[:, M_TIME], rounded = _parse_times(raw["t"])
    except (ValueError, OverflowError):
        line, why = _first_bad_line(path, MESSAGE_COLUMNS, parsers)
        raise DataError(str(path), line, why) from None
    _validate_messages(out, str(path))
    return out, rounded


def _refuse_empty(path: Path, kind: str) -> None:
    """An empty file would replay as an empty day and exit 0: refuse it by name."""
    if not path.is_file():
        raise DataError(str(path), 0, f"no such file (expected the LOBSTER {kind} file)")
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            head = f.read(1 << 16)
    except (EOFError, OSError) as exc:
        raise DataError(str(path), 1, f"the gzip stream is cut short or damaged ({exc})") \
            from None
    if not head.strip():
        raise DataError(str(path), 0, f"empty file (expected LOBSTER {kind} rows)")


def _times_of_lines(path: Path) -> tuple[np.ndarray, int]:
    """Every line's time read whole, for files with times longer than the fast read keeps."""
    with _open_text(path) as f:
        texts = [line.partition(",")[0] for line in f if line.strip()]
    ns = np.array([_time_ns(t) for t in texts], dtype=np.int64)
    return ns, sum(len(t.strip().partition(".")[2]) > 9 for t in texts)


def _parse_times(texts: np.ndarray) -> tuple[np.ndarray, int]:
    """Vectorised exact split of ``seconds.fraction`` strings into ns; times with more than
    nine decimals are rounded one by one (``_time_ns``). Returns (ns, how many rounded)."""
    parts = np.char.partition(texts, ".")
    digits = np.char.isdigit(parts[:, 0]) & (np.char.isdigit(parts[:, 2])
                                              | (np.char.str_len(parts[:, 2]) == 0))
    if not digits.all():  # astype would take signs and spaces, "5.-1" as -0.1 s
        raise ValueError("a time that is not digits")
    whole = parts[:, 0].astype(np.int64)
    if (whole >= MAX_TIME_S).any() or (whole < 0).any():
        raise ValueError("time out of range")
    long = np.char.str_len(parts[:, 2]) > 9
    frac = np.char.ljust(np.where(long, "0", parts[:, 2]), 9, "0")
    ns = whole * 1_000_000_000 + frac.astype(np.int64)
    for i in np.flatnonzero(long):
        ns[i] = _time_ns(str(texts[i]))
    return ns, int(long.sum())


def _validate_messages(msgs: np.ndarray, path: str) -> None:
    def first(mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0])

    types = msgs[:, M_TYPE]
    bad = (types < 1) | (types > 7)
    if bad.any():
        i = first(bad)
        raise DataError(path, i + 1, f"unknown event type {types[i]} (LOBSTER has 1-7)")
    bad = msgs[:, M_SIZE] < 0
    if bad.any():
        i = first(bad)
        raise DataError(path, i + 1, f"negative size {msgs[i, M_SIZE]}")
    for col, what in ((M_SIZE, "size"), (M_PRICE, "price")):
        bad = np.abs(msgs[:, col]) > MAX_VALUE  # level sums must not wrap around int64
        if bad.any():
            i = first(bad)
            raise DataError(path, i + 1, f"{what} {msgs[i, col]} is beyond {MAX_VALUE:,} "
                            f"(expected a {what} of {'shares' if col == M_SIZE else 'USD x 10000'}"
                            " that level sums can hold)")
    trading = types != 7
    bad = trading & (msgs[:, M_SIZE] == 0)
    if bad.any():
        i = first(bad)
        raise DataError(path, i + 1, f"zero size in a type {types[i]} message")
    bad = trading & (msgs[:, M_PRICE] <= 0)
    if bad.any():
        i = first(bad)
        raise DataError(path, i + 1, f"price {msgs[i, M_PRICE]} is not positive")
    bad = trading & (msgs[:, M_DIR] != 1) & (msgs[:, M_DIR] != -1)
    if bad.any():
        i = first(bad)
        raise DataError(path, i + 1, f"direction {msgs[i, M_DIR]} is neither 1 nor -1")
    back = np.diff(msgs[:, M_TIME]) < 0
    if back.any():
        i = first(back) + 1
        raise SequenceError(path, i + 1, f"time goes backwards ({msgs[i, M_TIME]} ns after "
                                         f"{msgs[i - 1, M_TIME]} ns on the line before)")


def read_orderbook(path: str | Path, levels: int = 0) -> np.ndarray:
    """Parse an orderbook file into an int64 (n, 4*levels) array."""
    path = Path(path)
    _refuse_empty(path, "orderbook")
    try:
        ob = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, EOFError, OSError):
        line, why = _first_bad_line(path, 4 * levels or None, [_int])
        raise DataError(str(path), line, why) from None
    if ob.shape[1] % 4 or (levels and ob.shape[1] != 4 * levels):
        want = f"{4 * levels}" if levels else "a multiple of 4"
        raise DataError(str(path), 1, f"expected {want} columns, found {ob.shape[1]}")
    sizes = ob[:, 1::2]
    if (sizes < 0).any():
        i = int(np.flatnonzero((sizes < 0).any(axis=1))[0])
        raise DataError(str(path), i + 1, "negative size")
    big = (np.abs(ob) > MAX_VALUE).any(axis=1)
    if big.any():
        i = int(np.flatnonzero(big)[0])
        value = int(ob[i][np.abs(ob[i]) > MAX_VALUE][0])
        raise DataError(str(path), i + 1, f"{value} is beyond {MAX_VALUE:,} (expected prices in "
                        "USD x 10000, sizes in shares, empty slots +-9999999999)")
    return ob


@njit(cache=True)
def _level_size(row: np.ndarray, levels: int, col: int, px: int) -> int:
    """Size at ``px`` among a row's levels on the side starting at column ``col``."""
    for j in range(levels):
        if row[col + 4 * j] == px:
            return row[col + 4 * j + 1]
    return 0


@njit(cache=True)
def beyond_view(row: np.ndarray, levels: int, col: int, px: int, is_bid: bool) -> bool:
    """True if the side is full and ``px`` is strictly worse than its last visible level."""
    last = row[col + 4 * (levels - 1)]
    if last == EMPTY_ASK or last == EMPTY_BID:
        return False
    return px < last if is_bid else px > last


@njit(cache=True)
def _decode(msgs, ob, upt, levels, ts_offset, out, count_only):
    """Decode messages into ``out``; returns (events written, bad line or 0, problem code).

    Problem codes: 1 price off the tick grid, 2 a size going negative, 3 the orderbook row
    after a type 1-4 message does not show the size that the message gives its level.
    """
    n_out = 0
    n = msgs.shape[0]
    for k in range(n):
        line = k + 1
        ts = ts_offset + msgs[k, 0]
        typ = msgs[k, 1]
        size = msgs[k, 3]
        price = msgs[k, 4]
        direction = msgs[k, 5]
        first = n_out
        if typ == 4 or typ == 5 or typ == 6:
            if price % upt != 0:
                return n_out, line, 1
            if not count_only:
                e = out[n_out]
                e.kind = TRADE
                e.side = 0 if typ == 6 else -direction
                e.px_ticks = price // upt
                e.qty_lots = size
            n_out += 1
        elif typ == 7:
            if not count_only:
                e = out[n_out]
                e.kind = HALT if price == -1 else RESUME
                e.side = 0
                e.px_ticks = 0
                e.qty_lots = 0
            n_out += 1
        row = ob[k]
        if k == 0:
            # The book after message 0 is the starting snapshot.
            for col in range(4 * levels):
                if col % 2 == 1:
                    continue
                px = row[col]
                if px == EMPTY_ASK or px == EMPTY_BID:
                    continue
                if px % upt != 0:
                    return n_out, line, 1
                if not count_only:
                    e = out[n_out]
                    e.kind = BOOK_DELTA
                    e.side = 1 if (col % 4) == 2 else -1
                    e.px_ticks = px // upt
                    e.qty_lots = row[col + 1]
                    e.flags = F_SNAPSHOT
                n_out += 1
        else:
            prev = ob[k - 1]
            if 1 <= typ <= 4:
                is_bid = direction == 1
                col = 2 if is_bid else 0
                if not beyond_view(prev, levels, col, price, is_bid):
                    if price % upt != 0:
                        return n_out, line, 1
                    old = _level_size(prev, levels, col, price)
                    new = old + size if typ == 1 else old - size
                    if new < 0:
                        return n_out, line, 2
                    # A message that crosses the row before is left to the book, which stops
                    # with a crossed-book error at this line.
                    crosses = (prev[0] != EMPTY_ASK and price >= prev[0]) if is_bid else (
                        prev[2] != EMPTY_BID and price <= prev[2])
                    if not crosses and not beyond_view(row, levels, col, price, is_bid) \
                            and _level_size(row, levels, col, price) != new:
                        return n_out, line, 3  # e.g. a message and its row written twice
                    if not count_only:
                        e = out[n_out]
                        e.kind = BOOK_DELTA
                        e.side = direction
                        e.px_ticks = price // upt
                        e.qty_lots = new
                    n_out += 1
            # Levels that slid into view or were pushed out of it.
            for col in (0, 2):
                is_bid = col == 2
                for j in range(levels):
                    px = row[col + 4 * j]
                    if px != EMPTY_ASK and px != EMPTY_BID and beyond_view(prev, levels, col, px,
                                                                       is_bid):
                        if px % upt != 0:
                            return n_out, line, 1
                        if not count_only:
                            e = out[n_out]
                            e.kind = BOOK_DELTA
                            e.side = 1 if is_bid else -1
                            e.px_ticks = px // upt
                            e.qty_lots = row[col + 4 * j + 1]
                            e.flags = F_VIEW
                        n_out += 1
                    px = prev[col + 4 * j]
                    if px != EMPTY_ASK and px != EMPTY_BID and beyond_view(row, levels, col, px,
                                                                       is_bid):
                        if not count_only:
                            e = out[n_out]
                            e.kind = BOOK_DELTA
                            e.side = 1 if is_bid else -1
                            e.px_ticks = px // upt
                            e.qty_lots = 0
                            e.flags = F_VIEW
                        n_out += 1
        if not count_only:
            for i in range(first, n_out):
                out[i].ts_event = ts
                out[i].ts_recv = ts
                out[i].seq = line
            if n_out > first:
                out[n_out - 1].flags |= F_LAST
    return n_out, 0, 0


_PROBLEMS = {2: "the message removes more than the level's size in the previous orderbook row"}


def disagreement(message: np.ndarray, prev: np.ndarray, row: np.ndarray) -> str:
    """How the orderbook row after a type 1-4 message disagrees with what the message did."""
    levels = row.shape[0] // 4
    col = 2 if message[M_DIR] == 1 else 0
    price, size, typ = int(message[M_PRICE]), int(message[M_SIZE]), int(message[M_TYPE])
    old = int(_level_size(prev, levels, col, price))
    new = old + size if typ == 1 else old - size
    shown = int(_level_size(row, levels, col, price))
    side = "bid" if col == 2 else "ask"
    return (f"the orderbook row after this type {typ} message shows {shown} at {side} {price}, "
            f"but the message makes it {new} ({old} in the row before "
            f"{'+' if typ == 1 else '-'} {size}): a duplicated, missing or altered message or "
            "row (expected each row to be the book after its message; obflow check-book lists "
            "every disagreement)")


def off_grid(message: np.ndarray, row: np.ndarray, instrument: InstrumentSpec) -> str:
    """What is off the tick grid on this line (the message's price or its orderbook row's),
    the tick, and the setting that fixes it."""
    upt = instrument.raw_units_per_tick
    prices = [int(message[M_PRICE])] + [int(p) for p in row[0::2]
                                         if p not in (EMPTY_ASK, EMPTY_BID)]
    price = next((p for p in prices if p % upt), prices[0])
    where = "the message's" if price == message[M_PRICE] and price % upt else "its orderbook row's"
    return (f"price is off the instrument's tick grid: {where} price {price} "
            f"(${Decimal(price) / instrument.price_scale}) is not a multiple of the tick "
            f"{instrument.tick_size} ({upt} LOBSTER units of $0.0001); set [instrument] "
            "tick_size = \"0.0001\" in the --config file (LOBSTER's own unit, on which every "
            "LOBSTER price lies), or check-book --tick-size 0.0001")


def session_offset_ns(date: str, tz: str = EXCHANGE_TZ) -> int:
    """Epoch ns of local midnight on ``date`` at the exchange."""
    midnight = dt.datetime.fromisoformat(date).replace(tzinfo=ZoneInfo(tz))
    return int(midnight.timestamp()) * 1_000_000_000


def utc_offset_ns(date: str, tz: str = EXCHANGE_TZ) -> int:
    """The exchange's local time minus UTC on ``date``, ns."""
    noon = dt.datetime.fromisoformat(date).replace(hour=12, tzinfo=ZoneInfo(tz))
    return int(noon.utcoffset().total_seconds()) * 1_000_000_000


@dataclass(frozen=True)
class LobsterDay:
    """One decoded pair: events for the engine plus the raw rows for checks."""

    pair: LobsterPair
    messages: np.ndarray  # int64 (n, 6), time in ns after midnight
    orderbook: np.ndarray  # int64 (n, 4L)
    events: np.ndarray  # event_dtype
    session_start_ns: int  # epoch ns of local midnight
    times_rounded: int = 0  # message times with more than nine decimals, rounded to ns

    @property
    def levels(self) -> int:
        return self.orderbook.shape[1] // 4


def decode(messages: np.ndarray, orderbook: np.ndarray, instrument: InstrumentSpec, *,
           source: str = "", ts_offset_ns: int = 0) -> np.ndarray:
    """Turn parsed message and orderbook arrays into a batch of events (see module doc)."""
    if messages.shape[0] != orderbook.shape[0]:
        shorter = min(messages.shape[0], orderbook.shape[0])
        raise DataError(source, shorter + 1, f"message file has {messages.shape[0]} rows but "
                        f"orderbook file has {orderbook.shape[0]}")
    levels = orderbook.shape[1] // 4
    _check_rows(orderbook, source)
    upt = instrument.raw_units_per_tick
    scratch = np.zeros(0, dtype=event_dtype)
    count, line, problem = _decode(messages, orderbook, upt, levels, ts_offset_ns, scratch, True)
    if problem == 1:
        raise DataError(source, line, off_grid(messages[line - 1], orderbook[line - 1],
                                               instrument))
    if problem == 3:
        raise DataError(source, line, disagreement(messages[line - 1], orderbook[line - 2],
                                                   orderbook[line - 1]))
    if problem:
        raise DataError(source, line, _PROBLEMS[problem])
    events = np.zeros(count, dtype=event_dtype)
    _decode(messages, orderbook, upt, levels, ts_offset_ns, events, False)
    return events


def _check_rows(orderbook: np.ndarray, source: str) -> None:
    """Refuse an orderbook row whose own best bid is at or above its best ask."""
    ask, bid = orderbook[:, 0], orderbook[:, 2]
    crossed = (ask != EMPTY_ASK) & (bid != EMPTY_BID) & (bid >= ask)
    if crossed.any():
        i = int(np.flatnonzero(crossed)[0])
        raise DataError(source.replace("message", "orderbook"), i + 1,
                        f"orderbook row is crossed: bid {bid[i]} >= ask {ask[i]}")


def load_day(pair: LobsterPair, instrument: InstrumentSpec | None = None,
             tz: str = EXCHANGE_TZ) -> LobsterDay:
    """Read, validate and decode one LOBSTER pair."""
    instrument = instrument or lobster_instrument(pair.ticker)
    messages, rounded = read_messages_counted(pair.message)
    orderbook = read_orderbook(pair.orderbook, pair.levels)
    offset = session_offset_ns(pair.date, tz)
    events = decode(messages, orderbook, instrument, source=str(pair.message),
                    ts_offset_ns=offset)
    return LobsterDay(pair, messages, orderbook, events, offset, rounded)
