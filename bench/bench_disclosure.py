"""Benchmark: disclosure control of an exported counts table (ICCS code x area x period).

For each number of areas N the script draws a fictional table of counts by
ICCS code (a three-level tree of 24 codes under 4 sections) x N areas x
``--periods`` months, with many small counts (a gamma-Poisson mixture, as
in real neighbourhood-by-offence tables), and times side by side:

* ``primary``: :func:`crimeprev.indicators.disclosure.suppress_small`, small
  counts hidden and nothing else (what the exports did before);
* ``greedy 2-D``: :func:`crimeprev.indicators.disclosure.suppress_table`
  per period on the code x area matrix (row and column totals only, no
  ICCS parents, no audit);
* ``protect``: :func:`crimeprev.indicators.disclosure.protect_counts`,
  greedy complements against area totals and ICCS parent sums plus the
  linear-programming audit, repeated until every small count is protected;
  each month's table on its own (what the exports did before the joint
  pattern);
* ``joint``: :func:`crimeprev.indicators.source_protection.protect_source`,
  one pattern for every table cut from the fine one (every ICCS level, month,
  quarter, year and all periods, by area and over all areas), each small
  cell of any of them proven protected by an alternative table found by a
  small linear programme. It solves a much larger problem than ``protect``
  (the months are tied together by the quarters and the year), so the time
  ratio is not like for like; ``small`` counts the small cells of all tables
  it protects, ``LPs`` the programmes it solved.

Each timing is the median of ``--repeats`` runs (the ratio is to the greedy
2-D pass), wall clock and CPU (the CPU figure is the one to compare on a
shared machine); peak Python memory (tracemalloc) is taken in one further
run. ``--methods`` picks some of them (e.g. ``--methods joint``). The
table also gives how many cells each method hides, how many totals
(published elsewhere) it had to hide, and how many small counts stay
exposed by the LP audit against area totals and ICCS parents: the point of
the peers is what they leave recoverable, not only their speed. With
``--joint-audit``, the joint pattern is also audited over all the tables it
covers at once (:func:`crimeprev.indicators._range_audit.audit_cells`):
``all-exp`` small cells whose exact range is narrower than the threshold
(0 if the pattern is safe), ``audit s`` its CPU seconds.

Usage::

    python bench/bench_disclosure.py --sizes 10 20 40 --periods 12 --repeats 3
    python bench/bench_disclosure.py --sizes 10 20 --methods joint --joint-audit
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from crimeprev.indicators.disclosure import (
    PUBLISHED,
    counts_table,
    feasible_intervals,
    protect_counts,
    suppress_small,
    suppress_table,
)
from crimeprev.indicators.source_protection import ALL, SourcePattern, protect_source

try:  # the fast audit of the whole joint pattern (not in earlier versions)
    from crimeprev.indicators._range_audit import audit_cells
except ImportError:  # pragma: no cover - lets the script time an earlier version
    audit_cells = None

THRESHOLD = 5
CODES = [
    f"{section}{division}{group}"
    for section in ("01", "02", "05", "08")
    for division in ("01", "02")
    for group in ("1", "2", "9")
]


def synthetic_counts(areas: int, periods: int, seed: int = 7) -> pd.DataFrame:
    """A fictional counts table with a realistic share of small counts."""
    rng = np.random.default_rng(seed)
    code_rate = rng.gamma(0.8, 12.0, size=len(CODES))
    area_rate = rng.gamma(1.5, 0.7, size=areas)
    grid = pd.MultiIndex.from_product(
        [
            [f"2024-{m:02d}-01" for m in range(1, periods + 1)],
            CODES,
            [f"A{a:03d}" for a in range(areas)],
        ],
        names=["period", "iccs_code", "area_id"],
    ).to_frame(index=False)
    mean = (
        code_rate[grid["iccs_code"].map(CODES.index)]
        * area_rate[grid["area_id"].str[1:].astype(int)]
    )
    grid["count"] = rng.poisson(mean).astype(float)
    return grid[grid["count"] > 0].reset_index(drop=True)


#: A method's hidden cells, and the totals it hides (period, code, area).
Pattern = tuple[np.ndarray, set[tuple[str, str, str]]]


def primary_only(frame: pd.DataFrame) -> Pattern:
    return np.array(suppress_small(frame["count"].tolist(), threshold=THRESHOLD).suppressed), set()


def greedy_2d(frame: pd.DataFrame) -> Pattern:
    hidden = np.zeros(len(frame), dtype=bool)
    for _, part in frame.groupby("period", sort=False):
        pivot = part.pivot_table(
            index="iccs_code", columns="area_id", values="count", fill_value=0, aggfunc="sum"
        )
        result = suppress_table(pivot.to_numpy(dtype=float), threshold=THRESHOLD)
        mask = pd.DataFrame(result.primary | result.secondary, pivot.index, pivot.columns)
        hidden[part.index] = (
            mask.stack().loc[list(zip(part["iccs_code"], part["area_id"], strict=True))].to_numpy()
        )
    return hidden, set()


def full(frame: pd.DataFrame) -> Pattern:
    result = protect_counts(frame, threshold=THRESHOLD)
    margins = result.hidden_margins.astype(str)
    totals = set(zip(margins["period"], margins["iccs_code"], margins["area_id"], strict=True))
    return (result.status != PUBLISHED).to_numpy(), totals


#: What the joint method solved last: small cells of all tables, linear programmes, pattern.
JOINT_STATS: dict[str, int] = {}
JOINT_PATTERN: list[SourcePattern] = []


def joint(frame: pd.DataFrame) -> Pattern:
    pattern = protect_source(frame, threshold=THRESHOLD)
    status = pattern.frame_status(frame, level=None, period="month", by_area=True)
    JOINT_STATS["small"] = int(pattern.protection.primary.sum())
    JOINT_STATS["lps"] = pattern.protection.linear_programmes
    JOINT_PATTERN[:] = [pattern]
    return (status != PUBLISHED).to_numpy(), _monthly_margins(pattern)


def audit_joint() -> tuple[int, float]:
    """Small cells of any table the last joint pattern leaves narrower than the threshold."""
    (pattern,) = JOINT_PATTERN
    start = time.process_time()
    audit = audit_cells(pattern.system, pattern.protection.hidden, threshold=THRESHOLD)
    return int((~audit.safe).sum()), time.process_time() - start


def _monthly_margins(pattern: SourcePattern) -> set[tuple[str, str, str]]:
    """Hidden totals of each month's table, labelled as :func:`counts_table` labels them."""
    totals = set()
    for (code, area, period), cell in pattern.system.views.items():
        if period == ALL or period[0] != "month" or not pattern.protection.hidden[cell]:
            continue
        if code != ALL and code[0] != "prefix":
            continue  # a code's own cell: one of the table's rows, marked by the status
        node = "_T" if code == ALL else str(code[1])
        where = "_T" if area == ALL else str(area[1])
        totals.add((period[1], node, where))
    return totals


def exposed_by_audit(frame: pd.DataFrame, pattern: Pattern) -> int:
    """Small counts whose feasible interval, given area totals and ICCS parents, is too narrow."""
    hidden, totals = pattern
    exposed = 0
    for period, part in frame.groupby("period", sort=False):
        table = counts_table(part["iccs_code"].tolist(), part["area_id"].tolist(), part["count"])
        own = len(part)
        mask = np.zeros(len(table.values), dtype=bool)
        mask[:own] = hidden[part.index]
        small = (table.values > 0) & (table.values < THRESHOLD)
        mask |= small  # small margins are hidden wherever they appear
        for position, (code, area) in enumerate(table.labels):
            mask[position] |= position >= own and (str(period), code, area) in totals
        cells = np.flatnonzero(small[:own])
        low, high = feasible_intervals(table, mask, cells)
        exposed += int(((high - low) < THRESHOLD - 1e-9).sum())
    return exposed


def measure(run: Callable[[], Pattern], repeats: int) -> tuple[float, float, float, Pattern]:
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        pattern = run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), statistics.median(cpu), peak / 2**20, pattern


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20], help="areas")
    parser.add_argument("--periods", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    methods = {"primary": primary_only, "greedy": greedy_2d, "protect": full, "joint": joint}
    parser.add_argument("--methods", nargs="+", choices=list(methods), default=list(methods))
    parser.add_argument(
        "--joint-audit", action="store_true", help="audit the joint pattern over all its tables"
    )
    args = parser.parse_args()
    if args.joint_audit and audit_cells is None:
        parser.error("--joint-audit needs crimeprev.indicators._range_audit")
    print(f"load average {os.getloadavg()[0]:.1f}; threshold {THRESHOLD}; {args.periods} periods")
    print(f"{'areas':>6} {'cells':>7} {'method':<11} {'median s':>9} {'cpu s':>7} {'ratio':>6} "
          f"{'peak MiB':>9} {'hidden':>7} {'totals':>7} {'exposed':>8} "
          f"{'small':>6} {'LPs':>6} {'all-exp':>7} {'audit s':>7}")  # fmt: skip
    for areas in args.sizes:
        frame = synthetic_counts(areas, args.periods)
        results = {
            name: measure(partial(methods[name], frame), args.repeats) for name in args.methods
        }
        base = results["greedy"][0] if "greedy" in results else float("nan")
        for name, (seconds, cpu, peak, pattern) in results.items():
            exposed = exposed_by_audit(frame, pattern)
            extra: tuple[object, ...] = ("", "", "", "")
            if name == "joint":
                audited = audit_joint() if args.joint_audit else ("", "")
                extra = (JOINT_STATS["small"], JOINT_STATS["lps"], audited[0], audited[1])
            audit_seconds = f"{extra[3]:.1f}" if extra[3] != "" else ""
            print(f"{areas:>6} {len(frame):>7} {name:<11} {seconds:>9.3f} {cpu:>7.2f} "
                  f"{seconds / base:>6.1f} {peak:>9.1f} {int(pattern[0].sum()):>7} "
                  f"{len(pattern[1]):>7} {exposed:>8} {extra[0]:>6} {extra[1]:>6} "
                  f"{extra[2]:>7} {audit_seconds:>7}")  # fmt: skip


if __name__ == "__main__":
    main()
