"""Every streaming feature against an independent batch reference (tests/feature_reference.py),
on the real LOBSTER GOOG day and on a synthetic day."""

import numpy as np
import orjson
import pytest
from data_paths import goog_pair
from feature_reference import reference_features

from connectors.lobster import LobsterPair
from connectors.lobster import load_day
from connectors.lobster import utc_offset_ns
from engine.app.cli import main
from engine.config import EngineConfig
from engine.config import FeaturesConfig
from engine.config import InstrumentConfig
from engine.config import ReplayConfig
from engine.errors import ConfigError
from engine.features import ALL_NAMES
from engine.features import FeatureSchema
from engine.instrument import lobster_instrument
from engine.pipeline import Engine
from replay.player import ReplaySession
from replay.player import run


class Recorder:
    """A strategy that only remembers what it saw."""

    name = "recorder"

    def __init__(self):
        self.ts = []
        self.rows = []

    def on_decision(self, view):
        self.ts.append(view.ts_ns)
        self.rows.append(view.features.copy())
        return []


def streaming_vs_reference(message, tick, interval_ms, features=None):
    day = load_day(LobsterPair.from_message(message), lobster_instrument("X", tick))
    features = features or FeaturesConfig()
    config = EngineConfig(instrument=InstrumentConfig(symbol="X", tick_size=tick),
                          replay=ReplayConfig(decision_interval_ms=interval_ms),
                          features=features)
    recorder = Recorder()
    engine = Engine(config, config.instrument.spec(), strategy=recorder)
    offset = utc_offset_ns(day.pair.date)
    run(engine, [ReplaySession("day", day.events, offset)], chunk_events=50_000)
    got = np.array(recorder.rows)
    upt = config.instrument.spec().raw_units_per_tick
    params = engine.schema.params
    want = reference_features(day.messages, day.orderbook, upt, day.session_start_ns, offset,
                              recorder.ts, tick=float(tick), vpin_bucket=params.vpin_bucket_lots,
                              slope_lots=params.slope_lots, large_mult=params.large_mult,
                              weights=params.ofi_weights)
    return got, want, engine.schema.names


def assert_parity(got, want, names):
    assert set(want) == set(ALL_NAMES)
    for j, name in enumerate(names):
        np.testing.assert_allclose(got[:, j], want[name], rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=name)


def test_every_feature_matches_the_reference_on_the_goog_day():
    got, want, names = streaming_vs_reference(goog_pair(10)[0], "0.0001", interval_ms=1000,
                                              features=FeaturesConfig(vpin_bucket_lots=2000))
    assert len(got) > 20_000
    assert_parity(got, want, names)
    # The features are alive on this day, not constant or all missing.
    for name in ("ofi_l3_1m", "vpin", "kyle_lambda_5m", "resilience_depth_ratio",
                 "large_trades_1m", "return_1m", "spread_zscore_1m"):
        column = got[:, names.index(name)]
        assert np.isfinite(column).sum() > 1000 and np.nanstd(column) > 0, name


def test_every_feature_matches_the_reference_on_a_synthetic_day(synth_dir):
    (message,) = synth_dir.glob("*_message_10.csv")
    got, want, names = streaming_vs_reference(message, "0.01", interval_ms=250)
    assert_parity(got, want, names)
    assert np.nanmax(got[:, names.index("vpin")]) > 0


def test_a_feature_subset_keeps_the_configured_order():
    names = ("vpin", "ofi_l1_1s", "inventory_imbalance")
    schema = FeaturesConfig(names=names).schema()
    assert schema.names == names
    assert schema.columns.tolist() == [ALL_NAMES.index(n) for n in names]
    assert schema.hash != FeatureSchema().hash
    assert FeaturesConfig(vpin_bucket_lots=10).schema().hash != FeatureSchema().hash


def test_unknown_features_and_missing_strategy_inputs_are_refused():
    with pytest.raises(ConfigError, match="unknown features: nope"):
        FeaturesConfig(names=("nope",)).schema()
    config = EngineConfig(features=FeaturesConfig(names=("vpin",)))
    with pytest.raises(ConfigError, match="needs inventory_imbalance"):
        Engine(config, config.instrument.spec())


def test_features_list_json(capsys):
    assert main(["features", "--list", "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert len(listed["features"]) >= 50
    assert [f["name"] for f in listed["features"]] == list(ALL_NAMES)
    assert listed["schema_hash"] == FeatureSchema().hash


def test_vpin_buckets_of_huge_trades_match_one_bucket_at_a_time():
    """Whole buckets close in one step; the state equals filling them one by one."""
    from engine.features.state import S_SIZE
    from engine.features.state import S_VPIN_BUY
    from engine.features.state import S_VPIN_DONE
    from engine.features.state import S_VPIN_RING
    from engine.features.state import S_VPIN_SELL
    from engine.features.state import VPIN_BUCKETS
    from engine.features.update import _vpin_add

    def slow(state, bucket, q, is_buy):
        left = q
        while left > 0:
            take = min(left, bucket - state[S_VPIN_BUY] - state[S_VPIN_SELL])
            state[S_VPIN_BUY if is_buy else S_VPIN_SELL] += take
            left -= take
            if state[S_VPIN_BUY] + state[S_VPIN_SELL] >= bucket:
                k = int(state[S_VPIN_DONE]) % VPIN_BUCKETS
                state[S_VPIN_RING + k] = abs(state[S_VPIN_BUY] - state[S_VPIN_SELL])
                state[S_VPIN_DONE] += 1
                state[S_VPIN_BUY] = state[S_VPIN_SELL] = 0.0

    rng = np.random.default_rng(5)
    fast, ref = np.zeros(S_SIZE), np.zeros(S_SIZE)
    bucket = 7.0
    sizes = np.concatenate([rng.integers(1, 5, 300), rng.integers(6, 400, 300),
                            [7.0, 350.0, 351.0, 3.0, 7.0 * 60]])
    for q, buy in zip(rng.permutation(sizes), rng.random(len(sizes)) < 0.5, strict=True):
        _vpin_add(fast, bucket, float(q), bool(buy))
        slow(ref, bucket, float(q), bool(buy))
        assert np.array_equal(fast, ref)
    assert fast[S_VPIN_DONE] > 5 * VPIN_BUCKETS
    _vpin_add(fast, bucket, 7.0 * 10**12, True)  # a trillion buckets: one step
    assert fast[S_VPIN_DONE] == ref[S_VPIN_DONE] + 10**12
