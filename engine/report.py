"""The replay report: deterministic results, then a separate timing section.

``report.json`` = ``{"result": ..., "timing": ...}``. Everything under ``result`` depends only
on inputs, config and seed, and is byte-identical between runs; ``timing`` holds wall-clock
measurements (events/s, stage latencies) and is the only part that varies.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson

from engine.instrument import InstrumentSpec
from engine.pipeline import Engine

MINUTE_NS = 60_000_000_000
#: Sharpe is annualised from 1-minute marks: 252 sessions of 390 minutes.
MINUTES_PER_YEAR = 252 * 390


def _money(instrument: InstrumentSpec, tick_lots: int | Decimal) -> float:
    return float(instrument.money(tick_lots))  # type: ignore[arg-type]


def _iso(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, dt.UTC).isoformat(timespec="microseconds")


def sharpe_from_marks(ts_ns: np.ndarray, equity: np.ndarray) -> float | None:
    """Annualised Sharpe of 1-minute equity changes (last mark in each minute)."""
    if len(ts_ns) < 3:
        return None
    minute = ts_ns // MINUTE_NS
    last = np.flatnonzero(np.diff(minute)) if len(minute) > 1 else np.array([], dtype=np.int64)
    closes = np.append(equity[last], equity[-1])
    changes = np.diff(closes)
    if len(changes) < 2:
        return None
    sd = changes.std(ddof=1)
    if sd == 0:
        return None
    return float(changes.mean() / sd * math.sqrt(MINUTES_PER_YEAR))


def max_drawdown(equity: np.ndarray) -> float:
    if not len(equity):
        return 0.0
    peak = np.maximum.accumulate(equity)
    return float((peak - equity).max())


def build_result(engine: Engine, sources: list[str]) -> dict:
    inst = engine.instrument
    pf = engine.portfolio
    trips = pf.round_trips
    pnl = [_money(inst, t.pnl_tick_lots) for t in trips]
    marks_ts = np.array([m.ts_ns for m in engine.marks], dtype=np.int64)
    equity = np.array([m.equity2 for m in engine.marks], dtype=np.float64) / 2.0
    equity_money = equity * float(inst.tick_size * inst.lot_size)
    last_mid2 = None
    bid, ask = engine.book.best_bid_tick(), engine.book.best_ask_tick()
    if bid is not None and ask is not None:
        last_mid2 = bid + ask
    unrealized = (_money(inst, Decimal(pf.unrealized2(last_mid2)) / 2)
                  if last_mid2 is not None else 0.0)
    slippage = [f.side * (2 * f.px_ticks - f.mid2_ticks) * f.qty_lots for f in engine.fill_log
                if f.mid2_ticks]
    sharpe = sharpe_from_marks(marks_ts, equity_money)
    return {
        "instrument": {"symbol": inst.symbol, "tick_size": str(inst.tick_size),
                       "lot_size": str(inst.lot_size)},
        "sources": sources,
        "events": engine.events,
        "decisions": engine.decisions,
        "orders": len(engine.intents),
        "fills": pf.fills,
        "traded_lots": pf.traded_lots,
        "n_trades": len(trips),
        "win_rate": round(sum(p > 0 for p in pnl) / len(pnl), 6) if pnl else None,
        "pnl": {
            "realized": _money(inst, pf.realized),
            "unrealized": unrealized,
            "total": _money(inst, pf.realized) + unrealized,
            "position_lots": pf.position,
            "slippage_vs_mid": _money(inst, Decimal(sum(slippage)) / 2),
            # PnL had every fill been at the mid: the signal's value before the spread.
            "at_mid": _money(inst, pf.realized) + unrealized
            + _money(inst, Decimal(sum(slippage)) / 2),
        },
        "sharpe_annualized": round(sharpe, 6) if sharpe is not None else None,
        "max_drawdown": max_drawdown(equity_money),
        "risk_rejections": dict(sorted(engine.risk.rejections.items())),
        "trades": [
            {"side": "long" if t.side > 0 else "short", "qty_lots": t.qty_lots,
             "entry_time": _iso(t.entry_ts_ns), "entry_px": str(inst.ticks_to_price(
                 t.entry_px_ticks)), "exit_time": _iso(t.exit_ts_ns),
             "exit_px": str(inst.ticks_to_price(t.exit_px_ticks)), "exit_reason": t.exit_reason,
             "pnl": p}
            for t, p in zip(trips, pnl, strict=True)
        ],
        "config": engine.config.as_dict(),
    }


def build_timing(engine: Engine, wall_s: float) -> dict:
    return {
        "wall_s": round(wall_s, 6),
        "events_per_s": round(engine.events / wall_s, 1) if wall_s > 0 else None,
        "stages": engine.latency.summary(),
    }


def write_report(out_dir: str | Path, result: dict, timing: dict) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    path.write_bytes(orjson.dumps({"result": result, "timing": timing},
                                  option=orjson.OPT_INDENT_2))
    return path


def summary_text(result: dict, timing: dict, engine: Engine) -> str:
    pnl = result["pnl"]
    sharpe = result["sharpe_annualized"]
    win = result["win_rate"]
    lines = [
        f"events {result['events']:,}  decisions {result['decisions']:,}  "
        f"orders {result['orders']:,}  fills {result['fills']:,}  trades {result['n_trades']:,}",
        f"PnL total {pnl['total']:.2f}  realized {pnl['realized']:.2f}  "
        f"unrealized {pnl['unrealized']:.2f}  position {pnl['position_lots']} lots",
        f"win rate {'-' if win is None else f'{win:.1%}'}  "
        f"Sharpe {'-' if sharpe is None else f'{sharpe:.2f}'}  "
        f"max drawdown {result['max_drawdown']:.2f}  "
        f"slippage vs mid {pnl['slippage_vs_mid']:.2f}  PnL at mid {pnl['at_mid']:.2f}",
        f"risk rejections {result['risk_rejections'] or 'none'}",
        f"wall {timing['wall_s']:.2f} s  {timing['events_per_s'] or 0:,.0f} events/s",
        engine.latency.table(),
    ]
    return "\n".join(lines)
