"""Training configuration (``obflow train --config FILE``): labels, validation, LightGBM.

A training config is its own TOML file with three tables; every key is optional and
unknown keys are refused with their name::

    [labels]
    direction_horizons = ["1min", "5min"]
    return_horizon = "1min"
    dead_band_bps = 0.0

    [features]
    exclude = ["microprice", "time_of_day_h"]   # never split on these

    [validation]
    folds = 4               # walk-forward test blocks
    valid_fraction = 0.2    # early-stopping tail of each fold's history
    purge = "5min"          # gap before each validation and test block (>= longest horizon)

    [lightgbm]
    max_depth = 6
    num_leaves = 31
    learning_rate = 0.05
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from engine.config import build_section
from engine.errors import ConfigError
from engine.features.registry import ALL_NAMES
from engine.features.sampling import parse_duration_ms
from engine.model.labels import NS_PER_MS
from engine.model.labels import LabelConfig
from engine.model.trees import MAX_DEPTH


@dataclass(frozen=True)
class ModelFeaturesConfig:
    """Which columns of the matrix the models may split on.

    exclude: features the trees never use (their column is hidden from LightGBM as all
        missing, so the models still take the full row in schema order). The defaults are
        a price level and the clock: with them trees learn where each training day's price
        went at what time, which does not carry over to another day (on the synthetic
        walk-forward folds, leaving them out added about one point of 1-minute accuracy).
    """

    exclude: tuple[str, ...] = ("microprice", "time_of_day_h")

    def __post_init__(self) -> None:
        unknown = [n for n in self.exclude if n not in ALL_NAMES]
        if unknown:
            raise ValueError(f"unknown features in exclude: {', '.join(unknown)}")


@dataclass(frozen=True)
class ValidationConfig:
    """Walk-forward splits.

    folds: the time-ordered rows are cut into ``folds + 1`` equal blocks; fold k tests on
        block k and learns from everything before it.
    valid_fraction: the last share of a fold's history that early stopping watches.
    purge: rows whose labels could reach into the next block are dropped: a gap of this
        length before each validation and each test block. Empty: the longest label horizon;
        shorter than that is refused.
    early_stopping_rounds: stop when the validation metric has not improved for this many
        rounds.
    direction_metric: what early stopping watches for the direction models: ``auc`` (the
        ranking, which a shift in a day's share of up moves leaves alone) or
        ``binary_logloss`` (which punishes such a shift). The return model watches ``l2``.
    """

    folds: int = 4
    valid_fraction: float = 0.2
    purge: str = ""
    early_stopping_rounds: int = 50
    direction_metric: str = "auc"

    def __post_init__(self) -> None:
        if self.folds < 1:
            raise ValueError(f"folds must be at least 1, got {self.folds}")
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid_fraction must lie in (0, 1), got {self.valid_fraction}")
        if self.early_stopping_rounds < 1:
            raise ValueError("early_stopping_rounds must be at least 1")
        if self.direction_metric not in ("auc", "binary_logloss"):
            raise ValueError(f"direction_metric must be auc or binary_logloss, got "
                             f"{self.direction_metric!r}")

    def purge_ns(self, labels: LabelConfig) -> int:
        longest = labels.longest_horizon_ns
        if not self.purge:
            return longest
        purge = parse_duration_ms(self.purge) * NS_PER_MS
        if purge < longest:
            raise ConfigError("validation.purge", f"{self.purge} is shorter than the longest "
                              f"label horizon ({longest // NS_PER_MS} ms)")
        return purge


@dataclass(frozen=True)
class LightGBMConfig:
    """LightGBM parameters shared by the three models (objective and metric are set per
    model). ``num_boost_round`` caps the trees per model: with early stopping it is rarely
    reached, and it bounds the predictor's cost."""

    num_boost_round: int = 100
    max_depth: int = 6
    num_leaves: int = 31
    learning_rate: float = 0.05
    min_data_in_leaf: int = 1000
    feature_fraction: float = 0.5
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 10.0
    max_bin: int = 255
    seed: int = 7
    num_threads: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= MAX_DEPTH:
            raise ValueError(f"max_depth must lie in 1..{MAX_DEPTH} (the compiled predictor's "
                             f"limit), got {self.max_depth}")
        if self.num_leaves < 2 or self.num_boost_round < 1 or self.num_threads < 1:
            raise ValueError("num_leaves >= 2, num_boost_round >= 1 and num_threads >= 1")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must lie in (0, 1], got {self.learning_rate}")

    def params(self, objective: str, metric: str) -> dict:
        """LightGBM parameters for one model, deterministic for fixed inputs."""
        p = asdict(self)
        del p["num_boost_round"]
        return {**p, "objective": objective, "metric": metric, "deterministic": True,
                "force_col_wise": True, "verbosity": -1, "seed": self.seed}


@dataclass(frozen=True)
class TrainConfig:
    labels: LabelConfig = field(default_factory=LabelConfig)
    features: ModelFeaturesConfig = field(default_factory=ModelFeaturesConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)

    def as_dict(self) -> dict:
        return asdict(self)


_SECTIONS = {"labels": LabelConfig, "features": ModelFeaturesConfig,
             "validation": ValidationConfig, "lightgbm": LightGBMConfig}


def parse_train_config(raw: dict, source: str = "<config>") -> TrainConfig:
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(unknown[0], f"unknown section in {source} "
                          f"(known: {', '.join(sorted(_SECTIONS))})")
    return TrainConfig(**{name: build_section(cls, raw.get(name, {}), name)
                          for name, cls in _SECTIONS.items()})


def load_train_config(path: str | Path | None) -> TrainConfig:
    """The training config in ``path``; the defaults when ``path`` is None."""
    if path is None:
        return TrainConfig()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("--config", f"no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path}: {exc}") from None
    return parse_train_config(raw, str(path))
