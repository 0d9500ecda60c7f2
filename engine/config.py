"""Engine configuration from TOML: frozen, typed sections that refuse unknown keys.

Each stage owns its config class (``RiskConfig`` beside ``risk.py`` and so on); this module
only reads the file, checks types and names the field of any problem.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.execution import ExecutionConfig
from engine.features import ALL_NAMES
from engine.features import FeatureParams
from engine.features import FeatureSchema
from engine.instrument import InstrumentSpec
from engine.risk import RiskConfig
from engine.venue_config import VenueConfig


@dataclass(frozen=True)
class DataConfig:
    """path: a LOBSTER message file or a folder of pairs (``--data`` overrides it)."""

    path: str = ""


@dataclass(frozen=True)
class InstrumentConfig:
    """tick_size and lot_size are decimal strings; price_scale is feed units per currency."""

    symbol: str = "LOBSTER"
    tick_size: str = "0.01"
    lot_size: str = "1"
    price_scale: int = 10_000

    def spec(self) -> InstrumentSpec:
        try:
            return InstrumentSpec(self.symbol, Decimal(self.tick_size), Decimal(self.lot_size),
                                  self.price_scale)
        except (InvalidOperation, ValueError) as exc:
            raise ConfigError("instrument", str(exc)) from None


@dataclass(frozen=True)
class ReplayConfig:
    """Decision points and batching.

    decision_interval_ms: a decision every this much event time (0: off).
    decision_every_messages: a decision after this many messages (0: off).
    chunk_events: events per batch on the bus.
    compiled_loop: a compiled strategy's decisions that emit nothing stay in the compiled
        loop (``engine.decision_loop``); the report is the same either way, only faster.
    """

    decision_interval_ms: int = 100
    decision_every_messages: int = 0
    chunk_events: int = 65_536
    compiled_loop: bool = True

    def __post_init__(self) -> None:
        if self.decision_interval_ms < 0 or self.decision_every_messages < 0:
            raise ValueError("decision rules must be non-negative")
        if not (self.decision_interval_ms or self.decision_every_messages):
            raise ValueError("set decision_interval_ms or decision_every_messages")
        if self.chunk_events <= 0:
            raise ValueError(f"chunk_events must be positive, got {self.chunk_events}")


@dataclass(frozen=True)
class LatencyConfig:
    """Stage budgets in microseconds; samples over budget are counted."""

    features_budget_us: int = 1_000
    model_budget_us: int = 1_000
    end_to_end_budget_us: int = 50_000

    def budgets_ns(self) -> dict[str, int]:
        return {"features": self.features_budget_us * 1000, "model": self.model_budget_us * 1000,
                "end_to_end": self.end_to_end_budget_us * 1000}


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature subset and parameters (see ``obflow features --list``).

    names: features handed to the strategy and model, in this order; empty means all.
    vpin_bucket_lots, slope_lots, large_mult, ofi_weights: see ``FeatureParams``.
    """

    names: tuple[str, ...] = ()
    vpin_bucket_lots: int = 5_000
    slope_lots: int = 1_000
    large_mult: float = 2.0
    ofi_weights: tuple[float, ...] = (0.2, 0.2, 0.2, 0.2, 0.2)

    def schema(self) -> FeatureSchema:
        try:
            params = FeatureParams(self.vpin_bucket_lots, self.slope_lots, self.large_mult,
                                   tuple(self.ofi_weights))
            return FeatureSchema(tuple(self.names) or ALL_NAMES, params)
        except ValueError as exc:
            raise ConfigError("features", str(exc)) from None


@dataclass(frozen=True)
class ModelConfig:
    """path: a model folder written by ``obflow train`` ("" runs without a model)."""

    path: str = ""


@dataclass(frozen=True)
class ReportConfig:
    """out: folder for report.json (``--out`` overrides it)."""

    out: str = "build/report"


@dataclass(frozen=True)
class MetricsConfig:
    """port: serve Prometheus metrics here during ``obflow live`` (0: no endpoint).
    addr: the interface to bind (loopback unless a scraper elsewhere needs it)."""

    port: int = 0
    addr: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is outside 0..65535")


@dataclass(frozen=True)
class EngineConfig:
    data: DataConfig = field(default_factory=DataConfig)
    instrument: InstrumentConfig = field(default_factory=InstrumentConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    #: the strategy: a registered name, ``pkg.module:Class`` or ``path/file.py:Class``
    strategy_name: str = "imbalance_momentum"
    strategy: Any = None  #: its config (``config_class``); None: its defaults, or none
    #: ``[strategy.NAME]`` tables of the file: built configs of registered strategies, raw
    #: tables of others (checked when ``with_strategy`` picks one)
    strategy_params: dict = field(default_factory=dict)
    risk: RiskConfig = field(default_factory=RiskConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    venue: VenueConfig = field(default_factory=VenueConfig)  # live feed (connectors.config)

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        params = self.strategy
        out["strategy"] = {"name": self.strategy_name,
                           **(dataclasses.asdict(params) if params is not None else {})}
        del out["strategy_name"]
        del out["strategy_params"]
        return out


_SECTIONS = {"data": DataConfig, "instrument": InstrumentConfig, "replay": ReplayConfig,
             "features": FeaturesConfig, "model": ModelConfig,
             "risk": RiskConfig, "execution": ExecutionConfig, "latency": LatencyConfig,
             "report": ReportConfig, "metrics": MetricsConfig,
             "venue": VenueConfig}


def _accepts(annotation: Any, value: Any) -> bool:
    if annotation is Any:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_accepts(a, value) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is tuple:
        (item, *_) = typing.get_args(annotation)
        return isinstance(value, list | tuple) and all(_accepts(item, v) for v in value)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def build_section(cls: type, table: dict, section: str) -> Any:
    """Instantiate ``cls`` from a TOML table, refusing unknown keys and wrong types."""
    if not isinstance(table, dict):
        raise ConfigError(section, "must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in table.items():
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{section}.{key}", f"unknown key (known: {known})")
        if not _accepts(hints[key], value):
            raise ConfigError(f"{section}.{key}",
                              f"expected {getattr(hints[key], '__name__', hints[key])}, "
                              f"got {type(value).__name__} {value!r}")
    table = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    try:
        return cls(**table)
    except ValueError as exc:
        raise ConfigError(section, str(exc)) from None


def with_strategy(config: EngineConfig, spec: str, key: str = "--strategy") -> EngineConfig:
    """The same config running strategy ``spec`` (a name, or an import or file path), with
    its ``[strategy.NAME]`` table from the file or its defaults."""
    from engine.strategy_loader import build_params
    from engine.strategy_loader import strategy_class

    cls = strategy_class(spec, key)
    own = getattr(cls, "name", "") or cls.__name__
    params = config.strategy_params.get(spec, config.strategy_params.get(own))
    if params is None or isinstance(params, dict):
        params = build_params(cls, params or {}, f"strategy.{own}")
    return dataclasses.replace(config, strategy_name=spec, strategy=params)


def _strategy(raw: dict) -> tuple[str, Any, dict]:
    """``(spec, config, per-strategy tables)`` from the ``[strategy]`` table."""
    from engine.strategy_loader import build_params
    from engine.strategy_loader import registered
    from engine.strategy_loader import strategy_class

    table = dict(raw)
    name, path = table.pop("name", None), table.pop("path", None)
    if name is not None and path is not None:
        raise ConfigError("strategy", "give name (a registered strategy) or path "
                          "('pkg.module:Class', 'file.py:Class'), not both")
    for value, key in ((name, "strategy.name"), (path, "strategy.path")):
        if value is not None and not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {type(value).__name__} {value!r}")
    spec = path or name or "imbalance_momentum"
    cls = strategy_class(spec, "strategy.path" if path else "strategy.name")
    own = getattr(cls, "name", "") or cls.__name__
    known = registered()
    per: dict[str, Any] = {}
    for key in [k for k, v in table.items() if isinstance(v, dict)]:
        sub = table.pop(key)
        if key in (own, spec):
            per[spec] = build_params(cls, sub, f"strategy.{key}")
        elif key in known:
            per[key] = build_params(strategy_class(key, f"strategy.{key}"), sub,
                                    f"strategy.{key}")
        else:
            per[key] = sub
    if table:
        if spec in per:
            raise ConfigError("strategy", f"parameters for {own!r} both in [strategy] and in "
                              f"[strategy.{own}]")
        per[spec] = build_params(cls, table, "strategy")
    params = per[spec] if spec in per else build_params(cls, {}, "strategy")
    return spec, params, per


def parse_config(raw: dict, source: str = "<config>") -> EngineConfig:
    unknown = set(raw) - set(_SECTIONS) - {"strategy"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], f"unknown section in {source} "
                          f"(known: {', '.join(sorted([*_SECTIONS, 'strategy']))})")
    sections = {name: build_section(cls, raw.get(name, {}), name)
                for name, cls in _SECTIONS.items()}
    spec, params, per = _strategy(raw.get("strategy", {}))
    return EngineConfig(strategy_name=spec, strategy=params, strategy_params=per, **sections)


def load_config(path: str | Path) -> EngineConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("--config", f"no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path}: {exc}") from None
    return parse_config(raw, str(path))
