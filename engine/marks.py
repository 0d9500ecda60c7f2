"""The equity marks of a run: one per decision point with a two-sided book, kept in columns.

A replay takes hundreds of thousands of marks (every 100 ms of event time), most of them in
numba (``engine.decision_loop``), so they live in growing numpy arrays rather than one Python object
each. ``log[k]`` still gives an ``EquityMark`` for code that wants one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EquityMark:
    ts_ns: int
    equity2: int  #: twice (cash + position at mid), ticks x lots
    position: int
    fees: float  #: currency paid so far
    mid2: int


class MarkLog:
    """Columns ``ts_ns``, ``equity2``, ``position``, ``fees``, ``mid2`` (views of the filled
    part)."""

    _COLUMNS = (("ts_ns", np.int64), ("equity2", np.int64), ("position", np.int64),
                ("fees", np.float64), ("mid2", np.int64))

    def __init__(self, capacity: int = 4096) -> None:
        self._n = 0
        self._data = {name: np.zeros(capacity, dtype=dt) for name, dt in self._COLUMNS}

    def __len__(self) -> int:
        return self._n

    def _reserve(self, extra: int) -> None:
        cap = len(self._data["ts_ns"])
        if self._n + extra <= cap:
            return
        while cap < self._n + extra:
            cap *= 2
        for name, col in self._data.items():
            grown = np.zeros(cap, dtype=col.dtype)
            grown[:self._n] = col[:self._n]
            self._data[name] = grown

    def append(self, ts_ns: int, equity2: int, position: int, fees: float, mid2: int) -> None:
        self._reserve(1)
        k = self._n
        for name, value in (("ts_ns", ts_ns), ("equity2", equity2), ("position", position),
                            ("fees", fees), ("mid2", mid2)):
            self._data[name][k] = value
        self._n += 1

    def extend_unchanged(self, ts_ns: np.ndarray, mid2: np.ndarray, cash: int, position: int,
                         fees: float) -> None:
        """Marks taken while no fill changed the portfolio: only the mid moves."""
        m = len(ts_ns)
        self._reserve(m)
        a, b = self._n, self._n + m
        d = self._data
        d["ts_ns"][a:b] = ts_ns
        d["mid2"][a:b] = mid2
        d["equity2"][a:b] = 2 * cash + position * mid2
        d["position"][a:b] = position
        d["fees"][a:b] = fees
        self._n = b

    def __getitem__(self, k: int) -> EquityMark:
        if k < 0:
            k += self._n
        if not 0 <= k < self._n:
            raise IndexError(k)
        d = self._data
        return EquityMark(int(d["ts_ns"][k]), int(d["equity2"][k]), int(d["position"][k]),
                          float(d["fees"][k]), int(d["mid2"][k]))

    def __iter__(self) -> Iterator[EquityMark]:
        return (self[k] for k in range(self._n))

    def column(self, name: str) -> np.ndarray:
        return self._data[name][:self._n]

    @property
    def ts_ns(self) -> np.ndarray:
        return self.column("ts_ns")

    @property
    def equity2(self) -> np.ndarray:
        return self.column("equity2")

    @property
    def position(self) -> np.ndarray:
        return self.column("position")

    @property
    def fees(self) -> np.ndarray:
        return self.column("fees")

    @property
    def mid2(self) -> np.ndarray:
        return self.column("mid2")


__all__ = ["EquityMark", "MarkLog"]
