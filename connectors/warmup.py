"""Compile (or load) the connectors' numba parsers before the first frame arrives."""

from __future__ import annotations

from decimal import Decimal

from connectors.grid import Grid
from engine.instrument import InstrumentSpec


def warm_up_parsers() -> None:
    """The exact decimal parser of price and size text (``connectors.grid``)."""
    Grid(InstrumentSpec("WARM", Decimal("0.01"), Decimal("0.001"))).pairs([["1.00", "2.000"]])


__all__ = ["warm_up_parsers"]
