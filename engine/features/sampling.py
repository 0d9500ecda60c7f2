"""Durations and sampling rules as text: ``250ms``, ``1s``, ``1min``; ``every-event``, ``Nev``."""

from __future__ import annotations

import re

from engine.config import ReplayConfig
from engine.errors import ConfigError

_UNITS_MS = {"ms": 1, "s": 1000, "min": 60_000, "m": 60_000, "h": 3_600_000}


def parse_duration_ms(text: str) -> int:
    """``250ms``, ``1s``, ``10s``, ``1min``/``1m``, ``1h`` -> milliseconds."""
    m = re.fullmatch(r"(\d+)(ms|s|min|m|h)", text.strip())
    if not m:
        raise ConfigError("duration", f"{text!r} is not a duration like 250ms, 1s, 1min, 1h")
    return int(m[1]) * _UNITS_MS[m[2]]


def sampling(sample: str) -> ReplayConfig:
    """The decision rule that takes one row per sample."""
    if sample == "every-event":
        return ReplayConfig(decision_interval_ms=0, decision_every_messages=1)
    m = re.fullmatch(r"(\d+)ev", sample)
    if m:
        return ReplayConfig(decision_interval_ms=0, decision_every_messages=int(m[1]))
    return ReplayConfig(decision_interval_ms=parse_duration_ms(sample))


__all__ = ["parse_duration_ms", "sampling"]
