"""Errors raised by obflow, each carrying where it happened.

    ObflowError
     ├── ConfigError            a config field is missing, unknown or invalid (names the field)
     ├── DataError              input data is malformed (names the file and line)
     │    └── SequenceError     events out of order: time going backwards, a sequence gap
     ├── BookError              the order book became invalid (names the event's source sequence)
     │    ├── CrossedBookError  best bid >= best ask after a message
     │    └── BookRangeError    a price is too far from the book's array range to hold
     ├── ModelError             a model artifact cannot be used with this engine
     └── FeedError              a venue feed problem (names venue, symbol, sequence)
          ├── MalformedFrameError  a frame cannot be parsed, or a price is off the tick grid
          └── TransportError       the websocket or REST transport failed (translated at the edge)
"""

from __future__ import annotations


class ObflowError(Exception):
    """Base of every error obflow raises on purpose."""


class ConfigError(ObflowError):
    """A config value is missing, unknown or invalid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"config {field}: {message}")
        self.field = field


class DataError(ObflowError):
    """Input data is malformed. ``line`` is 1-based; 0 means the whole file."""

    def __init__(self, path: str, line: int, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.reason = message


class SequenceError(DataError):
    """Events out of order (time going backwards, a gap in sequence numbers)."""


class BookError(ObflowError):
    """The book became invalid. ``seq`` is the source sequence of the event (a file line)."""

    def __init__(self, message: str, *, seq: int, source: str = "") -> None:
        where = f"{source}:{seq}" if source else f"seq {seq}"
        super().__init__(f"{where}: {message}")
        self.seq = seq
        self.source = source
        self.reason = message


class CrossedBookError(BookError):
    """Best bid at or above best ask once a message has been applied."""


class BookRangeError(BookError):
    """A price lies too far from the rest of the book for the array book to hold it."""


class ModelError(ObflowError):
    """A model artifact does not fit this engine (schema hash, feature names)."""


class FeedError(ObflowError):
    """A venue feed problem. ``symbol`` and ``seq`` say where; empty/None when unknown."""

    def __init__(self, venue: str, message: str, *, symbol: str = "",
                 seq: int | None = None) -> None:
        where = venue + (f" {symbol}" if symbol else "") + (f" seq {seq}" if seq is not None
                                                              else "")
        super().__init__(f"{where}: {message}")
        self.venue = venue
        self.symbol = symbol
        self.seq = seq
        self.reason = message


class MalformedFrameError(FeedError):
    """A frame is not valid JSON, lacks a field, or has a price or size off the grid."""


class TransportError(FeedError):
    """The connection failed: refused, closed, timed out or answered with an HTTP error."""
