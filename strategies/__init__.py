"""The built-in strategies: each a frozen config plus a compiled ``decide``
(the contract is ``engine.strategy``). They register by name through the entry-point group
``obflow.strategies`` (``pyproject.toml``), as any installed package can."""

from strategies.imbalance_maker import ImbalanceMaker
from strategies.imbalance_maker import ImbalanceMakerConfig
from strategies.imbalance_momentum import ImbalanceMomentum
from strategies.imbalance_momentum import ImbalanceMomentumConfig
from strategies.ml_ofi import MlOfi
from strategies.ml_ofi import MlOfiConfig

__all__ = ["ImbalanceMaker", "ImbalanceMakerConfig", "ImbalanceMomentum",
           "ImbalanceMomentumConfig", "MlOfi", "MlOfiConfig"]
