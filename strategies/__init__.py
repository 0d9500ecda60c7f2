"""Strategies: each a frozen config plus a small class with one decision method."""

from strategies.base import DecisionView
from strategies.base import Strategy
from strategies.imbalance_maker import ImbalanceMaker
from strategies.imbalance_maker import ImbalanceMakerConfig
from strategies.imbalance_momentum import ImbalanceMomentum
from strategies.imbalance_momentum import ImbalanceMomentumConfig
from strategies.ml_ofi import MlOfi
from strategies.ml_ofi import MlOfiConfig

#: name -> (config class, strategy class)
STRATEGIES: dict[str, tuple[type, type]] = {
    ImbalanceMomentum.name: (ImbalanceMomentumConfig, ImbalanceMomentum),
    ImbalanceMaker.name: (ImbalanceMakerConfig, ImbalanceMaker),
    MlOfi.name: (MlOfiConfig, MlOfi),
}


def make_strategy(name: str, config: object) -> Strategy:
    return STRATEGIES[name][1](config)


__all__ = ["STRATEGIES", "DecisionView", "ImbalanceMaker", "ImbalanceMakerConfig",
           "ImbalanceMomentum", "ImbalanceMomentumConfig", "MlOfi", "MlOfiConfig", "Strategy",
           "make_strategy"]
