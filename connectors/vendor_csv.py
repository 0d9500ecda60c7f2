"""Vendor CSV files (Tardis.dev, Algoseek) read fast and exactly, with file and line on errors.

pyarrow parses the file (plain or gzip, multi-threaded); decimal columns are read as text and
split in numba into an integer mantissa and a count of decimals, so prices and sizes reach the
tick and lot grids without a float on the way (``7541.38`` is 754138 x 10^-2). The grid is
either given (config) or inferred as the coarsest step on which every value of the column lies,
as ``connectors.grid.infer_grid`` does for venue captures.

Row ``i`` of a table is line ``i + 2`` of its file: the header is line 1 and empty lines are
kept (an empty line is an error, not a silently shifted line count).
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numba import njit

from engine.errors import ConfigError
from engine.errors import DataError
from engine.events import BOOK_DELTA

#: Exponent of an empty cell in ``DecimalColumn.exp``.
EMPTY = -1
_MAX_MANTISSA = 10**17  #: mantissas stop here, so a scaled value always fits in int64
_MAX_DECIMALS = 18  #: more decimals than this cannot be scaled within int64


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_text(path: Path):
    return gzip.open(path, "rt", newline="") if is_gzip(path) else open(path, newline="")


def header_of(path: Path) -> list[str]:
    """The column names on line 1."""
    try:
        with (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as f:
            raw = f.readline()
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(str(path), 1, f"the gzip stream is cut short or damaged ({exc})") \
            from None
    try:
        first = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(str(path), 1, _not_utf8(raw, exc)) from None
    return [c.strip() for c in first.rstrip("\r\n").split(",")]


def _not_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    return (f"byte {raw[exc.start:exc.start + 1]!r} at column {exc.start + 1} is not UTF-8 "
            "text (expected a CSV line)")


def line_of(row: int) -> int:
    """File line of table row ``row`` (the header is line 1)."""
    return int(row) + 2


def read_table(path: str | Path, types: dict[str, pa.DataType], *,
               required: Sequence[str]) -> pa.Table:
    """Read the ``required`` columns with the given types; DataError names file and line."""
    path = Path(path)
    header = header_of(path)
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(str(path), 1, f"missing column(s) {', '.join(missing)} (header has "
                        f"{', '.join(header)})")
    source = pa.CompressedInputStream(pa.OSFile(str(path)), "gzip") if is_gzip(path) \
        else pa.OSFile(str(path))
    try:
        with source:
            return pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=16 << 20),
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: t for c, t in types.items() if c in required},
                    include_columns=list(required), strings_can_be_null=False,
                    true_values=["true", "True", "TRUE"],
                    false_values=["false", "False", "FALSE"]))
    except (pa.ArrowInvalid, EOFError, OSError) as exc:  # OSError: a gzip stream cut short
        line, why = _first_bad_line(path, header, types)
        raise DataError(str(path), line, why or str(exc)) from None


def _first_bad_line(path: Path, header: list[str], types: dict[str, pa.DataType],
                    ) -> tuple[int, str]:
    """Slow path after pyarrow refused the file: the first line that is wrong, and why."""
    checks = {i: t for i, name in enumerate(header) if (t := types.get(name)) is not None}
    line_no = 0
    try:
        with (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as f:
            for line_no, raw in enumerate(f, start=1):
                if line_no == 1:
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return line_no, _not_utf8(raw, exc)
                why = _row_problem(next(csv.reader([text]), []), header, checks)
                if why:
                    return line_no, why
    except (EOFError, OSError, zlib.error) as exc:
        return line_no + 1, f"the gzip stream is cut short or damaged ({exc})"
    return 0, ""


def _row_problem(row: list[str], header: list[str], checks: dict[int, pa.DataType]) -> str:
    """What is wrong with one data row ("" if nothing pyarrow would refuse)."""
    if len(row) != len(header):
        return f"expected {len(header)} columns, found {len(row)}"
    for col, kind in checks.items():
        value = row[col]
        if pa.types.is_integer(kind):
            ok = value.lstrip("-").isdigit()
            if ok and not -2**63 <= int(value) < 2**63:
                return (f"column {header[col]}: {value!r} is beyond the 64-bit integer range "
                        f"(expected {-2**63} to {2**63 - 1})")
        elif pa.types.is_boolean(kind):
            ok = value.lower() in ("true", "false")
        else:
            continue
        if not ok:
            return f"column {header[col]}: {value!r} is not a valid {kind}"
    return ""


@njit(cache=True)
def _split_decimals(data: np.ndarray, offsets: np.ndarray, mant: np.ndarray, exp: np.ndarray,
                    start: int) -> int:
    """Split plain decimals (``7541.380``) into mantissa 754138 and exponent 2 (trailing
    zeros dropped). Empty cells get EMPTY. Returns -1, or the index of the first bad value."""
    n = offsets.shape[0] - 1
    for i in range(n):
        a = offsets[i]
        b = offsets[i + 1]
        k = start + i
        if a == b:
            mant[k] = 0
            exp[k] = EMPTY
            continue
        v = 0
        frac = -1
        zeros = 0  # zeros after the point not yet multiplied in (they may be trailing)
        digits = 0
        for j in range(a, b):
            c = data[j]
            if c == 46:  # '.'
                if frac >= 0 or digits == 0:
                    return k
                frac = 0
            elif 48 <= c <= 57:
                digits += 1
                if frac >= 0 and c == 48:
                    zeros += 1
                    continue
                while zeros > 0:
                    v *= 10
                    frac += 1
                    zeros -= 1
                    if v >= _MAX_MANTISSA or frac > _MAX_DECIMALS:
                        return k
                v = v * 10 + (c - 48)
                if frac >= 0:
                    frac += 1
                if v >= _MAX_MANTISSA or frac > _MAX_DECIMALS:  # exp is an int8
                    return k
            else:
                return k
        if digits == 0:
            return k
        mant[k] = v
        exp[k] = frac if frac > 0 else 0
    return -1


_NOT_NUMBERS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
                "-infinity"}


def refusal(name: str, value: str) -> str:
    """Why a decimal cell was refused, with the value and what was expected."""
    head = f"{name} {value!r} is not a plain non-negative decimal"
    text = value.strip()
    if text.lower() in _NOT_NUMBERS:
        return f"{head} (NaN or infinity; expected a finite decimal such as 7541.38)"
    whole, _, frac = text.partition(".")
    if whole.isascii() and whole.isdigit() and (not frac or (frac.isascii() and frac.isdigit())):
        return (f"{head} (more digits than fit in 64 bits: expected at most "
                f"{len(str(_MAX_MANTISSA)) - 1} significant digits and {_MAX_DECIMALS} "
                "decimals)")
    return f"{head} (expected digits with an optional decimal point, such as 7541.38)"


def string_chunks(column: pa.ChunkedArray):
    """``(data bytes, offsets)`` numpy views of each chunk of a string column."""
    for chunk in column.chunks:
        if chunk.type != pa.string():
            chunk = chunk.cast(pa.string())
        _, offsets, data = chunk.buffers()
        off = np.frombuffer(offsets, dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        yield raw, off


class DecimalColumn:
    """A decimal text column as exact integers: value = ``mant`` x 10^-``exp``.

    ``exp`` is EMPTY for an empty cell. Raises DataError on a value that is not a plain,
    non-negative decimal.
    """

    def __init__(self, column: pa.ChunkedArray, *, path: str, name: str) -> None:
        n = len(column)
        self.path = path
        self.name = name
        self.mant = np.empty(n, dtype=np.int64)
        self.exp = np.empty(n, dtype=np.int8)
        start = 0
        for raw, off in string_chunks(column):
            bad = _split_decimals(raw, off, self.mant, self.exp, start)
            if bad >= 0:
                value = column[bad].as_py()
                raise DataError(path, line_of(bad), refusal(name, value))
            start += len(off) - 1

    @property
    def present(self) -> np.ndarray:
        return self.exp != EMPTY

    def step(self, mask: np.ndarray | None = None) -> Decimal:
        """The coarsest step on which every (masked, present) value lies."""
        keep = self.present if mask is None else self.present & mask
        mant, exp = self.mant[keep], self.exp[keep].astype(np.int64)
        if not mant.size:
            return Decimal(1)
        top = int(exp.max())
        scaled = self._scaled(mant, exp, top, np.flatnonzero(keep))
        g = int(np.gcd.reduce(scaled)) if scaled.size else 0
        return plain(Decimal(max(g, 1)).scaleb(-top))

    def _scaled(self, mant: np.ndarray, exp: np.ndarray, top: int,
                rows: np.ndarray) -> np.ndarray:
        shift = (top - exp).astype(np.int64)
        factor = np.power(np.int64(10), np.minimum(shift, 18))  # 10**19 would wrap
        over = (shift > 18) | (mant > np.iinfo(np.int64).max // factor)
        if over.any():
            j = int(np.flatnonzero(over)[0])
            i = int(rows[j])
            value = Decimal(f"{mant[j]}e-{exp[j]}").normalize()
            raise DataError(self.path, line_of(i), f"{self.name} {value:f} has too many digits "
                            f"for {top} decimals (expected a value below "
                            f"{Decimal(np.iinfo(np.int64).max).scaleb(-top):f})")
        return mant * factor

    def units(self, step: Decimal, *, what: str = "") -> np.ndarray:
        """Every value in whole ``step`` units (empty cells give 0); DataError on the first
        value off the grid."""
        top = max(int(self.exp.max(initial=0)), max(0, -step.normalize().as_tuple().exponent))
        step_units = int(step.scaleb(top))
        out = np.zeros(len(self.mant), dtype=np.int64)
        keep = np.flatnonzero(self.present)
        scaled = self._scaled(self.mant[keep], self.exp[keep].astype(np.int64), top, keep)
        rest = scaled % step_units
        if rest.any():
            i = int(keep[np.flatnonzero(rest)[0]])
            value = f"{self.mant[i]}e-{self.exp[i]}"
            raise DataError(self.path, line_of(i), f"{self.name} {Decimal(value).normalize()} "
                            f"is off the {what or 'grid'} {step}")
        out[keep] = scaled // step_units
        return out


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form (10, not 1E+1)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def level_slots(px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slot of each price and the price of each slot, slots in price order: dense
    (``px - min``) when the range is small, else the rank among distinct prices."""
    if not px.size:
        return np.zeros(0, np.int64), np.zeros(1, np.int64)
    lo, hi = int(px.min()), int(px.max())
    if hi - lo < 1 << 22:
        return px - lo, np.arange(lo, hi + 1, dtype=np.int64)
    slots, idx = np.unique(px, return_inverse=True)
    return idx.astype(np.int64), slots


def codes(column: pa.ChunkedArray, mapping: dict[str, int], *, path: str, name: str,
          default: int | None = None) -> np.ndarray:
    """Integer codes of a text column by ``mapping``; DataError on the first unknown value
    (unless ``default`` is given)."""
    encoded = column.dictionary_encode().combine_chunks()
    table = np.array([mapping.get(v, -128 if default is None else default)
                      for v in encoded.dictionary.to_pylist()] or [0], dtype=np.int64)
    idx = encoded.indices.to_numpy(zero_copy_only=False)
    out = table[idx] if len(idx) else np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero(out == -128)
    if bad.size:
        i = int(bad[0])
        raise DataError(path, line_of(i), f"unknown {name} {column[i].as_py()!r} (known: "
                        f"{', '.join(mapping)})")
    return out


def labels(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """Distinct values of a text column (in order of first appearance) and each row's index."""
    encoded = column.dictionary_encode().combine_chunks()
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)


def ints(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy().astype(np.int64, copy=False)


@njit(cache=True)
def emit_event(out: np.ndarray, n_out: int, count_only: bool, kind: int, ts: int, recv: int,
               seq: int, side: int, px: int, qty: int, flags: int) -> int:
    """Write an event at ``out[n_out]`` (unless only counting); returns ``n_out + 1``.

    Decoders run twice, counting first, so that the output array is allocated once."""
    if not count_only:
        e = out[n_out]
        e.ts_event = ts
        e.ts_recv = recv
        e.px_ticks = px
        e.qty_lots = qty
        e.seq = seq
        e.kind = kind
        e.side = side
        e.flags = flags
    return n_out + 1


@njit(cache=True)
def emit_delta(out: np.ndarray, n_out: int, count_only: bool, ts: int, recv: int, seq: int,
               side: int, px: int, qty: int, flags: int) -> int:
    """A BOOK_DELTA through ``emit_event``."""
    return emit_event(out, n_out, count_only, BOOK_DELTA, ts, recv, seq, side, px, qty, flags)


def pick_symbol(symbol: str | None, common: list[str], names: str, what: str = "symbols",
                ) -> str:
    """``symbol``, or the only one the files have in common; ConfigError otherwise."""
    if symbol is None:
        if len(common) != 1:
            raise ConfigError("--symbol", f"{names} hold {len(common)} common {what} "
                              f"({', '.join(common)}); choose one with --symbol")
        return common[0]
    return symbol


@njit(cache=True)
def monotone_time(ts: np.ndarray) -> int:
    """Raise each time that goes backwards to the latest before it; returns how many."""
    raised = 0
    last = np.iinfo(np.int64).min
    for i in range(ts.shape[0]):
        if ts[i] < last:
            ts[i] = last
            raised += 1
        else:
            last = ts[i]
    return raised


__all__ = ["EMPTY", "DecimalColumn", "codes", "emit_delta", "emit_event", "header_of", "ints",
           "is_gzip", "labels", "level_slots", "line_of", "monotone_time", "open_text",
           "pick_symbol", "plain", "read_table", "string_chunks"]
