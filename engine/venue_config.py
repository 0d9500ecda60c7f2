"""The ``[venue]`` config section: which live feed to follow and how.

Every field has a unit in its name or its comment; unknown keys are refused by
``engine.config.build_section`` and bad values name the field. What a particular venue
allows (its name, default URLs, stream kinds) is the connectors' knowledge:
``connectors.config.check_venue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from decimal import InvalidOperation

from engine.errors import ConfigError
from engine.instrument import InstrumentSpec


@dataclass(frozen=True)
class VenueConfig:
    """A live venue feed.

    name: a venue of ``connectors.config.VENUES`` ("" in replay-only configs); what each
        venue allows (names, URLs, streams) is checked there, by the connectors.
    symbols: venue symbols, e.g. ["BTCUSDT"] or ["BTC-USD"]; one engine each.
    ws_url, rest_url: base URLs (default: the venue's public endpoints); point them at
        ``obflow venue-sim`` to trade a recording.
    trades: Binance "trade", "aggTrade" or "" (none); Coinbase: any non-empty value
        subscribes market_trades.
    book_ticker: Binance only: also follow @bookTicker and check the book against it.
    depth_limit: levels in the REST snapshot used to sync (Binance).
    audit_interval_s: seconds between REST snapshot audits (Binance; 0: off).
    audit_levels: levels per side the audit compares; audit_limit: levels it fetches.
    prune_far_pct: level updates further than this percent of price from the touch are
        dropped and such levels pruned (0: keep everything).
    stale_after_s: no frame for this long is a stale period: invalidate and reconnect.
    ping_interval_s, ping_timeout_s: websocket keepalive.
    backoff_initial_s, backoff_max_s: reconnect backoff (doubling, with jitter).
    buffer_limit: depth events buffered per symbol while waiting for a snapshot.
    summary_interval_s: seconds between status lines printed by ``obflow live`` (0: off).
    busy_poll: the event loop never sleeps between frames (a core spins): lower and steadier
        frame -> order latency, because the process and its caches stay warm.
    record: write a recording here (``--record`` overrides).
    instruments: per symbol ``{tick_size = "0.01", lot_size = "0.00000001"}``; symbols
        not listed take the venue's metadata (exchangeInfo or products).
    """

    name: str = ""
    symbols: list | tuple = ()
    ws_url: str = ""
    rest_url: str = ""
    trades: str = "trade"
    book_ticker: bool = False
    depth_limit: int = 1000
    audit_interval_s: float = 0.0
    audit_levels: int = 10
    audit_limit: int = 100
    prune_far_pct: float = 5.0
    stale_after_s: float = 30.0
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    buffer_limit: int = 2000
    summary_interval_s: float = 5.0
    busy_poll: bool = False
    record: str = ""
    instruments: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(self.symbols))
        if not all(isinstance(s, str) and s for s in self.symbols):
            raise ConfigError("venue.symbols", "must be a list of non-empty strings")
        for name in ("depth_limit", "audit_levels", "audit_limit", "buffer_limit"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"venue.{name}", f"must be positive, got {getattr(self, name)}")
        for name in ("audit_interval_s", "prune_far_pct", "summary_interval_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"venue.{name}", "must be non-negative")
        for name in ("stale_after_s", "ping_interval_s", "ping_timeout_s", "backoff_initial_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"venue.{name}", "must be positive")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ConfigError("venue.backoff_max_s", "must be at least backoff_initial_s")
        self.instrument_specs()  # validate now, not at connect time

    def instrument_specs(self) -> dict[str, InstrumentSpec]:
        """The instruments given in the config (others come from venue metadata)."""
        out = {}
        for symbol, table in self.instruments.items():
            where = f"venue.instruments.{symbol}"
            if not isinstance(table, dict) or set(table) - {"tick_size", "lot_size"}:
                raise ConfigError(where, "expected {tick_size = \"..\", lot_size = \"..\"}")
            try:
                out[symbol] = InstrumentSpec(symbol, Decimal(str(table["tick_size"])),
                                             Decimal(str(table.get("lot_size", "1"))))
            except KeyError:
                raise ConfigError(f"{where}.tick_size", "missing") from None
            except (InvalidOperation, ValueError) as exc:
                raise ConfigError(where, str(exc)) from None
        return out


__all__ = ["VenueConfig"]
