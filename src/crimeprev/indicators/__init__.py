"""Indicators: counts, rates with confidence intervals, trends, data quality,
SDG indicators, SDMX exchange and disclosure control.

Counting builds Ibis expressions the warehouse runs; the statistics on the
counts are pure functions."""
