"""The demo step builds a fictional, labelled registry once, with a valid audit chain."""

from __future__ import annotations

from sqlalchemy import func, select

from crimeprev.assets import ledger
from crimeprev.assets.models import Asset, Case, SocialReuseProject
from crimeprev.db import verify_audit_chain
from crimeprev.db.accounts import authenticate
from crimeprev.demo.assets import DEMO_PASSWORD, build_asset_registry


def test_demo_registry_is_fictional_valid_and_idempotent(registry_settings, database):
    first = build_asset_registry(registry_settings)
    assert "fictional" in first and DEMO_PASSWORD in first
    second = build_asset_registry(registry_settings)
    assert "already present" in second
    with database.transaction() as session:
        titles = session.execute(select(Case.title)).scalars().all()
        assert len(titles) == 12 and all(t.startswith("Fictional") for t in titles)
        descriptions = session.execute(select(Asset.description)).scalars().all()
        assert all(d.startswith("Fictional") for d in descriptions)
        states = set(session.execute(select(Asset.state)).scalars())
        assert len(states) >= 4
        assert session.execute(select(func.count(Asset.id))).scalar_one() == len(descriptions)
        assert verify_audit_chain(session).valid
        assert ledger.reconcile(session).balanced
        assert authenticate(session, "demo-manager", DEMO_PASSWORD).username == "demo-manager"
        reused = set(
            session.execute(select(Asset.id).where(Asset.disposal == "social_reuse")).scalars()
        )
        with_project = set(session.execute(select(SocialReuseProject.asset_id)).scalars())
        assert reused == with_project  # every socially reused demo asset has its project
