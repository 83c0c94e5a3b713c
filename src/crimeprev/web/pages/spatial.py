"""The "Where and when" pages: hot-spot map and near-repeat (Knox) table."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from crimeprev.spatial.bundled import NEAR_REPEAT_DATASETS
from crimeprev.web.api import spatial as api
from crimeprev.web.templating import render

router = APIRouter(prefix="/spatial", include_in_schema=False)


@router.get("/near-repeat", response_class=HTMLResponse)
def near_repeat(request: Request, body: dict = Depends(api.near_repeat)) -> HTMLResponse:  # noqa: B008
    """Knox heat table with significance marks, and the near-repeat chains."""
    query = urlencode(dict(request.query_params))
    context = {
        "result": body,
        "datasets": NEAR_REPEAT_DATASETS.values(),
        "params": {
            "dataset": body["dataset"]["key"],
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


@router.get("", response_class=HTMLResponse)
def hot_spot_map(request: Request, year: int = 2019) -> HTMLResponse:
    """Map of Chicago assaults: area base layer, points, grid counts, Gi* classes, KDE."""
    summary = api.overview(year)
    return render(
        request,
        "spatial/map.html",
        {"summary": summary, "years": list(api.CHICAGO_YEARS)},
    )


@router.get("/forecast-accuracy", response_class=HTMLResponse)
def forecast_accuracy(request: Request, year: int = 2019, method: str = "counts") -> HTMLResponse:
    """Hit rate, PAI, PEI and RRI of last year's hot spots, with the accuracy curve."""
    result = api.chicago_forecast(year, method)
    return render(
        request, "spatial/forecast.html", {"result": result, "years": list(range(2011, 2020))}
    )
