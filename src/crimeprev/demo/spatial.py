"""Demo step for "Where and when": precompute the Chicago hot spots and the
near-repeat table from the bundled data, and save them as files in the data
directory (GeoJSON cells, Knox table JSON). The web pages compute the same
results on demand, so they work without this step; the step makes the first
page view instant and leaves the outputs for GIS users."""

from __future__ import annotations

import json

from crimeprev.config import Settings


def build(settings: Settings) -> str:
    """Write spatial/chicago_assaults_2019_cells.geojson and the Knox table JSON."""
    from crimeprev.web.api.spatial import chicago_layers, near_repeat_analysis

    folder = settings.ensure_data_dir() / "spatial"
    folder.mkdir(parents=True, exist_ok=True)
    layers = chicago_layers(2019)
    (folder / "chicago_assaults_2019_cells.geojson").write_text(json.dumps(layers["cells"]))
    (folder / "chicago_community_areas_2019.geojson").write_text(json.dumps(layers["areas"]))
    knox = near_repeat_analysis("chicago_burglary_2016", 100.0, 3, 7.0, 3, "manhattan", 99, 1)
    (folder / "chicago_burglary_2016_knox.json").write_text(json.dumps(knox))
    hot = sum(n for label, n in layers["classes"].items() if label.startswith("hot"))
    return (
        f"spatial: Chicago assaults 2019 on {len(layers['cells']['features']):,} grid cells "
        f"({hot:,} Gi* hot-spot cells); Knox table of {knox['events']:,} burglaries 2016 "
        f"with {knox['chains']['count']:,} near-repeat chains; files in {folder}"
    )
