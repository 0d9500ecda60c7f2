"""Where the shared sample data is: ../shared/data, read in place, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOBSTER = SHARED_DATA / "lobster"
GOOG = "GOOG_2012-06-21_34200000_57600000"


def shared_file(relative: str) -> Path:
    """A file under ../shared/data: skip if absent, but fail in CI (CI=true)."""
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared data missing in CI: {path}")
        pytest.skip(f"shared data not present: {path}")
    return path


def goog_pair(levels: int) -> tuple[Path, Path]:
    ext = ".csv.gz" if levels == 10 else ".csv"
    return (shared_file(f"lobster/{GOOG}_message_{levels}{ext}"),
            shared_file(f"lobster/{GOOG}_orderbook_{levels}{ext}"))


