"""Demo step: load the bundled boundaries, populations and crime sources into the warehouse.

The step also works out each incident source's disclosure pattern once
(:func:`crimeprev.indicators.source_protection.source_pattern`, kept under
``<data_dir>/disclosure``), so the first crime profile or export a demo
user opens does not wait 10-60 s for it, and publishes each source's daily
table at ICCS level 1 first, which fixes the order of the demo's release
ledger (:mod:`crimeprev.indicators.release_ledger`).
"""

from __future__ import annotations

import time

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
        patterns, seconds = _warm_disclosure_patterns(warehouse, settings)
    finally:
        warehouse.close()
    new = [r for r in results if not r.skipped]
    accepted = sum(r.rows_accepted for r in results)
    quarantined = sum(r.rows_quarantined for r in results)
    return (
        f"crime statistics: {len(results)} bundled files ({len(new)} newly imported), "
        f"{accepted:,} rows accepted, {quarantined:,} quarantined, {areas} area/population steps, "
        f"disclosure patterns for {patterns} incident sources ({seconds:.0f} s)"
    )


def _warm_disclosure_patterns(warehouse: object, settings: Settings) -> tuple[int, float]:
    """Compute (or find on disk) the disclosure pattern of every incident source, and its proofs."""
    from crimeprev.indicators._linked_proofs import pattern_proofs
    from crimeprev.indicators.profile import list_sources
    from crimeprev.indicators.source_protection import source_pattern
    from crimeprev.store.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
    started = time.perf_counter()
    done = 0
    for source in list_sources(warehouse):
        if source.kind != "incident" or source.rows == 0:
            continue
        pattern = source_pattern(
            warehouse,
            source.name,
            threshold=settings.small_count_threshold,
            cache_dir=settings.data_dir / "disclosure",
        )
        # The proofs that weekly, daily, tagged and seasonal tables reuse
        # (crimeprev.indicators.linked_protection): otherwise the first such
        # request of a source waits 10-15 s while they are made.
        pattern_proofs(
            pattern,
            float(settings.small_count_threshold),
            cache_dir=settings.data_dir / "disclosure",
        )
        done += 1
    return done, time.perf_counter() - started
