"""Bus, latency histograms and config: the plumbing every stage relies on."""

import asyncio

import numpy as np
import pytest

from engine.bus import Bus
from engine.bus import Topic
from engine.config import parse_config
from engine.errors import ConfigError
from engine.latency import LatencyHistogram
from engine.latency import StageLatency


async def test_bus_delivers_in_publish_order_to_every_subscriber():
    bus = Bus()
    a = bus.subscribe(Topic.MARKET_DATA, "a", maxsize=8)
    b = bus.subscribe(Topic.MARKET_DATA, "b", maxsize=8)
    fills = bus.subscribe(Topic.FILLS, "f")
    for k in range(5):
        await bus.publish(Topic.MARKET_DATA, k)
    assert [await a.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert [await b.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert fills.queue.empty()


async def test_full_subscriber_applies_backpressure_or_counts_drops():
    bus = Bus()
    sub = bus.subscribe(Topic.MARKET_DATA, "slow", maxsize=2)
    await bus.publish(Topic.MARKET_DATA, 1)
    await bus.publish(Topic.MARKET_DATA, 2)
    blocked = asyncio.create_task(bus.publish(Topic.MARKET_DATA, 3))
    await asyncio.sleep(0)
    assert not blocked.done()  # waits for room
    assert await sub.get() == 1
    await asyncio.wait_for(blocked, 1)
    assert bus.publish_nowait(Topic.MARKET_DATA, 4) == 1
    (stats,) = bus.statistics()
    assert (stats.depth, stats.peak_depth, stats.delivered, stats.dropped) == (2, 2, 3, 1)


def test_bus_refuses_an_unbounded_queue():
    with pytest.raises(ValueError, match="maxsize must be positive"):
        Bus().subscribe(Topic.FILLS, "x", maxsize=0)


def test_histogram_quantiles_are_within_a_bucket_of_the_exact_ones():
    rng = np.random.default_rng(3)
    samples = rng.lognormal(mean=8, sigma=1.2, size=20_000).astype(np.int64)
    hist = LatencyHistogram("x", budget_ns=10_000)
    for s in samples.tolist():
        hist.record(s)
    for q in (0.5, 0.99, 0.999):
        exact = np.quantile(samples, q, method="inverted_cdf")
        assert exact <= hist.quantile(q) <= exact * 1.07
    assert hist.max_ns == samples.max()
    assert hist.over_budget == int((samples > 10_000).sum())
    assert hist.quantile(1.0) == samples.max()


def test_small_latencies_are_exact():
    hist = LatencyHistogram("x")
    for ns in (0, 3, 15, 16, 17):
        hist.record(ns)
    assert hist.quantile(0.2) == 0 and hist.quantile(0.4) == 3 and hist.quantile(1.0) == 17


def test_stage_table_lists_stages_in_order():
    lat = StageLatency({"features": 1000})
    lat.record("book", 500)
    lat.record("features", 2000)
    assert list(lat.summary()) == ["book", "features"]
    assert lat.summary()["features"]["over_budget"] == 1
    assert "features" in lat.table().splitlines()[2]


@pytest.mark.parametrize(("raw", "field"), [
    ({"risk": {"max_position": 5}}, "risk.max_position"),
    ({"risk": {"max_position_lots": "5"}}, "risk.max_position_lots"),
    ({"risk": {"max_position_lots": -1}}, "risk"),
    ({"replay": {"decision_interval_ms": 0}}, "replay"),
    ({"strategy": {"name": "nope"}}, "strategy.name"),
    ({"strategy": {"lag": 5}}, "strategy.lag"),
    ({"bogus": {}}, "bogus"),
    ({"instrument": {"tick_size": "abc"}}, "instrument"),
])
def test_config_errors_name_the_field(raw, field):
    with pytest.raises(ConfigError) as info:
        parse_config(raw).instrument.spec()
    assert info.value.field == field


def test_config_defaults_and_values_round_trip():
    config = parse_config({"strategy": {"threshold": 0.5, "sign": -1},
                           "execution": {"order_latency_us": 250}})
    assert config.strategy.threshold == 0.5 and config.strategy.sign == -1
    assert config.execution.order_latency_us == 250
    assert config.as_dict()["strategy"]["name"] == "imbalance_momentum"
