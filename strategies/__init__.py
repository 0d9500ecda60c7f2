"""Strategies: each a frozen config plus a small class with one decision method."""

from strategies.base import DecisionView
from strategies.base import Strategy
from strategies.imbalance_momentum import ImbalanceMomentum
from strategies.imbalance_momentum import ImbalanceMomentumConfig

#: name -> (config class, strategy class)
STRATEGIES: dict[str, tuple[type, type]] = {
    ImbalanceMomentum.name: (ImbalanceMomentumConfig, ImbalanceMomentum),
}


def make_strategy(name: str, config: object) -> Strategy:
    return STRATEGIES[name][1](config)


__all__ = ["STRATEGIES", "DecisionView", "ImbalanceMomentum", "ImbalanceMomentumConfig",
           "Strategy", "make_strategy"]
