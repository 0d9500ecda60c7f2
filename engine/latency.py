"""Per-stage latency histograms with budgets.

Samples go into log-linear buckets (16 per power of two, about 4% wide), so recording is
O(1) and memory is fixed however long a session runs; the maximum is kept exactly. Stage
timings come from ``time.perf_counter_ns`` and are measurement only.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import numpy as np

_SUB = 16  # buckets per power of two
_BUCKETS = 64 * _SUB


# Bucket of ns >= 16: keep the top 5 bits (16 sub-buckets per octave); see ``record``.
def _bucket_upper(b: int) -> int:
    """Largest ns that falls in bucket ``b`` (quantiles report this, an upper bound)."""
    if b < _SUB:
        return b
    exp = b // _SUB - 1
    return ((b % _SUB + _SUB + 1) << exp) - 1


@dataclass
class LatencyHistogram:
    """Latency of one stage, with the count of samples over its budget (0 = no budget)."""

    name: str
    budget_ns: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(_BUCKETS, dtype=np.int64))
    count: int = 0
    total_ns: int = 0
    max_ns: int = 0
    over_budget: int = 0

    def record(self, ns: int) -> None:
        if ns < _SUB:
            b = max(ns, 0)
        else:
            exp = ns.bit_length() - 5
            b = (exp + 1) * _SUB + ((ns >> exp) - _SUB)
        self.counts[b] += 1
        self.count += 1
        self.total_ns += ns
        if ns > self.max_ns:
            self.max_ns = ns
        if self.budget_ns and ns > self.budget_ns:
            self.over_budget += 1

    def quantile(self, q: float) -> int:
        """Upper edge of the bucket holding quantile ``q`` (capped at the exact maximum)."""
        if not self.count:
            return 0
        rank = max(1, int(np.ceil(q * self.count)))
        b = int(np.searchsorted(np.cumsum(self.counts), rank))
        return min(_bucket_upper(b), self.max_ns)

    def summary(self) -> dict:
        return {
            "count": self.count,
            "p50_ns": self.quantile(0.50),
            "p99_ns": self.quantile(0.99),
            "p999_ns": self.quantile(0.999),
            "max_ns": self.max_ns,
            "mean_ns": round(self.total_ns / self.count, 1) if self.count else 0.0,
            "budget_ns": self.budget_ns,
            "over_budget": self.over_budget,
        }


class StageLatency:
    """The set of stage histograms of one engine, in pipeline order."""

    def __init__(self, budgets_ns: dict[str, int] | None = None) -> None:
        self._budgets = dict(budgets_ns or {})
        self.stages: dict[str, LatencyHistogram] = {}

    def stage(self, name: str) -> LatencyHistogram:
        hist = self.stages.get(name)
        if hist is None:
            hist = self.stages[name] = LatencyHistogram(name, self._budgets.get(name, 0))
        return hist

    def record(self, name: str, ns: int) -> None:
        self.stage(name).record(ns)

    def summary(self) -> dict[str, dict]:
        return {name: hist.summary() for name, hist in self.stages.items()}

    def table(self) -> str:
        rows = [f"{'stage':<14}{'count':>10}{'p50 µs':>10}{'p99 µs':>10}{'p99.9 µs':>10}"
                f"{'max µs':>10}{'over':>7}"]
        for name, h in self.stages.items():
            s = h.summary()
            rows.append(f"{name:<14}{s['count']:>10}{s['p50_ns'] / 1e3:>10.2f}"
                        f"{s['p99_ns'] / 1e3:>10.2f}{s['p999_ns'] / 1e3:>10.2f}"
                        f"{s['max_ns'] / 1e3:>10.2f}{s['over_budget']:>7}")
        return "\n".join(rows)
