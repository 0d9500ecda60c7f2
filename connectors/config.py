"""What each venue allows in the ``[venue]`` section, and its public endpoints.

The section itself (``VenueConfig``) belongs to the engine core; this module adds the venue
knowledge: known names, default URLs, stream kinds.
"""

from __future__ import annotations

from engine.errors import ConfigError
from engine.venue_config import VenueConfig

VENUES = ("binance", "coinbase")
DEFAULT_URLS = {
    "binance": ("wss://stream.binance.com:9443", "https://api.binance.com"),
    "coinbase": ("wss://advanced-trade-ws.coinbase.com", "https://api.coinbase.com"),
}


def check_venue(venue: VenueConfig) -> VenueConfig:
    """Refuse what the named venue does not offer; returns ``venue``."""
    if venue.name and venue.name not in VENUES:
        raise ConfigError("venue.name", f"unknown venue {venue.name!r} (known: "
                          f"{', '.join(VENUES)})")
    if venue.name == "binance" and venue.trades not in ("trade", "aggTrade", ""):
        raise ConfigError("venue.trades", f"Binance streams are 'trade' or 'aggTrade', "
                          f"got {venue.trades!r}")
    return venue


def ws_base(venue: VenueConfig) -> str:
    """The websocket base URL: the configured one, or the venue's public endpoint."""
    return venue.ws_url or DEFAULT_URLS.get(venue.name, ("", ""))[0]


def rest_base(venue: VenueConfig) -> str:
    """The REST base URL: the configured one, or the venue's public endpoint."""
    return venue.rest_url or DEFAULT_URLS.get(venue.name, ("", ""))[1]


__all__ = ["DEFAULT_URLS", "VENUES", "VenueConfig", "check_venue", "rest_base", "ws_base"]
