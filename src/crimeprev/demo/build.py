"""Build the demo workspace from the data that ships with the package.

Each domain adds a step to :data:`STEPS`: a function that takes the settings,
loads its bundled demo data into the warehouse or the database, and returns
a line describing what it did. Steps are idempotent: running the build twice
leaves the same workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from crimeprev.config import Settings
from crimeprev.demo import assets as assets_demo
from crimeprev.demo import spatial as spatial_demo
from crimeprev.demo import stats as stats_demo
from crimeprev.demo import survey as survey_demo
from crimeprev.demo import tracker as tracker_demo
from crimeprev.standards import iccs

DemoStep = Callable[[Settings], str]


def _prepare(settings: Settings) -> str:
    folder = settings.ensure_data_dir()
    settings.resolved_secret_key()
    return f"data directory ready: {folder.resolve()}"


def _standards(settings: Settings) -> str:  # noqa: ARG001 - every step takes the settings
    return (
        f"standards loaded: ICCS 1.0 with {len(iccs.codes())} codes, "
        f"{len(iccs.index_terms())} index terms and {len(iccs.tags())} tags"
    )


#: The steps, in order.
STEPS: list[DemoStep] = [
    _prepare,
    _standards,
    survey_demo.build,
    stats_demo.load_crime_statistics,
    spatial_demo.build,
    tracker_demo.build,
    assets_demo.build_asset_registry,
]


def build_demo(settings: Settings) -> Iterator[str]:
    """Run every demo step, yielding a line per step."""
    for step in STEPS:
        yield step(settings)
