"""A real server and a browser: sign in, open an asset, seize it through the form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from crimeprev.assets import cases, registry
from crimeprev.db import Database
from crimeprev.db import accounts as acc

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def registry_server(
    tmp_path_factory: pytest.TempPathFactory, run_server
) -> Iterator[tuple[str, int]]:
    """`crimeprev serve` on a registry holding one prosecutor and one identified asset."""
    data_dir = tmp_path_factory.mktemp("assets-live")
    database = Database(f"sqlite:///{(data_dir / 'crimeprev.sqlite').as_posix()}")
    database.upgrade()
    with database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO", name="Demo office", country="ITA")
        user = acc.create_user(
            session,
            acc.SYSTEM,
            username="pia",
            password=PASSWORD,
            roles=["prosecutor"],
            agency_code="AMO",
        )
        pia = acc.principal_for(user, via="test")
        case = cases.create_case(
            session,
            pia,
            reference="AR-B1",
            title="Fictional case",
            jurisdiction="ITA",
            opened_on=date(2025, 1, 1),
        )
        asset = registry.create_asset(
            session,
            pia,
            case.id,
            reference="A-B1",
            category="vehicle",
            description="Fictional van",
            country="ITA",
            identified_on=date(2025, 1, 2),
        )
        asset_id = asset.id
    database.dispose()
    with run_server(data_dir, timeout=120) as url:
        yield url, asset_id


@pytest.mark.browser
def test_sign_in_and_seize_an_asset_in_the_browser(registry_server, browser, tmp_path):
    url, asset_id = registry_server
    page = browser.new_page()
    try:
        page.goto(f"{url}/assets/items/{asset_id}")
        page.wait_for_url("**/login?next=*")
        page.fill("input[name=username]", "pia")
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/assets/items/{asset_id}")
        assert page.locator("#asset-state").inner_text() == "identified"
        form = page.locator("#transition-form")
        form.locator("select[name=to_state]").select_option("seized")
        form.locator("input[name=occurred_on]").fill("2025-01-05")
        form.locator("input[name=court_order]").fill("GIP 77/2025")
        form.get_by_role("button", name="Record step").click()
        page.wait_for_load_state()
        assert page.locator("#asset-state").inner_text() == "seized"
        assert "GIP 77/2025" in page.locator(".assets-timeline").inner_text()
        page.screenshot(path=str(tmp_path / "asset.png"), full_page=True)
        assert (tmp_path / "asset.png").stat().st_size > 1000
        page.goto(f"{url}/assets/reports")  # the seizure now shows in the report's chart
        page.wait_for_selector("#assets-chart-1 canvas, #assets-chart-1 svg", timeout=30_000)
        assert "seized" in page.locator("table").first.inner_text()
    finally:
        page.close()
