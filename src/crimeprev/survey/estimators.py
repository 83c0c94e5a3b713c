"""Design-based estimators: totals, means, proportions, ratios and quantiles.

Every estimator takes a :class:`~crimeprev.survey.design.TaylorDesign` or a
:class:`~crimeprev.survey.replicates.ReplicateDesign`, many variables at
once, and optional domains (``by``). Domain estimates use the full design:
rows outside a domain count as zeros in their PSU, which is what R's
``svyby`` does, so strata and PSUs without domain members still shape the
variance. Each result row carries the standard error, a t-interval with the
design degrees of freedom, the coefficient of variation, the design effect
(against simple random sampling without replacement, as R's ``deff=TRUE``)
and the unweighted count.

All estimates are ratios of weighted totals (a total has denominator 1, a
mean the domain size), so one code path serves every statistic: Taylor
linearisation forms the scores ``w (y - theta x) / X``; replicate designs
recompute the totals under each replicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.survey.design import DomainCells, TaylorDesign, cell_variance, domain_cells
from crimeprev.survey.intervals import proportion_interval, t_quantile
from crimeprev.survey.replicates import ReplicateDesign

Design = TaylorDesign | ReplicateDesign

#: Denominator of a mean: every row counts 1 (saves an n x k matrix of ones).
UNIT = "unit"


@dataclass(frozen=True)
class Estimate:
    """One estimate with its uncertainty.

    Attributes
    ----------
    statistic : str
        ``total``, ``mean``, ``proportion``, ``ratio`` or ``quantile``.
    variable : str
        The variable (``num/den`` for ratios).
    domain : str
        ``all`` or the domain, e.g. ``sex=2``.
    category : str or None
        The category of a proportion, or the probability of a quantile.
    estimate, se, ci_low, ci_high : float
        Point estimate, standard error and confidence limits.
    cv : float
        Coefficient of variation (relative standard error), se / |estimate|.
    deff : float
        Design effect (variance over the SRS-without-replacement variance).
    df : int
        Degrees of freedom of the interval.
    n : int
        Unweighted respondents with non-zero weight behind the estimate: in
        the domain, with a value; for a total, a non-zero value (the cases
        counted), and for a ratio a non-zero denominator (victims behind a
        concentration, victimisations behind a reporting rate).
    population : float
        Weighted number of respondents (sum of weights) behind the estimate.
    """

    statistic: str
    variable: str
    domain: str
    category: str | None
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    cv: float
    deff: float
    df: int
    n: int
    population: float


@dataclass(frozen=True)
class EstimateTable:
    """Estimates from one call, with the design they came from.

    Attributes
    ----------
    rows : tuple of Estimate
    design : dict
        :meth:`TaylorDesign.describe` or :meth:`ReplicateDesign.describe`.
    level : float
        Confidence level of the intervals.
    """

    rows: tuple[Estimate, ...]
    design: dict[str, Any]
    level: float

    def to_frame(self) -> pd.DataFrame:
        """The rows as a data frame."""
        return pd.DataFrame(
            [asdict(row) for row in self.rows], columns=list(Estimate.__annotations__)
        )

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as JSON-able dictionaries (NaN becomes None)."""
        records = []
        for row in self.rows:
            record = asdict(row)
            for key, value in record.items():
                if isinstance(value, float) and not np.isfinite(value):
                    record[key] = None
            records.append(record)
        return records

    def get(self, variable: str, domain: str = "all", category: str | None = None) -> Estimate:
        """The row for `variable` in `domain` (and `category`).

        Raises
        ------
        NotFoundError
            If there is no such row.
        """
        for row in self.rows:
            if row.variable == variable and row.domain == domain and row.category == category:
                return row
        raise NotFoundError(
            f"no estimate for {variable!r} in domain {domain!r} (category {category!r})",
            variable=variable,
            domain=domain,
        )

    def __add__(self, other: EstimateTable) -> EstimateTable:
        return EstimateTable(rows=self.rows + other.rows, design=self.design, level=self.level)


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def domain_codes(
    frame: pd.DataFrame, by: str | Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Domain code of each row and the domain labels, for the columns in `by`.

    Rows with a missing value in a `by` column belong to no domain (code -1).

    Examples
    --------
    >>> codes, labels = domain_codes(pd.DataFrame({"sex": [1, 2, 1]}), "sex")
    >>> codes.tolist(), labels
    ([0, 1, 0], ['sex=1', 'sex=2'])
    """
    columns = _names(by)
    if not columns:
        return np.zeros(len(frame), dtype=np.int64), ["all"]
    for column in columns:
        if column not in frame.columns:
            raise InvalidInputError(
                f"domain column {column!r} is not in the data", field=column, expected="a column"
            )
    grouped = frame.groupby(columns, sort=True, dropna=True, observed=True)
    codes = grouped.ngroup().to_numpy()
    codes = np.where(np.isnan(codes.astype(float)), -1, codes).astype(np.int64)
    labels = []
    for key in grouped.size().index:
        values = key if isinstance(key, tuple) else (key,)
        labels.append(
            ", ".join(f"{name}={_show(value)}" for name, value in zip(columns, values, strict=True))
        )
    return codes, labels


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _numeric(design: Design, name: str, missing: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of a numeric variable (0 where missing) and the mask of present rows."""
    frame = design.frame
    if name not in frame.columns:
        raise InvalidInputError(
            f"variable {name!r} is not in the data", field=name, expected="a column of the data"
        )
    column = frame[name]
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiub":
        # Plain numeric column: read it without a copy when it is already float.
        values = column.to_numpy(dtype=float)
        present = np.isfinite(values)
        if present.all():
            return values, present
        return _missing_values(name, values, present, missing)
    if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
        converted = pd.to_numeric(column, errors="coerce")
        bad = converted.isna() & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInputError(
                f"variable {name!r} is not numeric (row {row}: {column.iloc[row]!r}); "
                "use estimate_proportions for categories",
                field=name,
                row=row,
                value=str(column.iloc[row]),
                expected="a number",
            )
        column = converted
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return _missing_values(name, values, present=np.isfinite(values), missing=missing)


def _missing_values(
    name: str, values: np.ndarray, present: np.ndarray, missing: str
) -> tuple[np.ndarray, np.ndarray]:
    """Values with missing ones set to 0, or an error naming the first missing row."""
    if not present.all() and missing == "fail":
        row = int(np.flatnonzero(~present)[0])
        raise InvalidInputError(
            f"variable {name!r} has {int((~present).sum())} missing values (first at row {row}); "
            "pass missing='exclude' to estimate over respondents with a value "
            "(the design is kept whole)",
            field=name,
            row=row,
            expected="a value for every respondent",
        )
    return np.where(present, values, 0.0), present


def _check_missing(missing: str) -> None:
    if missing not in ("fail", "exclude"):
        raise InvalidInputError(
            f"missing must be 'fail' or 'exclude', got {missing!r}", field="missing", value=missing
        )


@dataclass(frozen=True)
class _Parts:
    estimate: np.ndarray  # domains x k
    variance: np.ndarray
    deff: np.ndarray
    n: np.ndarray
    population: np.ndarray


class _Summer:
    """Sums rows into domains (and, for Taylor designs, into unit x domain cells).

    Built once per design and domain columns (remembered on the design), so
    the domain code, the weights of rows in a domain and their per-domain
    totals are computed once for all variables and calls.
    """

    def __init__(self, design: Design, domain: np.ndarray, domains: int) -> None:
        self.domains = domains
        inside = domain >= 0
        self.inside = inside
        self.all_inside = bool(inside.all())
        self.single = domains == 1 and self.all_inside
        self.code = domain if self.all_inside else np.where(inside, domain, 0)
        self.base = design.weights if self.all_inside else np.where(inside, design.weights, 0.0)
        self.cells: DomainCells | None = None
        if isinstance(design, TaylorDesign):
            self.cells = domain_cells(design, domain, domains)
        self.base_weight = self.to_domain(self.base)
        self.base_count = self.count(self.base > 0)
        self._base_cells: np.ndarray | None = None

    def base_cells(self) -> np.ndarray:
        """Weights of the rows in a domain, summed in each Taylor cell (computed once)."""
        if self._base_cells is None:
            self._base_cells = self.to_cells(self.base)
        return self._base_cells

    def to_domain(self, values: np.ndarray) -> np.ndarray:
        """Per-domain sums of a row-level array."""
        if self.single:
            return np.array([values.sum()])
        return np.bincount(self.code, weights=values, minlength=self.domains)

    def count(self, flags: np.ndarray) -> np.ndarray:
        """Per-domain counts of true flags."""
        if self.single:
            return np.array([float(np.count_nonzero(flags))])
        return np.bincount(self.code, weights=flags.astype(float), minlength=self.domains)

    def dot(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Per-domain sums of ``a * b`` (the product goes to `out` when given)."""
        if self.single:
            return np.array([float(np.dot(a, b))])
        return self.to_domain(np.multiply(a, b, out=out))

    def to_cells(self, values: np.ndarray) -> np.ndarray:
        """Sums of a row-level array in each Taylor cell."""
        assert self.cells is not None
        return np.bincount(self.cells.row_cell, weights=values, minlength=self.cells.count)

    def cells_to_domain(self, values: np.ndarray) -> np.ndarray:
        """Per-domain sums of a cell-level array."""
        assert self.cells is not None
        if self.domains == 1:
            return np.array([values.sum()])
        return np.bincount(self.cells.cell_domain, weights=values, minlength=self.domains)


class _Scratch:
    """Row-length buffers reused across the columns of one estimator call.

    A fresh array of millions of rows for every intermediate costs page
    faults on first touch, which measured slower than the arithmetic itself
    on a busy machine (0.1 s per operation at 5M rows); reusing a few
    buffers keeps each column to a handful of passes over memory.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str) -> np.ndarray:
        """The buffer called `name` (allocated on first use)."""
        if name not in self.buffers:
            self.buffers[name] = np.empty(self.rows)
        return self.buffers[name]


def _cached(design: Design, key: object, make: Callable[[], Any]) -> Any:
    """`make()`, remembered on the design under `key` (None: not remembered)."""
    if key is None or (isinstance(key, tuple) and key[-1] is None):
        return make()
    if key not in design.memo:
        if len(design.memo) >= 6:  # three sets of domain columns: codes and cells
            design.memo.clear()
        design.memo[key] = make()
    return design.memo[key]


Columns = np.ndarray | list[np.ndarray]


def _column_list(values: Columns) -> list[np.ndarray]:
    """The columns of an n x k matrix (or a list of them) as separate arrays."""
    if isinstance(values, list):
        return values
    return [values[:, column] for column in range(values.shape[1])]


def _ratio_core(
    design: Design,
    numerators: Columns,
    denominators: Columns | str | None,
    present: Columns,
    domain: np.ndarray,
    domains: int,
    key: object = None,
) -> _Parts:
    """Estimates of sum(w num) / sum(w den) per domain and column (den None: totals).

    Each column is reduced to a few sums per domain (and, for a Taylor
    design, per unit and domain cell); the linearised scores of a ratio are
    linear in those sums, so no n-long score vector is formed. `key` names
    the domain columns, so the cells are coded once per design.
    """
    top_columns = _column_list(numerators)
    present_columns = _column_list(present)
    columns = len(top_columns)
    unit_denominator = isinstance(denominators, str)
    bottom_columns = (
        None
        if denominators is None or isinstance(denominators, str)
        else _column_list(denominators)
    )
    summer: _Summer = _cached(design, ("summer", key), lambda: _Summer(design, domain, domains))
    estimate = np.empty((domains, columns))
    variance = np.empty((domains, columns))
    deff = np.empty((domains, columns))
    n = np.empty((domains, columns))
    population = np.empty((domains, columns))
    if isinstance(design, ReplicateDesign):
        _replicate_estimates(
            design,
            np.column_stack(top_columns),
            None if bottom_columns is None else np.column_stack(bottom_columns),
            unit_denominator,
            np.column_stack(present_columns),
            domain,
            domains,
            estimate,
            variance,
        )
    scratch = _Scratch(design.size)
    for column in range(columns):
        mask = present_columns[column]
        whole = bool(mask.all())
        a = summer.base if whole else np.multiply(summer.base, mask, out=scratch.get("a"))
        x = None if bottom_columns is None else bottom_columns[column]
        if x is not None and bool((x == 1.0).all()):
            x = None
        sums = _column_sums(
            summer, scratch, a, whole, top_columns[column], x, denominators is not None
        )
        population[:, column] = sums.weight
        n[:, column] = sums.n
        if isinstance(design, TaylorDesign):
            estimate[:, column] = sums.theta
            variance[:, column] = _taylor_column(design, summer, sums, mask, whole)
        # Design effect against SRS without replacement of the same size (R's deff=TRUE).
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_r2 = sums.residual_squares / sums.weight
            nobs = sums.respondents
            dispersion = mean_r2 * nobs / (nobs - 1)
            srs = dispersion * sums.weight**2 * (sums.weight - nobs) / (sums.weight * nobs)
            deff[:, column] = variance[:, column] / srs
    return _Parts(estimate, variance, deff, n, population)


@dataclass(frozen=True)
class _ColumnSums:
    """What one column reduces to, per domain (and per Taylor cell).

    ``theta`` is the estimate; ``residual_squares`` is the weighted sum of
    squared linearised residuals about the domain's mean residual (their
    mean is 0 for a ratio, and removed for a total); ``cell_top`` and
    ``cell_bottom`` are the Taylor cell totals of ``a (y - c x)`` and ``a x``,
    and ``moved`` and ``inverse`` turn them into score totals.
    """

    theta: np.ndarray
    weight: np.ndarray
    respondents: np.ndarray
    n: np.ndarray
    residual_squares: np.ndarray
    ratio: bool
    cell_top: np.ndarray | None
    cell_bottom: Callable[[], np.ndarray] | None
    moved: np.ndarray
    inverse: np.ndarray


def _column_sums(
    summer: _Summer,
    scratch: _Scratch,
    a: np.ndarray,
    whole: bool,
    y: np.ndarray,
    x: np.ndarray | None,
    ratio: bool,
) -> _ColumnSums:
    """Reduce one column to per-domain (and per-cell) sums, shifted so squares do not cancel.

    With ``y' = y - c x`` for the overall ratio (or mean) ``c``, a domain's
    ratio is ``c + sum a y' / sum a x`` and its linearised residuals are
    ``(y' - (theta - c) x) / sum a x``, whose squares are summed without
    cancellation when the domains' ratios are near the overall one.
    """
    weight = summer.base_weight if whole else summer.to_domain(a)
    respondents = summer.base_count if whole else summer.count(a > 0)
    ax: np.ndarray | None = None
    if x is None:
        total_weight = float(weight.sum())
        shift = float(np.dot(a, y)) / total_weight if ratio and total_weight > 0 else 0.0
        shifted = np.subtract(y, shift, out=scratch.get("shifted")) if shift else y
        bottom = weight
    else:
        scale = float(np.dot(a, x))
        shift = float(np.dot(a, y)) / scale if scale else 0.0
        shifted = np.multiply(x, -shift, out=scratch.get("shifted"))
        shifted += y
        ax = np.multiply(a, x, out=scratch.get("ax"))
        bottom = summer.to_domain(ax)
    weighted = np.multiply(a, shifted, out=scratch.get("weighted"))
    cell_top: np.ndarray | None = None
    if summer.cells is not None:
        cell_top = summer.to_cells(weighted)
        top = summer.cells_to_domain(cell_top)
    else:
        top = summer.to_domain(weighted)
    squares = summer.dot(weighted, shifted, out=scratch.get("product"))
    if not ratio:  # a total: residuals are the values themselves
        with np.errstate(divide="ignore", invalid="ignore"):
            centred = squares - top**2 / weight
        return _ColumnSums(
            theta=top,
            weight=weight,
            respondents=respondents,
            n=summer.count((a > 0) & (y != 0)),
            residual_squares=centred,
            ratio=False,
            cell_top=cell_top,
            cell_bottom=None,
            moved=np.zeros_like(top),
            inverse=np.ones_like(top),
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        moved = top / bottom
        inverse = 1.0 / bottom
    if x is None or ax is None:
        residual_squares = (squares - moved * top) * inverse**2
        n = respondents

        def cell_bottom() -> np.ndarray:
            return summer.base_cells() if whole else summer.to_cells(a)

    else:
        cross = summer.dot(ax, shifted, out=scratch.get("product"))
        xsquares = summer.dot(ax, x, out=scratch.get("product"))
        residual_squares = (squares - 2 * moved * cross + moved**2 * xsquares) * inverse**2
        n = summer.count((a > 0) & (x != 0))
        weighted_x = ax

        def cell_bottom() -> np.ndarray:
            return summer.to_cells(weighted_x)

    return _ColumnSums(
        theta=moved + shift,
        weight=weight,
        respondents=respondents,
        n=n,
        residual_squares=residual_squares,
        ratio=True,
        cell_top=cell_top,
        cell_bottom=cell_bottom,
        moved=moved,
        inverse=inverse,
    )


def _taylor_column(
    design: TaylorDesign, summer: _Summer, sums: _ColumnSums, mask: np.ndarray, whole: bool
) -> np.ndarray:
    """Taylor variance of one column's domain estimates from its cell totals."""
    cells = summer.cells
    assert cells is not None and sums.cell_top is not None
    scores = sums.cell_top
    if sums.ratio:
        assert sums.cell_bottom is not None
        d = cells.cell_domain
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = (sums.cell_top - sums.moved[d] * sums.cell_bottom()) * sums.inverse[d]
        scores = np.where(np.isfinite(scores), scores, 0.0)
    members = None
    if not whole and design.lonely_psu == "average":
        # R's "average" counts the strata where the domain has rows with a value.
        members = summer.to_cells((mask & summer.inside).astype(float))
    variance = cell_variance(design, cells, scores[:, None], members)[:, 0]
    variance[~np.isfinite(sums.theta)] = np.nan
    return variance


def _replicate_estimates(
    design: ReplicateDesign,
    numerators: np.ndarray,
    matrix: np.ndarray | None,
    unit_denominator: bool,
    present: np.ndarray,
    domain: np.ndarray,
    domains: int,
    estimate: np.ndarray,
    variance: np.ndarray,
) -> None:
    """Fill `estimate` and `variance` from the full-sample and replicate totals."""
    columns = numerators.shape[1]
    inside = domain >= 0
    complete = bool(present.all())
    top = numerators if complete else np.where(present, numerators, 0.0)
    if unit_denominator and complete:
        # Every column has the same denominator: the domain sizes, computed once.
        stacked = np.hstack([top, np.ones((top.shape[0], 1))])
    elif unit_denominator:
        stacked = np.hstack([top, present.astype(float)])
    elif matrix is not None:
        stacked = np.hstack([top, np.where(present, matrix, 0.0)])
    else:
        stacked = top
    full, replicate = design.replicate_totals(stacked, np.where(inside, domain, -1), domains)
    if stacked is top:
        full_estimate, replicate_estimate = full, replicate
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            full_estimate = full[:, :columns] / full[:, columns:]
            replicate_estimate = replicate[:, :, :columns] / replicate[:, :, columns:]
    estimate[:] = full_estimate
    variance[:] = design.variance(full_estimate, replicate_estimate)


def _rows(
    design: Design,
    statistic: str,
    variables: Sequence[str],
    labels: Sequence[str],
    parts: _Parts,
    level: float,
    categories: Sequence[str | None] | None = None,
) -> list[Estimate]:
    df = design.degrees_of_freedom
    t = t_quantile(level, df)
    rows = []
    for d, label in enumerate(labels):
        for column, variable in enumerate(variables):
            value = float(parts.estimate[d, column])
            se = float(np.sqrt(max(parts.variance[d, column], 0.0)))
            rows.append(
                Estimate(
                    statistic=statistic,
                    variable=variable,
                    domain=label,
                    category=None if categories is None else categories[column],
                    estimate=value,
                    se=se,
                    ci_low=value - t * se,
                    ci_high=value + t * se,
                    cv=se / abs(value) if value else float("nan"),
                    deff=float(parts.deff[d, column]),
                    df=df,
                    n=int(parts.n[d, column]),
                    population=float(parts.population[d, column]),
                )
            )
    return rows


def _domain_key(by: str | Sequence[str] | None) -> tuple[str, ...]:
    return tuple(_names(by))


def _domains(design: Design, by: str | Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """Domain codes and labels, remembered on the design for repeated calls."""
    result: tuple[np.ndarray, list[str]] = _cached(
        design, ("domains", _domain_key(by)), lambda: domain_codes(design.frame, by)
    )
    return result


def estimate_totals(
    design: Design,
    variables: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    missing: str = "fail",
) -> EstimateTable:
    """Estimate population totals of numeric variables, overall or by domain.

    Parameters
    ----------
    design : TaylorDesign or ReplicateDesign
        The survey design (its frame holds the variables).
    variables : str or list of str
        Numeric columns.
    by : str or list of str, optional
        Domain columns; their crossed categories are the domains.
    level : float, default=0.95
        Confidence level.
    missing : {"fail", "exclude"}, default="fail"
        ``exclude`` estimates over rows with a value, keeping the design whole.

    Returns
    -------
    EstimateTable

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [10.0] * 4, "h": [1, 1, 2, 2], "y": [1.0, 2.0, 3.0, 5.0]})
    >>> table = estimate_totals(survey_design(frame, weights="w", strata="h"), "y")
    >>> row = table.get("y")
    >>> round(row.estimate, 1), round(row.se, 4)
    (110.0, 22.3607)
    """
    _check_missing(missing)
    names = _names(variables)
    domain, labels = _domains(design, by)
    read = [_numeric(design, name, missing) for name in names]
    values = [value for value, _ in read]
    present = [mask for _, mask in read]
    parts = _ratio_core(design, values, None, present, domain, len(labels), _domain_key(by))
    rows = _rows(design, "total", names, labels, parts, level)
    return EstimateTable(rows=tuple(rows), design=design.describe(), level=level)


def estimate_means(
    design: Design,
    variables: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    missing: str = "fail",
) -> EstimateTable:
    """Estimate population means of numeric variables, overall or by domain.

    Parameters are those of :func:`estimate_totals`.

    Returns
    -------
    EstimateTable

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [10.0] * 4, "h": [1, 1, 2, 2], "y": [1.0, 2.0, 3.0, 5.0]})
    >>> row = estimate_means(survey_design(frame, weights="w", strata="h"), "y").get("y")
    >>> round(row.estimate, 2), round(row.se, 4)
    (2.75, 0.559)
    """
    _check_missing(missing)
    names = _names(variables)
    domain, labels = _domains(design, by)
    read = [_numeric(design, name, missing) for name in names]
    values = [value for value, _ in read]
    present = [mask for _, mask in read]
    parts = _ratio_core(design, values, UNIT, present, domain, len(labels), _domain_key(by))
    rows = _rows(design, "mean", names, labels, parts, level)
    return EstimateTable(rows=tuple(rows), design=design.describe(), level=level)


def estimate_ratios(
    design: Design,
    numerators: str | Sequence[str],
    denominators: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    missing: str = "fail",
) -> EstimateTable:
    """Estimate ratios of population totals, ``sum(w y) / sum(w x)``, paired in order.

    Parameters
    ----------
    design : TaylorDesign or ReplicateDesign
    numerators, denominators : str or list of str
        Numerator and denominator columns, paired position by position.
    by, level, missing
        As :func:`estimate_totals`; a row missing either value is excluded.

    Returns
    -------
    EstimateTable
        Variables are named ``numerator/denominator``.

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [1.0] * 4, "y": [1.0, 2.0, 3.0, 4.0], "x": [2.0, 2.0, 4.0, 4.0]})
    >>> round(estimate_ratios(survey_design(frame, weights="w"), "y", "x").rows[0].estimate, 4)
    0.8333
    """
    _check_missing(missing)
    top = _names(numerators)
    bottom = _names(denominators)
    if len(top) != len(bottom):
        raise InvalidInputError(
            f"{len(top)} numerators and {len(bottom)} denominators; pair them one to one",
            field="denominators",
        )
    domain, labels = _domains(design, by)
    y: list[np.ndarray] = []
    x: list[np.ndarray] = []
    present: list[np.ndarray] = []
    for a, b in zip(top, bottom, strict=True):
        y_values, has_y = _numeric(design, a, missing)
        x_values, has_x = _numeric(design, b, missing)
        y.append(y_values)
        x.append(x_values)
        present.append(has_y & has_x)
    parts = _ratio_core(design, y, x, present, domain, len(labels), _domain_key(by))
    names = [f"{a}/{b}" for a, b in zip(top, bottom, strict=True)]
    rows = _rows(design, "ratio", names, labels, parts, level)
    return EstimateTable(rows=tuple(rows), design=design.describe(), level=level)


def estimate_proportions(
    design: Design,
    variables: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    method: str = "logit",
    missing: str = "fail",
    labels: dict[str, dict[Any, str]] | None = None,
) -> EstimateTable:
    """Estimate the share of the population in each category of categorical variables.

    Parameters
    ----------
    design : TaylorDesign or ReplicateDesign
    variables : str or list of str
        Categorical columns (any type); each category gets a row.
    by : str or list of str, optional
        Domain columns.
    level : float, default=0.95
    method : {"logit", "wald", "korn-graubard"}, default="logit"
        Confidence interval (see :func:`~crimeprev.survey.intervals.proportion_interval`).
    missing : {"fail", "exclude"}, default="fail"
        ``exclude`` leaves rows without a value out of the denominator.
    labels : dict, optional
        Value labels per variable (as read from .dta/.sav files) for the
        ``category`` field; codes without a label are shown as they are.

    Returns
    -------
    EstimateTable

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [1.0] * 4, "safe": ["yes", "no", "yes", "yes"]})
    >>> table = estimate_proportions(survey_design(frame, weights="w"), "safe")
    >>> table.get("safe", category="yes").estimate
    0.75
    """
    _check_missing(missing)
    domain, domain_labels = _domains(design, by)
    rows: list[Estimate] = []
    df = design.degrees_of_freedom
    for name in _names(variables):
        if name not in design.frame.columns:
            raise InvalidInputError(f"variable {name!r} is not in the data", field=name)
        column = design.frame[name]
        present = column.notna().to_numpy()
        if not present.all() and missing == "fail":
            row = int(np.flatnonzero(~present)[0])
            raise InvalidInputError(
                f"variable {name!r} has {int((~present).sum())} missing values (first at row "
                f"{row}); pass missing='exclude' to leave them out of the denominator",
                field=name,
                row=row,
            )
        categories = sorted(column.dropna().unique().tolist(), key=_sort_key)
        indicators = (
            np.column_stack([(column == category).to_numpy(dtype=float) for category in categories])
            if categories
            else np.zeros((design.size, 0))
        )
        present_matrix = np.repeat(present[:, None], len(categories), axis=1)
        parts = _ratio_core(
            design, indicators, UNIT, present_matrix, domain, len(domain_labels), _domain_key(by)
        )
        value_labels = (labels or {}).get(name, {})
        shown = [str(value_labels.get(category, _show(category))) for category in categories]
        chunk = _rows(
            design, "proportion", [name] * len(categories), domain_labels, parts, level, shown
        )
        estimates = np.array([row.estimate for row in chunk])
        errors = np.array([row.se for row in chunk])
        sizes = np.array([row.n for row in chunk], dtype=float)
        low, high = proportion_interval(
            estimates, errors, method=method, level=level, degrees_of_freedom=df, sample_size=sizes
        )
        for item, lower, upper in zip(chunk, low, high, strict=True):
            rows.append(
                Estimate(**{**asdict(item), "ci_low": float(lower), "ci_high": float(upper)})
            )
    return EstimateTable(rows=tuple(rows), design=design.describe(), level=level)


def _sort_key(value: object) -> tuple[int, object]:
    if isinstance(value, int | float | np.integer | np.floating):
        return (0, float(value))
    return (1, str(value))


def weighted_quantile(
    values: np.ndarray, weights: np.ndarray, probabilities: np.ndarray
) -> np.ndarray:
    """Inverse of the weighted empirical distribution function (R's ``qrule="math"``).

    Returns, for each probability p, the smallest value whose weighted
    cumulative share reaches p.

    Examples
    --------
    >>> weighted_quantile(np.array([3.0, 1.0, 2.0]), np.ones(3), np.array([0.5, 0.34, 1.0]))
    array([2., 2., 3.])
    """
    keep = weights > 0
    order = np.argsort(values[keep], kind="stable")
    sorted_values = values[keep][order]
    cumulative = np.cumsum(weights[keep][order])
    if sorted_values.size == 0:
        return np.full(np.shape(probabilities), np.nan)
    cdf = cumulative / cumulative[-1]
    cdf[cdf > 1.0 - 5 * np.finfo(float).eps] = 1.0
    probabilities = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    index = np.searchsorted(cdf, probabilities, side="left")
    return sorted_values[np.minimum(index, sorted_values.size - 1)]


def estimate_quantiles(
    design: Design,
    variables: str | Sequence[str],
    *,
    quantiles: Sequence[float] = (0.5,),
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    missing: str = "fail",
) -> EstimateTable:
    """Estimate quantiles with Woodruff confidence intervals.

    The quantile inverts the weighted distribution function. Its interval
    inverts the interval of the distribution function at the estimate:
    ``[Q(p - t se_F), Q(p + t se_F)]`` where ``se_F`` is the design standard
    error of the estimated share below the quantile; the reported standard
    error is the interval's width over ``2 t`` (as R's ``svyquantile`` with
    ``interval.type="mean"``).

    Parameters
    ----------
    design : TaylorDesign or ReplicateDesign
    variables : str or list of str
        Numeric columns.
    quantiles : sequence of float, default=(0.5,)
        Probabilities in (0, 1).
    by, level, missing
        As :func:`estimate_totals`.

    Returns
    -------
    EstimateTable
        ``category`` holds the probability; ``deff`` is not defined (NaN).

    References
    ----------
    Woodruff, R. S. (1952). Confidence intervals for medians and other
    position measures. *JASA* 47, 635-646.

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [1.0] * 5, "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> estimate_quantiles(survey_design(frame, weights="w"), "y").rows[0].estimate
    3.0
    """
    _check_missing(missing)
    probabilities = [float(p) for p in quantiles]
    for p in probabilities:
        if not 0 < p < 1:
            raise InvalidInputError(
                f"quantiles must be in (0, 1), got {p}", field="quantiles", value=p
            )
    domain, labels = _domains(design, by)
    domains = len(labels)
    t = t_quantile(level, design.degrees_of_freedom)
    rows: list[Estimate] = []
    for name in _names(variables):
        values, present = _numeric(design, name, missing)
        usable = present & (domain >= 0)
        estimates = np.full((domains, len(probabilities)), np.nan)
        for d in range(domains):
            rows_d = usable & (domain == d)
            estimates[d] = weighted_quantile(
                values[rows_d], design.weights[rows_d], np.array(probabilities)
            )
        # Share at or below each domain's quantile: one indicator column per probability.
        code = np.where(domain >= 0, domain, 0)
        below = values[:, None] <= estimates[code]
        indicator = below.astype(float)
        present_matrix = np.repeat(usable[:, None], len(probabilities), axis=1)
        parts = _ratio_core(
            design, indicator, UNIT, present_matrix, domain, domains, _domain_key(by)
        )
        se_share = np.sqrt(np.maximum(parts.variance, 0.0))
        for d in range(domains):
            rows_d = usable & (domain == d)
            for j, p in enumerate(probabilities):
                low, high = weighted_quantile(
                    values[rows_d],
                    design.weights[rows_d],
                    np.array([p - t * se_share[d, j], p + t * se_share[d, j]]),
                )
                value = float(estimates[d, j])
                se = float((high - low) / (2 * t))
                rows.append(
                    Estimate(
                        statistic="quantile",
                        variable=name,
                        domain=labels[d],
                        category=f"{p:g}",
                        estimate=value,
                        se=se,
                        ci_low=float(low),
                        ci_high=float(high),
                        cv=se / abs(value) if value else float("nan"),
                        deff=float("nan"),
                        df=design.degrees_of_freedom,
                        n=int(parts.n[d, j]),
                        population=float(parts.population[d, j]),
                    )
                )
    return EstimateTable(rows=tuple(rows), design=design.describe(), level=level)
