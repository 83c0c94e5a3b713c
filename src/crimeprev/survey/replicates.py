"""Replicate-weight designs: supplied replicate weights, and replicates made from a design.

Variance conventions are those of R's ``survey`` package (``svrepdesign`` and
``as.svrepdesign``): ``v = scale * sum_r rscales_r (theta_r - c)^2`` where
``c`` is the mean of the replicate estimates (``mse=False``) or the
full-sample estimate (``mse=True``).

==========  =====================================  ==========================
type        replicate weights                      scale, rscales
==========  =====================================  ==========================
JK1         delete one PSU, others x n/(n-1)        (R-1)/R, 1 - f
JKn         delete one PSU in stratum h, x n_h/..   1, (n_h-1)/n_h (1 - f_h)
BRR         half-samples: 2 / 0                     1/R
Fay         half-samples: 2 - rho / rho             1/(R (1-rho)^2)
bootstrap   Rao-Wu: n_h - 1 draws, x n_h/(n_h-1)    m/((m-1)(R-1)) made here,
                                                    1/(R-1) when supplied
SDR         successive differences (Fay-Train)      4/R
==========  =====================================  ==========================

Generated replicates are stored per PSU (a PSUs x R matrix of multipliers),
never as an n x R matrix: replicate totals are PSU totals times the
multipliers, so memory stays proportional to the data.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, ch. 2.
Rao, J. N. K., Wu, C. F. J. and Yue, K. (1992). Some recent work on
resampling methods for complex surveys. *Survey Methodology* 18, 209-217.
Wolter, K. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from crimeprev.errors import InvalidInputError
from crimeprev.survey.design import TaylorDesign, check_weights

#: Replicate types and their default variance scale (as a function of R).
REPLICATE_TYPES: tuple[str, ...] = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR")


@dataclass(frozen=True, eq=False)
class ReplicateDesign:
    """A design whose variances come from replicate weights.

    Build it with :func:`replicate_design` (supplied weights) or
    :func:`create_replicates` (from a :class:`TaylorDesign`).

    Attributes
    ----------
    frame : pandas.DataFrame
        Analysis variables.
    weights : numpy.ndarray
        Full-sample weights.
    replicate_type : str
        One of :data:`REPLICATE_TYPES`.
    scale : float
        Overall variance multiplier.
    rscales : numpy.ndarray
        Per-replicate multipliers.
    mse : bool
        Centre on the full-sample estimate (True) or the replicate mean (False).
    degrees_of_freedom : int
        Design degrees of freedom.
    replicate_weights : numpy.ndarray or None
        Supplied n x R replicate analysis weights.
    psu : numpy.ndarray or None
        For generated replicates, each row's PSU code.
    multipliers : numpy.ndarray or None
        For generated replicates, the PSUs x R weight multipliers.
    names : dict
        The column names the design was built from.
    memo : dict
        Domain codes already computed for this design, keyed by the domain
        columns. The frame is treated as read-only once the design is built.
    """

    frame: pd.DataFrame
    weights: np.ndarray
    replicate_type: str
    scale: float
    rscales: np.ndarray
    mse: bool
    degrees_of_freedom: int
    replicate_weights: np.ndarray | None = None
    psu: np.ndarray | None = None
    multipliers: np.ndarray | None = None
    names: dict[str, object] = field(default_factory=dict)
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False)

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.weights.shape[0])

    @property
    def replicates(self) -> int:
        """Number of replicates R."""
        return int(self.rscales.shape[0])

    @property
    def method(self) -> str:
        """Variance method, e.g. ``"replicate:BRR"``."""
        return f"replicate:{self.replicate_type}"

    def describe(self) -> dict[str, object]:
        """Return a short JSON-able description of the design."""
        return {
            "method": f"replicate weights ({self.replicate_type})",
            "rows": self.size,
            "replicates": self.replicates,
            "scale": self.scale,
            "mse": self.mse,
            "degrees_of_freedom": self.degrees_of_freedom,
            "generated": self.multipliers is not None,
            "columns": {key: value for key, value in self.names.items() if value is not None},
        }

    def replicate_totals(
        self, values: np.ndarray, domain: np.ndarray, domains: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Full-sample and replicate weighted totals of each column, per domain.

        Parameters
        ----------
        values : numpy.ndarray
            n x m unweighted values.
        domain : numpy.ndarray
            Domain code per row (negative: in no domain).
        domains : int
            Number of domains.

        Returns
        -------
        full : numpy.ndarray
            domains x m totals under the full-sample weights.
        replicate : numpy.ndarray
            R x domains x m totals under each replicate.
        """
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        columns = values.shape[1]
        inside = domain >= 0
        everyone = bool(inside.all())
        code = domain if everyone else np.where(inside, domain, 0)
        full = np.empty((domains, columns))
        for column in range(columns):
            weighted = values[:, column] * self.weights
            if not everyone:
                weighted[~inside] = 0.0
            full[:, column] = np.bincount(code, weights=weighted, minlength=domains)
        if self.multipliers is not None and self.psu is not None:
            psus = self.multipliers.shape[0]
            key = self.psu * domains + code
            cells = np.empty((psus * domains, columns))
            for column in range(columns):
                weighted = values[:, column] * self.weights
                if not everyone:
                    weighted[~inside] = 0.0
                cells[:, column] = np.bincount(key, weights=weighted, minlength=psus * domains)
            replicate = self.multipliers.T @ cells.reshape(psus, domains * columns)
            return full, replicate.reshape(self.replicates, domains, columns)
        assert self.replicate_weights is not None
        return full, _supplied_totals(self.replicate_weights, values, domain, domains)

    def variance(self, full_estimates: np.ndarray, replicate_estimates: np.ndarray) -> np.ndarray:
        """Replicate variance of estimates (R on the first axis of `replicate_estimates`)."""
        centre = full_estimates if self.mse else np.nanmean(replicate_estimates, axis=0)
        deviations = replicate_estimates - centre
        rscales = self.rscales.reshape((-1,) + (1,) * (deviations.ndim - 1))
        return self.scale * np.nansum(rscales * deviations**2, axis=0)


#: Rows per block when multiplying supplied replicate weights by the values.
_BLOCK_ROWS = 1 << 14

#: Above this many domain x value columns, domains are multiplied one at a time:
#: the spread product costs n R columns flops, the gathered one a copy of n x R
#: (measured even at 40 columns and R = 80, gathering 1.5x faster at R = 160).
_SPREAD_COLUMNS = 16


def _supplied_totals(
    matrix: np.ndarray, values: np.ndarray, domain: np.ndarray, domains: int
) -> np.ndarray:
    """Replicate totals ``sum_i W[i, r] y[i, k]`` per domain: R x domains x k.

    A block of rows at a time, the values are spread into a dense block with
    one column per (domain, value) (zero outside the row's domain), and the
    block of the n x R weights meets it in one matrix product: no sparse
    selector and no copy of the weights. With very many domains the spread
    block would be mostly zeros, so each domain's rows are gathered instead.

    The products are thin (k is small), so they are bound by reading the
    weights, not by arithmetic; BLAS runs them on one thread, because
    threaded thin products measured 10-20x slower when other processes
    share the cores (``bench/bench_survey.py``).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _supplied_products(matrix, values, domain, domains)


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The BLAS thread pools, inspected once on first use (not at import)."""
    return ThreadpoolController()


def _supplied_products(
    matrix: np.ndarray, values: np.ndarray, domain: np.ndarray, domains: int
) -> np.ndarray:
    """The products of :func:`_supplied_totals`, on the calling thread's BLAS."""
    rows, columns = values.shape
    replicates = matrix.shape[1]
    if domains == 1 and bool((domain >= 0).all()):
        return (matrix.T @ values)[:, None, :]
    wide = domains * columns
    result = np.zeros((replicates, wide))
    by_domain = np.zeros((replicates, domains, columns))
    for start in range(0, rows, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, rows)
        block_domain = domain[start:stop]
        inside = np.flatnonzero(block_domain >= 0)
        if wide <= _SPREAD_COLUMNS:
            spread = np.zeros((stop - start, wide))
            first = block_domain[inside] * columns
            for column in range(columns):
                spread[inside, first + column] = values[start + inside, column]
            result += matrix[start:stop].T @ spread
            continue
        order = inside[np.argsort(block_domain[inside], kind="stable")]
        bounds = np.searchsorted(block_domain[order], np.arange(domains + 1))
        for d in np.flatnonzero(np.diff(bounds)):
            picked = start + order[bounds[d] : bounds[d + 1]]
            by_domain[:, d, :] += matrix[picked].T @ values[picked]
    return result.reshape(replicates, domains, columns) + by_domain


def default_scale(replicate_type: str, replicates: int, fay_rho: float = 0.0) -> float:
    """The variance scale R's ``svrepdesign`` uses for supplied weights.

    Examples
    --------
    >>> default_scale("BRR", 4)
    0.25
    >>> round(default_scale("Fay", 4, fay_rho=0.3), 6)
    0.510204
    """
    if replicate_type == "JK1":
        return (replicates - 1) / replicates
    if replicate_type == "JKn":
        return 1.0
    if replicate_type == "BRR":
        return 1.0 / replicates
    if replicate_type == "Fay":
        return 1.0 / (replicates * (1.0 - fay_rho) ** 2)
    if replicate_type == "bootstrap":
        return 1.0 / (replicates - 1)
    if replicate_type == "SDR":
        return 4.0 / replicates
    raise InvalidInputError(
        f"unknown replicate type {replicate_type!r}; expected one of {', '.join(REPLICATE_TYPES)}",
        field="type",
        value=replicate_type,
    )


def replicate_design(
    frame: pd.DataFrame,
    *,
    weights: str,
    replicate_weights: str | Sequence[str],
    replicate_type: str,
    scale: float | None = None,
    rscales: Sequence[float] | np.ndarray | None = None,
    fay_rho: float = 0.0,
    combined_weights: bool = True,
    mse: bool = False,
    degrees_of_freedom: int | None = None,
) -> ReplicateDesign:
    """Describe a design by the replicate weights supplied with the data.

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondents with full-sample and replicate weight columns.
    weights : str
        Full-sample weight column.
    replicate_weights : str or list of str
        Replicate weight columns: a list, or a prefix such as ``"repwt"``
        that selects every column starting with it, in file order.
    replicate_type : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR"}
        How the replicates were made; sets the default `scale`.
    scale : float, optional
        Variance multiplier; defaults to :func:`default_scale`.
    rscales : sequence of float, optional
        Per-replicate multipliers (required for JKn); default 1.
    fay_rho : float, default=0.0
        Fay's coefficient for ``Fay``.
    combined_weights : bool, default=True
        True if the replicate columns are analysis weights; False if they are
        multipliers of the full-sample weight (R's ``combined.weights=FALSE``).
    mse : bool, default=False
        Centre the squared deviations on the full-sample estimate.
    degrees_of_freedom : int, optional
        Design degrees of freedom; default, as R's ``degf``: the rank of the
        replicate weights minus 1 (for more than 2e8 cells, R - 1 without
        the rank computation).

    Returns
    -------
    ReplicateDesign

    Raises
    ------
    InvalidInputError
        If a column is missing, a weight is missing or negative, or the
        replicate weights have the wrong shape.

    Examples
    --------
    >>> frame = pd.DataFrame({"w": [1.0, 1.0], "r1": [2.0, 0.0], "r2": [0.0, 2.0], "y": [1, 3]})
    >>> design = replicate_design(frame, weights="w", replicate_weights=["r1", "r2"],
    ...                           replicate_type="BRR")
    >>> design.replicates, design.scale
    (2, 0.5)
    """
    if replicate_type not in REPLICATE_TYPES:
        default_scale(replicate_type, 1)
    frame = frame.reset_index(drop=True)
    if weights not in frame.columns:
        raise InvalidInputError(
            f"the weight column {weights!r} is not in the data", field=weights, expected="a column"
        )
    base = check_weights(frame[weights].to_numpy(), weights)
    if isinstance(replicate_weights, str):
        columns = [
            str(c)
            for c in frame.columns
            if str(c).startswith(replicate_weights) and str(c) != weights
        ]
        if not columns:
            raise InvalidInputError(
                f"no replicate weight column starts with {replicate_weights!r}",
                field="replicate_weights",
                value=replicate_weights,
                expected="a list of columns or a prefix of their names",
            )
    else:
        columns = list(replicate_weights)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"replicate weight columns not in the data: {', '.join(missing[:5])}",
            field="replicate_weights",
            value=missing[0],
        )
    if len(columns) < 2:
        raise InvalidInputError(
            f"replicate designs need at least 2 replicate weight columns, got {len(columns)}",
            field="replicate_weights",
        )
    matrix = np.empty((len(frame), len(columns)))
    for index, name in enumerate(columns):
        matrix[:, index] = check_weights(frame[name].to_numpy(), name)
    if not combined_weights:
        matrix = matrix * base[:, None]
    return _from_matrix(
        frame,
        base,
        matrix,
        replicate_type=replicate_type,
        scale=scale,
        rscales=rscales,
        fay_rho=fay_rho,
        mse=mse,
        degrees_of_freedom=degrees_of_freedom,
        names={"weights": weights, "replicate_weights": f"{columns[0]} .. {columns[-1]}"},
    )


def replicate_design_from_arrays(
    frame: pd.DataFrame,
    weights: np.ndarray,
    replicate_weights: np.ndarray,
    *,
    replicate_type: str,
    scale: float | None = None,
    rscales: Sequence[float] | np.ndarray | None = None,
    fay_rho: float = 0.0,
    mse: bool = False,
    degrees_of_freedom: int | None = None,
) -> ReplicateDesign:
    """Like :func:`replicate_design`, with the weights given as arrays.

    Raises
    ------
    InvalidInputError
        If `replicate_weights` is not rows x R with R >= 2, or has bad values.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [1.0, 3.0]})
    >>> matrix = np.ones((3, 2))
    >>> replicate_design_from_arrays(frame, np.ones(2), matrix, replicate_type="BRR")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crimeprev.errors.InvalidInputError: replicate weights have shape (3, 2); expected (2, R) ...
    """
    frame = frame.reset_index(drop=True)
    base = check_weights(np.asarray(weights), "weights")
    matrix = np.asarray(replicate_weights, dtype=float)
    return _from_matrix(
        frame,
        base,
        matrix,
        replicate_type=replicate_type,
        scale=scale,
        rscales=rscales,
        fay_rho=fay_rho,
        mse=mse,
        degrees_of_freedom=degrees_of_freedom,
        names={},
    )


def _from_matrix(
    frame: pd.DataFrame,
    base: np.ndarray,
    matrix: np.ndarray,
    *,
    replicate_type: str,
    scale: float | None,
    rscales: Sequence[float] | np.ndarray | None,
    fay_rho: float,
    mse: bool,
    degrees_of_freedom: int | None,
    names: dict[str, object],
) -> ReplicateDesign:
    if base.shape[0] != len(frame):
        raise InvalidInputError(
            f"{base.shape[0]} full-sample weights for {len(frame)} rows",
            expected="one weight per row",
        )
    if matrix.ndim != 2 or matrix.shape[0] != len(frame) or matrix.shape[1] < 2:
        raise InvalidInputError(
            f"replicate weights have shape {matrix.shape}; expected ({len(frame)}, R) with R >= 2: "
            "one row per respondent, one column per replicate",
            expected=f"({len(frame)}, R)",
        )
    check_weights(matrix.ravel(), "replicate weights")
    replicates = matrix.shape[1]
    if replicate_type == "JKn" and rscales is None:
        raise InvalidInputError(
            "JKn replicate weights need rscales ((n_h - 1) / n_h for each replicate's stratum)",
            field="rscales",
        )
    scales = np.ones(replicates) if rscales is None else np.asarray(rscales, dtype=float)
    if scales.shape != (replicates,):
        raise InvalidInputError(
            f"{scales.shape[0]} rscales for {replicates} replicates", field="rscales"
        )
    return ReplicateDesign(
        frame=frame,
        weights=base,
        replicate_type=replicate_type,
        scale=default_scale(replicate_type, replicates, fay_rho) if scale is None else scale,
        rscales=scales,
        mse=mse,
        degrees_of_freedom=degrees_of_freedom or _rank_degrees(matrix),
        replicate_weights=np.ascontiguousarray(matrix),
        names=names,
    )


def _rank_degrees(matrix: np.ndarray) -> int:
    """Rank of the replicate weights minus 1 (R's ``degf``), or R - 1 for big matrices."""
    rows, replicates = matrix.shape
    if rows * replicates * replicates > 2e8:
        return max(replicates - 1, 1)
    return max(int(np.linalg.matrix_rank(matrix, tol=1e-5 * np.abs(matrix).max())) - 1, 1)


def hadamard(order: int) -> np.ndarray:
    """Return a Hadamard matrix of `order` (Sylvester for powers of 2, else Paley I).

    Parameters
    ----------
    order : int
        A power of 2, or ``q + 1`` for a prime ``q`` with ``q % 4 == 3``.

    Raises
    ------
    InvalidInputError
        If neither construction gives this order.

    Examples
    --------
    >>> h = hadamard(12)
    >>> bool((h @ h.T == 12 * np.eye(12)).all())
    True
    """
    if order >= 1 and order & (order - 1) == 0:
        matrix = np.ones((1, 1), dtype=np.int64)
        while matrix.shape[0] < order:
            matrix = np.block([[matrix, matrix], [matrix, -matrix]])
        return matrix
    prime = order - 1
    if prime > 2 and prime % 4 == 3 and all(prime % d for d in range(2, int(prime**0.5) + 1)):
        residues = np.zeros(prime, dtype=np.int64)
        residues[(np.arange(1, prime) ** 2) % prime] = 1
        chi = np.where(residues == 1, 1, -1)
        chi[0] = 0
        difference = (np.arange(prime)[None, :] - np.arange(prime)[:, None]) % prime
        jacobsthal = chi[difference]
        core = jacobsthal + np.eye(prime, dtype=np.int64)
        top = np.ones((1, order), dtype=np.int64)
        body = np.hstack([-np.ones((prime, 1), dtype=np.int64), core])
        matrix = np.vstack([top, body])
        matrix[1:, 0] = -1
        # Normalise so the first column is all ones.
        return matrix * matrix[:, :1]
    raise InvalidInputError(f"no Hadamard construction for order {order}", value=order)


def hadamard_order(strata: int) -> int:
    """Smallest order > `strata` that :func:`hadamard` can build.

    Examples
    --------
    >>> hadamard_order(3), hadamard_order(160)
    (4, 164)
    """
    order = strata + 1
    while True:
        try:
            hadamard(order)
            return order
        except InvalidInputError:
            order += 1


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def create_replicates(
    design: TaylorDesign,
    replicate_type: str = "bootstrap",
    *,
    replicates: int = 50,
    fay_rho: float = 0.0,
    mse: bool = False,
    rng: np.random.Generator | int | None = None,
) -> ReplicateDesign:
    """Make replicate weights from a Taylor design's first stage (as R's ``as.svrepdesign``).

    Parameters
    ----------
    design : TaylorDesign
        The design; only its strata, first-stage PSUs and stage-1 FPC are used.
    replicate_type : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR"}, default="bootstrap"
        ``JK1`` needs an unstratified design, ``BRR`` and ``Fay`` exactly two
        PSUs per stratum (rows of a Hadamard matrix, first column dropped).
        ``SDR`` (Fay and Train 1995) takes the PSUs in the order they first
        appear in the data (the sort order of a systematic sample): PSU i
        gets ``1 + 2^(-3/2) (H[r, c_i] - H[r, c_(i+1)])`` with consecutive
        non-constant Hadamard columns ``c_i``, cycling when there are more
        PSUs than columns; strata are not used.
    replicates : int, default=50
        Number of bootstrap replicates; for SDR the least number of
        replicates (the Hadamard order used is the smallest buildable one at
        least this large, and larger than the PSUs + 1 when ``replicates`` is 0).
    fay_rho : float, default=0.0
        Fay's coefficient; ``Fay`` needs 0 < rho < 1.
    mse : bool, default=False
        Centre on the full-sample estimate.
    rng : numpy.random.Generator or int, optional
        Random source for the bootstrap.

    Returns
    -------
    ReplicateDesign
        With PSU-level multipliers (no n x R matrix).

    Raises
    ------
    InvalidInputError
        When the design does not fit the replicate type.

    Examples
    --------
    >>> frame = pd.DataFrame({"w": [1.0] * 4, "h": [1, 1, 2, 2], "y": [1.0, 2.0, 3.0, 5.0]})
    >>> from crimeprev.survey.design import survey_design
    >>> brr = create_replicates(survey_design(frame, weights="w", strata="h"), "BRR")
    >>> brr.replicates
    4
    """
    first = design.stages[0]
    psu = first.unit
    psu_stratum = first.unit_group
    psus = psu_stratum.shape[0]
    per_stratum = first.group_units.astype(float)
    fraction = first.group_fraction
    strata = per_stratum.shape[0]
    rank_in_stratum = np.zeros(psus, dtype=np.int64)
    order = np.argsort(psu_stratum, kind="stable")
    starts = np.concatenate([[0], np.cumsum(first.group_units)[:-1]])
    rank_in_stratum[order] = np.arange(psus) - starts[psu_stratum[order]]
    names = {**design.names, "created_from": "Taylor design"}

    if replicate_type in ("JK1", "JKn") and psus > 20_000:
        raise InvalidInputError(
            f"{replicate_type} makes one replicate per PSU; {psus:,} PSUs would need a "
            f"{psus:,} x {psus:,} table. Use bootstrap (or BRR for two PSUs per stratum)",
            field="type",
            value=replicate_type,
        )
    if replicate_type == "JK1":
        if strata > 1:
            raise InvalidInputError(
                "JK1 is for unstratified designs; use JKn for a stratified design",
                field="type",
                value="JK1",
            )
        n = float(psus)
        multipliers = np.full((psus, psus), n / (n - 1))
        np.fill_diagonal(multipliers, 0.0)
        rscales = np.full(psus, 1.0 - fraction[0])
        scale = (n - 1) / n
        degrees_of_freedom = psus - 1
    elif replicate_type == "JKn":
        n_h = per_stratum[psu_stratum]
        multipliers = np.ones((psus, psus))
        same = psu_stratum[:, None] == psu_stratum[None, :]
        multipliers = np.where(same, (n_h / (n_h - 1))[None, :], 1.0)
        np.fill_diagonal(multipliers, 0.0)
        keep = n_h > 1  # a lonely PSU gives no replicate
        multipliers = multipliers[:, keep]
        rscales = ((n_h - 1) / n_h * (1.0 - fraction[psu_stratum]))[keep]
        scale = 1.0
        degrees_of_freedom = psus - strata
    elif replicate_type in ("BRR", "Fay"):
        if not np.all(per_stratum == 2):
            bad = int(np.flatnonzero(per_stratum != 2)[0])
            raise InvalidInputError(
                f"{replicate_type} needs exactly 2 PSUs per stratum; stratum "
                f"{first.group_labels[bad]} has {int(per_stratum[bad])}",
                field="type",
                value=replicate_type,
                expected="2 PSUs in every stratum (or use JKn or bootstrap)",
            )
        rho = fay_rho if replicate_type == "Fay" else 0.0
        if replicate_type == "Fay" and not 0 < rho < 1:
            raise InvalidInputError(
                f"Fay's BRR needs 0 < fay_rho < 1, got {fay_rho}", field="fay_rho", value=fay_rho
            )
        order_h = hadamard_order(strata)
        matrix = hadamard(order_h)[:, 1 : strata + 1]  # rows are replicates
        signs = matrix[:, psu_stratum].T  # psus x R
        first_psu = (rank_in_stratum == 0)[:, None]
        chosen = np.where(first_psu, signs == 1, signs == -1)
        multipliers = np.where(chosen, 2.0 - rho, rho)
        rscales = np.ones(order_h)
        scale = 1.0 / (order_h * (1.0 - rho) ** 2)
        degrees_of_freedom = strata
    elif replicate_type == "SDR":
        order_first_seen = np.argsort(np.unique(psu, return_index=True)[1], kind="stable")
        position = np.empty(psus, dtype=np.int64)
        position[np.unique(psu)[order_first_seen]] = np.arange(psus)
        wanted = replicates if replicates > 0 else psus + 2
        order_h = hadamard_order(max(wanted, 4) - 1)
        matrix = hadamard(order_h).astype(float)
        columns = order_h - 1  # column 0 is constant
        own = 1 + position % columns
        following = 1 + (position + 1) % columns
        multipliers = 1.0 + 2.0**-1.5 * (matrix[:, own] - matrix[:, following]).T
        rscales = np.ones(order_h)
        scale = 4.0 / order_h
        degrees_of_freedom = order_h - 1
    elif replicate_type == "bootstrap":
        if replicates < 2:
            raise InvalidInputError("bootstrap needs at least 2 replicates", field="replicates")
        if (per_stratum < 2).any():
            bad = int(np.flatnonzero(per_stratum < 2)[0])
            raise InvalidInputError(
                f"bootstrap needs 2 or more PSUs per stratum; {first.group_labels[bad]} has 1",
                field="type",
            )
        generator = _generator(rng)
        # Rao-Wu: draw n_h - 1 of the n_h PSUs with replacement in each stratum.
        # A PSU's count ~ Binomial(n_h - 1, 1/n_h) jointly multinomial per stratum;
        # drawing the picks as uniform ranks keeps it vectorised over strata.
        n_draws = (per_stratum - 1).astype(np.int64)
        draw_stratum = np.repeat(np.arange(strata), n_draws)
        picks = np.floor(
            generator.random((replicates, draw_stratum.shape[0])) * per_stratum[draw_stratum]
        ).astype(np.int64)
        psu_of_pick = order[starts[draw_stratum][None, :] + picks]
        counts = np.zeros((replicates, psus))
        np.add.at(
            counts,
            (np.repeat(np.arange(replicates), draw_stratum.shape[0]), psu_of_pick.ravel()),
            1.0,
        )
        n_h = per_stratum[psu_stratum]
        rescaled = counts.T * (n_h / (n_h - 1))[:, None]
        if fraction.any():
            root = np.sqrt(1.0 - fraction[psu_stratum])[:, None]
            rescaled = 1.0 + root * (rescaled - 1.0)
        multipliers = rescaled
        rscales = np.ones(replicates)
        harmonic = float(1.0 / np.mean(1.0 / per_stratum))
        scale = harmonic / ((harmonic - 1.0) * (replicates - 1))
        degrees_of_freedom = replicates - 1
    else:
        raise InvalidInputError(
            f"cannot create {replicate_type!r} replicates; expected JK1, JKn, BRR, Fay, "
            "bootstrap or SDR",
            field="type",
            value=replicate_type,
        )
    return ReplicateDesign(
        frame=design.frame,
        weights=design.weights,
        replicate_type=replicate_type,
        scale=float(scale),
        rscales=np.asarray(rscales, dtype=float),
        mse=mse,
        degrees_of_freedom=int(max(degrees_of_freedom, 1)),
        psu=psu,
        multipliers=np.ascontiguousarray(multipliers, dtype=float),
        names=names,
    )
