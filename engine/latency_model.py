"""Order-entry and market-data latency: constant, or drawn from a seeded distribution.

A lognormal around the median with occasional spikes is the usual shape of exchange round
trips. Draws come from a ``numpy.random.Generator`` that the caller seeds and passes in, so a
replay with the same seed sees the same latencies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencyModel:
    """median_us: the constant, or the lognormal's median; sigma: lognormal shape (0 makes
    it constant); spike_prob: chance that a draw gets spike_us added."""

    median_us: float = 0.0
    sigma: float = 0.0
    spike_prob: float = 0.0
    spike_us: float = 0.0

    def __post_init__(self) -> None:
        if self.median_us < 0 or self.sigma < 0 or self.spike_us < 0:
            raise ValueError("latency median_us, sigma and spike_us must be non-negative")
        if not 0.0 <= self.spike_prob <= 1.0:
            raise ValueError(f"spike_prob must be in [0, 1], got {self.spike_prob}")

    def draw_ns(self, rng: np.random.Generator) -> int:
        us = self.median_us
        if self.sigma > 0 and us > 0:
            us = us * float(np.exp(self.sigma * rng.standard_normal()))
        if self.spike_prob > 0 and rng.random() < self.spike_prob:
            us += self.spike_us
        return round(us * 1000)
