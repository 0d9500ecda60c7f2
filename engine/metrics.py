"""The Prometheus metrics endpoint: a collector that reads engine and feed state at scrape.

Nothing is counted twice and the hot path pays nothing: stage latencies already live in the
engine's log-linear histograms, and the collector turns them into Prometheus histograms at
scrape time, with bucket bounds chosen on the engine's own bucket edges (so counts are exact)
from about 1 µs to 100 ms. Feed counters (any dataclass of ints, e.g. ``FeedCounters``) are
exported field by field.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from collections.abc import Mapping

import numpy as np
from prometheus_client import CollectorRegistry
from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import HistogramMetricFamily

from engine.latency import _BUCKETS
from engine.latency import _bucket_upper

#: Nominal bucket bounds, ns; each is moved to the engine bucket edge at or above it.
NOMINAL_NS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
              1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000)
_UPPER = np.array([min(_bucket_upper(b), 2**63 - 1) for b in range(_BUCKETS)], dtype=np.int64)
#: (engine bucket index, bound in ns) per Prometheus bucket.
BOUNDS = tuple((int(np.searchsorted(_UPPER, ns)), int(_UPPER[np.searchsorted(_UPPER, ns)]))
               for ns in NOMINAL_NS)
P_UP_BINS = 20


def _latency_family(name: str, doc: str, engines: Mapping) -> HistogramMetricFamily:
    fam = HistogramMetricFamily(name, doc, labels=["symbol", "stage"])
    for symbol, engine in engines.items():
        for stage, hist in engine.latency.stages.items():
            cum = np.cumsum(hist.counts)
            buckets = [(f"{ns / 1e9:.9g}", float(cum[k])) for k, ns in BOUNDS]
            buckets.append(("+Inf", float(hist.count)))
            fam.add_metric([symbol, stage], buckets, sum_value=hist.total_ns / 1e9)
    return fam


class EngineCollector:
    """Exports the engines (one per symbol) and the feeds' counters."""

    def __init__(self, engines: Mapping[str, object], feeds: Mapping[str, object] | None = None,
                 *, now_ns: Callable[[], int] = time.time_ns) -> None:
        self.engines = engines
        self.feeds = feeds or {}
        self._now_ns = now_ns

    def collect(self):
        engines = self.engines
        yield _latency_family("obflow_stage_latency_seconds",
                              "Wall time per pipeline stage (end_to_end: frame received to "
                              "order decided; to_fill: frame received to paper fill)", engines)
        over = CounterMetricFamily("obflow_budget_violations", "Stage samples over budget",
                                   labels=["symbol", "stage"])
        for symbol, e in engines.items():
            for stage, hist in e.latency.stages.items():
                if hist.budget_ns:
                    over.add_metric([symbol, stage], hist.over_budget)
        yield over
        yield from self._trading(engines)
        yield from self._book(engines)
        yield from self._feeds()

    def _trading(self, engines):
        gauges = {name: GaugeMetricFamily(f"obflow_{name}", doc, labels=["symbol"])
                  for name, doc in (("position_lots", "Position, lots"),
                                    ("pnl_realized", "Realized PnL, currency"),
                                    ("pnl_unrealized", "Unrealized PnL at mid, currency"),
                                    ("fees", "Fees paid, currency"))}
        counters = {name: CounterMetricFamily(f"obflow_{name}", doc, labels=["symbol"])
                    for name, doc in (("orders", "Orders sent"), ("fills", "Paper fills"),
                                      ("events", "Events applied"),
                                      ("decisions", "Decision points"))}
        rejects = CounterMetricFamily("obflow_rejects", "Orders refused by risk",
                                      labels=["symbol", "reason"])
        p_up = HistogramMetricFamily("obflow_model_p_up", "Model P(up, 1 minute)",
                                     labels=["symbol"])
        for symbol, e in engines.items():
            pf = e.portfolio
            money = float(e.instrument.tick_size * e.instrument.lot_size)
            mid2 = e._mid2()
            gauges["position_lots"].add_metric([symbol], pf.position)
            gauges["pnl_realized"].add_metric([symbol], pf.realized * money)
            gauges["pnl_unrealized"].add_metric(
                [symbol], pf.unrealized2(mid2) / 2 * money if mid2 is not None else 0.0)
            gauges["fees"].add_metric([symbol], pf.fees)
            counters["orders"].add_metric([symbol], len(e.intents))
            counters["fills"].add_metric([symbol], pf.fills)
            counters["events"].add_metric([symbol], e.events)
            counters["decisions"].add_metric([symbol], e.decisions)
            for reason, n in sorted(e.risk.rejections.items()):
                rejects.add_metric([symbol, reason], n)
            counts = np.cumsum(e.prediction_counts)
            edges = [(f"{(k + 1) / P_UP_BINS:.2f}", float(counts[k])) for k in range(P_UP_BINS)]
            edges[-1] = ("+Inf", float(counts[-1]))
            p_up.add_metric([symbol], edges, sum_value=e.prediction_sum)
        yield from gauges.values()
        yield from counters.values()
        yield rejects
        yield p_up

    def _book(self, engines):
        fams = {name: GaugeMetricFamily(f"obflow_book_{name}", doc, labels=["symbol"])
                for name, doc in (("valid", "1 while the book is in sync"),
                                  ("spread_ticks", "Best ask minus best bid, ticks"),
                                  ("depth_lots", "Bid plus ask size of the top 5 levels"),
                                  ("age_seconds", "Now minus the last applied event's time"))}
        now = self._now_ns()
        for symbol, e in engines.items():
            bid, ask = e.book.best_bid_tick(), e.book.best_ask_tick()
            fams["valid"].add_metric([symbol], 1.0 if e.book_valid else 0.0)
            if bid is not None and ask is not None:
                fams["spread_ticks"].add_metric([symbol], ask - bid)
            fams["depth_lots"].add_metric([symbol], sum(e.book.depth(5)))
            if e.last_ts_ns:
                fams["age_seconds"].add_metric([symbol], (now - e.last_ts_ns) / 1e9)
        yield from fams.values()

    def _feeds(self):
        """One counter per field, labelled by venue and symbol; what a feed counts for the
        connection rather than a symbol (frames, reconnects, ...) has ``symbol=""``."""
        fams: dict[str, CounterMetricFamily] = {}
        for venue, counters in self.feeds.items():
            if not dataclasses.is_dataclass(counters):
                continue
            by_symbol = getattr(counters, "by_symbol", {})
            for f in dataclasses.fields(counters):
                value = getattr(counters, f.name)
                if not isinstance(value, int) or isinstance(value, bool):
                    continue
                fam = fams.setdefault(f.name, CounterMetricFamily(
                    f"obflow_feed_{f.name}", f"Feed counter {f.name}",
                    labels=["venue", "symbol"]))
                split = {s: c[f.name] for s, c in sorted(by_symbol.items()) if c.get(f.name)}
                for symbol, n in split.items():
                    fam.add_metric([venue, symbol], n)
                rest = value - sum(split.values())
                if rest or not split:
                    fam.add_metric([venue, ""], rest)
        yield from fams.values()


def serve_metrics(port: int, collector: EngineCollector, *, addr: str = "127.0.0.1"):
    """Start the HTTP endpoint in a background thread; returns (server, registry)."""
    registry = CollectorRegistry()
    registry.register(collector)
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server, registry


def scrape_latency(url: str, *, timeout_s: float = 5.0) -> list[dict]:
    """Stage latency quantiles from a running engine's endpoint (bucket upper bounds)."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    with urlopen(url, timeout=timeout_s) as response:
        text = response.read().decode()
    rows: dict[tuple[str, str], dict] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "obflow_stage_latency_seconds":
            continue
        for sample in family.samples:
            key = (sample.labels.get("symbol", ""), sample.labels.get("stage", ""))
            row = rows.setdefault(key, {"buckets": []})
            if sample.name.endswith("_bucket"):
                row["buckets"].append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                row["count"] = sample.value
    out = []
    for (symbol, stage), row in sorted(rows.items()):
        buckets = sorted(row["buckets"])
        count = row.get("count", 0.0)
        quantiles = {}
        for q in (0.5, 0.99, 0.999):
            rank = q * count
            le = next((b for b, c in buckets if c >= rank and count), None)
            quantiles[q] = le
        out.append({"symbol": symbol, "stage": stage, "count": int(count),
                    "p50_s": quantiles[0.5], "p99_s": quantiles[0.99],
                    "p999_s": quantiles[0.999]})
    return out


def latency_table(rows: list[dict]) -> str:
    def fmt(v: float | None) -> str:
        if v is None:
            return "-"
        if v == float("inf"):
            return "> 100 ms"
        return f"<= {v * 1e6:,.0f} µs" if v >= 1e-4 else f"<= {v * 1e6:.2f} µs"

    lines = [f"{'symbol':<12}{'stage':<12}{'count':>10}{'p50':>16}{'p99':>16}{'p99.9':>16}"]
    for r in rows:
        lines.append(f"{r['symbol']:<12}{r['stage']:<12}{r['count']:>10}{fmt(r['p50_s']):>16}"
                     f"{fmt(r['p99_s']):>16}{fmt(r['p999_s']):>16}")
    return "\n".join(lines)
