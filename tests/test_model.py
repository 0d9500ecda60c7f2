"""Labels, walk-forward splits, scores and the training config of engine/model."""

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.model.config import TrainConfig
from engine.model.config import load_train_config
from engine.model.config import parse_train_config
from engine.model.labels import LabelConfig
from engine.model.labels import build_labels
from engine.model.labels import direction
from engine.model.labels import short_duration
from engine.model.metrics import auc
from engine.model.metrics import balanced_accuracy
from engine.model.metrics import direction_scores
from engine.model.metrics import hit_rate
from engine.model.metrics import log_loss
from engine.model.metrics import return_scores
from engine.model.splits import SplitError
from engine.model.splits import final_split
from engine.model.splits import walk_forward

S = 1_000_000_000
MIN = 60 * S


def _frame(sessions):
    """sessions: list of (name, [(t_seconds, mid), ...])."""
    rows = [(name, int(t * S), mid) for name, points in sessions for t, mid in points]
    return pd.DataFrame(rows, columns=["session", "ts_ns", "mid"])


# --- labels ----------------------------------------------------------------------------------

def test_output_names_follow_the_horizons():
    assert LabelConfig().output_names == ("p_up_1m", "p_up_5m", "expected_log_return")
    assert LabelConfig(direction_horizons=("10s", "1h")).output_names[:2] == \
        ("p_up_10s", "p_up_1h")
    assert [short_duration(ms) for ms in (250, 1000, 90_000, 60_000)] == \
        ["250ms", "1s", "90s", "1m"]


def test_direction_uses_the_dead_band_and_leaves_unchanged_rows_out():
    r = np.array([2e-4, 5e-5, 0.0, -5e-5, -2e-4, np.nan])
    np.testing.assert_array_equal(direction(r, 0.0), [1, 1, np.nan, 0, 0, np.nan])
    np.testing.assert_array_equal(direction(r, 1.0), [1, np.nan, np.nan, np.nan, 0, np.nan])


def test_labels_take_the_last_mid_at_or_before_the_horizon_within_the_session():
    # irregular sampling: at t=0 the 1-minute label must use the mid at t=55 (last at or
    # before 60), not the one at 61; rows within a minute of the session end get none.
    frame = _frame([("a", [(0, 100.0), (30, 101.0), (55, 99.0), (61, 120.0), (130, 120.0)]),
                    ("b", [(0, 50.0), (60, 51.0), (300, 49.0), (400, 49.0)])])
    labels = build_labels(frame, LabelConfig(direction_horizons=("1min", "5min"),
                                             return_horizon="1min"))
    r = labels.targets["expected_log_return"]
    np.testing.assert_allclose(r[:3], [np.log(99 / 100), np.log(120 / 101),
                                       np.log(120 / 99)])
    assert r[3] == pytest.approx(0.0)  # 61 -> 121: last mid at or before is the one at 61
    assert np.isnan(r[4])  # horizon past the session's last sample
    # session b never reads session a's mids and vice versa
    np.testing.assert_allclose(r[5:7], [np.log(51 / 50), np.log(51 / 51)])
    assert r[7] == pytest.approx(0.0) and np.isnan(r[8])
    np.testing.assert_array_equal(labels.targets["p_up_1m"][:5], [0, 1, 1, np.nan, np.nan])
    up5 = labels.targets["p_up_5m"]
    assert np.isnan(up5[:5]).all()  # session a is shorter than 5 minutes after every row
    assert up5[5] == 0 and up5[6] == 0 and np.isnan(up5[7:]).all()


def test_labels_never_look_past_the_horizon():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.integers(1, 20, 400)).astype(float)
    mid = 100 + np.cumsum(rng.normal(0, 0.05, 400))
    frame = _frame([("s", list(zip(t, mid, strict=True)))])
    config = LabelConfig(direction_horizons=("1min",), return_horizon="1min")
    base = build_labels(frame, config).targets
    i = 100
    horizon_end = frame.ts_ns[i] + MIN
    later = frame.ts_ns > horizon_end
    changed = frame.copy()
    changed.loc[later, "mid"] *= 1.5  # rewrite everything after t + h
    after = build_labels(changed, config).targets
    for name in ("p_up_1m", "expected_log_return"):
        np.testing.assert_array_equal(after[name][: i + 1], base[name][: i + 1])
    # ...while the last mid at or before t + h does move the label
    last = np.flatnonzero(frame.ts_ns <= horizon_end)[-1]
    changed = frame.copy()
    changed.loc[last, "mid"] = frame.mid[i] * 1.01
    assert build_labels(changed, config).targets["expected_log_return"][i] == \
        pytest.approx(np.log(1.01))


# --- walk-forward splits ---------------------------------------------------------------------

def test_walk_forward_purges_before_validation_and_test_blocks():
    ts = np.arange(6000, dtype=np.int64) * S  # one row a second
    purge = 5 * MIN
    folds = walk_forward(ts, folds=3, valid_fraction=0.2, purge_ns=purge)
    assert [f.index for f in folds] == [1, 2, 3]
    tests = np.concatenate([f.test for f in folds])
    np.testing.assert_array_equal(tests, np.arange(1500, 6000))  # blocks 1-3 of 4, in order
    for f in folds:
        assert ts[f.train].max() + purge < ts[f.valid].min()
        assert ts[f.valid].max() + purge < ts[f.test].min()
    # fold 1: history 0..1499; rows from 1200 on are within 300 s of the test block; the
    # validation set is the last 20% of 0..1199, and training ends 300 s before it
    np.testing.assert_array_equal(folds[0].valid, np.arange(960, 1200))
    np.testing.assert_array_equal(folds[0].train, np.arange(0, 660))
    assert len(folds[2].train) > len(folds[1].train) > len(folds[0].train)  # expanding
    last = final_split(ts, 0.2, purge)
    np.testing.assert_array_equal(last.valid, np.arange(4800, 6000))
    assert ts[last.train].max() + purge < ts[last.valid].min() and len(last.test) == 0


def test_walk_forward_refuses_data_too_short_for_the_purge():
    ts = np.arange(900, dtype=np.int64) * S
    with pytest.raises(SplitError, match="purge"):
        walk_forward(ts, folds=2, valid_fraction=0.2, purge_ns=5 * MIN)
    with pytest.raises(SplitError, match="sorted"):
        walk_forward(ts[::-1], folds=2, valid_fraction=0.2, purge_ns=S)


# --- scores ----------------------------------------------------------------------------------

def test_auc_matches_pair_counting():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.4).astype(float)
    p = np.round(rng.random(300) + 0.3 * y, 2)  # ties on purpose
    pos, neg = p[y == 1], p[y == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert auc(y, p) == pytest.approx(pairs, abs=1e-12)
    assert auc(np.ones(3), np.ones(3)) is None


def test_scores_on_a_hand_example():
    y = np.array([1, 1, 0, 0, np.nan])
    p = np.array([0.9, 0.4, 0.2, 0.6, 0.7])
    r = np.array([0.01, 0.02, -0.01, 0.0, 0.0])
    s = direction_scores(y, p, r, train_up_rate=0.3)
    assert s["n"] == 4 and s["accuracy"] == 0.5 and s["balanced_accuracy"] == 0.5
    assert s["auc"] == 0.75
    assert s["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.8, 0.4])), abs=1e-6)
    assert s["hit_rate"] == pytest.approx(2 / 3, abs=1e-6)  # rows with r != 0: 1, 2, 3
    b = s["baseline"]
    assert b["predicts"] == "down" and b["accuracy"] == 0.5 and b["balanced_accuracy"] == 0.5
    assert b["log_loss"] == pytest.approx(-np.mean(np.log([0.3, 0.3, 0.7, 0.7])), abs=1e-6)
    assert balanced_accuracy(np.array([1, 1, 1, 0]), np.array([1, 1, 1, 1])) == 0.5
    assert log_loss(np.array([1.0]), np.array([1.0])) < 1e-12
    assert hit_rate(np.array([1.0, -1.0, 0.0]), np.array([2.0, 3.0, 1.0])) == 0.5


def test_return_scores_against_the_training_mean():
    r = np.array([1e-4, -1e-4, 2e-4, np.nan])
    s = return_scores(r.copy(), r, train_mean=0.0)
    assert s["n"] == 3 and s["rmse_bps"] == 0.0 and s["r2_oos"] == 1.0
    assert s["hit_rate"] == 1.0 and s["ic"] == pytest.approx(1.0)
    assert s["baseline"]["rmse_bps"] == pytest.approx(np.sqrt(6 / 3), abs=1e-6)
    constant = return_scores(np.zeros(3), r[:3], train_mean=0.0)
    assert constant["ic"] is None and constant["ic_pearson"] is None  # undefined, not NaN


# --- config ----------------------------------------------------------------------------------

def test_train_config_file_spells_out_the_defaults():
    config = load_train_config("configs/train.toml")
    assert config == TrainConfig()
    assert (config.lightgbm.max_depth, config.lightgbm.num_leaves,
            config.lightgbm.learning_rate) == (6, 31, 0.05)
    params = config.lightgbm.params("binary", "auc")
    assert params["deterministic"] and params["seed"] == 7 and params["num_threads"] == 1
    assert load_train_config("configs/train_goog.toml").validation.folds == 1


def test_train_config_refuses_bad_values_by_name():
    with pytest.raises(ConfigError, match=r"lightgbm\.num_leafs"):
        parse_train_config({"lightgbm": {"num_leafs": 31}})
    with pytest.raises(ConfigError, match=r"validation\.purge"):
        parse_train_config({"validation": {"purge": "1min"}}).validation.purge_ns(
            LabelConfig())
    with pytest.raises(ConfigError, match="max_depth"):
        parse_train_config({"lightgbm": {"max_depth": 20}})
    with pytest.raises(ConfigError, match="unknown features"):
        parse_train_config({"features": {"exclude": ["nope"]}})
    with pytest.raises(ConfigError, match="model"):
        parse_train_config({"model": {}})
