"""SDG indicator 16.1.1 (intentional homicide victims per 100,000) from the warehouse.

The bundled WDI series publishes rates only; the numerator is derived as
rate x population / 100,000 and flagged as derived. Where the warehouse holds
counts of ICCS 0101 (e.g. from police records) the rate is computed from the
counts with its exact Poisson interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crimeprev.indicators.poisson import rates_with_intervals
from crimeprev.standards import sdg
from crimeprev.store.warehouse import Warehouse


@dataclass(frozen=True)
class IndicatorTable:
    """An SDG indicator with numerator, denominator and metadata."""

    indicator: str
    name: str
    unit: str
    numerator_definition: str
    denominator_definition: str
    frame: pd.DataFrame  # area_id, area_name, year, numerator, denominator, value, ci, flags


def homicide_16_1_1(warehouse: Warehouse, *, source: str = "wdi_homicide") -> IndicatorTable:
    """SDG 16.1.1 by country and year from an aggregate homicide source."""
    meta = sdg.indicator("16.1.1")
    table = warehouse.table("aggregate")
    rows = table.filter((table.source == source) & (table.iccs_code == "0101"))
    values = warehouse.to_arrow(
        rows.select("area_id", "area_name", "year", "unit", "value")
    ).to_pandas()
    population = warehouse.table("population")
    pop = warehouse.to_arrow(
        population.filter((population.area_set == "iso3") & (population.sex == "Total")).select(
            "area_id", "year", "population"
        )
    ).to_pandas()
    frame = values.merge(pop, on=["area_id", "year"], how="left")
    is_rate = frame["unit"].str.startswith("Rate")
    frame["denominator"] = frame["population"]
    frame["numerator"] = frame["value"].where(~is_rate, frame["value"] * frame["population"] / 1e5)
    frame["numerator_derived"] = is_rate
    rate, low, high = rates_with_intervals(
        frame["numerator"].fillna(0).to_numpy(), frame["denominator"].fillna(0).to_numpy()
    )
    frame["value"] = frame["value"].where(is_rate, rate)
    frame["ci_low"], frame["ci_high"] = low, high
    frame = frame[
        ["area_id", "area_name", "year", "numerator", "denominator", "value", "ci_low", "ci_high",
         "numerator_derived"]
    ].sort_values(["area_id", "year"])  # fmt: skip
    return IndicatorTable(
        indicator=meta.indicator,
        name=meta.name,
        unit=meta.unit,
        numerator_definition=meta.numerator,
        denominator_definition=meta.denominator,
        frame=frame.reset_index(drop=True),
    )
