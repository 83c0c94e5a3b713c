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
    group_parent : numpy.ndarray
        For each group, the code of the unit of the stage above that holds
        it (all 0 at stage 1). Under ``lonely_psu="average"`` the variance of
        the groups of one parent is scaled up for that parent's lonely groups,
        as R's ``onestage`` does within each cluster of the stage above.
    """

    unit: np.ndarray
    unit_group: np.ndarray
    group_units: np.ndarray
    group_fraction: np.ndarray
    group_prior_fraction: np.ndarray
    group_labels: tuple[str, ...]
    group_parent: np.ndarray


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
    memo : dict
        Domain codes and cells already computed for this design, keyed by the
        domain columns. The frame is treated as read-only once the design is built.
    """

    frame: pd.DataFrame
    weights: np.ndarray
    stages: tuple[Stage, ...]
    lonely_psu: str
    degrees_of_freedom: int
    names: dict[str, object] = field(default_factory=dict)
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False)

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
    strata: str | Sequence[str] | None = None,
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
    strata : str or list of str, optional
        Strata columns, one per stage, outermost first (as R's
        ``strata=~h1+h2``): stage-k strata are read within the stage-(k-1)
        unit. A single column stratifies the first stage only. Without it
        the sample is one stratum.
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
    strata_names = _as_list(strata)
    if len(strata_names) > max(len(cluster_names), 1):
        raise InvalidInputError(
            f"{len(strata_names)} strata columns given for {max(len(cluster_names), 1)} stage(s); "
            "give at most one strata column per stage",
            field="strata",
        )
    later_strata = [_codes(_column(frame, name, "strata"), name) for name in strata_names[1:]]
    if strata_names:
        first_name = strata_names[0]
        stratum_codes, stratum_values = _codes(_column(frame, first_name, "strata"), first_name)
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
    stratum_label = strata_names[0] if strata_names else "stratum"
    group_labels = tuple(f"{stratum_label}={value}" for value in stratum_values)
    group_parent = np.zeros(int(group.max()) + 1, dtype=np.int64)
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
                group_parent=group_parent,
            )
        )
        prior_fraction_by_row = prior_fraction_by_row * fraction[group]
        if not prior_fraction_by_row.any():
            break  # with replacement at this stage: later stages add nothing
        name = cluster_names[index] if cluster_names else "row"
        if index < len(later_strata):
            # Stage-(k+1) strata within each stage-k unit.
            inner_codes, inner_values = later_strata[index]
            group = _combine(unit, inner_codes)
            group_parent = np.zeros(int(group.max()) + 1, dtype=np.int64)
            group_parent[group] = unit
            inner_of_group = np.zeros(group_parent.shape[0], dtype=np.int64)
            inner_of_group[group] = inner_codes
            inner_name = strata_names[index + 1]
            group_labels = tuple(
                f"{name} unit {parent}, {inner_name}={inner_values[code]}"
                for parent, code in zip(group_parent.tolist(), inner_of_group.tolist(), strict=True)
            )
        else:
            group_parent = np.arange(unit_count, dtype=np.int64)
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
                    field=strata_names[min(number, len(strata_names)) - 1]
                    if strata_names
                    else "strata",
                    value=stage.group_labels[where],
                    expected="at least two PSUs per stratum",
                )
    first = stages[0]
    degrees_of_freedom = int(first.group_units.sum() - first.group_units.shape[0])
    names: dict[str, object] = {
        "weights": weights,
        "strata": (strata_names[0] if len(strata_names) == 1 else strata_names) or None,
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


@dataclass(frozen=True, eq=False)
class StageCells:
    """The (unit, domain) cells of one stage.

    Attributes
    ----------
    of_cell : numpy.ndarray or None
        For each finest cell, the code of its cell at this stage (None when
        the stage is the finest one, whose cells are the finest cells).
    count : int
        Number of cells at this stage.
    group_domain : numpy.ndarray
        For each cell at this stage, ``group * domains + domain``.
    listed : numpy.ndarray
        For each (group, domain), the number of cells listed; the group's
        other units have a zero total in that domain.
    """

    of_cell: np.ndarray | None
    count: int
    group_domain: np.ndarray
    listed: np.ndarray


@dataclass(frozen=True, eq=False)
class DomainCells:
    """Rows grouped by (finest-stage unit, domain), coded once per design and domains.

    A domain variance needs only the totals of the scores in each unit and
    domain, so the estimators sum the rows into these cells with one
    ``np.bincount`` per variable and do everything else on the cells, whose
    number is the units times the domains (a few thousand for a typical
    clustered survey) rather than the respondents.

    Attributes
    ----------
    row_cell : numpy.ndarray
        Cell code of each row (rows outside every domain are given a cell of
        domain 0; the estimators give them weight 0).
    count : int
        Number of cells.
    cell_domain : numpy.ndarray
        Domain code of each cell.
    domains : int
        Number of domains.
    stages : tuple of StageCells
        The cells of each stage, outermost first.
    members : numpy.ndarray
        Number of the domain's rows in each cell.
    """

    row_cell: np.ndarray
    count: int
    cell_domain: np.ndarray
    domains: int
    stages: tuple[StageCells, ...]
    members: np.ndarray


def domain_cells(
    design: TaylorDesign, domain: np.ndarray | None = None, domains: int = 1
) -> DomainCells:
    """Code the (unit, domain) cells of every stage of `design`.

    Parameters
    ----------
    design : TaylorDesign
    domain : numpy.ndarray, optional
        Domain code (0 .. domains-1) of each row; negative codes are in no domain.
    domains : int, default=1

    Returns
    -------
    DomainCells

    Examples
    --------
    >>> frame = pd.DataFrame({"h": [1, 1, 1, 2, 2, 2], "p": [1, 1, 2, 1, 2, 2]}).assign(w=1.0)
    >>> design = survey_design(frame, weights="w", strata="h", clusters="p")
    >>> cells = domain_cells(design, np.array([0, 1, 1, 1, 0, 1]), 2)
    >>> cells.count, cells.row_cell.tolist()
    (8, [0, 1, 3, 5, 6, 7])
    """
    rows = design.size
    last = design.stages[-1]
    unit = last.unit
    units = int(last.unit_group.shape[0])
    code = np.zeros(rows, dtype=np.int64) if domain is None else np.maximum(domain, 0)
    if domain is None or domains == 1:
        domains = 1
        row_cell, count = unit, units
        cell_domain = np.zeros(units, dtype=np.int64)
        cell_unit = np.arange(units, dtype=np.int64)
    elif units == rows:  # every row is its own unit: its cell is its unit
        row_cell, count = unit, units
        cell_domain = np.zeros(units, dtype=np.int64)
        cell_domain[unit] = code
        cell_unit = np.arange(units, dtype=np.int64)
    elif units * domains <= 4 * rows + 4096:  # dense: every unit in every domain
        row_cell, count = unit * domains + code, units * domains
        cell_domain = np.tile(np.arange(domains, dtype=np.int64), units)
        cell_unit = np.repeat(np.arange(units, dtype=np.int64), domains)
    else:
        keys, row_cell = np.unique(unit * domains + code, return_inverse=True)
        count = int(keys.shape[0])
        cell_domain, cell_unit = keys % domains, keys // domains
    stages: list[StageCells] = []
    stage_unit = cell_unit
    for index in range(len(design.stages) - 1, -1, -1):
        stage = design.stages[index]
        of_cell: np.ndarray | None = None
        stage_count, stage_domain = count, cell_domain
        if index < len(design.stages) - 1:
            below = design.stages[index + 1]
            stage_unit = below.group_parent[below.unit_group[stage_unit]]
            keys, of_cell = np.unique(stage_unit * domains + cell_domain, return_inverse=True)
            stage_count = int(keys.shape[0])
            stage_domain = keys % domains
            units_of_stage = keys // domains
        else:
            units_of_stage = stage_unit
        groups = int(stage.group_units.shape[0])
        group_domain = stage.unit_group[units_of_stage] * domains + stage_domain
        listed = np.bincount(group_domain, minlength=groups * domains)
        stages.append(StageCells(of_cell, stage_count, group_domain, listed))
    row_cell = np.ascontiguousarray(row_cell, dtype=np.intp)
    inside = None if domain is None else (domain >= 0).astype(float)
    return DomainCells(
        row_cell=row_cell,
        count=count,
        cell_domain=cell_domain,
        domains=domains,
        stages=tuple(reversed(stages)),
        members=np.bincount(row_cell, weights=inside, minlength=count),
    )


@dataclass(frozen=True)
class _StageWeights:
    """Variance multipliers of the groups of one stage.

    ``weight`` is ``scale * prior fraction`` per group; ``uncentred`` marks
    lonely groups measured against zero (``adjust``); ``averaged`` marks
    lonely groups whose share goes to the other groups of their parent
    (``average``).
    """

    weight: np.ndarray
    uncentred: np.ndarray | None
    averaged: np.ndarray | None


def _stage_weights(design: TaylorDesign, stage: Stage, number: int) -> _StageWeights:
    """Each group's variance multiplier at one stage, with the lonely-PSU treatment."""
    n_units = stage.group_units.astype(float)
    lonely = n_units == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (1.0 - stage.group_fraction) * np.where(lonely, 1.0, n_units / (n_units - 1))
    scale = np.where(stage.group_fraction >= 1 - 1e-12, 0.0, scale)
    lonely = lonely & (scale > 0)
    uncentred: np.ndarray | None = None
    averaged: np.ndarray | None = None
    if lonely.any():
        if design.lonely_psu == "fail":
            where = int(np.flatnonzero(lonely)[0])
            raise InvalidInputError(
                f"stratum {stage.group_labels[where]} has only one PSU at stage {number}",
                expected="at least two PSUs per stratum",
            )
        if design.lonely_psu == "adjust":
            uncentred = lonely  # R's onestrat leaves a lonely PSU uncentred
        else:
            scale = np.where(lonely, 0.0, scale)
        if design.lonely_psu == "average":
            averaged = lonely
    return _StageWeights(scale * stage.group_prior_fraction, uncentred, averaged)


def _average_factor(
    stage: Stage, averaged: np.ndarray, present: np.ndarray, domains: int
) -> np.ndarray:
    """R's ``average`` factor per (group, domain): strata / non-lonely strata of the parent.

    As R's ``onestage``, the strata counted are those of the parent (the whole
    sample at stage 1, a unit of the stage above later) that have rows in the
    domain: R drops the other rows when it subsets a design to a domain.
    """
    groups = stage.group_units.shape[0]
    parents = int(stage.group_parent.max()) + 1
    key = (stage.group_parent[:, None] * domains + np.arange(domains)[None, :]).ravel()
    in_domain = present.reshape(groups, domains)
    strata = np.bincount(key, weights=in_domain.ravel().astype(float), minlength=parents * domains)
    kept = np.bincount(
        key,
        weights=(in_domain & ~averaged[:, None]).ravel().astype(float),
        minlength=parents * domains,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = strata / kept
    return factor[key].reshape(groups, domains)


def _sum_by(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``np.bincount`` of each column of `values` (cells x m) into `size` bins."""
    out = np.empty((size, values.shape[1]))
    for column in range(values.shape[1]):
        out[:, column] = np.bincount(codes, weights=values[:, column], minlength=size)
    return out


def cell_variance(
    design: TaylorDesign,
    cells: DomainCells,
    totals: np.ndarray,
    members: np.ndarray | None = None,
) -> np.ndarray:
    """Variance of domain totals from the score totals of the finest cells.

    Parameters
    ----------
    design : TaylorDesign
    cells : DomainCells
        From :func:`domain_cells`.
    totals : numpy.ndarray
        ``cells.count`` x m totals of the weighted scores.
    members : numpy.ndarray, optional
        Rows behind each cell (default: the domain's rows, ``cells.members``);
        only ``lonely_psu="average"`` uses it, to count the strata present.

    Returns
    -------
    numpy.ndarray
        domains x m variances.

    Examples
    --------
    >>> frame = pd.DataFrame({"w": [1.0] * 4})
    >>> design = survey_design(frame, weights="w")
    >>> cells = domain_cells(design)
    >>> cell_variance(design, cells, np.array([[1.0], [2.0], [3.0], [4.0]]))
    array([[6.66666667]])
    """
    totals = np.asarray(totals, dtype=float).reshape(cells.count, -1)
    members = cells.members if members is None else members
    domains = cells.domains
    result = np.zeros((domains, totals.shape[1]))
    for number, (stage, stage_cells) in enumerate(
        zip(design.stages, cells.stages, strict=True), start=1
    ):
        weights = _stage_weights(design, stage, number)
        if not weights.weight.any():
            continue
        groups = int(stage.group_units.shape[0])
        stage_totals = (
            totals
            if stage_cells.of_cell is None
            else _sum_by(stage_cells.of_cell, totals, stage_cells.count)
        )
        sums = _sum_by(stage_cells.group_domain, stage_totals, groups * domains)
        n_units = np.repeat(stage.group_units.astype(float), domains)[:, None]
        centre = sums / n_units
        if weights.uncentred is not None:
            centre[np.repeat(weights.uncentred, domains)] = 0.0
        deviations = stage_totals - centre[stage_cells.group_domain]
        squares = _sum_by(stage_cells.group_domain, deviations**2, groups * domains)
        absent = n_units - stage_cells.listed[:, None]
        squares += absent * centre**2
        weight = np.repeat(weights.weight[:, None], domains, axis=1)
        if weights.averaged is not None:
            stage_members = (
                members
                if stage_cells.of_cell is None
                else np.bincount(stage_cells.of_cell, weights=members, minlength=stage_cells.count)
            )
            present = (
                np.bincount(
                    stage_cells.group_domain, weights=stage_members, minlength=groups * domains
                )
                > 0
            )
            weight = weight * _average_factor(stage, weights.averaged, present, domains)
        result += np.einsum("gd,gdm->dm", weight, squares.reshape(groups, domains, -1))
    return result


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
    if domain is not None:
        scores = np.where(domain >= 0, scores, 0.0)
    cells = domain_cells(design, domain, domains if domain is not None else 1)
    totals = np.bincount(cells.row_cell, weights=scores, minlength=cells.count)
    return cell_variance(design, cells, totals[:, None])[:, 0]
