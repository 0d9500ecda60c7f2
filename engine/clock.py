"""Clocks. Decision code asks a clock for the time; replay's clock is the events' own time.

``SimClock`` is set by the replay driver to the event time of each decision point, so nothing
in decision logic reads the wall clock. ``LiveClock`` reads real time for the live driver.
Stage latency is measured separately, with ``time.perf_counter_ns``, and never decides anything.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Current time, ns since the Unix epoch."""
        ...


class SimClock:
    """Event-time clock for replay: only the driver moves it, and only forward."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance_to(self, ts_ns: int) -> None:
        if ts_ns < self._now:
            raise ValueError(f"clock cannot go back from {self._now} to {ts_ns} ns")
        self._now = ts_ns


class LiveClock:
    """Wall-clock time for live trading."""

    def now_ns(self) -> int:
        return time.time_ns()
