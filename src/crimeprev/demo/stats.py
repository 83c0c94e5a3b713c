"""Demo step: load the bundled boundaries, populations and crime sources into the warehouse."""

from __future__ import annotations

from crimeprev.config import Settings
from crimeprev.store.bundled import import_bundled, load_bundled_areas
from crimeprev.store.warehouse import open_warehouse


def load_crime_statistics(settings: Settings) -> str:
    """Import every bundled source (files already imported are skipped)."""
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        areas = sum(1 for _ in load_bundled_areas(warehouse))
        results = list(import_bundled(warehouse))
    finally:
        warehouse.close()
    new = [r for r in results if not r.skipped]
    accepted = sum(r.rows_accepted for r in results)
    quarantined = sum(r.rows_quarantined for r in results)
    return (
        f"crime statistics: {len(results)} bundled files ({len(new)} newly imported), "
        f"{accepted:,} rows accepted, {quarantined:,} quarantined, {areas} area/population steps"
    )
