"""Design-based estimation for victimisation surveys, and the dark figure of crime.

Designs (:func:`survey_design` for Taylor linearisation, :func:`replicate_design`
and :func:`create_replicates` for replicate weights), estimators (totals, means,
proportions, ratios, quantiles by domain), victimisation indicators with
publication flags, and the dark figure (survey-implied against police-recorded
crime).
"""

from crimeprev.survey.design import LONELY_PSU_OPTIONS, TaylorDesign, survey_design
from crimeprev.survey.estimators import (
    Estimate,
    EstimateTable,
    estimate_means,
    estimate_proportions,
    estimate_quantiles,
    estimate_ratios,
    estimate_totals,
)
from crimeprev.survey.replicates import (
    REPLICATE_TYPES,
    ReplicateDesign,
    create_replicates,
    replicate_design,
)

__all__ = [
    "LONELY_PSU_OPTIONS",
    "REPLICATE_TYPES",
    "Estimate",
    "EstimateTable",
    "ReplicateDesign",
    "TaylorDesign",
    "create_replicates",
    "estimate_means",
    "estimate_proportions",
    "estimate_quantiles",
    "estimate_ratios",
    "estimate_totals",
    "replicate_design",
    "survey_design",
]
