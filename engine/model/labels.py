"""Training labels from a feature matrix: mid-price direction and forward log return.

Every label of a row at time t looks only at the same session's mids sampled in (t, t + h]:
the forward log return is ``log(mid(t + h) / mid(t))`` with ``mid(t + h)`` the last mid
sampled at or before t + h (``engine.research.ic.forward_returns``). A row whose horizon runs
past the session's last sample gets no label (NaN), so no label crosses a session boundary.

Direction at horizon h: 1 (up) when the return is above the dead band, 0 (down) when it is
below minus the dead band, NaN (unchanged, left out of training and scoring) inside it. With
the default dead band of 0 bps only an exactly unchanged mid is left out; the direction
models thus estimate P(up | the mid moved by more than the band).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.features.sampling import parse_duration_ms
from engine.research.ic import forward_returns

NS_PER_MS = 1_000_000
RETURN_OUTPUT = "expected_log_return"


def short_duration(ms: int) -> str:
    """60000 -> ``1m``, 300000 -> ``5m``, 10000 -> ``10s``, 250 -> ``250ms``."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True)
class LabelConfig:
    """Label definitions (the ``[labels]`` table of a training config).

    direction_horizons: one P(up) model per horizon, output ``p_up_<horizon>``.
    return_horizon: horizon of the forward log return the magnitude model predicts.
    dead_band_bps: |return| at or below this many basis points counts as unchanged.
    """

    direction_horizons: tuple[str, ...] = ("1min", "5min")
    return_horizon: str = "1min"
    dead_band_bps: float = 0.0

    def __post_init__(self) -> None:
        if not self.direction_horizons:
            raise ValueError("direction_horizons needs at least one horizon")
        if self.dead_band_bps < 0:
            raise ValueError(f"dead_band_bps must be non-negative, got {self.dead_band_bps}")
        for h in (*self.direction_horizons, self.return_horizon):
            if parse_duration_ms(h) <= 0:
                raise ConfigError("labels", f"horizon {h!r} must be positive")
        outputs = self.output_names
        if len(set(outputs)) != len(outputs):
            raise ValueError("two direction horizons name the same output")

    @property
    def output_names(self) -> tuple[str, ...]:
        """Model outputs in predictor order: the P(up) models, then the return model."""
        ups = tuple(f"p_up_{short_duration(parse_duration_ms(h))}"
                    for h in self.direction_horizons)
        return (*ups, RETURN_OUTPUT)

    @property
    def longest_horizon_ns(self) -> int:
        return max(parse_duration_ms(h) for h in (*self.direction_horizons,
                                                  self.return_horizon)) * NS_PER_MS

    def definitions(self) -> dict:
        """What each output predicts, for the artifact's schema.json."""
        out = {}
        for name, h in zip(self.output_names, self.direction_horizons, strict=False):
            out[name] = {"kind": "direction", "horizon": h,
                         "horizon_ns": parse_duration_ms(h) * NS_PER_MS,
                         "dead_band_bps": self.dead_band_bps,
                         "objective": "binary",
                         "label": "1 if log(mid(t+h)/mid(t)) > dead band, 0 if < -dead band; "
                                  "unchanged rows are left out",
                         "mid_at_horizon": "last mid sampled at or before t+h, same session"}
        out[RETURN_OUTPUT] = {"kind": "forward_log_return", "horizon": self.return_horizon,
                              "horizon_ns": parse_duration_ms(self.return_horizon) * NS_PER_MS,
                              "objective": "regression",
                              "label": "log(mid(t+h)/mid(t))",
                              "mid_at_horizon": "last mid sampled at or before t+h, "
                                                "same session"}
        return out


def direction(returns: np.ndarray, dead_band_bps: float) -> np.ndarray:
    """1.0 up, 0.0 down, NaN unchanged (inside the band) or unknown."""
    band = dead_band_bps * 1e-4
    out = np.full(len(returns), np.nan)
    with np.errstate(invalid="ignore"):
        out[returns > band] = 1.0
        out[returns < -band] = 0.0
    return out


@dataclass(frozen=True)
class Labels:
    """Per-row targets, aligned with the frame they were built from.

    targets: output name -> float array (direction 0/1/NaN, or the forward log return).
    returns: direction horizon (the output's name) -> the forward log return behind it,
        for ICs and hit rates.
    """

    targets: dict[str, np.ndarray]
    returns: dict[str, np.ndarray]


def build_labels(frame: pd.DataFrame, config: LabelConfig) -> Labels:
    """Targets for every row of ``frame`` (columns session, ts_ns, mid; sorted by session
    and time)."""
    targets: dict[str, np.ndarray] = {}
    returns: dict[str, np.ndarray] = {}
    names = config.output_names
    for name, h in zip(names, config.direction_horizons, strict=False):
        r = forward_returns(frame, parse_duration_ms(h) * NS_PER_MS)
        returns[name] = r
        targets[name] = direction(r, config.dead_band_bps)
    r = forward_returns(frame, parse_duration_ms(config.return_horizon) * NS_PER_MS)
    returns[RETURN_OUTPUT] = r
    targets[RETURN_OUTPUT] = np.where(np.isfinite(r), r, np.nan)
    return Labels(targets, returns)
