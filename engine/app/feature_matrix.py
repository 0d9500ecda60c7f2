"""Feature matrices: the engine's own feature vectors, sampled on a rule, as Parquet.

The rows come from the same replay and the same compiled features a strategy sees, taken at
decision points: every Δt of event time (``1s``, ``250ms``, ``1min``), every message
(``every-event``) or every N messages (``Nev``). Columns: ``session``, ``ts_ns``, ``mid``
(price units) and the features in schema order.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from engine.config import EngineConfig
from engine.config import load_config
from engine.features.sampling import sampling
from engine.pipeline import Engine
from replay.player import run


class FeatureRecorder:
    """A strategy that records every feature vector it is shown and never trades."""

    name = "feature_recorder"
    required_features = ()

    def __init__(self, engine_ref: list[Engine], progress: tqdm | None) -> None:
        self._engine = engine_ref
        self._progress = progress
        self._seen_events = 0
        self.sessions: list[str] = []
        self.ts: list[int] = []
        self.mid2: list[float] = []
        self.rows: list[np.ndarray] = []

    def on_decision(self, view) -> list:
        engine = self._engine[0]
        self.sessions.append(engine.source)
        self.ts.append(view.ts_ns)
        bid, ask = view.best_bid_tick, view.best_ask_tick
        self.mid2.append(float(bid + ask) if bid is not None and ask is not None else np.nan)
        self.rows.append(view.features.copy())
        if self._progress is not None and engine.events - self._seen_events > 50_000:
            self._progress.update(engine.events - self._seen_events)
            self._seen_events = engine.events
        return []


def feature_matrix(data: str | Path | list, config: EngineConfig, sample: str = "1s", *,
                   progress: bool = False) -> pa.Table:
    """Replay ``data`` and return the sampled feature matrix."""
    from replay.historical import open_historical

    config = replace(config, replay=sampling(sample))
    source = open_historical(data if isinstance(data, list) else [data], config)
    instrument = source.instrument
    sessions = list(source.sessions)
    total = sum(len(s.events) for s in sessions)
    bar = tqdm(total=total, unit="ev", unit_scale=True, disable=not progress or total < 500_000)
    holder: list[Engine] = []
    recorder = FeatureRecorder(holder, bar)
    engine = Engine(config, instrument, strategy=recorder)
    holder.append(engine)
    run(engine, sessions, config.replay.chunk_events)
    bar.update(total - bar.n)
    bar.close()
    names = engine.schema.names
    values = np.vstack(recorder.rows) if recorder.rows else np.zeros((0, len(names)))
    tick = float(instrument.tick_size)
    columns = {"session": pa.array(recorder.sessions, pa.string()),
               "ts_ns": pa.array(recorder.ts, pa.int64()),
               "mid": pa.array(np.array(recorder.mid2) / 2.0 * tick, pa.float64())}
    for j, name in enumerate(names):
        columns[name] = pa.array(values[:, j], pa.float64())
    meta = {"obflow.schema_hash": engine.schema.hash, "obflow.sample": sample}
    return pa.table(columns).replace_schema_metadata(meta)


def write_feature_matrix(data: str | Path | list, out: str | Path, *, sample: str = "1s",
                         config_path: str | Path | None = None, progress: bool = True,
                         ) -> tuple[Path, int]:
    config = load_config(config_path) if config_path else EngineConfig()
    table = feature_matrix(data, config, sample, progress=progress)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return out, table.num_rows
