"""Corrupted input: either the right result or one line ``file:line: what is wrong``, exit 2.

Every corruption is made at test time from slices of the shared LOBSTER, Tardis, Binance
and Coinbase files and run through the real command line in a subprocess.
"""

import gzip
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.grid import Grid
from connectors.tardis import load_tardis
from engine.errors import DataError
from engine.instrument import InstrumentSpec

ROOT = Path(__file__).resolve().parents[1]
CLI = "engine.app.cli"  #: run as ``python -m``, as the obflow script does


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


# -- the command line on corrupted slices of the shared files ------------------------------

LOBSTER = "lobster/GOOG_2012-06-21_34200000_57600000_{}_1.csv"
TARDIS = "tardis/H2nryHe_binance_incremental_book_L2_2019-12-01_BTCUSDT_rows1-2050.csv"
BINANCE = "binance/hftbacktest_binance_spot_btcusdt_20240808.gz"
COINBASE = "coinbase/cryptofeed_COINBASE_advanced_trade_BTC-ETH-USD.jsonl.gz"
HEAD = {"lobster": 3000, "tardis": 2050, "binance": 1500, "coinbase": 120}
MIDDLE = {"lobster": 1500, "tardis": 2020, "binance": 800, "coinbase": 60}
HUGE = b"99999999999999999999999"
ONE_LINE = re.compile(r"^obflow \w[\w-]*: error: (?P<path>[^:]+)(?::(?P<line>\d+))?: \S")


def _lines(relative: str, rows: int) -> list[bytes]:
    from data_paths import shared_file

    path = shared_file(relative)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.splitlines(keepends=True)[:rows]


def _line_of(source: str, lines: list[bytes]) -> int:
    """A middle line worth corrupting: for captures, one that carries book levels."""
    k = MIDDLE[source]
    want = {"binance": b"depthUpdate", "coinbase": b"l2_data"}.get(source)
    while want and want not in lines[k - 1]:
        k += 1
    return k


_SIZE = {  # the first size on a line: LOBSTER column 4, Tardis amount, a venue's quantity
    "lobster": re.compile(rb"^((?:[^,]*,){3})([^,]*)"),
    "tardis": re.compile(rb"^((?:[^,]*,){7})([^,\r\n]*)"),
    "binance": re.compile(rb'(\["[0-9.]+",")([0-9.]+)'),
    "coinbase": re.compile(rb'(new_quantity\\":\\")([0-9.]+)'),
}


def _set_size(source: str, line: bytes, value: bytes) -> bytes:
    return _SIZE[source].sub(lambda m: m[1] + value, line, count=1)


def _swap(source: str, line: bytes) -> bytes:
    if source in ("lobster", "tardis"):
        fields = line.rstrip(b"\r\n").split(b",")
        a, b = (3, 4) if source == "lobster" else (6, 7)
        fields[a], fields[b] = fields[b], fields[a]
        return b",".join(fields) + b"\n"
    pattern = (rb'\["([0-9.]+)","([0-9.]+)"\]' if source == "binance"
               else rb'price_level\\":\\"([0-9.]+)\\",\\"new_quantity\\":\\"([0-9.]+)')
    return re.sub(pattern, lambda m: m[0].replace(m[1], b"#").replace(m[2], m[1])
                  .replace(b"#", m[2]), line, count=1)


def _twelve_decimals(source: str, line: bytes) -> bytes:
    if source == "lobster":  # the time rounds back to the same ns
        time, rest = line.split(b",", 1)
        return time + b"000" + b"," + rest
    if source == "coinbase":
        return re.sub(rb'"ts":([0-9]+\.[0-9]+)', lambda m: b'"ts":' + m[1][:11]
                      + m[1][11:].ljust(12, b"1"), line, count=1)
    if source == "tardis":
        fields = line.split(b",")
        fields[2] += b".123456789012"
        return b",".join(fields)
    ts, rest = line.split(b" ", 1)
    return ts + b".123456789012 " + rest


def corrupt(source: str, kind: str, lines: list[bytes]) -> bytes | None:
    """The bytes of one corrupted file, or None where the kind does not apply."""
    k = _line_of(source, lines)
    out = list(lines)
    line = out[k - 1]
    if kind == "cut-line":
        return b"".join(out[:k - 1]) + line[:len(line) // 2]
    if kind == "empty":
        return b""
    if kind == "garbage":
        return bytes((i * 7919 + 13) % 256 for i in range(4096))
    if kind == "header-only":
        return {"lobster": b"time,type,id,size,price,direction\n"}.get(source, lines[0])
    if kind in ("huge", "nan", "inf"):
        out[k - 1] = _set_size(source, line, {"huge": HUGE, "nan": b"nan", "inf": b"inf"}[kind])
    elif kind == "columns":
        if source not in ("lobster", "tardis"):
            return None
        out[k - 1] = line.rstrip(b"\r\n").rsplit(b",", 1)[0] + b"\n"
    elif kind == "swapped":
        out[k - 1] = _swap(source, line)
    elif kind == "duplicated":
        out.insert(k, line)
    elif kind == "twelve-decimals":
        out[k - 1] = _twelve_decimals(source, line)
    elif kind == "non-utf8":
        out[k - 1] = line[:10] + b"\xff\xfe\xc3" + line[10:]
    elif kind == "gzip-cut":
        return b"gzip"  # made by write_case
    assert out[k - 1] != line or kind == "duplicated", (source, kind)
    return b"".join(out)


KINDS = ["cut-line", "empty", "garbage", "huge", "nan", "inf", "columns", "swapped",
         "duplicated", "twelve-decimals", "non-utf8", "gzip-cut", "header-only"]
SOURCES = ["lobster", "tardis", "binance", "coinbase"]
COINBASE_BOOK = ["--symbol", "BTC-USD"]


def write_case(folder: Path, source: str, kind: str) -> list[Path] | None:
    """The corrupted data set of one case (for LOBSTER, the message file with its orderbook
    file beside it), or None where the kind does not apply."""
    folder.mkdir(parents=True, exist_ok=True)
    if source == "lobster":
        message = _lines(LOBSTER.format("message"), HEAD[source])
        book = _lines(LOBSTER.format("orderbook"), HEAD[source])
        data = b"".join(message) if kind == "clean" else corrupt(source, kind, message)
        if data is None:
            return None
        gz = kind == "gzip-cut"
        suffix = ".csv.gz" if gz else ".csv"
        m = folder / Path(LOBSTER.format("message")).name.replace(".csv", suffix)
        o = folder / Path(LOBSTER.format("orderbook")).name.replace(".csv", suffix)
        ob = b"".join(book)
        if kind == "duplicated":  # the pair stays of equal length: only the book can tell
            k = _line_of(source, message)
            ob = b"".join(book[:k] + book[k - 1:])
        if gz:
            whole = gzip.compress(b"".join(message))
            data, ob = whole[:len(whole) * 2 // 3], gzip.compress(ob)
        m.write_bytes(data)
        o.write_bytes(ob)
        return [m]
    relative = {"tardis": TARDIS, "binance": BINANCE, "coinbase": COINBASE}[source]
    lines = _lines(relative, HEAD[source])
    data = b"".join(lines) if kind == "clean" else corrupt(source, kind, lines)
    if data is None:
        return None
    if kind == "gzip-cut":
        whole = gzip.compress(b"".join(lines))
        data = whole[:len(whole) * 2 // 3]
    elif source != "tardis":
        data = gzip.compress(data)
    path = folder / ("book.csv" if source == "tardis" else f"{source}.gz")
    path.write_bytes(data)
    return [path]


def book_args(source: str, paths: list[Path]) -> list[object]:
    return ["book", "--data", *paths, "--json", *(COINBASE_BOOK if source == "coinbase" else [])]


#: Cases that still end wrongly, each with the reason (strict: they fail the day they pass).
XFAIL: dict[tuple[str, str], str] = {}

CASES = [(s, k) for s in SOURCES for k in KINDS]


#: Runs many command lines in one interpreter, as ``python -m`` runs one: ``main(argv)``'s
#: return value is the exit code; an exception escaping it is printed as Python would.
DRIVER = """
import contextlib, io, json, sys, traceback
from importlib import import_module
main = import_module(sys.argv[1]).main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def run_many(jobs: list[list[object]]) -> list[subprocess.CompletedProcess]:
    """Every command line of ``jobs``, split over one interpreter per CPU (each pays the
    start-up and compile-cache load once, not once per case)."""
    workers = max(2, os.cpu_count() or 2)
    chunks = [list(range(len(jobs)))[k::workers] for k in range(workers)]

    def run(chunk: list[int]) -> list:
        argvs = [[str(a) for a in jobs[i]] for i in chunk]
        done = subprocess.run([sys.executable, "-c", DRIVER, CLI], cwd=ROOT, text=True,
                              input=json.dumps(argvs), capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(run, chunks))
    out: list = [None] * len(jobs)
    for chunk, results in zip(chunks, parts, strict=True):
        for i, (code, stdout, stderr) in zip(chunk, results, strict=True):
            out[i] = subprocess.CompletedProcess(jobs[i], code, stdout, stderr)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Every case and the clean data set of each source, run through the command line."""
    root = tmp_path_factory.mktemp("corrupt")
    jobs = {}
    for source in SOURCES:
        jobs[(source, "clean")] = book_args(source, write_case(root / source / "clean",
                                                               source, "clean"))
        for kind in KINDS:
            paths = write_case(root / source / kind, source, kind)
            if paths is not None:
                jobs[(source, kind)] = book_args(source, paths)
    done = run_many(list(jobs.values()))
    return {key: (args, run) for (key, args), run in zip(jobs.items(), done, strict=True)}


def _comparable(stdout: str) -> dict:
    out = json.loads(stdout)
    out.pop("input", None)  # counters of what was rounded; the book itself must be equal
    return out


@pytest.mark.parametrize(("source", "kind"), [
    pytest.param(s, k, marks=pytest.mark.xfail(strict=True, reason=XFAIL[(s, k)]))
    if (s, k) in XFAIL else (s, k) for s, k in CASES])
def test_corrupted_input_is_refused_by_line_or_gives_the_clean_result(runs, source, kind):
    if (source, kind) not in runs:
        pytest.skip(f"{kind} does not apply to {source}")
    args, run = runs[(source, kind)]
    assert "Traceback" not in run.stderr, run.stderr
    if run.returncode == 0:
        clean = runs[(source, "clean")][1]
        assert clean.returncode == 0, clean.stderr
        assert _comparable(run.stdout) == _comparable(clean.stdout)
        return
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    m = ONE_LINE.match(lines[0])
    assert m, lines[0]
    data = str(args[2])
    assert m["path"] in (data, data.replace("_message_", "_orderbook_"), Path(data).name), \
        lines[0]


#: One case of each reader, also run as a process of its own: the driver above must see what
#: ``python -m`` shows.
ALONE = [("lobster", "non-utf8"), ("tardis", "gzip-cut"), ("binance", "cut-line"),
         ("coinbase", "gzip-cut"), ("lobster", "twelve-decimals")]


@pytest.mark.parametrize(("source", "kind"), ALONE)
def test_a_process_of_its_own_ends_as_in_the_driver(runs, source, kind):
    args, run = runs[(source, kind)]
    alone = obflow(*args)
    assert (alone.returncode, alone.stdout, alone.stderr) == (run.returncode, run.stdout,
                                                              run.stderr)


def _one_error_line(run: subprocess.CompletedProcess, path: Path, line: int | None) -> None:
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    (text,) = run.stderr.strip().splitlines()
    m = ONE_LINE.match(text)
    assert m and m["path"] == str(path), text
    assert m["line"] == (str(line) if line else None), text


@pytest.mark.parametrize(("kind", "line"), [("non-utf8", 1500), ("huge", 1500),
                                            ("gzip-cut", None), ("empty", None)])
def test_replay_of_a_corrupted_lobster_day_stops_with_one_line(tmp_path, kind, line):
    (message,) = write_case(tmp_path / kind, "lobster", kind)
    run = obflow("replay", "--config", "configs/replay_goog.toml", "--data", message,
                 "--out", tmp_path / "report")
    if kind == "gzip-cut":  # the line where the stream ends depends on the compressor
        assert re.search(rf"{re.escape(str(message))}:\d+: the gzip stream is cut short",
                         run.stderr), run.stderr
        line = int(run.stderr.split(f"{message}:", 1)[1].split(":", 1)[0])
    _one_error_line(run, message, line)
    assert not (tmp_path / "report" / "report.json").exists()


@pytest.mark.xfail(strict=True, reason="replay of a capture goes through the live feed code "
                   "(replay/venue_replay.py), which counts a malformed frame and resyncs as it "
                   "does live; a capture holds no new snapshot, so the rest of the day replays "
                   "out of sync and exits 0. obflow book refuses the same frame by line.")
def test_replay_of_a_capture_with_a_malformed_frame_stops(tmp_path):
    (capture,) = write_case(tmp_path / "nan", "binance", "nan")
    run = obflow("replay", "--config", "configs/live_binance_sim.toml", "--data", capture,
                 "--out", tmp_path / "report")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr


def test_a_reader_that_goes_away_ends_replay_without_a_traceback(tmp_path):
    (message,) = write_case(tmp_path / "clean", "lobster", "clean")
    proc = subprocess.Popen([sys.executable, "-m", CLI, "replay", "--config",
                             "configs/replay_goog.toml", "--data", str(message), "--out",
                             str(tmp_path / "report")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head` does once it has its lines
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and stderr == "", stderr


@pytest.mark.parametrize("command", [
    ["check-book", "--message", "{missing}_message_1.csv", "--orderbook",
     "{missing}_orderbook_1.csv"],
    ["ic", "--features", "{missing}.parquet"],
    ["book", "--data", "{missing}.csv"],
])
def test_a_missing_file_is_one_line(tmp_path, command):
    missing = tmp_path / "missing"
    run = obflow(*[a.format(missing=missing) for a in command])
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    (text,) = run.stderr.strip().splitlines()
    assert f"{missing}" in text and "no such file" in text, text
