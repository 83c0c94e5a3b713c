"""The "Where and when" pages: hot-spot map and near-repeat (Knox) table."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from crimeprev.config import Settings
from crimeprev.spatial.bundled import NEAR_REPEAT_DATASETS
from crimeprev.spatial.sources import MAP_SOURCES
from crimeprev.web.api import spatial as api
from crimeprev.web.deps import get_app_settings
from crimeprev.web.templating import render

router = APIRouter(prefix="/spatial", include_in_schema=False)


@router.get("/near-repeat", response_class=HTMLResponse)
def near_repeat(request: Request, body: dict = Depends(api.near_repeat)) -> HTMLResponse:  # noqa: B008
    """Knox heat table with significance marks, and the near-repeat chains."""
    query = urlencode(dict(request.query_params))
    context = {
        "result": body,
        "datasets": NEAR_REPEAT_DATASETS.values(),
        "sources": [item for item in MAP_SOURCES.values() if item.bundled is None],
        "params": {
            "dataset": request.query_params.get("dataset", "chicago_burglary_jan2016"),
            "source": request.query_params.get("source", ""),
            "offence": request.query_params.get("offence", ""),
            "start": request.query_params.get("start", ""),
            "end": request.query_params.get("end", ""),
            **{
                key: request.query_params.get(key, default)
                for key, default in (
                    ("spatial_bandwidth", "100"),
                    ("spatial_bands", "3"),
                    ("temporal_bandwidth", "7"),
                    ("temporal_bands", "3"),
                    ("metric", "manhattan"),
                    ("permutations", "99"),
                    ("seed", "1"),
                )
            },
        },
        "json_url": "/api/spatial/near-repeat" + (f"?{query}" if query else ""),
    }
    return render(request, "spatial/near_repeat.html", context)


def _knox_url(query: dict[str, str]) -> str:
    """The near-repeat table of the map's source (burglary by default where it has one)."""
    source = query.get("source")
    if source is None or source not in MAP_SOURCES:
        return "/spatial/near-repeat"
    item = MAP_SOURCES[source]
    if item.bundled is not None:
        return "/spatial/near-repeat?" + urlencode({"dataset": source})
    offence = query.get("offence") or item.knox_offence
    return "/spatial/near-repeat?" + urlencode({**query, "offence": offence} if offence else query)


@router.get("", response_class=HTMLResponse)
def hot_spot_map(
    request: Request,
    year: int = 2019,
    source: str | None = None,
    offence: str | None = None,
    start: str | None = None,
    end: str | None = None,
    settings: Settings = Depends(get_app_settings),  # noqa: B008
) -> HTMLResponse:
    """Map of a source (the bundled Chicago assaults of a year by default): area base
    layer, points, grid counts, Gi* classes, KDE, hexagons and dual KDEs."""
    layers, query = api.map_layers(settings, year, source, offence, start, end)
    summary = api.map_summary(layers, query)
    return render(
        request,
        "spatial/map.html",
        {
            "summary": summary,
            "years": list(api.CHICAGO_YEARS),
            "sources": MAP_SOURCES.values(),
            "query": urlencode(query),
            "knox_url": _knox_url(query),
        },
    )


@router.get("/forecast-accuracy", response_class=HTMLResponse)
def forecast_accuracy(
    request: Request,
    year: int = 2019,
    method: str = "counts",
    source: str | None = None,
    offence: str | None = None,
    start: str | None = None,
    split: str | None = None,
    end: str | None = None,
    settings: Settings = Depends(get_app_settings),  # noqa: B008
) -> HTMLResponse:
    """Hit rate, PAI, PEI and RRI of last year's hot spots (or a source's earlier
    period's), with the accuracy curve."""
    result = api.forecast(settings, year, method, source, offence, start, split, end)
    query = urlencode({k: v for k, v in request.query_params.items() if v})
    return render(
        request,
        "spatial/forecast.html",
        {
            "result": result,
            "years": list(range(2011, 2020)),
            "sources": MAP_SOURCES.values(),
            "json_url": "/api/spatial/forecast-accuracy" + (f"?{query}" if query else ""),
        },
    )
