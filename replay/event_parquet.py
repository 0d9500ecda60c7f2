"""Normalised events in Parquet: what ``obflow convert`` writes and every ``--data`` reads.

One row per event, the columns of ``event_dtype`` plus ``session`` (index into the sessions
listed in the metadata). The key ``obflow`` of the file's metadata holds JSON::

    {"format": "obflow-events", "version": 1, "origin": "tardis",
     "instrument": {"symbol": "BTCUSDT", "tick_size": "0.01", "lot_size": "0.000001",
                    "price_scale": 0},
     "sources": ["...csv"], "sessions": [{"source": "...", "utc_offset_ns": 0}],
     "input": {"rows": 2050, ...}}

Prices are ticks and sizes lots of that instrument, so the file replays without the grid it
was decoded on, and its sessions, sources and input counters are those of the original data:
a replay of the file gives the report of its source.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from engine.errors import DataError
from engine.events import event_dtype
from engine.instrument import InstrumentSpec
from replay.player import ReplaySession

FORMAT = "obflow-events"
VERSION = 1
_KEY = b"obflow"
_TYPES = {"ts_event": pa.int64(), "ts_recv": pa.int64(), "px_ticks": pa.int64(),
          "qty_lots": pa.int64(), "seq": pa.int64(), "kind": pa.int8(), "side": pa.int8(),
          "flags": pa.uint8()}
SCHEMA = pa.schema([("session", pa.int32()), *_TYPES.items()])


def _spec_dict(spec: InstrumentSpec) -> dict:
    return {"symbol": spec.symbol, "tick_size": str(spec.tick_size),
            "lot_size": str(spec.lot_size), "price_scale": spec.price_scale}


def write_events(path: str | Path, sessions: Iterable[ReplaySession], *,
                 instrument: InstrumentSpec, sources: list[str], origin: str,
                 info: dict | None = None) -> tuple[Path, int]:
    """Write the sessions (decoded one at a time) to ``path``; returns (path, events)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    listed: list[dict] = []
    total = 0
    tmp = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        for k, session in enumerate(sessions):
            ev = session.events
            columns = {"session": pa.array(np.full(len(ev), k, dtype=np.int32))}
            columns.update({name: pa.array(np.ascontiguousarray(ev[name]), type=t)
                            for name, t in _TYPES.items()})
            writer.write_table(pa.table(columns, schema=SCHEMA), row_group_size=1 << 20)
            listed.append({"source": session.source, "utc_offset_ns": session.utc_offset_ns})
            total += len(ev)
        meta = {"format": FORMAT, "version": VERSION, "origin": origin,
                "instrument": _spec_dict(instrument), "sources": sources,
                "sessions": listed, "input": info or {}}
        writer.add_key_value_metadata({_KEY: orjson.dumps(meta)})
    tmp.replace(path)
    return path, total


def read_meta(path: str | Path) -> dict:
    meta = pq.read_metadata(path).metadata or {}
    if _KEY not in meta:
        raise DataError(str(path), 0, "a Parquet file without obflow event metadata (write it "
                        "with obflow convert)")
    head = orjson.loads(meta[_KEY])
    if head.get("format") != FORMAT or head.get("version") != VERSION:
        raise DataError(str(path), 0, f"unsupported event file {head.get('format')} "
                        f"v{head.get('version')} (this obflow reads {FORMAT} v{VERSION})")
    return head


def read_events(path: str | Path) -> tuple[dict, InstrumentSpec, list[ReplaySession]]:
    """``(metadata, instrument, sessions)`` of an event file."""
    head = read_meta(path)
    inst = head["instrument"]
    spec = InstrumentSpec(inst["symbol"], Decimal(inst["tick_size"]), Decimal(inst["lot_size"]),
                          int(inst["price_scale"]))
    table = pq.read_table(path)
    missing = set(SCHEMA.names) - set(table.column_names)
    if missing:
        raise DataError(str(path), 0, f"missing column(s) {', '.join(sorted(missing))}")
    events = np.zeros(table.num_rows, dtype=event_dtype)
    for name in _TYPES:
        events[name] = table[name].to_numpy()
    session = table["session"].to_numpy()
    if len(session) and (np.diff(session) < 0).any():
        raise DataError(str(path), 0, "sessions are not stored in order")
    bounds = np.searchsorted(session, np.arange(len(head["sessions"]) + 1))
    sessions = [ReplaySession(s["source"], events[bounds[k]:bounds[k + 1]], s["utc_offset_ns"])
                for k, s in enumerate(head["sessions"])]
    return head, spec, sessions


__all__ = ["FORMAT", "SCHEMA", "read_events", "read_meta", "write_events"]
