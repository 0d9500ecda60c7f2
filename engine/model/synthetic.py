"""Several synthetic trading days in one folder, for training a demo model.

``obflow synth`` writes one day; a model needs several, on distinct dates so that every day
is its own session and the walk-forward blocks follow calendar time. Day i (0-based) is
simulated with seed ``seed + i`` and dated on the i-th weekday from ``start``::

    python -m engine.model.synthetic --out build/model-data --days 4 --events 200000
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from datetime import timedelta
from pathlib import Path


def weekdays(start: date, n: int) -> list[date]:
    out, day = [], start
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def write_days(out: str | Path, *, days: int, events: int, seed: int, levels: int = 10,
               start: date = date(2024, 1, 2)) -> list[Path]:
    """Write ``days`` LOBSTER message/orderbook pairs into ``out``; the message paths."""
    from replay.synth import SynthConfig
    from replay.synth import simulate
    from replay.synth import write_lobster

    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    paths = []
    for i, day in enumerate(weekdays(start, days)):
        config = SynthConfig(events=events, levels=levels, seed=seed + i)
        message, _ = write_lobster(simulate(config), out, date=day.isoformat())
        paths.append(message)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.model.synthetic",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--days", type=int, default=4, help="weekdays to write (default 4)")
    parser.add_argument("--events", type=int, default=200_000, help="messages per day")
    parser.add_argument("--levels", type=int, default=10, help="book levels (default 10)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the first day")
    args = parser.parse_args(argv)
    for path in write_days(args.out, days=args.days, events=args.events, seed=args.seed,
                           levels=args.levels):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
