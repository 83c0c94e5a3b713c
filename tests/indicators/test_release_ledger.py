"""Finer tables of different selections, protected against each other by the release ledger
(issue #3, item 10).

Two daily tables of different selections (ICCS level 1 by area, and codes at
level 2 without area) are each safe with the source's monthly tables, but a
reader holding both can difference them. The attacker (``attack`` of
``test_linked_protection``, scipy ``linprog``) knows every published number
of the monthly tables and of both daily tables; the tables are summed with
pandas from the records, not with crimeprev's cell building.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crimeprev.indicators.counts import CountQuery, count_incidents

from .conftest import synthetic_source
from .test_linked_protection import LINKED_PROFILE, THRESHOLD, _pattern_tables, attack

SOURCE = "test_linked"
#: The two selections: ICCS level 1 by area, and level 2 (the codes) over all areas.
LEVEL1_BY_AREA = CountQuery(SOURCE, level=1, period="day", by_area=True)
LEVEL2_ALL_AREAS = CountQuery(SOURCE, level=2, period="day", by_area=False)


def forget_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Protect every finer table as before the ledger: alone with the pattern."""
    from crimeprev.indicators import release_ledger

    @contextlib.contextmanager
    def fresh(_pattern: object, _source: str, _cache_dir: object) -> Iterator[object]:
        yield release_ledger.ReleaseLedger()

    monkeypatch.setattr(release_ledger, "open_ledger", fresh)


def _records(share: float = 0.3, seed: int = 5) -> pd.DataFrame:
    """About 8 burglaries a day per region over January-February 2020, `share` of them 0502."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(0, 60 * 24 * 60, size=960)
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(minutes, unit="min")
    return pd.DataFrame(
        {
            "date": when.strftime("%Y-%m-%d %H:%M"),
            "iccs": rng.choice(["0501", "0502"], size=960, p=[1 - share, share]),
            "region": rng.choice(["A", "B"], size=960),
        }
    )


@pytest.fixture(scope="module")
def ledger_source(tmp_path_factory):
    root = tmp_path_factory.mktemp("ledger")
    files = {"d.csv": _records()}
    with synthetic_source(root, SOURCE, LINKED_PROFILE, files, threshold=THRESHOLD) as made:
        settings, (result,) = made
        assert result.rows_accepted == 960
        yield settings, files["d.csv"]


@contextlib.contextmanager
def _warehouse(settings):
    from crimeprev.store import open_warehouse

    warehouse = open_warehouse(settings.warehouse_url)
    try:
        yield warehouse
    finally:
        warehouse.close()


def _marks(warehouse, query: CountQuery, cache_dir: Path | None) -> pd.DataFrame:
    from crimeprev.indicators.source_protection import counts_status

    frame = count_incidents(warehouse, query)
    frame["mark"] = counts_status(
        warehouse, query, frame, threshold=THRESHOLD, cache_dir=cache_dir
    ).to_numpy()
    return frame


def _sub_cells(records: pd.DataFrame) -> pd.DataFrame:
    when = pd.to_datetime(records["date"])
    sub = (
        records.assign(
            day=when.dt.normalize(), iccs_code=records["iccs"], area_id=records["region"]
        )
        .groupby(["iccs_code", "area_id", "day"], as_index=False)
        .size()
        .rename(columns={"size": "count"})
    )
    sub["count"] = sub["count"].astype(float)
    return sub


def _daily_table(sub: pd.DataFrame, query: CountQuery, published: pd.DataFrame):
    """The daily table of `query` summed with pandas, its sub-cell -> row map and the marks."""
    keys = pd.DataFrame({"iccs_code": sub["iccs_code"].str[: {1: 2, 2: 4}[int(query.level or 2)]]})
    if query.by_area:
        keys["area_id"] = sub["area_id"]
    keys["period"] = sub["day"]
    columns = list(keys.columns)
    row_of, index = pd.MultiIndex.from_frame(keys).factorize()
    table = pd.DataFrame(list(index), columns=columns)
    table["count"] = np.bincount(row_of, weights=sub["count"].to_numpy())
    got = published.assign(period=pd.to_datetime(published["period"]))
    merged = table.merge(got, on=columns, how="left", validate="one_to_one")
    assert np.array_equal(merged["count_x"], merged["count_y"])  # the same table
    return table, row_of, merged["mark"].to_numpy()


def _attack_both(settings, records, cache_dir: Path | None, first=None, second=None):
    """The attacker's ranges over the monthly tables and the two daily tables."""
    from crimeprev.indicators.source_protection import source_pattern

    sub = _sub_cells(records)
    with _warehouse(settings) as warehouse:
        first = _marks(warehouse, LEVEL1_BY_AREA, cache_dir) if first is None else first
        second = _marks(warehouse, LEVEL2_ALL_AREAS, cache_dir) if second is None else second
        pattern = source_pattern(warehouse, SOURCE, threshold=THRESHOLD)
    tables = _pattern_tables(sub, pattern)
    for query, published in ((LEVEL1_BY_AREA, first), (LEVEL2_ALL_AREAS, second)):
        tables.append(_daily_table(sub, query, published))
        hidden = (published["mark"] != "").sum()
        assert 0 < hidden < len(published)  # something to attack, something shown
    return attack(sub["count"].to_numpy(), tables)


def test_two_selections_protected_apart_give_a_small_count_away(ledger_source, monkeypatch):
    # Before the ledger: each daily table linked to the monthly tables only.
    forget_releases(monkeypatch)
    settings, records = ledger_source
    ranges = _attack_both(settings, records, cache_dir=None)
    assert min(high - low for low, high in ranges) < THRESHOLD - 1e-6


def test_with_the_ledger_no_small_count_is_narrowed(ledger_source, tmp_path):
    settings, records = ledger_source
    ranges = _attack_both(settings, records, cache_dir=tmp_path)
    assert ranges
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_the_same_request_gets_the_recorded_marks(ledger_source, tmp_path):
    settings, _ = ledger_source
    with _warehouse(settings) as warehouse:
        first = _marks(warehouse, LEVEL1_BY_AREA, tmp_path)
        second = _marks(warehouse, LEVEL2_ALL_AREAS, tmp_path)
        # Asked again after the other: the first release stands as published.
        again = _marks(warehouse, LEVEL1_BY_AREA, tmp_path)
        assert again["mark"].tolist() == first["mark"].tolist()
        assert _marks(warehouse, LEVEL2_ALL_AREAS, tmp_path)["mark"].equals(second["mark"])
    (ledger,) = tmp_path.glob("ledger-*.json")
    releases = json.loads(ledger.read_text())["releases"]
    assert [(r["query"]["level"], r["query"]["by_area"]) for r in releases] == [
        (1, True),
        (2, False),
    ]


_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.indicators.source_protection import counts_status
    from crimeprev.store import open_warehouse

    url, cache, threshold = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    warehouse = open_warehouse(url)
    query = CountQuery("test_linked", level=2, period="day", by_area=False)
    frame = count_incidents(warehouse, query)
    status = counts_status(warehouse, query, frame, threshold=threshold, cache_dir=cache)
    frame["mark"] = status.to_numpy()
    frame["period"] = frame["period"].astype(str)
    print(json.dumps(frame[["iccs_code", "period", "count", "mark"]].to_dict("list")))
    warehouse.close()
    """
)


def test_the_ledger_is_kept_for_a_fresh_process(ledger_source, tmp_path):
    # This process publishes the level-1 table; another process (a new warehouse
    # object on the same folder) asks for the level-2 one, and must protect it
    # against the first: the attacker holding both learns nothing.
    settings, records = ledger_source
    with _warehouse(settings) as warehouse:
        first = _marks(warehouse, LEVEL1_BY_AREA, tmp_path)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, settings.warehouse_url, str(tmp_path), str(THRESHOLD)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    second = pd.DataFrame(json.loads(child.stdout.strip().splitlines()[-1]))
    ranges = _attack_both(settings, records, None, first=first, second=second)
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)
    (ledger,) = tmp_path.glob("ledger-*.json")
    assert len(json.loads(ledger.read_text())["releases"]) == 2


@pytest.fixture(scope="module")
def sparse_source(tmp_path_factory):
    """The same days with 0502 rarer (15%): its daily counts over both areas are mostly 1-3."""
    root = tmp_path_factory.mktemp("ledger_sparse")
    files = {"d.csv": _records(share=0.15)}
    with synthetic_source(root, SOURCE, LINKED_PROFILE, files, threshold=THRESHOLD) as made:
        settings, (result,) = made
        assert result.rows_accepted == 960
        yield settings, files["d.csv"]


def test_a_table_the_earlier_release_pins_is_refused_and_the_ledger_kept(
    sparse_source, tmp_path, monkeypatch
):
    from crimeprev.indicators.linked_protection import DisclosureRefusedError

    settings, records = sparse_source
    with _warehouse(settings) as warehouse:
        first = _marks(warehouse, LEVEL1_BY_AREA, tmp_path)
        (ledger,) = tmp_path.glob("ledger-*.json")
        before = ledger.read_bytes()
        with pytest.raises(DisclosureRefusedError) as refused:
            _marks(warehouse, LEVEL2_ALL_AREAS, tmp_path)
        message = str(refused.value)
        assert "1 finer table(s) published before it" in message
        assert "iccs_code=0502" in message and "it is not published" in message
        assert ledger.read_bytes() == before  # nothing recorded, nothing changed
        again = _marks(warehouse, LEVEL1_BY_AREA, tmp_path)
        assert again["mark"].tolist() == first["mark"].tolist()
        # On its own (a fresh ledger) the level-2 table would be published...
        alone = _marks(warehouse, LEVEL2_ALL_AREAS, tmp_path / "fresh")
    assert (alone["mark"] == "").any()
    # ...and the refusal is needed: with every one of its days hidden, the attacker
    # holding the level-1 table still narrows a small count below the threshold.
    every_day_hidden = alone.assign(mark="secondary")
    sub = _sub_cells(records)
    with _warehouse(settings) as warehouse:
        from crimeprev.indicators.source_protection import source_pattern

        pattern = source_pattern(warehouse, SOURCE, threshold=THRESHOLD)
    tables = _pattern_tables(sub, pattern)
    tables.append(_daily_table(sub, LEVEL1_BY_AREA, first))
    tables.append(_daily_table(sub, LEVEL2_ALL_AREAS, every_day_hidden))
    ranges = attack(sub["count"].to_numpy(), tables)
    assert min(high - low for low, high in ranges) < THRESHOLD - 1e-6
