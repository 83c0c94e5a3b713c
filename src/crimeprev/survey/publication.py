"""Publication rules: flag unreliable survey estimates and suppress those below a floor.

Statistical offices flag estimates resting on few respondents or with a
large relative standard error (RSE, the coefficient of variation), and
withhold the least reliable. The defaults follow common practice (BJS flags
estimates based on 10 or fewer cases or a CV above 50%; many offices flag
at n < 30 or RSE >= 30%); every threshold is an argument.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from crimeprev.errors import InvalidInputError
from crimeprev.survey.estimators import Estimate, EstimateTable


@dataclass(frozen=True)
class PublicationRules:
    """Thresholds for flagging and suppressing estimates.

    Attributes
    ----------
    flag_below_n : int, default=30
        Flag estimates from fewer unweighted respondents.
    flag_rse : float, default=0.30
        Flag estimates whose RSE is at least this.
    suppress_below_n : int, default=10
        Withhold estimates from fewer respondents.
    suppress_rse : float, default=0.50
        Withhold estimates whose RSE is at least this.
    """

    flag_below_n: int = 30
    flag_rse: float = 0.30
    suppress_below_n: int = 10
    suppress_rse: float = 0.50

    def __post_init__(self) -> None:
        if self.suppress_below_n > self.flag_below_n or self.suppress_rse < self.flag_rse:
            raise InvalidInputError(
                "suppression thresholds must be stricter than flag thresholds "
                f"(got suppress n < {self.suppress_below_n} vs flag n < {self.flag_below_n}, "
                f"suppress RSE >= {self.suppress_rse} vs flag RSE >= {self.flag_rse})"
            )


@dataclass(frozen=True)
class PublishedEstimate:
    """An estimate with its publication status.

    Attributes
    ----------
    estimate : Estimate
        The estimate as computed.
    flags : tuple of str
        ``small_n`` and/or ``high_rse``.
    suppressed : bool
        True when the value must not be published.
    note : str
        A reader-facing explanation ("" when neither flagged nor suppressed).
    """

    estimate: Estimate
    flags: tuple[str, ...]
    suppressed: bool
    note: str

    def to_record(self) -> dict[str, Any]:
        """JSON-able record; a suppressed row has no values, only its reason."""
        record: dict[str, Any] = asdict(self.estimate)
        for key, value in record.items():
            if isinstance(value, float) and not np.isfinite(value):
                record[key] = None
        if self.suppressed:
            for key in ("estimate", "se", "ci_low", "ci_high", "cv", "deff", "population"):
                record[key] = None
        record["flags"] = list(self.flags)
        record["suppressed"] = self.suppressed
        record["note"] = self.note
        return record


def relative_standard_error(row: Estimate) -> float:
    """RSE of an estimate (infinite for a zero estimate with positive SE).

    Examples
    --------
    >>> from crimeprev.survey.estimators import Estimate
    >>> row = Estimate("mean", "y", "all", None, 10.0, 2.0, 6.0, 14.0, 0.2, 1.0, 9, 10, 100.0)
    >>> relative_standard_error(row)
    0.2
    """
    if row.estimate == 0:
        return float("inf") if row.se > 0 else 0.0
    return row.se / abs(row.estimate)


def apply_rules(
    table: EstimateTable, rules: PublicationRules | None = None
) -> tuple[PublishedEstimate, ...]:
    """Flag and suppress the rows of `table` under `rules`.

    Parameters
    ----------
    table : EstimateTable
    rules : PublicationRules, optional
        Defaults to ``PublicationRules()``.

    Returns
    -------
    tuple of PublishedEstimate

    Examples
    --------
    >>> from crimeprev.survey.estimators import Estimate, EstimateTable
    >>> rows = (Estimate("mean", "y", "all", None, 10.0, 4.0, 2.0, 18.0, 0.4, 1.0, 20, 25, 100.0),)
    >>> published = apply_rules(EstimateTable(rows, {}, 0.95))[0]
    >>> published.flags, published.suppressed
    (('small_n', 'high_rse'), False)
    """
    rules = rules or PublicationRules()
    published = []
    for row in table.rows:
        rse = relative_standard_error(row)
        flags = []
        if row.n < rules.flag_below_n:
            flags.append("small_n")
        if rse >= rules.flag_rse:
            flags.append("high_rse")
        suppressed = row.n < rules.suppress_below_n or rse >= rules.suppress_rse
        if suppressed:
            note = (
                f"suppressed: {row.n} respondents (publish from {rules.suppress_below_n})"
                if row.n < rules.suppress_below_n
                else f"suppressed: RSE {rse:.0%} (publish below {rules.suppress_rse:.0%})"
            )
        elif flags:
            reasons = []
            if "small_n" in flags:
                reasons.append(f"n = {row.n} < {rules.flag_below_n}")
            if "high_rse" in flags:
                reasons.append(f"RSE {rse:.0%} >= {rules.flag_rse:.0%}")
            note = "interpret with caution: " + ", ".join(reasons)
        else:
            note = ""
        published.append(PublishedEstimate(row, tuple(flags), suppressed, note))
    return tuple(published)
