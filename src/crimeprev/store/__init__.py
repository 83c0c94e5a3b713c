"""The analytical warehouse: source profiles, ingest with validation and
quarantine, ICCS concordance, areas and populations (Ibis; DuckDB by default)."""

from crimeprev.store.warehouse import Warehouse, open_warehouse

__all__ = ["Warehouse", "open_warehouse"]
