"""The survey demo step."""

from __future__ import annotations

import json

from crimeprev.demo.survey import build


def test_demo_step_is_idempotent(settings):
    first = build(settings)
    second = build(settings)
    assert first == second
    assert "property victimisations 11,682,056" in first
    saved = json.loads((settings.data_dir / "survey" / "ncvs_2021_estimates.json").read_text())
    assert len(saved["victimisations"]) == 9
