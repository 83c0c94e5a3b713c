"""Knox test and near-repeat chains against the Near Repeat Calculator, NearRepeat (R)
and brute-force all-pairs counts computed here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from crimeprev.errors import InvalidInputError
from crimeprev.spatial.near_repeat import (
    days_since_first,
    knox_test,
    knox_test_nrc,
    near_repeat_chains,
    pair_lists,
)

DATA = Path(__file__).parents[1] / "data"
CASE = DATA / "near_repeat_chicago"
EXPECTED = json.loads((CASE / "expected.json").read_text())["results"]
INF = np.inf


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(CASE / f"{name}.csv")


def nrc_table(path: Path, title: str) -> np.ndarray:
    """Parse one table of an NRC verbose output file (independently of our code)."""
    lines = path.read_text().splitlines()
    start = lines.index(title) + 3
    rows = []
    for line in lines[start:]:
        cells = line.split(",")
        if len(cells) < 3 or not cells[0].strip().isdigit():
            break
        rows.append([float(c) if c.strip() else 0.0 for c in cells[2:-1]])
    return np.array(rows)


def brute_force(x, y, days, dbreaks, tbreaks, metric="euclidean"):
    i, j = np.triu_indices(len(x), 1)
    dx, dy = np.abs(x[i] - x[j]), np.abs(y[i] - y[j])
    distance = np.hypot(dx, dy) if metric == "euclidean" else dx + dy
    gap = np.abs(days[i] - days[j])
    table = np.zeros((len(dbreaks) - 1, len(tbreaks) - 1), dtype=int)
    for s in range(table.shape[0]):
        near = (distance >= dbreaks[s]) & (distance < dbreaks[s + 1])
        for t in range(table.shape[1]):
            table[s, t] = np.sum(near & (gap >= tbreaks[t]) & (gap < tbreaks[t + 1]))
    return table


@pytest.mark.parametrize(
    ("name", "verbose", "bandwidths"),
    [
        ("chicago_burglary_jan2016", "chicago_be_month1_NRverbose.txt", (100, 7)),
        ("chicago_arson_2016", "chicago_arson_NRverbose.txt", (200, 1)),
    ],
    ids=["burglary", "arson"],
)
def test_nrc_observed_table_is_reproduced_exactly(name, verbose, bandwidths):
    events = load(name)
    result = knox_test_nrc(
        events.X,
        events.Y,
        events.date.to_numpy(),
        spatial_bandwidth=bandwidths[0],
        temporal_bandwidth=bandwidths[1],
        permutations=0,
    )
    published = nrc_table(DATA / "nrc_reference" / verbose, "Observed frequencies distribution")
    assert result.observed.tolist() == published.astype(int).tolist()
    assert result.distance_labels[0] == "Same location"
    assert result.distance_labels[-1] == f"More than {bandwidths[0] * 3}"


def test_arson_at_full_precision_matches_nearrepeat():
    events = load("chicago_arson_2016")
    result = knox_test_nrc(
        events.X,
        events.Y,
        events.date.to_numpy(),
        spatial_bandwidth=200,
        temporal_bandwidth=1,
        permutations=0,
        single_precision=False,
    )
    assert (
        result.observed.tolist()
        == EXPECTED["arson_nrc_table"]["recomputed_observed_full_precision"]
    )


@pytest.mark.parametrize("metric", ["manhattan", "euclidean"])
def test_burglary_against_nearrepeat_r(metric):
    reference = EXPECTED[f"burglary_nearrepeat_{metric}"]
    events = load("chicago_burglary_jan2016")
    breaks = [INF if b == "Inf" else b for b in reference["sds"]]
    tbreaks = [INF if b == "Inf" else b for b in reference["tds"]]
    result = knox_test(
        events.X,
        events.Y,
        events.date.to_numpy(),
        distance_breaks=breaks,
        time_breaks=tbreaks,
        metric=metric,
        permutations=999,
        rng=831,
    )
    assert result.observed.tolist() == reference["observed"]
    exact = np.array(reference["exact_expected_under_permutation"])
    assert_allclose(result.exact_expected, exact, rtol=1e-9)
    exact_ratio = np.array(reference["exact_knox_ratio"])
    big = exact >= 50
    assert_allclose(result.knox_ratio[big], exact_ratio[big], rtol=0.05)
    small = (exact >= 3) & ~big
    assert_allclose(result.knox_ratio[small], exact_ratio[small], rtol=0.2)
    # Monte Carlo p-values: only the clear classifications are stable.
    reference_p = np.array(reference["mc_pvalues"])
    assert np.all(result.p_values[reference_p <= 0.002] <= 0.01)
    assert np.all(result.p_values[reference_p > 0.2] > 0.05)
    assert result.seed == 831 and result.permutations == 999
    assert (result.significance()[0, 0], result.significance()[0, 1]) == ("++", "")


def test_arson_pvalues_match_nrc_classification():
    events = load("chicago_arson_2016")
    result = knox_test_nrc(
        events.X,
        events.Y,
        events.date.to_numpy(),
        spatial_bandwidth=200,
        temporal_bandwidth=1,
        permutations=999,
        rng=63,
    )
    published = nrc_table(
        DATA / "nrc_reference" / "chicago_arson_NRverbose.txt", "Statistical significant table"
    )
    assert np.all(result.p_values[published <= 0.01] <= 0.01)
    assert np.all(result.p_values[published > 0.2] > 0.05)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize(
    ("dbreaks", "tbreaks", "fractional"),
    [
        ([0, 50, 120, 300, INF], [0, 3, 10, INF], False),
        ([10, 50, 120, 300], [1, 3, 10], False),
        ([0, 80, 250, INF], [0, 0.5, 2.25, 9], True),
        ([0, 25, 50, 75, 100, INF], [0, 0.5, 2.5, 9.5, INF], False),
        ([0, 1, 100, 300, INF], [0, 7, 30000, INF], "long"),
    ],
    ids=["open", "closed-with-gaps", "fractional-days", "lattice-fractional-breaks", "long-span"],
)
def test_observed_matches_all_pairs(metric, dbreaks, tbreaks, fractional):
    rng = np.random.default_rng(5)
    n = 400
    x = rng.uniform(0, 2000, n).round(0)
    y = rng.uniform(0, 2000, n).round(0)
    days = rng.integers(0, 40, n).astype(float)
    if fractional is True:
        days = days + rng.uniform(0, 1, n)
    if fractional == "long":
        # Whole days over more than 32,767 days: the int32 path of the kernel.
        days[::3] += 35_000
    if dbreaks[1] == 25:
        # Half the events on a 25 m lattice: many distances exactly on a break.
        x[::2] = rng.integers(0, 12, n // 2) * 25.0
        y[::2] = rng.integers(0, 12, n // 2) * 25.0
    result = knox_test(
        x, y, days, distance_breaks=dbreaks, time_breaks=tbreaks, metric=metric, permutations=9
    )
    expected = brute_force(x, y, days, np.array(dbreaks, float), np.array(tbreaks, float), metric)
    assert result.observed.tolist() == expected.tolist()


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_pair_lists_find_every_close_pair_once_with_its_band(metric):
    rng = np.random.default_rng(9)
    n = 500
    x = rng.uniform(-300, 900, n)
    y = rng.uniform(-300, 900, n)
    x[::2] = rng.integers(-6, 18, n // 2) * 50.0  # exactly on the radius and the breaks
    y[::2] = rng.integers(-6, 18, n // 2) * 50.0
    breaks = np.array([10.0, 50.0, 100.0, 150.0])
    order, offsets, partner, band = pair_lists(x, y, 150.0, breaks, metric)
    found = {}
    for i in range(n):
        for k in range(offsets[i], offsets[i + 1]):
            assert partner[k] > i
            pair = (min(order[i], order[partner[k]]), max(order[i], order[partner[k]]))
            assert pair not in found
            found[pair] = int(band[k])
    i, j = np.triu_indices(n, 1)
    dx, dy = np.abs(x[i] - x[j]), np.abs(y[i] - y[j])
    distance = np.hypot(dx, dy) if metric == "euclidean" else dx + dy
    close = distance < 150.0
    bands = np.searchsorted(breaks, distance, side="right") - 1
    bands[bands < 0] = breaks.size - 1
    expected = {(a, b): int(c) for a, b, c in zip(i[close], j[close], bands[close], strict=True)}
    assert found == expected


def test_pair_lists_refuse_too_many_bands_and_unprojected_spreads():
    x = np.array([0.0, 1.0])
    with pytest.raises(InvalidInputError, match="at most 255 distance bands"):
        pair_lists(x, x, 1.0, np.arange(300.0))
    with pytest.raises(InvalidInputError, match="projected to metres"):
        pair_lists(np.array([0.0, 1e300]), x, 1.0, np.array([0.0, 1.0]))


def test_permutation_mean_converges_to_exact_expectation():
    rng = np.random.default_rng(11)
    n = 300
    x, y = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n)
    days = rng.integers(0, 60, n)
    result = knox_test(
        x,
        y,
        days,
        distance_breaks=[0, 200, 500, INF],
        time_breaks=[0, 7, 21, INF],
        permutations=2000,
        rng=3,
    )
    # Standard error of a cell mean is sd/sqrt(2000); allow 5 of them.
    assert_allclose(result.expected, result.exact_expected, rtol=0.05, atol=0.5)
    assert result.expected.sum() == pytest.approx(result.total_pairs)


def test_same_seed_same_result_and_seed_is_recorded():
    events = load("chicago_arson_2016")
    arguments = {"distance_breaks": [0, 500, INF], "time_breaks": [0, 7, INF], "permutations": 19}
    first = knox_test(events.X, events.Y, events.date.to_numpy(), rng=42, **arguments)
    second = knox_test(events.X, events.Y, events.date.to_numpy(), rng=42, **arguments)
    assert_allclose(first.expected, second.expected)
    drawn = knox_test(events.X, events.Y, events.date.to_numpy(), **arguments)
    again = knox_test(events.X, events.Y, events.date.to_numpy(), rng=drawn.seed, **arguments)
    assert drawn.seed is not None
    assert_allclose(drawn.p_values, again.p_values)
    body = first.to_dict()
    assert body["distance_breaks"][-1] is None and body["seed"] == 42


def test_datetimes_and_dates_agree():
    dates = np.array(["2016-01-01", "2016-01-02", "2016-01-09"], dtype="datetime64[D]")
    assert days_since_first(dates).tolist() == [0, 1, 8]
    stamps = np.array(["2016-01-01T12:00", "2016-01-02T00:00"], dtype="datetime64[m]")
    assert days_since_first(stamps).tolist() == [0, 0.5]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": [0.0, np.nan, 2.0]}, "position 1"),
        ({"times": ["2016-01-01", "not a date", "2016-01-03"]}, "dates"),
        ({"permutations": 10_000}, "0..9999"),
        ({"distance_breaks": [0, 100, 50]}, "strictly increasing"),
        ({"time_breaks": [0]}, "at least two"),
        ({"y": [0.0, 1.0]}, "same length"),
    ],
    ids=["nan-x", "bad-date", "too-many-permutations", "bad-breaks", "one-break", "length"],
)
def test_bad_input_is_named(change, message):
    arguments = {
        "x": [0.0, 1.0, 2.0],
        "y": [0.0, 1.0, 2.0],
        "times": ["2016-01-01", "2016-01-02", "2016-01-03"],
        "distance_breaks": [0, 10, INF],
        "time_breaks": [0, 7, INF],
        "permutations": 9,
    } | change
    with pytest.raises(InvalidInputError, match=message):
        knox_test(
            arguments.pop("x"), arguments.pop("y"), np.array(arguments.pop("times")), **arguments
        )


def test_chains_link_events_within_both_limits():
    x = [0, 60, 120, 5000, 5050, 9000]
    y = [0, 0, 0, 0, 0, 0]
    days = [0, 5, 9, 1, 30, 2]
    chains = near_repeat_chains(x, y, days, distance=100, days=7)
    # 0-1 (60 m, 5 d) and 1-2 (60 m, 4 d) link; 3-4 are 29 days apart; 5 is alone.
    assert chains.chain.tolist() == [0, 0, 0, -1, -1, -1]
    assert chains.links == 2
    assert [m.tolist() for m in chains.members] == [[0, 1, 2]]
    assert chains.summary(np.array(days))[0] == {"chain": 0, "events": 3, "first": "0", "last": "9"}


def test_chains_on_real_burglaries_match_union_find():
    events = load("chicago_burglary_jan2016")
    x, y = events.X.to_numpy(), events.Y.to_numpy()
    days = days_since_first(events.date.to_numpy())
    chains = near_repeat_chains(x, y, events.date.to_numpy(), distance=200, days=7)
    parent = list(range(len(x)))

    def root(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    i, j = np.triu_indices(len(x), 1)
    linked = (np.hypot(x[i] - x[j], y[i] - y[j]) < 200) & (np.abs(days[i] - days[j]) < 7)
    for a, b in zip(i[linked], j[linked], strict=True):
        parent[root(a)] = root(b)
    roots = np.array([root(a) for a in range(len(x))])
    sizes = np.bincount(roots, minlength=len(x))
    assert sorted(sizes[sizes >= 2].tolist(), reverse=True) == [m.size for m in chains.members]
    assert chains.links == int(linked.sum())
