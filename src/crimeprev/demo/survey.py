"""Demo step: NCVS 2021 estimates for the survey pages.

Computes the worked example once (victimisations and reporting rates by
crime type, household indicators with publication flags) and writes it to
``<data_dir>/survey/ncvs_2021_estimates.json``, replacing any earlier copy,
so the result can be inspected or shared without the web app.
"""

from __future__ import annotations

import json

from crimeprev.config import Settings
from crimeprev.survey.report import ncvs_example


def build(settings: Settings) -> str:
    """Compute the NCVS 2021 example and save it; return a one-line summary."""
    example = ncvs_example()
    folder = settings.ensure_data_dir() / "survey"
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "survey": "NCVS 2021 (public-use subset)",
        "victimisations": [p.to_record() for p in example.victimisations],
        "reporting": [p.to_record() for p in example.reporting],
        "household_indicators": example.household.to_records(),
    }
    path = folder / "ncvs_2021_estimates.json"
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")
    total = next(p for p in example.victimisations if p.estimate.variable == "property").estimate
    flagged = sum(1 for row in example.household.rows if row.published.flags)
    return (
        f"survey: NCVS 2021 property victimisations {total.estimate:,.0f} "
        f"(SE {total.se:,.0f}); {len(example.household.rows)} household indicators, "
        f"{flagged} flagged; saved {path.name}"
    )
