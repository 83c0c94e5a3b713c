"""Benchmark: design-based survey estimation, crimeprev against R survey, svy and samplics.

Synthetic NCVS-like data: 160 strata x 2 PSUs, unequal weights, 10 numeric
variables and 20 domains. Cases, each timed as the median of --repeats runs
(peers once above 200,000 rows):

1. Taylor linearisation, mean of one variable.
2. Taylor linearisation, means of one variable in 20 domains.
3. Taylor linearisation, means of 10 variables in 20 domains.
4. Bootstrap (Rao-Wu) replicates generated from the design, then a mean
   (crimeprev keeps replicates per PSU; R, svy and samplics build n x R).
5. Supplied BRR replicate weights (n x R), means of one variable in 20 domains.

Peers, side by side on the same data in the same run:

* R's ``survey`` package, when ``Rscript`` and ``library(survey)`` exist
  (Debian: r-base-core, r-cran-survey). The data go to R as raw doubles
  (``readBin``, no CSV parsing); R times each case with ``system.time`` and
  writes its estimates, which are compared with crimeprev's (the largest
  absolute difference of estimates and of standard errors is printed;
  bootstrap replicates are random draws in each package, so only their
  estimates are comparable there).
* ``svy`` (PyPI, the successor of samplics), up to --svy-max rows.
* ``samplics`` (archived), up to --peer-max rows (its bootstrap up to
  --peer-replicate-max rows, as it builds an n x R table in pandas).

Peak memory of crimeprev is measured with tracemalloc (NumPy allocations
included). Load average is printed at the start and end: on a shared
machine, compare the ratios within a run.

Usage::

    python bench/bench_survey.py --sizes 1000000 5000000 --replicates 80
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crimeprev.survey import EstimateTable, create_replicates, estimate_means, survey_design
from crimeprev.survey.replicates import replicate_design_from_arrays

VARIABLES = [f"y{index}" for index in range(10)]
CASES = {
    "mean": "Taylor mean, 1 variable",
    "domains": "Taylor means, 1 var x 20 domains",
    "many": "Taylor means, 10 vars x 20 domains",
    "bootstrap": "bootstrap {R} reps made + mean",
    "supplied": "supplied {R} BRR reps, 20 domains",
}


def make_data(rows: int, seed: int = 1) -> pd.DataFrame:
    """NCVS-like respondents: 160 strata x 2 PSUs, unequal weights, 10 variables, 20 domains."""
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


def supplied_weights(frame: pd.DataFrame, replicates: int) -> np.ndarray:
    """BRR-style replicate weights: each PSU doubled or dropped (random half-samples)."""
    rng = np.random.default_rng(2)
    signs = rng.choice([0.0, 2.0], size=(320, replicates))
    return frame["weight"].to_numpy()[:, None] * signs[frame["psu_id"].to_numpy()]


def timed(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last result."""
    times = []
    result: object = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_memory(function: Callable[[], object]) -> float:
    """Peak traced allocation of one call, in GiB."""
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**30


@dataclass
class Peer:
    """Times and results of one peer at one size."""

    times: dict[str, float] = field(default_factory=dict)
    results: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]; rows <- as.integer(args[2]); R <- as.integer(args[3])
repeats <- as.integer(args[4]); supplied <- args[5] == "1"
cases <- strsplit(args[6], ",")[[1]]
column <- function(name) readBin(file.path(folder, paste0(name, ".bin")), "double", rows)
d <- data.frame(stratum = column("stratum"), psu_id = column("psu_id"),
                weight = column("weight"), domain = column("domain"))
for (i in 0:9) d[[paste0("y", i)]] <- column(paste0("y", i))
des <- svydesign(ids = ~psu_id, strata = ~stratum, weights = ~weight, data = d, nest = TRUE)
many <- as.formula(paste("~", paste0("y", 0:9, collapse = "+")))
time_it <- function(f) {
  times <- numeric(repeats); value <- NULL
  for (k in seq_len(repeats)) times[k] <- system.time(value <- f())[["elapsed"]]
  list(time = median(times), value = value)
}
out <- list()
keep <- function(case, result) {
  est <- coef(result$value); se <- as.vector(as.matrix(SE(result$value)))
  out[[case]] <<- data.frame(case = case, name = names(est), estimate = as.vector(est),
                              se = as.vector(se), time = result$time)
}
if ("mean" %in% cases) keep("mean", time_it(function() svymean(~y0, des)))
if ("domains" %in% cases) keep("domains", time_it(function() svyby(~y0, ~domain, des, svymean)))
if ("many" %in% cases) keep("many", time_it(function() svyby(many, ~domain, des, svymean)))
set.seed(1)
if ("bootstrap" %in% cases) keep("bootstrap", time_it(function() {
  boot <- as.svrepdesign(des, type = "subbootstrap", replicates = R)
  svymean(~y0, boot)
}))
if (supplied) {
  repw <- matrix(readBin(file.path(folder, "repweights.bin"), "double", rows * R), nrow = rows)
  rdes <- svrepdesign(data = d, repweights = repw, weights = ~weight, type = "BRR",
                      combined.weights = TRUE)
  keep("supplied", time_it(function() svyby(~y0, ~domain, rdes, svymean)))
}
write.csv(do.call(rbind, out), file.path(folder, "r_results.csv"), row.names = FALSE)
"""


def r_available() -> bool:
    """True if Rscript runs and R's survey package loads."""
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(survey))"], capture_output=True, check=False
    )
    return check.returncode == 0


def run_r(
    frame: pd.DataFrame,
    supplied: np.ndarray | None,
    replicates: int,
    repeats: int,
    cases: list[str],
) -> Peer:
    """Run every case in R survey on the same data; times and estimates per case."""
    peer = Peer()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for name in ["stratum", "psu_id", "weight", "domain", *VARIABLES]:
            frame[name].to_numpy(dtype=float).tofile(base / f"{name}.bin")
        if supplied is not None:
            np.asfortranarray(supplied).T.tofile(base / "repweights.bin")  # column-major for R
        (base / "bench.R").write_text(R_SCRIPT)
        completed = subprocess.run(
            [
                "Rscript",
                str(base / "bench.R"),
                folder,
                str(len(frame)),
                str(replicates),
                str(repeats),
                "1" if supplied is not None else "0",
                ",".join(cases),
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if not (base / "r_results.csv").exists():
            raise RuntimeError(f"R survey failed: {completed.stderr[-2000:]}")
        table = pd.read_csv(base / "r_results.csv")
    for case, rows in table.groupby("case", sort=False):
        peer.times[str(case)] = float(rows["time"].iloc[0])
        peer.results[str(case)] = {
            _r_name(str(case), str(name)): (float(est), float(se))
            for name, est, se in zip(rows["name"], rows["estimate"], rows["se"], strict=True)
        }
    return peer


def _r_name(case: str, name: str) -> str:
    """R's coefficient name as crimeprev's 'variable|domain'."""
    if case in ("mean", "bootstrap"):
        return f"{name}|all"
    if ":" in name:  # svyby with several variables: "3:y7"
        domain, variable = name.split(":", 1)
        return f"{variable}|domain={domain}"
    return f"y0|domain={name}"


def ours_results(table: EstimateTable) -> dict[str, tuple[float, float]]:
    """crimeprev rows keyed as 'variable|domain'."""
    return {f"{row.variable}|{row.domain}": (row.estimate, row.se) for row in table.rows}


def largest_differences(
    ours: dict[str, tuple[float, float]], theirs: dict[str, tuple[float, float]]
) -> tuple[float, float]:
    """Largest relative difference of estimates and of standard errors over shared keys."""
    shared = [key for key in ours if key in theirs]
    if not shared:
        return float("nan"), float("nan")
    estimates = max(abs(ours[k][0] - theirs[k][0]) / abs(theirs[k][0]) for k in shared)
    errors = max(abs(ours[k][1] - theirs[k][1]) / abs(theirs[k][1]) for k in shared)
    return estimates, errors


def svy_cases(
    frame: pd.DataFrame, supplied: np.ndarray | None, replicates: int
) -> dict[str, Callable[[], object]]:
    """The cases in svy (polars frames built outside the timing)."""
    import polars as pl
    import svy

    columns = ["stratum", "psu_id", "weight", "domain", *VARIABLES]
    data = pl.from_pandas(frame[columns])
    design = svy.Design(stratum="stratum", psu="psu_id", wgt="weight")
    sample = svy.Sample(data, design)

    def bootstrap() -> object:
        fresh = svy.Sample(data, design)
        made = fresh.weighting.create_bs_wgts(replicates, rstate=1)
        return made.estimation.mean("y0", method="replication")

    cases: dict[str, Callable[[], object]] = {
        "mean": lambda: sample.estimation.mean("y0"),
        "domains": lambda: sample.estimation.mean("y0", by="domain"),
        "many": lambda: sample.estimation.mean(VARIABLES, by="domain"),
        "bootstrap": bootstrap,
    }
    if supplied is not None:
        reps = pl.DataFrame({f"rw{r + 1}": supplied[:, r] for r in range(replicates)})
        with_reps = svy.Sample(
            pl.concat([data, reps], how="horizontal"),
            svy.Design(
                wgt="weight", rep_wgts=svy.BrrWgts(prefix="rw", n_reps=replicates, wgt="weight")
            ),
        )
        cases["supplied"] = lambda: with_reps.estimation.mean(
            "y0", by="domain", method="replication"
        )
    return cases


def samplics_cases(
    frame: pd.DataFrame, replicates: int, with_bootstrap: bool
) -> dict[str, Callable[[], object]]:
    """The cases in samplics (archived; Taylor cases and, for small data, the bootstrap)."""
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

    def mean() -> object:
        estimator = TaylorEstimator(PopParam.mean)
        estimator.estimate(y=y, samp_weight=w, stratum=h, psu=p)
        return estimator.stderror

    def domains() -> object:
        estimator = TaylorEstimator(PopParam.mean)
        estimator.estimate(y=y, samp_weight=w, stratum=h, psu=p, domain=dom)
        return estimator.stderror

    def bootstrap() -> object:
        maker = ReplicateWeight(RepMethod.bootstrap, nb_reps=replicates, rand_seed=1)
        table = maker.replicate(samp_weight=w, psu=p, stratum=h)
        keys = pd.DataFrame({"_stratum": h, "_psu": p, "_samp_weight": w})
        table = keys.merge(table, on=["_stratum", "_psu", "_samp_weight"], how="left")
        matrix = table.filter(like="_boot_wgt_").to_numpy()
        estimator = ReplicateEstimator(RepMethod.bootstrap, PopParam.mean)
        estimator.estimate(y=y, samp_weight=w, rep_weights=matrix)
        return estimator.stderror

    cases: dict[str, Callable[[], object]] = {"mean": mean, "domains": domains}
    if with_bootstrap:
        cases["bootstrap"] = bootstrap
    return cases


def installed(module: str) -> bool:
    """True if `module` imports."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            __import__(module)
    except ImportError:
        return False
    return True


def run_size(rows: int, arguments: argparse.Namespace, peers: dict[str, bool]) -> None:
    """Time every case at one size and print a table row per case."""
    replicates = arguments.replicates
    frame = make_data(rows)
    design = survey_design(frame, weights="weight", strata="stratum", clusters="psu")
    wanted = rows <= arguments.supplied_max and "supplied" in arguments.cases
    supplied = supplied_weights(frame, replicates) if wanted else None
    given = (
        None
        if supplied is None
        else replicate_design_from_arrays(
            frame, frame["weight"].to_numpy(), supplied, replicate_type="BRR"
        )
    )

    def bootstrap() -> EstimateTable:
        replicated = create_replicates(design, "bootstrap", replicates=replicates, rng=1)
        return estimate_means(replicated, "y0")

    ours: dict[str, Callable[[], EstimateTable]] = {
        "mean": lambda: estimate_means(design, "y0"),
        "domains": lambda: estimate_means(design, "y0", by="domain"),
        "many": lambda: estimate_means(design, VARIABLES, by="domain"),
        "bootstrap": bootstrap,
    }
    if given is not None:
        ours["supplied"] = lambda: estimate_means(given, "y0", by="domain")
    ours = {case: function for case, function in ours.items() if case in arguments.cases}

    peer_repeats = arguments.repeats if rows <= 200_000 else 1
    r_peer = (
        run_r(frame, supplied, replicates, peer_repeats, arguments.cases)
        if peers["R"] and rows <= arguments.r_max
        else Peer()
    )
    svy_times: dict[str, float] = {}
    if peers["svy"] and rows <= arguments.svy_max:
        for case, function in svy_cases(frame, supplied, replicates).items():
            if case in arguments.cases:
                svy_times[case], _ = timed(function, peer_repeats)
    samplics_times: dict[str, float] = {}
    if peers["samplics"] and rows <= arguments.peer_max:
        with_bootstrap = rows <= arguments.peer_replicate_max
        for case, function in samplics_cases(frame, replicates, with_bootstrap).items():
            if case not in arguments.cases:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                samplics_times[case], _ = timed(function, peer_repeats)

    for case, function in ours.items():
        seconds, result = timed(function, arguments.repeats)
        memory = peak_memory(function)
        assert isinstance(result, EstimateTable)
        r_time = r_peer.times.get(case)
        difference = "-"
        if case in r_peer.results:
            est_diff, se_diff = largest_differences(ours_results(result), r_peer.results[case])
            difference = f"{est_diff:.0e} / {se_diff:.0e}"
            if case == "bootstrap":
                difference = f"{est_diff:.0e} / random"
        cells = [
            f"{rows:,}",
            CASES[case].format(R=replicates),
            f"{seconds:.3f}",
            f"{memory:.2f}",
            _seconds(r_time),
            f"{r_time / seconds:.0f}x" if r_time else "-",
            difference,
            _seconds(svy_times.get(case)),
            _seconds(samplics_times.get(case)),
        ]
        print("| " + " | ".join(cells) + " |", flush=True)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--replicates", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--r-max", type=int, default=5_000_000)
    parser.add_argument("--svy-max", type=int, default=1_000_000)
    parser.add_argument("--peer-max", type=int, default=1_000_000)
    parser.add_argument("--peer-replicate-max", type=int, default=200_000)
    parser.add_argument("--supplied-max", type=int, default=1_000_000)
    parser.add_argument(
        "--cases", nargs="+", choices=list(CASES), default=list(CASES), help="Cases to run."
    )
    arguments = parser.parse_args()
    peers = {"R": r_available(), "svy": installed("svy"), "samplics": installed("samplics")}
    print(f"peers available: {peers}; load average {os.getloadavg()}")
    print(
        "| rows | case | crimeprev s | peak GiB | R survey s | R / crimeprev "
        "| max rel. diff. vs R (est. / SE) | svy s | samplics s |"
    )
    print("|---:|---|---:|---:|---:|---:|---|---:|---:|")
    for rows in arguments.sizes:
        run_size(rows, arguments, peers)
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
