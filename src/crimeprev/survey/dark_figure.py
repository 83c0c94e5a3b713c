"""The dark figure of crime: survey-implied victimisations against police-recorded counts.

For one ICCS category, population and period, the ratio
``R = S / P`` of the survey estimate ``S`` (with design standard error
``se_S``) to the police count ``P`` says how many victimisations there are
for each one the police recorded; ``1 - 1/R`` is the share never recorded.

Uncertainty combines both sides, taken as independent:

* the survey side through its design-based standard error, with the design
  degrees of freedom;
* the police side as a Poisson count (the recorded number as one
  realisation of a process with that mean), variance ``P``.

Two intervals are offered:

``log-delta`` (default)
    The delta method on the log scale:
    ``var(log R) = (se_S / S)^2 + 1 / P``, interval ``R exp(+/- t sqrt(var))``.
    Always positive and asymmetric like the ratio itself.
``fieller``
    Fieller's theorem for a ratio of independent estimates: the ``R`` with
    ``(S - R P)^2 <= t^2 (se_S^2 + R^2 P)``; bounded only when the police count
    is clearly non-zero (``P > t^2``), otherwise the upper limit is infinite.

References
----------
Fieller, E. C. (1954). Some problems in interval estimation. *JRSS B* 16, 175-185.
UNODC-UNECE (2010). *Manual on Victimization Surveys*, ch. 11 (comparing survey
and police data).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from crimeprev.errors import InvalidInputError
from crimeprev.survey.intervals import t_quantile

#: Interval methods for the ratio.
DARK_FIGURE_METHODS: tuple[str, ...] = ("log-delta", "fieller")


@dataclass(frozen=True)
class DarkFigure:
    """Survey-implied against police-recorded crime for one category.

    Attributes
    ----------
    iccs_code, label, period, area : str or None
        What is compared.
    survey_total, survey_se : float
        Survey estimate of victimisations and its standard error.
    police_count : int
        Police-recorded offences.
    ratio, ratio_ci_low, ratio_ci_high : float
        Victimisations per recorded offence, with its interval.
    unrecorded_share, unrecorded_ci_low, unrecorded_ci_high : float
        ``1 - 1/ratio``: share of victimisations the police did not record.
    method : str
        Interval method.
    level : float
        Confidence level.
    """

    iccs_code: str | None
    label: str
    period: str | None
    area: str | None
    survey_total: float
    survey_se: float
    police_count: int
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    unrecorded_share: float
    unrecorded_ci_low: float
    unrecorded_ci_high: float
    method: str
    level: float

    def to_record(self) -> dict[str, Any]:
        """JSON-able record (infinite limits become None)."""
        record = asdict(self)
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
        return record


def dark_figure(
    survey_total: float,
    survey_se: float,
    police_count: int,
    *,
    level: float = 0.95,
    degrees_of_freedom: float = math.inf,
    method: str = "log-delta",
    iccs_code: str | None = None,
    label: str = "",
    period: str | None = None,
    area: str | None = None,
) -> DarkFigure:
    """Ratio of survey-implied to police-recorded crime with its uncertainty band.

    Parameters
    ----------
    survey_total : float
        Survey estimate of victimisations (> 0).
    survey_se : float
        Its design-based standard error (>= 0).
    police_count : int
        Police-recorded offences for the same category, population and period (> 0).
    level : float, default=0.95
        Confidence level.
    degrees_of_freedom : float, default=inf
        Design degrees of freedom of the survey estimate (sets the t quantile).
    method : {"log-delta", "fieller"}, default="log-delta"
        See the module docstring.
    iccs_code, label, period, area : str, optional
        Labels carried into the result.

    Returns
    -------
    DarkFigure

    Raises
    ------
    InvalidInputError
        For a non-positive survey total or police count, a negative SE, or an
        unknown method.

    Examples
    --------
    >>> result = dark_figure(2_000_000, 100_000, 800_000)
    >>> result.ratio, round(result.unrecorded_share, 2)
    (2.5, 0.6)
    >>> round(result.ratio_ci_low, 3), round(result.ratio_ci_high, 3)
    (2.267, 2.757)
    """
    if method not in DARK_FIGURE_METHODS:
        raise InvalidInputError(
            f"unknown method {method!r}; expected one of {', '.join(DARK_FIGURE_METHODS)}",
            field="method",
            value=method,
        )
    if not survey_total > 0 or not math.isfinite(survey_total):
        raise InvalidInputError(
            f"survey total must be a positive number, got {survey_total!r}",
            field="survey_total",
            value=survey_total,
        )
    if not survey_se >= 0:
        raise InvalidInputError(
            f"survey standard error must be >= 0, got {survey_se!r}",
            field="survey_se",
            value=survey_se,
        )
    if int(police_count) != police_count or police_count <= 0:
        raise InvalidInputError(
            f"police count must be a whole number > 0, got {police_count!r}; with no recorded "
            "offences the ratio is undefined",
            field="police_count",
            value=police_count,
        )
    police = float(police_count)
    t = t_quantile(level, degrees_of_freedom)
    ratio = survey_total / police
    if method == "log-delta":
        spread = math.sqrt((survey_se / survey_total) ** 2 + 1.0 / police)
        low, high = ratio * math.exp(-t * spread), ratio * math.exp(t * spread)
    else:
        # (S - R P)^2 = t^2 (se^2 + R^2 P)  ->  a R^2 + b R + c = 0
        a = police**2 - t**2 * police
        b = -2.0 * survey_total * police
        c = survey_total**2 - t**2 * survey_se**2
        discriminant = b * b - 4 * a * c
        if a <= 0 or discriminant < 0:
            low, high = 0.0, math.inf
        else:
            root = math.sqrt(discriminant)
            low, high = (-b - root) / (2 * a), (-b + root) / (2 * a)
            low = max(low, 0.0)

    def unrecorded(value: float) -> float:
        if value == math.inf:
            return 1.0
        return 1.0 - 1.0 / value if value > 0 else -math.inf

    return DarkFigure(
        iccs_code=iccs_code,
        label=label,
        period=period,
        area=area,
        survey_total=float(survey_total),
        survey_se=float(survey_se),
        police_count=int(police_count),
        ratio=ratio,
        ratio_ci_low=low,
        ratio_ci_high=high,
        unrecorded_share=unrecorded(ratio),
        unrecorded_ci_low=unrecorded(low),
        unrecorded_ci_high=unrecorded(high),
        method=method,
        level=level,
    )


def dark_figure_chart(rows: list[DarkFigure]) -> dict[str, Any]:
    """Vega-Lite spec: ratio with its interval per category, and the line of equality (1).

    Examples
    --------
    >>> spec = dark_figure_chart([dark_figure(2e6, 1e5, 800_000, label="Burglary")])
    >>> spec["layer"][0]["mark"]["type"]
    'rule'
    """
    values = [
        {
            "category": row.label or row.iccs_code or "",
            "ratio": row.ratio,
            "low": row.ratio_ci_low,
            "high": row.ratio_ci_high if math.isfinite(row.ratio_ci_high) else None,
            "unrecorded": row.unrecorded_share,
        }
        for row in rows
    ]
    category = {"field": "category", "type": "nominal", "title": None}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Survey-implied victimisations per police-recorded offence",
        "data": {"values": values},
        "width": "container",
        "height": {"step": 28},
        "layer": [
            {
                "mark": {"type": "rule"},
                "encoding": {
                    "y": category,
                    "x": {
                        "field": "low",
                        "type": "quantitative",
                        "title": "victimisations per recorded offence",
                    },
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 70},
                "encoding": {
                    "y": category,
                    "x": {"field": "ratio", "type": "quantitative"},
                    "tooltip": [
                        {"field": "category"},
                        {"field": "ratio", "format": ".2f"},
                        {"field": "low", "format": ".2f"},
                        {"field": "high", "format": ".2f"},
                        {"field": "unrecorded", "format": ".0%", "title": "share unrecorded"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#888"},
                "encoding": {"x": {"datum": 1}},
            },
        ],
    }


def compare_with_police(
    survey: dict[str, tuple[str, float, float]],
    police: list[dict[str, Any]],
    *,
    level: float = 0.95,
    degrees_of_freedom: float = math.inf,
    method: str = "log-delta",
) -> list[DarkFigure]:
    """Dark figures for every police row whose ICCS code has a survey estimate.

    Parameters
    ----------
    survey : dict
        ICCS code -> (label, survey total, standard error).
    police : list of dict
        Rows with ``iccs_code`` and ``count`` (and optional ``period``, ``area``),
        e.g. from :func:`crimeprev.survey.io.read_police_counts`.
    level, degrees_of_freedom, method
        As :func:`dark_figure`.

    Returns
    -------
    list of DarkFigure
        In the order of `police`.

    Raises
    ------
    InvalidInputError
        If no police row matches a survey category (naming both code lists).

    Examples
    --------
    >>> rows = compare_with_police({"0501": ("Burglary", 2e6, 1e5)},
    ...                            [{"iccs_code": "0501", "count": 800_000, "period": "2021"}])
    >>> rows[0].ratio
    2.5
    """
    results = []
    for row in police:
        code = str(row["iccs_code"])
        if code not in survey:
            continue
        label, total, se = survey[code]
        results.append(
            dark_figure(
                total,
                se,
                int(row["count"]),
                level=level,
                degrees_of_freedom=degrees_of_freedom,
                method=method,
                iccs_code=code,
                label=label,
                period=None if row.get("period") is None else str(row["period"]),
                area=None if row.get("area") is None else str(row["area"]),
            )
        )
    if not results:
        raise InvalidInputError(
            "no police count matches a survey category: police codes "
            f"{', '.join(sorted({str(r['iccs_code']) for r in police})) or '(none)'}; survey codes "
            f"{', '.join(sorted(survey))}",
            field="iccs_code",
            expected=", ".join(sorted(survey)),
        )
    return results
