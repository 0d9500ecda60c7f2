"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic LOBSTER day, written once per test session."""
    from replay.synth import SynthConfig
    from replay.synth import simulate
    from replay.synth import write_lobster

    out = tmp_path_factory.mktemp("synth")
    write_lobster(simulate(SynthConfig(events=30_000, levels=10, seed=11)), out)
    return out
