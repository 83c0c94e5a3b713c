"""Survey designs for Taylor linearisation: weights, strata, multi-stage clusters, FPC.

A :class:`TaylorDesign` holds the analysis frame and the design coded as
integer arrays, checked once when it is built. Variances follow the
recursive multistage estimator of R's ``survey`` package (Lumley 2010,
appendix C): at each stage, the between-unit variance of estimated unit
totals within strata, scaled by ``(1 - f) n / (n - 1)``; a later stage adds
its within-unit variance multiplied by the sampling fractions of the stages
above it, so a design without a finite population correction is the usual
with-replacement (ultimate cluster) approximation.

We hand-write the estimator instead of calling samplics because samplics
loops over strata and clusters in Python and keeps an n x R matrix for
replicates; here every stage is a handful of ``np.bincount`` calls, so a
five-million-row design takes well under a second (see
``bench/bench_survey.py``).

Cluster identifiers are read within their stratum (and stage-k clusters
within their stage-(k-1) cluster), as ``nest=TRUE`` does in R; this is what
NCVS-style pseudo-strata with half-sample codes 1 and 2 need.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError

#: Lonely-PSU options, with the names R's ``survey.lonely.psu`` uses.
LONELY_PSU_OPTIONS: tuple[str, ...] = ("fail", "remove", "certainty", "adjust", "average")


@dataclass(frozen=True, eq=False)
class Stage:
    """One sampling stage, coded for vectorised variance computation.

    Attributes
    ----------
    unit : numpy.ndarray
        Integer code (0 .. units-1) of each row's sampled unit at this stage.
    unit_group : numpy.ndarray
        For each unit, the code of its group: the stratum at stage 1, the
        parent unit at later stages.
    group_units : numpy.ndarray
        Number of sampled units in each group.
    group_fraction : numpy.ndarray
        Sampling fraction ``n / N`` of each group (0 when no FPC was given,
        i.e. sampling with replacement).
    group_prior_fraction : numpy.ndarray
        Product of the sampling fractions of the stages above (1 at stage 1).
    group_labels : tuple of str
        A readable label of each group, used in error messages.
    """

    unit: np.ndarray
    unit_group: np.ndarray
    group_units: np.ndarray
    group_fraction: np.ndarray
    group_prior_fraction: np.ndarray
    group_labels: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class TaylorDesign:
    """A complex sample design whose variances come from Taylor linearisation.

    Build it with :func:`survey_design`; do not call the constructor directly.

    Attributes
    ----------
    frame : pandas.DataFrame
        The analysis variables, one row per respondent.
    weights : numpy.ndarray
        Sampling (analysis) weights; rows with weight 0 are out of sample.
    stages : tuple of Stage
        The coded sampling stages.
    lonely_psu : str
        What to do with a stratum that has one PSU (see :data:`LONELY_PSU_OPTIONS`).
    degrees_of_freedom : int
        Design degrees of freedom: first-stage PSUs minus strata.
    names : dict
        The column names the design was built from (weights, strata, clusters, fpc).
    """

    frame: pd.DataFrame
    weights: np.ndarray
    stages: tuple[Stage, ...]
    lonely_psu: str
    degrees_of_freedom: int
    names: dict[str, object] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.weights.shape[0])

    @property
    def method(self) -> str:
        """Variance method: ``"taylor"``."""
        return "taylor"

    def describe(self) -> dict[str, object]:
        """Return a short JSON-able description of the design."""
        first = self.stages[0]
        return {
            "method": "Taylor linearisation",
            "rows": self.size,
            "strata": int(first.group_units.shape[0]),
            "psus": int(first.group_units.sum()),
            "stages": len(self.stages),
            "with_replacement": bool(np.all(first.group_fraction == 0)),
            "lonely_psu": self.lonely_psu,
            "degrees_of_freedom": self.degrees_of_freedom,
            "columns": {key: value for key, value in self.names.items() if value is not None},
        }


def _column(frame: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in frame.columns:
        raise InvalidInputError(
            f"the {role} column {name!r} is not in the data; columns are "
            f"{', '.join(map(str, frame.columns[:20]))}"
            + (" ..." if len(frame.columns) > 20 else ""),
            field=name,
            expected=f"a column holding the {role}",
        )
    return frame[name]


def check_weights(values: np.ndarray, name: str) -> np.ndarray:
    """Return `values` as float weights, or raise if any is missing, infinite or negative.

    Parameters
    ----------
    values : numpy.ndarray
        Candidate weights.
    name : str
        Column name, for the message.

    Raises
    ------
    InvalidInputError
        Naming the first bad row, its value and what was expected.

    Examples
    --------
    >>> check_weights(np.array([1.0, 2.5]), "pw")
    array([1. , 2.5])
    """
    try:
        weights = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"weights in {name!r} are not numbers ({error})", field=name, expected="numbers >= 0"
        ) from error
    bad = ~np.isfinite(weights)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(
            f"weight column {name!r} has {int(bad.sum())} missing or infinite values "
            f"(first at row {row}); every respondent needs a weight (use 0 to exclude a row)",
            field=name,
            row=row,
            value=str(weights[row]),
            expected="a finite number >= 0",
        )
    negative = weights < 0
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise InvalidInputError(
            f"weight column {name!r} has {int(negative.sum())} negative values "
            f"(first at row {row}: {weights[row]!r}); weights must be >= 0",
            field=name,
            row=row,
            value=float(weights[row]),
            expected="a finite number >= 0",
        )
    return weights


def _codes(values: pd.Series | np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the distinct values (in order of first appearance)."""
    series = pd.Series(values)
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InvalidInputError(
            f"design column {name!r} has {int(missing.sum())} missing values (first at row {row}); "
            "every respondent needs a stratum and cluster code",
            field=name,
            row=row,
            expected="a stratum or cluster code",
        )
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _combine(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Codes of the (parent, child) pairs."""
    combined = parent.astype(np.int64) * (int(child.max()) + 1 if child.size else 1) + child
    codes, _ = pd.factorize(combined, sort=True)
    return codes.astype(np.int64)


def _fractions(
    frame: pd.DataFrame,
    name: str,
    group: np.ndarray,
    group_units: np.ndarray,
    stage_number: int,
) -> np.ndarray:
    """Sampling fraction of each group from an FPC column (sizes >= 1 or fractions <= 1)."""
    raw = pd.to_numeric(_column(frame, name, "finite population correction"), errors="coerce")
    values = raw.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(
            f"FPC column {name!r} has a missing or non-positive value at row {row} "
            f"({frame[name].iloc[row]!r})",
            field=name,
            row=row,
            value=str(frame[name].iloc[row]),
            expected="population size (>= 1) or sampling fraction (0 < f <= 1)",
        )
    is_size = values > 1
    if is_size.any() and (values < 1).any():
        raise InvalidInputError(
            f"FPC column {name!r} mixes population sizes (> 1) and sampling fractions (< 1); "
            "give all as sizes or all as fractions",
            field=name,
        )
    group_count = group_units.shape[0]
    low = np.full(group_count, np.inf)
    high = np.full(group_count, -np.inf)
    np.minimum.at(low, group, values)
    np.maximum.at(high, group, values)
    varying = np.flatnonzero(~np.isclose(low, high))
    if varying.size:
        raise InvalidInputError(
            f"FPC column {name!r} varies within a stage-{stage_number} stratum "
            f"(values {low[varying[0]]} and {high[varying[0]]}); it must be constant within each",
            field=name,
        )
    fraction = group_units / low if is_size.any() else low
    if (fraction > 1 + 1e-9).any():
        index = int(np.flatnonzero(fraction > 1 + 1e-9)[0])
        raise InvalidInputError(
            f"FPC column {name!r} implies more sampled units ({int(group_units[index])}) than "
            f"population units ({low[index]}) at stage {stage_number}",
            field=name,
            value=float(low[index]),
            expected=f"a population size >= {int(group_units[index])}",
        )
    return np.minimum(fraction, 1.0)


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def survey_design(
    frame: pd.DataFrame,
    *,
    weights: str,
    strata: str | None = None,
    clusters: str | Sequence[str] | None = None,
    fpc: str | Sequence[str] | None = None,
    lonely_psu: str = "fail",
) -> TaylorDesign:
    """Describe a stratified multi-stage sample for Taylor-linearisation variances.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent, with the design and analysis columns.
    weights : str
        Column of sampling weights (inverse inclusion probabilities); 0 excludes a row.
    strata : str, optional
        First-stage strata column. Without it the sample is one stratum.
    clusters : str or list of str, optional
        Cluster (PSU, SSU, ...) columns, one per stage, outermost first.
        Without it each row is its own PSU. Codes are read within their stratum.
    fpc : str or list of str, optional
        Finite population correction per stage: population sizes (all >= 1) or
        sampling fractions (all <= 1). Without it, the with-replacement
        approximation: only first-stage variability counts.
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}, default="fail"
        Treatment of a stratum with a single PSU, as R's ``survey.lonely.psu``:
        ``fail`` raises; ``remove`` and ``certainty`` let it contribute nothing;
        ``adjust`` measures its PSU against zero, which for the centred scores
        of means, proportions and ratios is the grand mean; ``average`` gives it
        the average variance of the other strata.

    Returns
    -------
    TaylorDesign

    Raises
    ------
    InvalidInputError
        For a missing column, missing or negative weights, missing design codes,
        an inconsistent FPC, or (under ``fail``) a stratum with one PSU.

    Examples
    --------
    >>> frame = pd.DataFrame({"w": [2.0, 2.0, 3.0, 3.0], "h": [1, 1, 2, 2], "y": [1, 2, 3, 5]})
    >>> design = survey_design(frame, weights="w", strata="h")
    >>> design.degrees_of_freedom
    2
    """
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise InvalidInputError(
            f"lonely_psu must be one of {', '.join(LONELY_PSU_OPTIONS)}, got {lonely_psu!r}",
            field="lonely_psu",
            value=lonely_psu,
        )
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError("frame must be a pandas DataFrame")
    if len(frame) == 0:
        raise InvalidInputError("the survey data has no rows")
    frame = frame.reset_index(drop=True)
    weight_values = check_weights(_column(frame, weights, "weight").to_numpy(), weights)
    cluster_names = _as_list(clusters)
    fpc_names = _as_list(fpc)
    if len(fpc_names) > max(len(cluster_names), 1):
        raise InvalidInputError(
            f"{len(fpc_names)} FPC columns given for {max(len(cluster_names), 1)} stage(s); "
            "give at most one FPC column per stage",
            field="fpc",
        )
    rows = len(frame)
    if strata is not None:
        stratum_codes, stratum_values = _codes(_column(frame, strata, "strata"), strata)
    else:
        stratum_codes, stratum_values = np.zeros(rows, dtype=np.int64), np.array(["(all)"])
    stage_columns: list[np.ndarray] = []
    if cluster_names:
        for name in cluster_names:
            stage_columns.append(_codes(_column(frame, name, "cluster"), name)[0])
    else:
        stage_columns.append(np.arange(rows, dtype=np.int64))

    stages: list[Stage] = []
    group = stratum_codes
    group_labels = tuple(f"{strata or 'stratum'}={value}" for value in stratum_values)
    prior_fraction_by_row = np.ones(rows)
    for index, cluster_codes in enumerate(stage_columns):
        stage_number = index + 1
        unit = _combine(group, cluster_codes)
        unit_count = int(unit.max()) + 1
        unit_group = np.zeros(unit_count, dtype=np.int64)
        unit_group[unit] = group
        group_count = int(group.max()) + 1
        group_units = np.bincount(unit_group, minlength=group_count)
        if index < len(fpc_names):
            fraction = _fractions(frame, fpc_names[index], group, group_units, stage_number)
        else:
            fraction = np.zeros(group_count)
        group_prior = np.zeros(group_count)
        group_prior[group] = prior_fraction_by_row
        stages.append(
            Stage(
                unit=unit,
                unit_group=unit_group,
                group_units=group_units,
                group_fraction=fraction,
                group_prior_fraction=group_prior,
                group_labels=group_labels,
            )
        )
        prior_fraction_by_row = prior_fraction_by_row * fraction[group]
        if not prior_fraction_by_row.any():
            break  # with replacement at this stage: later stages add nothing
        name = cluster_names[index] if cluster_names else "row"
        group_labels = tuple(f"{name} unit {code}" for code in range(unit_count))
        group = unit

    if lonely_psu == "fail":
        for number, stage in enumerate(stages, start=1):
            lonely = (stage.group_units == 1) & (stage.group_fraction < 1)
            if lonely.any():
                where = int(np.flatnonzero(lonely)[0])
                raise InvalidInputError(
                    f"stratum {stage.group_labels[where]} has only one PSU at stage {number} "
                    f"({int(lonely.sum())} such strata); the variance cannot be estimated under "
                    "lonely_psu='fail': choose 'remove', 'certainty', 'adjust' or 'average', "
                    "or collapse strata",
                    field=strata or "strata",
                    value=stage.group_labels[where],
                    expected="at least two PSUs per stratum",
                )
    first = stages[0]
    degrees_of_freedom = int(first.group_units.sum() - first.group_units.shape[0])
    names: dict[str, object] = {
        "weights": weights,
        "strata": strata,
        "clusters": cluster_names or None,
        "fpc": fpc_names or None,
    }
    return TaylorDesign(
        frame=frame,
        weights=weight_values,
        stages=tuple(stages),
        lonely_psu=lonely_psu,
        degrees_of_freedom=max(degrees_of_freedom, 1),
        names=names,
    )


def taylor_variance(
    design: TaylorDesign,
    scores: np.ndarray,
    domain: np.ndarray | None = None,
    domains: int = 1,
) -> np.ndarray:
    """Variance of the estimated total of `scores` (already weighted), per domain.

    Parameters
    ----------
    design : TaylorDesign
        The design.
    scores : numpy.ndarray
        Weighted linearised values ``w_i z_i``, one per row. Rows outside a
        domain must not be included in it: the domain's total is
        ``sum(scores[domain == d])`` and PSUs without domain members count as zeros.
    domain : numpy.ndarray, optional
        Domain code (0 .. domains-1) of each row; negative codes are ignored.
    domains : int, default=1
        Number of domains.

    Returns
    -------
    numpy.ndarray
        One variance per domain.

    Examples
    --------
    >>> frame = pd.DataFrame({"w": [1.0, 1.0, 1.0, 1.0]})
    >>> design = survey_design(frame, weights="w")
    >>> round(float(taylor_variance(design, np.array([1.0, 2.0, 3.0, 4.0]))[0]), 6)
    6.666667
    """
    scores = np.asarray(scores, dtype=float)
    if domain is None:
        domains = 1
    else:
        keep = domain >= 0
        if not keep.all():
            scores = np.where(keep, scores, 0.0)
            domain = np.where(keep, domain, 0)
    total = np.zeros(domains)
    for number, stage in enumerate(design.stages, start=1):
        if not stage.group_prior_fraction.any():
            break
        unit_count = stage.unit_group.shape[0]
        group_count = stage.group_units.shape[0]
        key = stage.unit if domains == 1 or domain is None else stage.unit * domains + domain
        unit_totals = np.bincount(key, weights=scores, minlength=unit_count * domains).reshape(
            unit_count, domains
        )
        group_of_cell = np.repeat(stage.unit_group, domains) * domains + np.tile(
            np.arange(domains), unit_count
        )
        group_sums = np.bincount(
            group_of_cell, weights=unit_totals.ravel(), minlength=group_count * domains
        ).reshape(group_count, domains)
        n_units = stage.group_units.astype(float)
        means = group_sums / n_units[:, None]
        lonely = n_units == 1
        deviations = unit_totals - means[stage.unit_group]
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (1.0 - stage.group_fraction) * np.where(lonely, 1.0, n_units / (n_units - 1))
        scale = np.where(stage.group_fraction >= 1 - 1e-12, 0.0, scale)
        lonely = lonely & (scale > 0)
        excluded = np.zeros(group_count, dtype=bool)
        if lonely.any():
            if design.lonely_psu == "adjust":
                # R's onestrat leaves a lonely PSU uncentred.
                lonely_units = lonely[stage.unit_group]
                deviations[lonely_units] = unit_totals[lonely_units]
            elif design.lonely_psu == "average" and number == 1:
                excluded = lonely
                scale = np.where(lonely, 0.0, scale)
            elif design.lonely_psu == "fail":
                where = int(np.flatnonzero(lonely)[0])
                raise InvalidInputError(
                    f"stratum {stage.group_labels[where]} has only one PSU at stage {number}",
                    expected="at least two PSUs per stratum",
                )
            else:
                scale = np.where(lonely, 0.0, scale)
        weight = (scale * stage.group_prior_fraction)[stage.unit_group]
        contribution = (weight[:, None] * deviations**2).sum(axis=0)
        if excluded.any():
            contribution = contribution * group_count / (group_count - int(excluded.sum()))
        total += contribution
    return total
