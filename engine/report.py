"""The replay report: deterministic results, then a separate timing section.

``report.json`` = ``{"result": ..., "timing": ...}``. Everything under ``result`` depends only
on inputs, config and seed, and is byte-identical between runs; ``timing`` holds wall-clock
measurements (events/s, stage latencies) and is the only part that varies.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
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


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def build_result(engine: Engine, sources: list[str]) -> dict:
    inst = engine.instrument
    money = float(inst.tick_size * inst.lot_size)
    pf = engine.portfolio
    trips = pf.round_trips
    pnl = [_money(inst, t.pnl_tick_lots) for t in trips]
    marks_ts = engine.marks.ts_ns
    gross_curve = engine.marks.equity2.astype(np.float64) / 2.0 * money
    net_curve = gross_curve - engine.marks.fees
    bid, ask = engine.book.best_bid_tick(), engine.book.best_ask_tick()
    last_mid2 = bid + ask if bid is not None and ask is not None else None
    unrealized = (_money(inst, Decimal(pf.unrealized2(last_mid2)) / 2)
                  if last_mid2 is not None else 0.0)
    fills = engine.fill_log
    vs_mid = sum(f.side * (2 * f.px_ticks - f.mid2_ticks) * f.qty_lots for f in fills
                 if f.mid2_ticks)
    vs_expected = sum(f.side * (f.px_ticks - f.expected_px) * f.qty_lots for f in fills
                      if f.expected_px is not None and f.liquidity == "taker")
    gross = _money(inst, pf.realized) + unrealized
    submitted = engine.execution.submitted_lots
    holding = [(t.exit_ts_ns - t.entry_ts_ns) / 1e9 for t in trips]
    days = [{"source": Path(d.source).name, "gross": round(d.gross, 6),
             "fees": round(d.fees, 6), "net": round(d.gross - d.fees, 6), "fills": d.fills}
            for d in engine.sessions]
    return {
        "instrument": {"symbol": inst.symbol, "tick_size": str(inst.tick_size),
                       "lot_size": str(inst.lot_size)},
        "sources": sources,
        "strategy": engine.strategy.name,
        "events": engine.events,
        "decisions": engine.decisions,
        "orders": len(engine.intents),
        "fills": pf.fills,
        "maker_fills": sum(f.liquidity == "maker" for f in fills),
        "traded_lots": pf.traded_lots,
        "fill_rate": _round(pf.traded_lots / submitted) if submitted else None,
        "n_trades": len(trips),
        "win_rate": _round(sum(p > 0 for p in pnl) / len(pnl)) if pnl else None,
        "avg_holding_s": _round(sum(holding) / len(holding), 3) if holding else None,
        "pnl": {
            "gross": gross,
            "fees": round(pf.fees, 6),
            "net": round(gross - pf.fees, 6),
            "realized": _money(inst, pf.realized),
            "unrealized": unrealized,
            "position_lots": pf.position,
            "slippage_vs_mid": _money(inst, Decimal(vs_mid) / 2),
            "slippage_vs_expected": _money(inst, vs_expected),
            # PnL had every fill been at the mid: the signal's value before the spread.
            "at_mid": gross + _money(inst, Decimal(vs_mid) / 2),
        },
        "sharpe": {
            "gross": _round(sharpe_from_marks(marks_ts, gross_curve)),
            "net": _round(sharpe_from_marks(marks_ts, net_curve)),
            "method": "1-minute changes of equity marked to mid at decision points, "
                      f"annualised by sqrt({MINUTES_PER_YEAR}) (252 sessions x 390 minutes)",
        },
        "max_drawdown": max_drawdown(net_curve),
        "days": days,
        "losing_days": sum(d["net"] < 0 for d in days),
        "risk_rejections": dict(sorted(engine.risk.rejections.items())),
        "orders_done": dict(sorted(Counter(d.reason for d in engine.done_log).items())),
        "assumptions": "paper fills do not move the replayed book",
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


def write_report(out_dir: str | Path, result: dict, timing: dict,
                 engine: Engine | None = None) -> Path:
    """Write report.json, and report.html with the plots when the engine is given."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    path.write_bytes(orjson.dumps({"result": result, "timing": timing},
                                  option=orjson.OPT_INDENT_2))
    if engine is not None:
        from engine.report_html import write_html

        write_html(out / "report.html", result, timing, engine)
    return path


def summary_text(result: dict, timing: dict, engine: Engine) -> str:
    pnl = result["pnl"]
    sharpe = result["sharpe"]
    win = result["win_rate"]

    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    lines = [
        f"{result['strategy']}: events {result['events']:,}  decisions "
        f"{result['decisions']:,}  orders {result['orders']:,}  fills {result['fills']:,} "
        f"({result['maker_fills']:,} maker)  trades {result['n_trades']:,}",
        f"PnL gross {pnl['gross']:.2f}  fees {pnl['fees']:.2f}  net {pnl['net']:.2f}  "
        f"(realized {pnl['realized']:.2f}, unrealized {pnl['unrealized']:.2f}, position "
        f"{pnl['position_lots']} lots)",
        f"Sharpe gross {num(sharpe['gross'], '.2f')} net {num(sharpe['net'], '.2f')}  "
        f"max drawdown {result['max_drawdown']:.2f}  win rate {num(win, '.1%')}  "
        f"fill rate {num(result['fill_rate'], '.1%')}  avg holding "
        f"{num(result['avg_holding_s'], '.1f')} s",
        f"slippage vs mid {pnl['slippage_vs_mid']:.2f}  vs expected "
        f"{pnl['slippage_vs_expected']:.2f}  PnL at mid {pnl['at_mid']:.2f}  losing days "
        f"{result['losing_days']}/{len(result['days'])}",
        f"risk rejections {result['risk_rejections'] or 'none'}",
        f"wall {timing['wall_s']:.2f} s  {timing['events_per_s'] or 0:,.0f} events/s",
        engine.latency.table(),
    ]
    return "\n".join(lines)
