"""Benchmark: Getis-Ord Gi* and the Knox near-repeat test, crimeprev against peers.

Gi* (square grids of --grid-sizes cells, queen neighbourhood = binary distance
band of 1.5 cells, Poisson counts with hot areas):

- crimeprev: lattice distance-band weights + analytical Gi*, and with
  --permutations conditional permutations (sizes up to --perm-max);
- esda.G_Local (star, binary weights) on libpysal weights built the usual way
  (``lat2W``), analytical (weights and statistic timed separately), and with
  permutations up to --esda-perm-max cells (numba compilation reported apart).

Knox (events with realistic clustering at a constant density of 50 events per
km^2, so the study area grows with n: 60% around hot locations, 10% near
repeats of earlier events; dates over a year; 10 distance bands of 50 m and 10
time bands of 7 days, each plus an open band; --knox-permutations):

- crimeprev ``knox_test`` (close pairs found once with a compiled cell list
  and stored as a compact CSR list; every permutation batch counted in one
  compiled pass over them); "of which pairs" times the pair search alone, and
  the peak resident memory of the process so far is reported;
- "KD-tree + NumPy": close pairs from a SciPy KD-tree, counted per permutation
  with NumPy gathers and ``np.bincount`` (no compiled loop);
- "all pairs NumPy": every pair's distance and time difference in chunks (up
  to --all-pairs-max events).

Also the real Chicago residential burglaries of 2016 (11,700 events).

Usage::

    python bench/bench_spatial.py --grid-sizes 10000 100000 1000000 \\
        --knox-sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crimeprev.spatial.getis_ord import local_g
from crimeprev.spatial.near_repeat import close_pairs, days_since_first, knox_test, pair_lists
from crimeprev.spatial.weights import lattice_distance_band

DISTANCE_BREAKS = [*np.arange(0, 501, 50.0), np.inf]
TIME_BREAKS = [*np.arange(0, 71, 7.0), np.inf]


def timed(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def timed_with_cpu(function: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median wall time and median CPU time (all threads of the process) of ``function``.

    On a shared machine the wall time grows with the other users' load; the CPU
    time much less, so it shows the work done (and wall >= CPU / cores).
    """
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def grid_counts(side: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols, rows = np.meshgrid(np.arange(side), np.arange(side))
    cols, rows = cols.ravel(), rows.ravel()
    centres = rng.uniform(0, side, (max(side // 10, 3), 2))
    rate = np.full(cols.size, 0.5)
    for cx, cy in centres:
        rate += 4 * np.exp(-((cols - cx) ** 2 + (rows - cy) ** 2) / (2 * (side / 40) ** 2))
    return cols, rows, rng.poisson(rate).astype(float)


def bench_gi(args: argparse.Namespace) -> list[str]:
    import esda
    import libpysal

    lines = [
        "| cells | crimeprev weights + Gi* (s) | esda: libpysal lat2W (s) | esda G_Local (s) "
        "| esda total / crimeprev | max abs z difference | crimeprev 999 perm. (s) "
        "| esda 999 perm. (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    rng = np.random.default_rng(1)
    # Load (or compile, the first time on a machine) the permutation kernel untimed.
    warm_cols, warm_rows, warm_counts = grid_counts(10, rng)
    start = time.perf_counter()
    local_g(warm_counts, lattice_distance_band(warm_cols, warm_rows, 1.0, 1.5), permutations=9)
    print(f"(permutation kernel loaded in {time.perf_counter() - start:.1f} s)", flush=True)
    for size in args.grid_sizes:
        side = int(round(np.sqrt(size)))
        cols, rows, counts = grid_counts(side, rng)

        def ours(cols=cols, rows=rows, counts=counts):
            weights = lattice_distance_band(cols, rows, 1.0, 1.5)
            return local_g(counts, weights, star=True)

        ours_time, result = timed(ours, args.repeats)
        if args.no_esda:
            weights_time = esda_time = difference = float("nan")
        else:
            weights_time, w = timed(
                lambda side=side: libpysal.weights.lat2W(side, side, rook=False), 1
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                esda_time, reference = timed(
                    lambda w=w, counts=counts: esda.G_Local(
                        counts, w, transform="B", star=True, permutations=0
                    ),
                    1,
                )
            difference = float(np.nanmax(np.abs(result.z - reference.Zs)))
        perm_text = esda_perm_text = "-"
        if side * side <= args.perm_max:
            perm_time, _ = timed(
                lambda cols=cols, rows=rows, counts=counts: local_g(
                    counts,
                    lattice_distance_band(cols, rows, 1.0, 1.5),
                    permutations=args.permutations,
                    rng=1,
                ),
                1,
            )
            perm_text = f"{perm_time:.2f}"
        if side * side <= args.esda_perm_max and not args.no_esda:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                first, _ = timed(
                    lambda w=w, counts=counts: esda.G_Local(
                        counts,
                        w,
                        transform="B",
                        star=True,
                        permutations=args.permutations,
                        seed=1,
                        n_jobs=1,
                    ),
                    1,
                )
                second, _ = timed(
                    lambda w=w, counts=counts: esda.G_Local(
                        counts,
                        w,
                        transform="B",
                        star=True,
                        permutations=args.permutations,
                        seed=1,
                        n_jobs=1,
                    ),
                    1,
                )
            esda_perm_text = f"{second:.2f} (first call {first:.1f}, incl. numba compilation)"
        ratio = (weights_time + esda_time) / ours_time
        lines.append(
            f"| {side * side:,} | {ours_time:.3f} | {weights_time:.2f} | {esda_time:.2f} | "
            f"{ratio:.0f}x | {difference:.1e} | {perm_text} | {esda_perm_text} |"
        )
        print(lines[-1], flush=True)
    return lines


def synthetic_events(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    side = np.sqrt(n / 50.0) * 1000.0  # 50 events per km^2
    hot = rng.uniform(0, side, (max(n // 200, 5), 2))
    kinds = rng.choice(3, size=n, p=[0.3, 0.6, 0.1])
    x = rng.uniform(0, side, n)
    y = rng.uniform(0, side, n)
    days = rng.integers(0, 365, n).astype(float)
    clustered = kinds == 1
    pick = rng.integers(0, hot.shape[0], int(clustered.sum()))
    x[clustered] = hot[pick, 0] + rng.normal(0, 250, pick.size)
    y[clustered] = hot[pick, 1] + rng.normal(0, 250, pick.size)
    repeats = np.flatnonzero(kinds == 2)
    source = rng.integers(0, n, repeats.size)
    x[repeats] = x[source] + rng.normal(0, 60, repeats.size)
    y[repeats] = y[source] + rng.normal(0, 60, repeats.size)
    days[repeats] = np.minimum(days[source] + rng.exponential(7, repeats.size).round(), 400)
    return x, y, days


def knox_numpy_pairs(x, y, days, permutations, rng) -> np.ndarray:  # noqa: ANN001
    """Peer: KD-tree close pairs once, NumPy gathers + bincount per permutation."""
    dbreaks = np.array(DISTANCE_BREAKS)
    tbreaks = np.array(TIME_BREAKS)
    first, second, distance = close_pairs(x, y, float(dbreaks[-2]))
    band = np.searchsorted(dbreaks, distance, side="right") - 1
    columns = tbreaks.size
    base = band * columns
    times = days.astype(np.int64)
    counts = np.zeros((permutations + 1, (dbreaks.size - 1) * columns))
    order = np.arange(times.size)
    for k in range(permutations + 1):
        event_times = times if k == 0 else times[rng.permutation(order)]
        gap = np.abs(event_times[first] - event_times[second])
        column = np.searchsorted(tbreaks, gap, side="right") - 1
        counts[k] = np.bincount(base + column, minlength=counts.shape[1])
    return counts


def knox_all_pairs(x, y, days, permutations, rng) -> np.ndarray:  # noqa: ANN001
    """Peer: every pair, in chunks of rows, for the observed table and each permutation."""
    dbreaks = np.array(DISTANCE_BREAKS)
    tbreaks = np.array(TIME_BREAKS)
    n = x.size
    cells = (dbreaks.size - 1) * (tbreaks.size - 1)
    counts = np.zeros((permutations + 1, cells))
    for k in range(permutations + 1):
        event_times = days if k == 0 else days[rng.permutation(n)]
        for start in range(0, n - 1, 256):
            rows = np.arange(start, min(start + 256, n - 1))
            for i in rows:
                distance = np.hypot(x[i + 1 :] - x[i], y[i + 1 :] - y[i])
                gap = np.abs(event_times[i + 1 :] - event_times[i])
                d = np.searchsorted(dbreaks, distance, side="right") - 1
                t = np.searchsorted(tbreaks, gap, side="right") - 1
                counts[k] += np.bincount(d * (tbreaks.size - 1) + t, minlength=cells)
    return counts


def peak_megabytes() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_knox(args: argparse.Namespace) -> list[str]:
    lines = [
        "| events | close pairs | crimeprev (s) | crimeprev CPU (s) | of which pairs (s) "
        "| ns / pair / perm. | KD-tree + NumPy (s) | all pairs NumPy (s) | same observed table "
        "| peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    print("\n".join(lines), flush=True)
    rng = np.random.default_rng(7)
    cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    for n in args.knox_sizes:
        x, y, days = synthetic_events(n, rng)
        cases.append((f"{n:,} synthetic", x, y, days))
    burglary = Path(__file__).parents[1] / (
        "src/crimeprev/data/real/chicago_near_repeat_2016/chicago_residential_burglary_2016.csv"
    )
    if burglary.exists():
        import pandas as pd

        frame = pd.read_csv(burglary).dropna()
        cases.insert(
            0,
            (
                "11,700 Chicago burglaries",
                frame.X.to_numpy(),
                frame.Y.to_numpy(),
                days_since_first(frame.date.to_numpy()),
            ),
        )
    knox_test(
        cases[0][1][:50],
        cases[0][2][:50],
        cases[0][3][:50],
        distance_breaks=DISTANCE_BREAKS,
        time_breaks=TIME_BREAKS,
        permutations=1,
    )  # load the compiled kernel
    for label, x, y, days in cases:
        n = x.size
        pair_time, pairs = timed(
            lambda x=x, y=y: pair_lists(x, y, 500.0, np.array(DISTANCE_BREAKS))[2], 1
        )
        ours_time, ours_cpu, result = timed_with_cpu(
            lambda x=x, y=y, days=days: knox_test(
                x,
                y,
                days,
                distance_breaks=DISTANCE_BREAKS,
                time_breaks=TIME_BREAKS,
                permutations=args.knox_permutations,
                rng=1,
            ),
            args.repeats if n <= 200_000 else 1,
        )
        per_pair = (ours_time - pair_time) / max(pairs.size, 1) / (args.knox_permutations + 1)
        numpy_text = all_text = "-"
        same = "-"
        if n <= args.numpy_max:
            numpy_time, numpy_counts = timed(
                lambda x=x, y=y, days=days: knox_numpy_pairs(
                    x, y, days, args.knox_permutations, np.random.default_rng(1)
                ),
                1,
            )
            numpy_text = f"{numpy_time:.2f} ({numpy_time / ours_time:.1f}x)"
            columns = len(TIME_BREAKS)
            near = numpy_counts[0].reshape(len(DISTANCE_BREAKS) - 1, columns)[:-1, :-1]
            same = "yes" if np.array_equal(near, result.observed[:-1]) else "NO"
        if n <= args.all_pairs_max:
            all_time, all_counts = timed(
                lambda x=x, y=y, days=days: knox_all_pairs(
                    x, y, days, args.knox_permutations, np.random.default_rng(1)
                ),
                1,
            )
            all_text = f"{all_time:.1f} ({all_time / ours_time:.0f}x)"
            observed = all_counts[0].reshape(result.observed.shape)
            same = "yes" if np.array_equal(observed, result.observed) else "NO"
        lines.append(
            f"| {label} | {pairs.size:,} | {ours_time:.2f} | {ours_cpu:.2f} | {pair_time:.2f} | "
            f"{per_pair * 1e9:.2f} | {numpy_text} | {all_text} | {same} | {peak_megabytes():,.0f} |"
        )
        del pairs, result
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--perm-max", type=int, default=1_000_000)
    parser.add_argument("--esda-perm-max", type=int, default=100_000)
    parser.add_argument("--knox-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--knox-permutations", type=int, default=99)
    parser.add_argument("--numpy-max", type=int, default=100_000)
    parser.add_argument("--all-pairs-max", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-esda", action="store_true", help="Time crimeprev only (Gi*).")
    args = parser.parse_args()
    if args.grid_sizes:
        print("\n## Gi* (binary queen / distance band 1.5 cells)\n")
        bench_gi(args)
    if args.knox_sizes is not None:
        print("\n## Knox test (10 x 10 bands + open bands)\n")
        bench_knox(args)


if __name__ == "__main__":
    main()
