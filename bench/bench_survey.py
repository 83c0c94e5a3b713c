"""Benchmark: design-based survey estimation, crimeprev against samplics (and R survey if present).

Synthetic NCVS-like data: 160 strata x 2 PSUs, unequal weights, 10 numeric
variables and 20 domains. Cases, each timed as the median of --repeats runs:

1. Taylor linearisation, mean of one variable.
2. Taylor linearisation, means of 10 variables in 20 domains.
3. Bootstrap (Rao-Wu) replicates generated from the design, then a mean
   (crimeprev keeps replicates per PSU; samplics builds an n x R matrix).
4. Supplied replicate weights (n x R), means of one variable in 20 domains.

samplics runs side by side up to --peer-max rows (its replicate case up to
--peer-replicate-max, as it needs n x R memory); R's survey package runs
when ``Rscript`` is on the PATH. Peak memory of crimeprev is measured with
tracemalloc (NumPy allocations included).

Usage::

    python bench/bench_survey.py --sizes 100000 1000000 5000000 --replicates 80
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from crimeprev.survey import create_replicates, estimate_means, survey_design
from crimeprev.survey.replicates import replicate_design_from_arrays


def make_data(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, 160, rows)
    psu = rng.integers(0, 2, rows)
    frame = pd.DataFrame(
        {
            "stratum": stratum,
            "psu": psu,
            "psu_id": stratum * 2 + psu,
            "weight": rng.uniform(200.0, 1200.0, rows),
            "domain": rng.integers(0, 20, rows),
        }
    )
    for index in range(10):
        frame[f"y{index}"] = rng.gamma(1.0 + index / 5, 2.0, rows) + 0.1 * stratum
    return frame


def timed(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_memory(function: Callable[[], object]) -> float:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**30


def samplics_available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import samplics  # noqa: F401
    except ImportError:
        return False
    return True


def run_r(frame: pd.DataFrame, repeats: int) -> dict[str, float]:
    """Time R survey's svymean (Taylor) and 20-domain svyby, if Rscript exists."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.csv"
        frame[["stratum", "psu_id", "weight", "domain", "y0"]].to_csv(data, index=False)
        script = Path(folder) / "bench.R"
        script.write_text(
            "suppressMessages(library(survey))\n"
            f"d <- read.csv('{data}')\n"
            "des <- svydesign(ids=~psu_id, strata=~stratum, weights=~weight, data=d, nest=TRUE)\n"
            f"t1 <- median(replicate({repeats}, system.time(svymean(~y0, des))[['elapsed']]))\n"
            f"t2 <- median(replicate({repeats}, system.time(svyby(~y0, ~domain, des, svymean))"
            "[['elapsed']]))\n"
            "cat(t1, t2, '\\n')\n"
        )
        output = subprocess.run(
            ["Rscript", str(script)], capture_output=True, text=True, check=True
        ).stdout.split()
    return {"taylor_mean": float(output[0]), "taylor_domains": float(output[1])}


def run_size(rows: int, arguments: argparse.Namespace, has_samplics: bool, has_r: bool) -> None:
    """Time every case at one size and print a line per case."""
    variables = [f"y{index}" for index in range(10)]
    frame = make_data(rows)
    design = survey_design(frame, weights="weight", strata="stratum", clusters="psu")
    r_times = run_r(frame, arguments.repeats) if has_r and rows <= arguments.peer_max else {}
    replicates = arguments.replicates

    def ours_mean() -> object:
        return estimate_means(design, "y0").rows[0].se

    def ours_domains() -> object:
        return estimate_means(design, variables, by="domain").rows[0].se

    def ours_one_domain() -> object:
        return estimate_means(design, "y0", by="domain").rows[0].se

    def ours_bootstrap() -> object:
        replicated = create_replicates(design, "bootstrap", replicates=replicates, rng=1)
        return estimate_means(replicated, "y0").rows[0].se

    samplics_mean = samplics_domains = samplics_bootstrap = None
    if has_samplics and rows <= arguments.peer_max:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from samplics.estimation import ReplicateEstimator, TaylorEstimator
            from samplics.utils.types import PopParam, RepMethod
            from samplics.weighting import ReplicateWeight

        y = frame["y0"].to_numpy()
        w = frame["weight"].to_numpy()
        h = frame["stratum"].to_numpy()
        p = frame["psu_id"].to_numpy()
        dom = frame["domain"].to_numpy()

        def samplics_mean() -> object:
            estimator = TaylorEstimator(PopParam.mean)
            estimator.estimate(y=y, samp_weight=w, stratum=h, psu=p)
            return estimator.stderror

        def samplics_domains() -> object:
            estimator = TaylorEstimator(PopParam.mean)
            estimator.estimate(y=y, samp_weight=w, stratum=h, psu=p, domain=dom)
            return estimator.stderror

        if rows <= arguments.peer_replicate_max:

            def samplics_bootstrap() -> object:
                maker = ReplicateWeight(RepMethod.bootstrap, nb_reps=replicates, rand_seed=1)
                table = maker.replicate(samp_weight=w, psu=p, stratum=h)
                keys = pd.DataFrame({"_stratum": h, "_psu": p, "_samp_weight": w})
                table = keys.merge(table, on=["_stratum", "_psu", "_samp_weight"], how="left")
                matrix = table.filter(like="_boot_wgt_").to_numpy()
                estimator = ReplicateEstimator(RepMethod.bootstrap, PopParam.mean)
                estimator.estimate(y=y, samp_weight=w, rep_weights=matrix)
                return estimator.stderror

    cases: list[tuple[str, Callable[[], object], Callable[[], object] | None, str]] = [
        ("Taylor mean, 1 variable", ours_mean, samplics_mean, "taylor_mean"),
        ("Taylor means, 1 var x 20 domains", ours_one_domain, samplics_domains, "taylor_domains"),
        ("Taylor means, 10 vars x 20 domains", ours_domains, None, ""),
        (f"bootstrap {replicates} reps + mean", ours_bootstrap, samplics_bootstrap, ""),
    ]
    if rows <= arguments.supplied_max:
        rng = np.random.default_rng(2)
        multipliers = rng.choice([0.0, 2.0], size=(rows, replicates))
        supplied = frame["weight"].to_numpy()[:, None] * multipliers
        del multipliers
        given = replicate_design_from_arrays(
            frame, frame["weight"].to_numpy(), supplied, replicate_type="BRR"
        )

        def ours_supplied() -> object:
            return estimate_means(given, "y0", by="domain").rows[0].se

        cases.append((f"supplied {replicates} reps, 20 domains", ours_supplied, None, ""))
    for label, ours, peer, r_key in cases:
        ours_time, _ = timed(ours, arguments.repeats)
        memory = peak_memory(ours)
        peer_text, ratio_text = "-", "-"
        if peer is not None:
            peer_time, _ = timed(peer, arguments.repeats if rows <= 200_000 else 1)
            peer_text = f"{peer_time:.3f}"
            ratio_text = f"{peer_time / ours_time:.1f}x"
        r_text = f"{r_times[r_key]:.2f}" if r_key in r_times else "-"
        print(
            f"{rows:>9,} {label:<34} {ours_time:>11.3f} {memory:>9.2f} "
            f"{peer_text:>11} {ratio_text:>7} {r_text:>7}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--replicates", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-max", type=int, default=1_000_000)
    parser.add_argument("--peer-replicate-max", type=int, default=200_000)
    parser.add_argument("--supplied-max", type=int, default=1_000_000)
    arguments = parser.parse_args()
    has_samplics = samplics_available()
    has_r = shutil.which("Rscript") is not None
    print(f"samplics: {has_samplics}; R survey: {has_r} (needs Rscript)")
    header = (
        f"{'rows':>9} {'case':<34} {'crimeprev s':>11} {'peak GiB':>9} "
        f"{'samplics s':>11} {'ratio':>7} {'R s':>7}"
    )
    print(header)
    print("-" * len(header))
    for rows in arguments.sizes:
        run_size(rows, arguments, has_samplics, has_r)


if __name__ == "__main__":
    main()
