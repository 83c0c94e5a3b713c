"""Load the real data bundled with crimeprev: boundaries, populations, sources.

Used by the demo build and by ``crimeprev stats load-bundled``. Every step is
idempotent: boundaries and populations are replaced, and sources already
imported (same file hash) are skipped by the import log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from crimeprev.store import areas
from crimeprev.store.ingest import ImportResult, import_file
from crimeprev.store.profiles import BUNDLED_DATA_DIR, bundled_profiles
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class BundledAreaSet:
    """A bundled boundary file and how to read it."""

    area_set: str
    path: str
    id_field: str
    name_field: str
    level: str


AREA_SETS: tuple[BundledAreaSet, ...] = (
    BundledAreaSet(
        "chicago_community_areas",
        "chicago_community_areas_population/community_areas_pop_2000_2010.geojson",
        "NID",
        "community",
        "community area",
    ),
    BundledAreaSet(
        "chicago_police_districts",
        "chicago_aggravated_assaults_2010_2019/police_districts.geojson",
        "district",
        "district_name",
        "police district",
    ),
    BundledAreaSet(
        "vancouver_local_areas",
        "vancouver_crime_2020/neighbourhoods.geojson",
        "mapid",
        "name",
        "local area",
    ),
    BundledAreaSet(
        "lancashire_wards", "lancashire_asb_2022/wards.geojson", "ward_code", "ward_name", "ward"
    ),
)


def load_bundled_areas(warehouse: Warehouse) -> Iterator[str]:
    """Store the bundled boundaries and populations; yield a line per step."""
    for spec in AREA_SETS:
        area_set = areas.read_boundaries(
            BUNDLED_DATA_DIR / spec.path,
            area_set=spec.area_set,
            id_field=spec.id_field,
            name_field=spec.name_field,
        )
        count = areas.store_areas(warehouse, area_set, level=spec.level)
        yield f"areas {spec.area_set}: {count}"
    yield from _populations(warehouse)


def _populations(warehouse: Warehouse) -> Iterator[str]:
    import json

    path = BUNDLED_DATA_DIR / AREA_SETS[0].path
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    ids, years, values = [], [], []
    for feature in features:
        props = feature["properties"]
        for year, field in ((2000, "POP2000"), (2010, "POP2010")):
            ids.append(areas.id_text(props["NID"]))
            years.append(year)
            values.append(float(props[field]))
    count = areas.store_population(
        warehouse,
        area_set="chicago_community_areas",
        area_ids=ids,
        years=years,
        populations=values,
        source="City of Chicago census 2000/2010",
    )
    yield f"population chicago_community_areas: {count} rows"
    wards = pq.read_table(BUNDLED_DATA_DIR / "lancashire_asb_2022/ward_population.parquet")
    count = areas.store_population(
        warehouse,
        area_set="lancashire_wards",
        area_ids=wards["gss_code"].to_pylist(),
        years=[2020] * wards.num_rows,
        populations=[float(v) for v in wards["population"].to_pylist()],
        source="ONS ward mid-2020 estimates",
    )
    yield f"population lancashire_wards: {count} rows"
    world = pq.read_table(BUNDLED_DATA_DIR / "world_homicide_wdi/population_by_country.parquet")
    count = areas.store_population(
        warehouse,
        area_set="iso3",
        area_ids=world["iso3"].to_pylist(),
        years=world["year"].to_pylist(),
        populations=[float(v) for v in world["population"].to_pylist()],
        source="World Bank WDI SP.POP.TOTL",
    )
    yield f"population iso3: {count} rows"


def import_bundled(
    warehouse: Warehouse, *, progress: Callable[[str], None] | None = None
) -> Iterator[ImportResult]:
    """Import every bundled source file (skipping those already imported)."""
    for profile in bundled_profiles():
        for path in profile.bundled_paths():
            if Path(path).exists():
                yield import_file(warehouse, profile, path, progress=progress)
