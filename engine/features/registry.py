"""The feature registry: names, order, descriptions and parameters, with a schema hash.

``ALL_FEATURES`` is the order in which ``vector.evaluate`` writes values. A configured subset
is a selection of columns; the schema (names, order, parameters, version) hashes to the
string a model artifact must carry to be loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

import numpy as np
import orjson

from engine.features.state import OFI_LEVELS
from engine.features.state import P_LARGE_MULT
from engine.features.state import P_OFI_WEIGHTS
from engine.features.state import P_SIZE
from engine.features.state import P_SLOPE_LOTS
from engine.features.state import P_TICK
from engine.features.state import P_VPIN_BUCKET

SCHEMA_VERSION = 2
WINDOW_NAMES = ("1s", "10s", "1m", "5m")


def _features() -> tuple[tuple[str, str], ...]:
    out = []
    for w in WINDOW_NAMES:
        for m in range(1, OFI_LEVELS + 1):
            out.append((f"ofi_l{m}_{w}", f"order-flow imbalance at level {m} over {w} (lots)"))
        out.append((f"ofi_integrated_{w}", f"weighted mean of the level 1-5 OFIs over {w}"))
    out += [
        ("depth_imbalance_l1", "(bid - ask) / (bid + ask), best level sizes"),
        ("depth_imbalance_l5", "(bid - ask) / (bid + ask), sizes of 5 levels"),
        ("depth_imbalance_l10", "(bid - ask) / (bid + ask), sizes of 10 levels"),
        ("volume_imbalance_weighted", "depth imbalance of 10 levels weighted 1/level"),
        ("inventory_imbalance", "-(BS - AS) / (BS + AS + eps), best level sizes"),
        ("spread_bps", "ask - bid over mid, basis points"),
        ("spread_zscore_1m", "spread against its mean and sd over messages of 1 minute"),
        ("total_depth_l10", "bid plus ask size of 10 levels (lots)"),
        ("depth_ratio_l5", "log(bid size / ask size) over 5 levels"),
        ("microprice", "(bid x ask size + ask x bid size) / (bid + ask size), price units"),
        ("microprice_distance_bps", "microprice minus mid over mid, basis points"),
        ("book_slope_bid_bps", "mid minus average price of selling slope_lots, bps"),
        ("book_slope_ask_bps", "average price of buying slope_lots minus mid, bps"),
        ("resilience_depth_ratio", "5-level depth of the side the last large trade hit, now "
                                   "over just before it"),
        ("time_since_large_trade_s", "seconds since the last large trade"),
        ("buy_volume_1m", "buyer-initiated volume over 1 minute (lots)"),
        ("sell_volume_1m", "seller-initiated volume over 1 minute (lots)"),
        ("trade_imbalance_1m", "(buy - sell) / (buy + sell) volume over 1 minute"),
        ("large_trades_1m", "trades over 1 minute larger than large_mult x 5-minute average"),
        ("avg_trade_size_5m", "average trade size over 5 minutes (lots)"),
        ("signed_volume_10s", "buy minus sell volume over 10 seconds (lots)"),
        ("vpin", "mean |buy - sell| / bucket over the last 50 volume buckets"),
        ("kyle_lambda_1m", "OLS slope of mid change (ticks) on signed volume, 1 minute"),
        ("kyle_lambda_5m", "OLS slope of mid change (ticks) on signed volume, 5 minutes"),
        ("return_10s", "log mid return over 10 seconds"),
        ("return_1m", "log mid return over 1 minute"),
        ("realized_vol_1m_bps", "sqrt of summed squared mid changes over 1 minute, bps"),
        ("vwap_distance_1m_bps", "1-minute trade VWAP minus mid over mid, bps"),
        ("time_of_day_h", "exchange local time of day, hours"),
        ("time_since_last_trade_s", "seconds since the last trade"),
        ("event_intensity_10s", "messages per second over 10 seconds"),
        ("trade_intensity_1m", "trades per second over 1 minute"),
    ]
    return tuple(out)


ALL_FEATURES = _features()
ALL_NAMES = tuple(name for name, _ in ALL_FEATURES)


@dataclass(frozen=True)
class FeatureParams:
    """Feature parameters (part of the schema hash).

    vpin_bucket_lots: VPIN volume bucket size.
    slope_lots: size walked on each side for the book slope.
    large_mult: a trade is large above this multiple of the 5-minute average size.
    ofi_weights: weights of levels 1-5 in the integrated OFI (equal by default).
    """

    vpin_bucket_lots: int = 5_000
    slope_lots: int = 1_000
    large_mult: float = 2.0
    ofi_weights: tuple[float, ...] = (0.2, 0.2, 0.2, 0.2, 0.2)

    def __post_init__(self) -> None:
        if self.vpin_bucket_lots <= 0 or self.slope_lots <= 0 or self.large_mult <= 0:
            raise ValueError("vpin_bucket_lots, slope_lots and large_mult must be positive")
        if len(self.ofi_weights) != OFI_LEVELS or sum(self.ofi_weights) == 0:
            raise ValueError(f"ofi_weights needs {OFI_LEVELS} values with a non-zero sum")

    def array(self, tick_size: Decimal, utc_offset_ns: int = 0) -> np.ndarray:
        p = np.zeros(P_SIZE, dtype=np.float64)
        p[P_VPIN_BUCKET] = self.vpin_bucket_lots
        p[P_SLOPE_LOTS] = self.slope_lots
        p[P_TICK] = float(tick_size)
        p[3] = utc_offset_ns
        p[P_LARGE_MULT] = self.large_mult
        p[P_OFI_WEIGHTS:P_OFI_WEIGHTS + OFI_LEVELS] = self.ofi_weights
        return p


@dataclass(frozen=True)
class FeatureSchema:
    """Names and order of the feature vector the engine hands on, with their parameters."""

    names: tuple[str, ...] = ALL_NAMES
    params: FeatureParams = field(default_factory=FeatureParams)
    version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        unknown = [n for n in self.names if n not in ALL_NAMES]
        if unknown:
            raise ValueError(f"unknown features: {', '.join(unknown)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("a feature is listed twice")

    @property
    def columns(self) -> np.ndarray:
        """Positions of ``names`` in the full vector."""
        return np.array([ALL_NAMES.index(n) for n in self.names], dtype=np.int64)

    def as_dict(self) -> dict:
        p = self.params
        return {"version": self.version, "names": list(self.names),
                "params": {"vpin_bucket_lots": p.vpin_bucket_lots, "slope_lots": p.slope_lots,
                           "large_mult": p.large_mult, "ofi_weights": list(p.ofi_weights)}}

    @property
    def hash(self) -> str:
        blob = orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()[:16]

    def index(self, name: str) -> int:
        return self.names.index(name)


def describe() -> list[dict]:
    """Every registered feature with its position and description (``features --list``)."""
    return [{"index": i, "name": n, "description": d} for i, (n, d) in enumerate(ALL_FEATURES)]
