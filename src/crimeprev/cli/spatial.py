"""Top-level spatial commands: ``hotspots``, ``kde``, ``near-repeat``, ``forecast-accuracy``.

Each reads a CSV/Parquet file of events, calls one library function and prints
a table (or writes JSON/GeoJSON/GeoParquet). :func:`register` adds them to the
main ``crimeprev`` app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from crimeprev.cli._output import console, print_error, styled
from crimeprev.errors import CrimeprevError, InvalidInputError

# Options every command shares, so that their names and help read the same everywhere.


def _file_argument(what: str) -> Any:
    """The input file, optional because ``--source`` can stand in for it."""
    return typer.Argument(None, help=f"CSV or Parquet file of {what} (or --source).")


def _source_option() -> Any:
    return typer.Option(
        None, help="Warehouse source instead of a file (see crimeprev stats sources)."
    )


def _offence_option() -> Any:
    return typer.Option(
        None, help="With --source: ICCS code prefix (e.g. 0501) or text of the offence label."
    )


def _start_option() -> Any:
    return typer.Option(None, help="With --source: incidents on or after this date.")


def _end_option() -> Any:
    return typer.Option(None, help="With --source: incidents before this date.")


def _epsg_option() -> Any:
    """The EPSG code of the grid commands, whose GeoJSON needs lon/lat back from x/y."""
    return typer.Option(
        None,
        help="lon/lat input: metric EPSG code to project to (default: the UTM zone); "
        "x/y input: the data's EPSG code, so that GeoJSON can be written in lon/lat.",
    )


def _fail(error: CrimeprevError) -> None:
    print_error(error.message)
    raise typer.Exit(2)


def _breaks(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [
            float("inf") if part.strip().lower() in {"inf", "infinity"} else float(part)
            for part in text.split(",")
        ]
    except ValueError as error:
        raise InvalidInputError(
            f"--{name} must be comma-separated numbers such as 0,100,200,inf, got {text!r}"
        ) from error


def _projected(events, epsg: int | None):  # noqa: ANN001, ANN202 - Events from files
    from crimeprev.spatial.projection import project

    if events.geographic:
        projected = project(events.x, events.y, epsg=epsg)
        return projected.x, projected.y, projected.epsg
    return events.x, events.y, epsg


def _write_json(path: Path, body: dict) -> None:
    path.write_text(json.dumps(body, indent=2, default=str))
    console.print(f"wrote {path}")


def near_repeat(
    file: Path | None = _file_argument("events"),
    source: str | None = _source_option(),
    offence: str | None = _offence_option(),
    start: str | None = _start_option(),
    end: str | None = _end_option(),
    x: str | None = typer.Option(None, help="Column of x in metres (default: X or x)."),
    y: str | None = typer.Option(None, help="Column of y in metres (default: Y or y)."),
    lon: str | None = typer.Option(None, help="Column of longitude (projected to UTM)."),
    lat: str | None = typer.Option(None, help="Column of latitude."),
    date: str | None = typer.Option(None, help="Column of the date or datetime (default: date)."),
    epsg: int | None = typer.Option(None, help="Metric EPSG code for lon/lat (default: UTM)."),
    spatial_bandwidth: float = typer.Option(100.0, help="Metres per distance band (NRC style)."),
    spatial_bands: int = typer.Option(3, help="Number of distance bands (NRC style)."),
    temporal_bandwidth: float = typer.Option(7.0, help="Days per time band (NRC style)."),
    temporal_bands: int = typer.Option(3, help="Number of time bands (NRC style)."),
    distance_breaks: str | None = typer.Option(
        None, help="Explicit distance breaks in metres, e.g. 0,100,200,inf (half-open bands)."
    ),
    time_breaks: str | None = typer.Option(
        None, help="Explicit time breaks in days, e.g. 0,7,14,inf (half-open bands)."
    ),
    metric: str = typer.Option("manhattan", help="manhattan (NRC default) or euclidean."),
    permutations: int = typer.Option(99, help="Monte Carlo permutations (0-9999)."),
    seed: int | None = typer.Option(None, help="Random seed (drawn and reported if omitted)."),
    chains: bool = typer.Option(False, help="Also list near-repeat chains (first bands)."),
    drop_missing: bool = typer.Option(False, help="Drop rows with missing values."),
    output: Path | None = typer.Option(None, help="Write the result as JSON to this file."),
) -> None:
    """Knox test for near repeats, by default with the Near Repeat Calculator's bands."""
    from crimeprev.spatial.near_repeat import knox_test, knox_test_nrc, near_repeat_chains

    try:
        events = _read(
            file,
            source,
            offence,
            period=(start, end),
            drop_missing=drop_missing,
            x=x,
            y=y,
            lon=lon,
            lat=lat,
            date=date,
            need_date=True,
        )
        xs, ys, _ = _projected(events, epsg)
        dbreaks = _breaks(distance_breaks, "distance-breaks")
        tbreaks = _breaks(time_breaks, "time-breaks")
        if metric not in ("manhattan", "euclidean"):
            raise InvalidInputError(f"--metric must be manhattan or euclidean, got {metric!r}")
        if dbreaks is not None or tbreaks is not None:
            if dbreaks is None or tbreaks is None:
                raise InvalidInputError("give both --distance-breaks and --time-breaks")
            result = knox_test(
                xs,
                ys,
                events.times,
                distance_breaks=dbreaks,
                time_breaks=tbreaks,
                metric=metric,  # type: ignore[arg-type]
                permutations=permutations,
                rng=seed,
                source=events.source,
            )
        else:
            result = knox_test_nrc(
                xs,
                ys,
                events.times,
                spatial_bandwidth=spatial_bandwidth,
                spatial_bands=spatial_bands,
                temporal_bandwidth=temporal_bandwidth,
                temporal_bands=temporal_bands,
                metric=metric,  # type: ignore[arg-type]
                permutations=permutations,
                rng=seed,
                source=events.source,
            )
        found = None
        if chains:
            first_distance = [b for b in result.distance_breaks if b > 1e-3][0]
            found = near_repeat_chains(
                xs,
                ys,
                events.times,
                distance=first_distance,
                days=result.time_breaks[1],
                metric=metric,  # type: ignore[arg-type]
            )
    except CrimeprevError as error:
        _fail(error)
        return
    console.print(
        f"Knox test: {result.events:,} events from {result.source}"
        + (f" ({events.dropped:,} rows dropped)" if events.dropped else "")
        + f", {result.metric} distance, {result.permutations} permutations, seed {result.seed}"
    )
    for title, values, digits in (
        ("Observed pairs", result.observed, 0),
        ("Knox ratio (observed / mean of permutations)", result.knox_ratio, 2),
        ("Pseudo p-value", result.p_values, 3),
    ):
        table = Table(title=title)
        table.add_column("distance \\ days")
        for label in result.time_labels:
            table.add_column(label, justify="right")
        marks = result.significance()
        for row, label in enumerate(result.distance_labels):
            cells = []
            for col in range(len(result.time_labels)):
                value = values[row, col]
                text = "-" if not np.isfinite(value) else f"{value:,.{digits}f}"
                if digits == 2 and marks[row, col]:
                    cells.append(styled((f"{text} {marks[row, col]}", "bold")))
                else:
                    cells.append(styled(text))
            table.add_row(label, *cells)
        console.print(table)
    console.print("+ p <= 0.05 and ratio > 1; ++ p <= 0.01")
    body = result.to_dict()
    if found is not None:
        console.print(
            f"Chains (closer than {found.distance:g} m and {found.days:g} days): "
            f"{len(found.members)} chains, {found.links} links; largest sizes "
            + ", ".join(str(m.size) for m in found.members[:10])
        )
        body["chains"] = found.summary(events.times)
    if output is not None:
        _write_json(output, body)


def _read(  # noqa: ANN202
    file: Path | None,
    source: str | None,
    offence: str | None,
    *,
    period: tuple[str | None, str | None] = (None, None),
    drop_missing: bool = True,
    **columns,  # noqa: ANN003
):
    """Events from a file or from a warehouse source (exactly one of them).

    ``offence`` and ``period`` (start, end) filter a source; a file is read whole.
    """
    if file is not None and source is not None:
        raise InvalidInputError("give either a FILE of events or --source NAME, not both")
    if file is not None:
        if offence is not None or period != (None, None):
            raise InvalidInputError(
                "--offence, --start and --end filter a warehouse --source; filter the file instead"
            )
        from crimeprev.spatial.files import read_events

        return read_events(file, drop_missing=drop_missing, **columns)
    if source is None:
        raise InvalidInputError("give a FILE of events or --source NAME (a warehouse source)")
    from crimeprev.config import get_settings
    from crimeprev.spatial.warehouse import read_source_events
    from crimeprev.store.warehouse import open_warehouse

    settings = get_settings()
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        return read_source_events(
            warehouse, source, offence=offence, start=period[0], end=period[1]
        )
    finally:
        warehouse.close()


def _load_points(  # noqa: ANN202
    file: Path | None,
    x,  # noqa: ANN001
    y,  # noqa: ANN001
    lon,  # noqa: ANN001
    lat,  # noqa: ANN001
    epsg,  # noqa: ANN001
    need_date=False,  # noqa: ANN001
    date=None,  # noqa: ANN001
    source: str | None = None,
    offence: str | None = None,
    period: tuple[str | None, str | None] = (None, None),
):
    events = _read(
        file,
        source,
        offence,
        period=period,
        x=x,
        y=y,
        lon=lon,
        lat=lat,
        date=date,
        need_date=need_date,
    )
    xs, ys, code = _projected(events, epsg)
    return events, xs, ys, code


def _write_grid(grid, columns, geojson: Path | None, geoparquet: Path | None) -> None:  # noqa: ANN001
    from crimeprev.spatial.geo import grid_features, write_geojson, write_geoparquet

    if geojson is not None:
        write_geojson(geojson, grid_features(grid, columns))
        console.print(f"wrote {geojson}")
        if grid.epsg is None:
            console.print(
                "note: the GeoJSON is in the input's x/y units (no --epsg was given for them), "
                "not in longitude/latitude"
            )
    if geoparquet is not None:
        write_geoparquet(geoparquet, grid, columns)
        console.print(f"wrote {geoparquet}")


def hotspots(
    file: Path | None = _file_argument("incidents"),
    source: str | None = _source_option(),
    offence: str | None = _offence_option(),
    start: str | None = _start_option(),
    end: str | None = _end_option(),
    x: str | None = typer.Option(None, help="Column of x in metres."),
    y: str | None = typer.Option(None, help="Column of y in metres."),
    lon: str | None = typer.Option(None, help="Column of longitude."),
    lat: str | None = typer.Option(None, help="Column of latitude."),
    epsg: int | None = _epsg_option(),
    cell_size: float | None = typer.Option(None, help="Grid cell size in metres (default: auto)."),
    distance_band: float | None = typer.Option(
        None, help="Gi* distance band in metres (default: incremental autocorrelation)."
    ),
    areas: Path | None = typer.Option(
        None, help="GeoJSON of areas (lon/lat): risk-adjusted hot spots by area instead."
    ),
    population_field: str = typer.Option("POP2010", help="Area property with the population."),
    name_field: str | None = typer.Option(None, help="Area property with the name."),
    smoothing: str = typer.Option(
        "none",
        help="Rates by area: none, global-eb or local-eb (Empirical Bayes smoothing towards "
        "the study-area rate or the neighbours' rate, for areas with few residents).",
    ),
    hexagons: bool = typer.Option(
        False, "--hex", help="Hexagonal cells with their six neighbours (contiguity weights)."
    ),
    permutations: int = typer.Option(0, help="Conditional permutations (0 = analytical only)."),
    seed: int | None = typer.Option(None, help="Random seed."),
    geojson: Path | None = typer.Option(None, help="Write cells with z and class as GeoJSON."),
    geoparquet: Path | None = typer.Option(None, help="Write cells as GeoParquet."),
) -> None:
    """Getis-Ord Gi* hot spots: automatic grid and distance band, or rates by area."""
    import numpy as np

    from crimeprev.spatial.significance import CLASS_LABELS

    try:
        events, xs, ys, code = _load_points(
            file, x, y, lon, lat, epsg, source=source, offence=offence, period=(start, end)
        )
        if areas is not None:
            from crimeprev.spatial.geo import read_areas
            from crimeprev.spatial.grids import count_in_areas
            from crimeprev.spatial.hotspots import rate_hot_spots
            from crimeprev.spatial.weights import polygon_contiguity

            polygons = read_areas(areas)
            if code is not None:
                polygons = polygons.to_epsg(code)
            missing = [k for k, p in enumerate(polygons.properties) if population_field not in p]
            if missing:
                raise InvalidInputError(
                    f"area {missing[0] + 1} of {areas} has no property {population_field!r}; "
                    f"properties are {sorted(polygons.properties[missing[0]])}"
                )
            population = np.array([float(p[population_field]) for p in polygons.properties])
            counted = count_in_areas(xs, ys, polygons.geometries, denominator=population)
            by_rate = rate_hot_spots(
                counted.counts,
                population,
                polygon_contiguity(polygons.geometries),
                permutations=permutations,
                rng=seed,
                smoothing=smoothing,
            )
            smoothed = {"global-eb": " (global EB)", "local-eb": " (local EB)"}.get(smoothing, "")
            table = Table(title=f"Risk-adjusted hot spots by area ({events.rows:,} incidents)")
            for column in ("area", "incidents", f"per 100,000{smoothed}", "z", "class"):
                table.add_column(column, justify="left" if column in ("area", "class") else "right")
            order = np.argsort(-np.nan_to_num(by_rate.result.z, nan=-np.inf))
            for k in order:
                label = (
                    str(polygons.properties[k].get(name_field, k + 1)) if name_field else str(k + 1)
                )
                table.add_row(
                    label,
                    f"{counted.counts[k]:,}",
                    f"{by_rate.rates[k]:,.1f}",
                    f"{by_rate.result.z[k]:.2f}",
                    CLASS_LABELS[int(by_rate.result.classes[k])],
                )
            console.print(table)
            console.print(f"{counted.outside:,} incidents fell in no area.")
            if smoothed:
                console.print(f"Rates smoothed by {smoothed.strip(' ()')} before Gi*.")
            return
        if hexagons:
            from crimeprev.spatial.getis_ord import local_g
            from crimeprev.spatial.grids import hex_grid

            grid = hex_grid(xs, ys, cell_size=cell_size, epsg=code)
            result = local_g(
                grid.counts,
                grid.contiguity(),
                permutations=permutations,
                rng=seed,
                fdr=True,
                source=events.source,
            )
            choices = [
                f"hexagons {grid.cell_size:g} m across ({grid.size_rule}); {grid.cells:,} cells",
                "Gi* with the six neighbouring hexagons; classes corrected by the false "
                "discovery rate",
            ]
        else:
            from crimeprev.spatial.hotspots import optimized_hot_spots

            spots = optimized_hot_spots(
                xs,
                ys,
                cell_size=cell_size,
                distance_band=distance_band,
                permutations=permutations,
                rng=seed,
                epsg=code,
                source=events.source,
            )
            grid, result, choices = spots.grid, spots.result, spots.choices
    except CrimeprevError as error:
        _fail(error)
        return
    console.print(f"Gi* hot spots: {events.rows:,} incidents from {events.source}")
    for choice in choices:
        console.print(f"  - {choice}")
    table = Table(title="Cells by class")
    table.add_column("class")
    table.add_column("cells", justify="right")
    classes, counts = np.unique(result.classes, return_counts=True)
    for value, count in zip(classes[::-1], counts[::-1], strict=True):
        table.add_row(CLASS_LABELS[int(value)], f"{count:,}")
    console.print(table)
    columns = {"z": result.z, "class": result.classes, "p": result.p_values}
    if result.p_sim is not None:
        columns["p_sim"] = result.p_sim
    _write_grid(grid, columns, geojson, geoparquet)


def kde(
    file: Path | None = _file_argument("incidents"),
    source: str | None = _source_option(),
    offence: str | None = _offence_option(),
    start: str | None = _start_option(),
    end: str | None = _end_option(),
    x: str | None = typer.Option(None, help="Column of x in metres."),
    y: str | None = typer.Option(None, help="Column of y in metres."),
    lon: str | None = typer.Option(None, help="Column of longitude."),
    lat: str | None = typer.Option(None, help="Column of latitude."),
    epsg: int | None = _epsg_option(),
    bandwidth: float | None = typer.Option(None, help="Bandwidth in metres (default: rule)."),
    kernel: str = typer.Option("quartic", help="quartic or gaussian."),
    cell_size: float | None = typer.Option(None, help="Output grid cell size in metres."),
    compare: Path | None = typer.Option(
        None, help="Second file (same columns): dual KDE, density of FILE over this one."
    ),
    compare_source: str | None = typer.Option(
        None, help="Dual KDE over a warehouse source (default: --source, another period)."
    ),
    compare_offence: str | None = typer.Option(
        None, help="Offence of the second density (default: --offence)."
    ),
    compare_start: str | None = typer.Option(None, help="Period of the second density: from."),
    compare_end: str | None = typer.Option(None, help="Period of the second density: before."),
    geojson: Path | None = typer.Option(None, help="Write the surface as GeoJSON."),
    geoparquet: Path | None = typer.Option(None, help="Write the surface as GeoParquet."),
) -> None:
    """Kernel density on a grid in events per km², or a dual KDE ratio.

    The second density of a dual KDE comes from a file (``--compare``) or from
    the warehouse: ``--source chicago_assaults --start 2019-01-01 --end 2020-01-01
    --compare-start 2018-01-01 --compare-end 2019-01-01`` is this year over last.
    """
    import numpy as np

    from crimeprev.spatial.grids import square_grid
    from crimeprev.spatial.kde import dual_kernel_density, kernel_density

    try:
        if kernel not in ("quartic", "gaussian"):
            raise InvalidInputError(f"--kernel must be quartic or gaussian, got {kernel!r}")
        events, xs, ys, code = _load_points(
            file, x, y, lon, lat, epsg, source=source, offence=offence, period=(start, end)
        )
        grid = square_grid(xs, ys, cell_size=cell_size, epsg=code)
        columns: dict[str, np.ndarray] = {}
        from_warehouse = any(
            v is not None for v in (compare_source, compare_offence, compare_start, compare_end)
        )
        if compare is not None and from_warehouse:
            raise InvalidInputError(
                "give --compare FILE or the --compare-source/-offence/-start/-end options, not both"
            )
        other = None
        if compare is not None:
            other = _load_points(compare, x, y, lon, lat, code)
        elif from_warehouse:
            if (compare_source or source) is None:
                raise InvalidInputError(
                    "--compare-offence, --compare-start and --compare-end need --source "
                    "or --compare-source"
                )
            other = _load_points(
                None,
                x,
                y,
                lon,
                lat,
                code,
                source=compare_source or source,
                offence=offence if compare_offence is None else compare_offence,
                period=(compare_start, compare_end),
            )
        if other is not None:
            other_events, other_x, other_y, _ = other
            console.print(
                f"second density: {other_events.rows:,} events from {other_events.source}"
            )
            dual = dual_kernel_density(
                xs,
                ys,
                other_x,
                other_y,
                grid.x,
                grid.y,
                bandwidth=bandwidth,
                kernel=kernel,  # type: ignore[arg-type]
            )
            surface = dual.numerator
            columns = {
                "density": surface.density,
                "other": dual.denominator.density,
                "ratio": dual.ratio,
            }
        else:
            surface = kernel_density(
                xs,
                ys,
                grid.x,
                grid.y,
                bandwidth=bandwidth,
                kernel=kernel,  # type: ignore[arg-type]
            )
            columns = {"density": surface.density}
    except CrimeprevError as error:
        _fail(error)
        return
    console.print(
        f"Kernel density of {events.rows:,} events from {events.source}: {surface.kernel} kernel, "
        f"bandwidth {surface.bandwidth:.0f} m ({surface.bandwidth_rule}); grid of {grid.cells:,} "
        f"cells of {grid.cell_size:g} m ({grid.size_rule})"
    )
    density = surface.density
    console.print(
        f"events per km²: max {density.max():.2f}, mean {density.mean():.2f}, "
        f"95th percentile {np.percentile(density, 95):.2f}"
    )
    if "ratio" in columns:
        ratio = columns["ratio"]
        finite = ratio[np.isfinite(ratio)]
        console.print(
            f"dual KDE ratio: median {np.median(finite):.3f}, 95th percentile "
            f"{np.percentile(finite, 95):.3f} over {finite.size:,} cells with a second density"
        )
    _write_grid(grid, columns, geojson, geoparquet)


def forecast_accuracy_command(
    file: Path | None = _file_argument("incidents with dates"),
    source: str | None = _source_option(),
    offence: str | None = _offence_option(),
    start: str | None = _start_option(),
    end: str | None = _end_option(),
    split: str = typer.Option(..., help="First date of the test period, e.g. 2019-01-01."),
    x: str | None = typer.Option(None, help="Column of x in metres."),
    y: str | None = typer.Option(None, help="Column of y in metres."),
    lon: str | None = typer.Option(None, help="Column of longitude."),
    lat: str | None = typer.Option(None, help="Column of latitude."),
    date: str | None = typer.Option(None, help="Column of the date."),
    epsg: int | None = _epsg_option(),
    cell_size: float | None = typer.Option(None, help="Grid cell size in metres (default: auto)."),
    method: str = typer.Option("counts", help="Forecast: counts (before the split) or kde."),
    bandwidth: float | None = typer.Option(None, help="KDE bandwidth in metres (method kde)."),
    bbox: str | None = typer.Option(
        None,
        help="Study area as xmin,ymin,xmax,ymax: lon/lat for lon/lat input or a --source, "
        "else in the x/y units. Coverage is measured over it; events outside are left out.",
    ),
    areas: Path | None = typer.Option(
        None, help="Study area as a GeoJSON of polygons (lon/lat), e.g. the city's districts."
    ),
    output: Path | None = typer.Option(None, help="Write the curve and table as JSON."),
) -> None:
    """Hit rate, PAI, PEI and RRI of a hot-spot forecast made before ``--split``.

    Without --bbox or --areas the grid covers the events' extent; with them it
    covers the study area (cells without any event count towards the area),
    which is what PAI's area share should be measured against.
    """
    import numpy as np

    from crimeprev.spatial.forecast import forecast_accuracy
    from crimeprev.spatial.grids import square_grid
    from crimeprev.spatial.kde import kernel_density

    try:
        if method not in ("counts", "kde"):
            raise InvalidInputError(f"--method must be counts or kde, got {method!r}")
        events, xs, ys, code = _load_points(
            file,
            x,
            y,
            lon,
            lat,
            epsg,
            need_date=True,
            date=date,
            source=source,
            offence=offence,
            period=(start, end),
        )
        try:
            cut = np.datetime64(split, "s")
        except ValueError as error:
            raise InvalidInputError(
                f"--split must be a date such as 2019-01-01, got {split!r}"
            ) from error
        before = events.times < cut
        if before.sum() == 0 or (~before).sum() == 0:
            raise InvalidInputError(
                f"--split {split} leaves {int(before.sum())} events before and "
                f"{int((~before).sum())} after; both periods need events"
            )
        mask = _study_area(bbox, areas, events.geographic, code)
        left_out = 0
        if mask is not None:
            import shapely

            inside = np.asarray(shapely.contains_xy(mask, xs, ys))
            left_out = int((~inside).sum())
            if not inside.any():
                raise InvalidInputError("no event lies inside the study area (--bbox/--areas)")
            xs, ys, before = xs[inside], ys[inside], before[inside]
            if before.sum() == 0 or (~before).sum() == 0:
                raise InvalidInputError(
                    f"inside the study area, --split {split} leaves {int(before.sum())} events "
                    f"before and {int((~before).sum())} after; both periods need events"
                )
        extent = mask.bounds if mask is not None else (xs.min(), ys.min(), xs.max(), ys.max())
        grid = square_grid(xs, ys, cell_size=cell_size, epsg=code, mask=mask, bounds=extent)
        training = square_grid(
            xs[before], ys[before], cell_size=grid.cell_size, mask=mask, bounds=extent
        ).counts
        later = square_grid(
            xs[~before], ys[~before], cell_size=grid.cell_size, mask=mask, bounds=extent
        ).counts
        if method == "kde":
            scores = kernel_density(
                xs[before], ys[before], grid.x, grid.y, bandwidth=bandwidth
            ).density
        else:
            scores = training.astype(float)
        result = forecast_accuracy(scores, later, training=training)
    except CrimeprevError as error:
        _fail(error)
        return
    console.print(
        f"Forecast from {int(before.sum()):,} events before {split} ({method}), tested on "
        f"{int((~before).sum()):,} later events; {grid.cells:,} cells of {grid.cell_size:g} m "
        f"({grid.size_rule}); {result.ties:,} cells tie on their score"
    )
    if mask is not None:
        console.print(
            f"Study area {mask.area / 1e6:,.2f} km² ({'--bbox' if bbox else '--areas'}); "
            f"{left_out:,} events outside it left out"
        )
    table = Table(title="Forecast accuracy")
    for column in ("area", "cells", "hits", "hit rate", "PAI", "PEI", "RRI"):
        table.add_column(column, justify="right")
    for row in result.table:
        table.add_row(
            f"{row['coverage']:.1%}",
            f"{row['cells']:,}",
            f"{row['hits']:,.0f}",
            f"{row['hit_rate']:.1%}",
            f"{row['pai']:.2f}",
            "-" if row["pei"] is None else f"{row['pei']:.2f}",
            "-" if row["rri"] is None else f"{row['rri']:.2f}",
        )
    console.print(table)
    if output is not None:
        _write_json(
            output,
            {
                "table": result.table,
                "curve": {
                    "coverage": result.coverage.tolist(),
                    "hit_rate": result.hit_rate.tolist(),
                    "pai": result.pai.tolist(),
                },
                "cell_size": grid.cell_size,
                "cells": grid.cells,
                "method": method,
                "split": split,
                "source": events.source,
                "study_area_km2": None if mask is None else mask.area / 1e6,
                "events_outside_study_area": left_out,
            },
        )


def _study_area(bbox: str | None, areas: Path | None, geographic: bool, code: int | None):  # noqa: ANN202
    """The study area as a shapely polygon in the projected coordinates, or None."""
    if bbox is not None and areas is not None:
        raise InvalidInputError("give --bbox or --areas, not both")
    if areas is not None:
        from crimeprev.spatial.geo import read_areas

        if code is None:
            raise InvalidInputError(
                "--areas are in lon/lat: give lon/lat events, a --source, or the --epsg of x/y"
            )
        return read_areas(areas).to_epsg(code).union()
    if bbox is None:
        return None
    corners = _breaks(bbox, "bbox")
    if (
        corners is None
        or len(corners) != 4
        or not (corners[0] < corners[2] and corners[1] < corners[3])
    ):
        raise InvalidInputError(
            f"--bbox must be xmin,ymin,xmax,ymax with xmin < xmax and ymin < ymax, got {bbox!r}"
        )
    import shapely
    from shapely.geometry import box

    outline = box(*corners)
    if not geographic:
        return outline
    from pyproj import Transformer

    # Densify the edges first: a straight lon/lat edge is curved in metres.
    to_metres = Transformer.from_crs(4326, code, always_xy=True)
    ring = np.asarray(
        shapely.segmentize(outline, max(corners[2] - corners[0], 1e-9) / 100).exterior.coords
    )
    x, y = to_metres.transform(ring[:, 0], ring[:, 1])
    return shapely.Polygon(np.column_stack([x, y]))


def register(app: typer.Typer) -> None:
    """Add the spatial commands to the top-level ``crimeprev`` app."""
    app.command("near-repeat")(near_repeat)
    app.command("hotspots")(hotspots)
    app.command("kde")(kde)
    app.command("forecast-accuracy")(forecast_accuracy_command)
