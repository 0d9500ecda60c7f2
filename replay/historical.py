"""Historical files to replay sessions: one entry point for every vendor file format.

``open_historical`` turns ``--data`` (LOBSTER, Tardis.dev CSV, Algoseek, obflow event
Parquet) into the instrument, the ``ReplaySession`` list the player feeds to the engine, the
source names for the report and the decoder's input counters. Replay, ``obflow book``,
``obflow features`` and ``obflow convert`` all read data through it, so a format added here
works everywhere. Venue captures and recordings are not historical files: they replay
through the live feed code (``replay.venue_replay``).

Instruments: LOBSTER takes the config's ``[instrument]`` (LOBSTER's own $0.0001 unit when
the config sets none); Tardis and Algoseek take
``[venue.instruments.SYMBOL]`` when the config has it, else the tick and lot inferred from
the file; an event Parquet file carries the instrument it was decoded with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from connectors.lobster import find_pairs
from connectors.lobster import utc_offset_ns
from engine.config import EngineConfig
from engine.config import InstrumentConfig
from engine.errors import DataError
from engine.instrument import InstrumentSpec
from engine.instrument import lobster_instrument
from replay.player import ReplaySession
from replay.sources import detect_format

HISTORICAL = ("lobster", "tardis", "algoseek", "parquet")


@dataclass
class HistoricalData:
    format: str
    instrument: InstrumentSpec
    sources: list[str]  #: names listed in the report
    sessions: Iterable[ReplaySession]  #: decoded lazily for LOBSTER folders
    #: decoder counters (LOBSTER: only ``times_rounded``, filled as sessions decode)
    info: dict = field(default_factory=dict)

    def report_input(self) -> dict:
        """What the report says about the input (nothing for a LOBSTER day that needed no
        rounding, as before)."""
        return {"format": self.format, "symbol": self.instrument.symbol, **self.info} \
            if self.info else {}


def historical_format(paths: list[str | Path]) -> str | None:
    """The common format if every path is a historical file, else None."""
    formats = {detect_format(p) for p in paths}
    if len(formats) != 1 or not formats <= set(HISTORICAL):
        return None
    fmt = formats.pop()
    if len(paths) > 1 and fmt in ("lobster", "parquet"):
        return None  # one LOBSTER file or folder, one event file
    return fmt


def open_historical(paths: list[str | Path], config: EngineConfig, *,
                    symbol: str | None = None) -> HistoricalData:
    """Decode historical ``paths`` for replay (module doc)."""
    fmt = historical_format(paths)
    if fmt is None:
        raise DataError(",".join(map(str, paths)), 0, "not one historical data set (a LOBSTER "
                        "file or folder, Tardis or Algoseek files, or one event Parquet file)")
    if fmt == "lobster":
        return _lobster(paths[0], lobster_spec(config))
    if fmt == "parquet":
        from replay.event_parquet import read_events

        head, spec, sessions = read_events(paths[0])
        return HistoricalData(head["origin"], spec, head["sources"], sessions, head["input"])
    given = config.venue.instrument_specs()
    if fmt == "tardis":
        from connectors.tardis import load_tardis

        data = load_tardis(paths, symbol=symbol, instruments=given)
        source = str(paths[0]) if len(paths) == 1 else "+".join(Path(p).name for p in paths)
        return HistoricalData(fmt, data.instrument, [Path(p).name for p in paths],
                              [ReplaySession(source, data.events)],
                              {"kinds": data.kinds, **data.counters})
    from connectors.algoseek import load_algoseek

    days = load_algoseek(paths, symbol=symbol, instruments=given)
    info: dict = {"kinds": [d.kind for d in days]}
    for day in days:
        for k, v in day.counters.items():
            info[k] = info.get(k, 0) + v
    return HistoricalData(fmt, days[0].instrument, [d.path.name for d in days],
                          [ReplaySession(str(d.path), d.events, utc_offset_ns(d.date))
                           for d in days], info)


def lobster_sessions(path: str | Path, instrument: InstrumentSpec,
                     info: dict | None = None) -> Iterable[ReplaySession]:
    """One session per LOBSTER pair, decoded as the player reaches it.

    ``info`` (the report's input counters) gets ``times_rounded`` when a message time had
    more than nine decimals; it is filled as sessions decode, before the report is built.
    """
    from connectors.lobster import load_day

    for pair in find_pairs(path):
        day = load_day(pair, instrument)
        if info is not None and day.times_rounded:
            info["times_rounded"] = info.get("times_rounded", 0) + day.times_rounded
        yield ReplaySession(str(pair.message), day.events, utc_offset_ns(pair.date))


def lobster_spec(config: EngineConfig) -> InstrumentSpec:
    """The config's ``[instrument]``, or LOBSTER's own price unit (tick $0.0001) when the
    config leaves the table at its defaults: every LOBSTER price lies on that grid, half-cent
    hidden executions included, so a day replays without a config."""
    if config.instrument == InstrumentConfig():
        return lobster_instrument(config.instrument.symbol)
    return config.instrument.spec()


def _lobster(path: str | Path, instrument: InstrumentSpec) -> HistoricalData:
    pairs = find_pairs(path)
    info: dict = {}
    return HistoricalData("lobster", instrument, [p.message.name for p in pairs],
                          lobster_sessions(path, instrument, info), info)


__all__ = ["HISTORICAL", "HistoricalData", "historical_format", "lobster_sessions",
           "lobster_spec", "open_historical"]
