"""Demo step: a FICTIONAL asset recovery registry, generated (no real people, cases or assets).

Creates three demo agencies, one demo user per role (password
:data:`DEMO_PASSWORD`, printed by ``crimeprev demo build``), cases with ICCS
offences and assets that have moved through the lifecycle, with valuations,
management costs, fund receipts and allocations. Every record goes through the
registry's services, so the audit chain is complete and valid. Names say
"Fictional"/"Demo"; identifiers are made up. Idempotent: a second run finds
the demo agency and leaves the registry as it is.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from crimeprev.assets import cases, ledger, registry, social_reuse
from crimeprev.assets.lifecycle import State
from crimeprev.assets.models import SocialReuseProject
from crimeprev.assets.money import Money
from crimeprev.config import Settings
from crimeprev.db import Database
from crimeprev.db import accounts as acc
from crimeprev.db.models import Agency

#: Password of every demo account (the demo is for trying the app, never for real data).
DEMO_PASSWORD = "crimeprev-demo"

#: Demo users: username -> (roles, agency code).
DEMO_USERS: dict[str, tuple[list[str], str | None]] = {
    "demo-admin": (["administrator"], None),
    "demo-investigator": (["investigator"], "DEMO-POLICE"),
    "demo-prosecutor": (["prosecutor"], "DEMO-AMO"),
    "demo-manager": (["asset_manager"], "DEMO-AMO"),
    "demo-auditor": (["auditor"], None),
    "demo-viewer": (["viewer"], "DEMO-AMO"),
}

#: category -> (description, identifier type, typical value in EUR, yearly depreciation)
_CATEGORIES: dict[str, tuple[str, str, int, float]] = {
    "vehicle": ("Fictional saloon car", "VIN", 18_000, 0.15),
    "real_estate": ("Fictional flat", "land title", 240_000, 0.0),
    "bank_account": ("Fictional bank balance", "IBAN", 55_000, 0.0),
    "cash": ("Fictional cash seized at border", "seal number", 30_000, 0.0),
    "valuables_and_art": ("Fictional watch collection", "inventory", 40_000, 0.05),
    "vessel_or_aircraft": ("Fictional motor yacht", "hull number", 350_000, 0.12),
    "virtual_assets": ("Fictional crypto wallet", "wallet address", 20_000, 0.30),
    "business": ("Fictional restaurant business", "company number", 150_000, 0.10),
}
_OFFENCES = ["07041", "0703", "0601", "0204", "07019"]


def build_asset_registry(settings: Settings, rng: np.random.Generator | int | None = 7) -> str:
    """Fill the database with the fictional demo registry; return a one-line summary."""
    generator = np.random.default_rng(rng)
    if settings.database_url.startswith("sqlite"):
        settings.ensure_data_dir()
    database = Database(settings.database_url)
    try:
        database.upgrade()
        with database.transaction() as session:
            if session.query(Agency).filter(Agency.code == "DEMO-AMO").first():
                return "asset registry demo: already present (fictional; sign in as demo-admin)"
            for code, name in (
                ("DEMO-AMO", "Demo Asset Management Office (fictional)"),
                ("DEMO-POLICE", "Demo Financial Police (fictional)"),
                ("DEMO-CUSTOMS", "Demo Customs (fictional)"),
            ):
                acc.create_agency(session, acc.SYSTEM, code=code, name=name, country="ITA")
            principals = {}
            for username, (roles, agency) in DEMO_USERS.items():
                user = acc.create_user(
                    session,
                    acc.SYSTEM,
                    username=username,
                    password=DEMO_PASSWORD,
                    roles=roles,
                    agency_code=agency,
                    full_name=f"Demo user ({', '.join(roles)})",
                )
                principals[username] = acc.principal_for(user, via="demo")
            admin = principals["demo-admin"]
            assets_made = 0
            for number in range(12):
                opened = date(2021, 1, 4) + timedelta(days=int(generator.integers(0, 1200)))
                case = cases.create_case(
                    session,
                    admin,
                    reference=f"DEMO-{opened.year}-{number + 1:03d}",
                    title=f"Fictional operation {number + 1}",
                    jurisdiction="ITA",
                    opened_on=opened,
                    agency_code="DEMO-AMO",
                    offences=list(generator.choice(_OFFENCES, size=2, replace=False)),
                    description="Generated demo case; no real people or events.",
                )
                if number % 3 == 0:
                    cases.share_case(session, admin, case.id, "DEMO-POLICE")
                for item in range(int(generator.integers(2, 5))):
                    assets_made += 1
                    _demo_asset(session, principals, case, item, opened, generator)
            today = date.today()
            available = ledger.cash_balance(session, "EUR").amount
            for purpose, share in (
                ("victims", "0.30"),
                ("social_reuse", "0.20"),
                ("recovery_office", "0.10"),
            ):
                amount = (available * Decimal(share)).quantize(Decimal("0.01"))
                if amount > 0:
                    ledger.allocate(
                        session,
                        admin,
                        amount=Money.of(amount, "EUR"),
                        purpose=purpose,
                        posted_on=min(today, date(2025, 6, 30)),
                        description=f"Demo allocation to {purpose.replace('_', ' ')}",
                        project="Fictional community centre" if purpose == "social_reuse" else "",
                    )
        return (
            f"asset registry demo: {assets_made} fictional assets in 12 fictional cases; "
            f"sign in as demo-admin (or demo-manager, demo-prosecutor...) with password "
            f"{DEMO_PASSWORD!r}"
        )
    finally:
        database.dispose()


#: Lifecycle paths the demo assets follow (each stops at a random point).
_PATHS: list[list[State]] = [
    [State.TRACED, State.SEIZED, State.UNDER_MANAGEMENT, State.CONFISCATED, State.DISPOSED],
    [State.FROZEN, State.CONFISCATED, State.DISPOSED],
    [State.SEIZED, State.INTERIM_SOLD, State.CONFISCATED, State.DISPOSED],
    [State.TRACED, State.FROZEN, State.RELEASED],
    [State.SEIZED, State.UNDER_MANAGEMENT, State.RELEASED],
]
_DISPOSALS = ["sold", "sold", "social_reuse", "returned_to_victims", "destroyed"]


def _demo_asset(
    session: Session,
    principals: dict[str, acc.Principal],
    case: Any,
    item: int,
    opened: date,
    generator: np.random.Generator,
) -> None:
    category = str(generator.choice(list(_CATEGORIES)))
    description, identifier_type, typical, _ = _CATEGORIES[category]
    day = opened + timedelta(days=int(generator.integers(1, 60)))
    today = date.today()
    asset = registry.create_asset(
        session,
        principals["demo-admin"],
        case.id,
        reference=f"{case.reference}-A{item + 1}",
        category=category,
        description=description,
        country="ITA",
        identified_on=day,
        identifier=f"DEMO-{int(generator.integers(10**7, 10**8))}",
        identifier_type=identifier_type,
        location="Fictional depot" if item % 2 else "",
    )
    value = Decimal(int(typical * float(generator.uniform(0.5, 1.8))))
    registry.add_valuation(
        session,
        principals["demo-manager"],
        asset.id,
        valued_on=day,
        amount=Money.of(value, "EUR"),
        method="expert",
        valuer="Demo valuer (fictional)",
    )
    path = _PATHS[int(generator.integers(0, len(_PATHS)))]
    stop = int(generator.integers(0, len(path) + 1))
    for state in path[:stop]:
        next_day = day + timedelta(days=int(generator.integers(10, 200)))
        if next_day > today:
            break
        day = next_day
        who = (
            "demo-manager"
            if state in {State.UNDER_MANAGEMENT, State.INTERIM_SOLD, State.DISPOSED}
            else "demo-prosecutor"
        )
        extra: dict[str, Any] = {}
        if state is State.INTERIM_SOLD:
            extra = {
                "owner_consent": bool(generator.integers(0, 2)),
                "realised": Money.of((value * Decimal("0.85")).quantize(Decimal(1)), "EUR"),
            }
        if state is State.CONFISCATED:
            extra = {"confiscation_type": "object_based", "confiscation_basis": "conviction"}
        if state is State.DISPOSED:
            disposal = str(generator.choice(_DISPOSALS))
            extra = {"disposal": disposal}
            if disposal == "sold" and asset.realised_minor is None:
                extra["realised"] = Money.of((value * Decimal("0.8")).quantize(Decimal(1)), "EUR")
        if state is State.UNDER_MANAGEMENT:
            registry.add_cost(
                session,
                principals["demo-manager"],
                asset.id,
                incurred_on=day,
                amount=Money.of(int(generator.integers(200, 3000)), "EUR"),
                kind="storage",
                description="Demo storage invoice (fictional)",
            )
        registry.transition_asset(
            session,
            principals[who],
            asset.id,
            registry.TransitionRequest(
                to_state=state,
                occurred_on=day,
                court_order=f"DEMO-ORDER-{int(generator.integers(100, 999))}",
                legal_basis="Fictional Code of Criminal Procedure, art. 321",
                **extra,
            ),
        )
        if extra.get("disposal") == "social_reuse":
            _demo_reuse_project(session, principals["demo-manager"], asset.id, day, today)


def _demo_reuse_project(
    session: Session, manager: acc.Principal, asset_id: int, day: date, today: date
) -> None:
    """Give a socially reused demo asset its project and, when time allows, a monitoring report.

    The first project takes the name the demo fund allocation uses, so its funding shows.
    """
    first = session.query(SocialReuseProject.id).first() is None
    project = social_reuse.create_project(
        session,
        manager,
        asset_id,
        name="Fictional community centre" if first else f"Fictional reuse project {asset_id}",
        beneficiary="Demo social cooperative (fictional)",
        purpose="Community use of a confiscated asset (generated demo record)",
        started_on=day,
    )
    visit = day + timedelta(days=180)
    if visit <= today:
        social_reuse.add_report(
            session,
            manager,
            project.id,
            reported_on=visit,
            status="on_track",
            finding="Demo monitoring visit: asset in use as agreed (fictional)",
        )
