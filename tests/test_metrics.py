"""The metrics endpoint: a real HTTP scrape of an engine that replayed a synthetic day."""

import socket
from urllib.request import urlopen

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from connectors.feed import FeedCounters
from engine.app.cli import main
from engine.config import load_config
from engine.config import with_strategy
from engine.latency import LatencyHistogram
from engine.metrics import BOUNDS
from engine.metrics import EngineCollector
from engine.metrics import serve_metrics
from replay.backtest import run_replay


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bucket_bounds_sit_on_engine_bucket_edges_so_counts_are_exact():
    hist = LatencyHistogram("x")
    samples = [900, 1_000, 1_023, 1_024, 1_100, 4_000, 99_000_000, 200_000_000]
    for ns in samples:
        hist.record(ns)
    cum = np.cumsum(hist.counts)
    for k, bound in BOUNDS:
        assert cum[k] == sum(ns <= bound for ns in samples)
    assert 1_000 <= BOUNDS[0][1] < 1_100 and 100_000_000 <= BOUNDS[-1][1] < 104_000_000


def test_scrape_of_a_replayed_engine(synth_dir, capsys):
    outcome = run_replay(with_strategy(load_config("configs/replay_synth.toml"),
                                       "imbalance_maker"), synth_dir)
    engine = outcome.engine
    feed = FeedCounters()
    feed.frames = 12
    feed.count("gaps", "BTCUSDT")
    feed.count("gaps", "ETHUSDT", 2)
    feed.count("gaps")  # one not pinned on a symbol
    port = free_port()
    server, _ = serve_metrics(port, EngineCollector({"SYNTH": engine}, {"sim": feed}))
    try:
        with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        hist = families["obflow_stage_latency_seconds"]
        counts = {s.labels["stage"]: s.value for s in hist.samples
                  if s.name.endswith("_count")}
        # Python decisions only: the compiled loop takes the quiet ones (engine.decision_loop).
        timed = engine.latency.summary()["features"]["count"]
        assert counts["features"] == timed > 0 and timed <= engine.decisions
        assert counts["to_fill"] > 0
        fills = families["obflow_fills"].samples[0].value
        assert fills == engine.portfolio.fills
        gaps = {s.labels["symbol"]: s.value for s in families["obflow_feed_gaps"].samples
                if s.labels["venue"] == "sim"}
        assert gaps == {"BTCUSDT": 1, "ETHUSDT": 2, "": 1}  # sums to the feed's total, 4
        frames = [(s.labels["symbol"], s.value) for s in families["obflow_feed_frames"].samples]
        assert frames == [("", 12)]
        assert families["obflow_book_valid"].samples[0].value == 1.0
        assert main(["latency", "--url", f"http://127.0.0.1:{port}/metrics"]) == 0
        table = capsys.readouterr().out
        assert "end_to_end" in table and "SYNTH" in table
    finally:
        server.shutdown()
