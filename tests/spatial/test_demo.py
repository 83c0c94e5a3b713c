"""The spatial demo step writes its files and is idempotent."""

from __future__ import annotations

import json

from crimeprev.demo.spatial import build


def test_demo_step_writes_outputs_twice(settings):
    first = build(settings)
    second = build(settings)
    assert first == second and "Knox table" in first
    folder = settings.data_dir / "spatial"
    cells = json.loads((folder / "chicago_assaults_2019_cells.geojson").read_text())
    assert cells["type"] == "FeatureCollection" and cells["features"]
    knox = json.loads((folder / "chicago_burglary_2016_knox.json").read_text())
    assert knox["events"] == 11_700
