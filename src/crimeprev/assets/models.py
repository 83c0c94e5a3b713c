"""Tables of the asset recovery registry.

A :class:`Case` (led by one agency, optionally shared with others) holds
:class:`Asset` records. Each asset moves through the lifecycle in
:mod:`crimeprev.assets.lifecycle`; every move is an :class:`AssetEvent` with
its date, legal basis or court order and actor. Money is stored as integer
minor units plus an ISO 4217 code (see :mod:`crimeprev.assets.money`).
Cases and assets carry a ``version`` column for optimistic locking: an update
based on a stale version is refused (HTTP 409) instead of overwriting.

The schema is created by the migrations ``assets_0001`` to ``assets_0003`` (branch ``assets``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crimeprev.db.base import Base, UTCDateTime, utcnow
from crimeprev.db.models import Agency


class Case(Base):
    """A criminal or non-conviction-based case in which assets are pursued."""

    __tablename__ = "asset_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(3), doc="ISO 3166-1 alpha-3")
    description: Mapped[str] = mapped_column(Text, default="")
    opened_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    agency: Mapped[Agency] = relationship(lazy="joined")
    offences: Mapped[list[CaseOffence]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseOffence.iccs_code"
    )
    shares: Mapped[list[CaseShare]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    orders: Mapped[list[CourtOrder]] = relationship(
        cascade="all, delete-orphan", order_by="CourtOrder.issued_on"
    )
    assets: Mapped[list[Asset]] = relationship(back_populates="case", order_by="Asset.id")

    __mapper_args__ = {"version_id_col": version}


class CaseOffence(Base):
    """An offence of the case, as an ICCS code."""

    __tablename__ = "asset_case_offence"

    case_id: Mapped[int] = mapped_column(ForeignKey("asset_case.id"), primary_key=True)
    iccs_code: Mapped[str] = mapped_column(String(8), primary_key=True)


class CaseShare(Base):
    """Another agency allowed to see (and work on) the case."""

    __tablename__ = "asset_case_share"

    case_id: Mapped[int] = mapped_column(ForeignKey("asset_case.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)


class CourtOrder(Base):
    """A freezing, seizure, interim-sale, confiscation or release order in a case."""

    __tablename__ = "asset_court_order"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("asset_case.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    authority: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    foreign_request: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("case_id", "reference"),)


class Asset(Base):
    """One asset, its description, custody and where it is in the lifecycle."""

    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("asset_case.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    identifier: Mapped[str] = mapped_column(String(200), default="")
    identifier_type: Mapped[str] = mapped_column(String(64), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(3))
    custodian: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(32), index=True)
    state_since: Mapped[date] = mapped_column(Date)
    confiscation_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    confiscation_basis: Mapped[str | None] = mapped_column(String(32), nullable=True)
    disposal: Mapped[str | None] = mapped_column(String(40), nullable=True)
    realised_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    realised_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    case: Mapped[Case] = relationship(back_populates="assets", lazy="joined")
    events: Mapped[list[AssetEvent]] = relationship(
        order_by="AssetEvent.id", cascade="all, delete-orphan"
    )
    parties: Mapped[list[AssetParty]] = relationship(
        order_by="AssetParty.id", cascade="all, delete-orphan"
    )
    valuations: Mapped[list[Valuation]] = relationship(
        order_by="(Valuation.valued_on, Valuation.id)", cascade="all, delete-orphan"
    )
    costs: Mapped[list[ManagementCost]] = relationship(
        order_by="(ManagementCost.incurred_on, ManagementCost.id)", cascade="all, delete-orphan"
    )
    reuse_projects: Mapped[list[SocialReuseProject]] = relationship(
        order_by="SocialReuseProject.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class AssetParty(Base):
    """A person or company linked to an asset: owner, suspect or third party with a claim."""

    __tablename__ = "asset_party"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    claim: Mapped[str] = mapped_column(Text, default="")
    claim_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    claim_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    claim_status: Mapped[str] = mapped_column(String(16), default="none")


class AssetEvent(Base):
    """One lifecycle transition: from, to, when, on what legal basis, by whom."""

    __tablename__ = "asset_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    court_order: Mapped[str] = mapped_column(String(100), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    details_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Valuation(Base):
    """A valuation of an asset on a date."""

    __tablename__ = "asset_valuation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    valued_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    valuer: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class ManagementCost(Base):
    """A cost of keeping an asset: storage, maintenance, insurance, fees."""

    __tablename__ = "asset_cost"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    incurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")


class ExchangeRate(Base):
    """Units of `base` per unit of `currency` on a date (stored as exact decimal text)."""

    __tablename__ = "exchange_rate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    base: Mapped[str] = mapped_column(String(3))
    on_date: Mapped[date] = mapped_column(Date)
    rate: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        UniqueConstraint("currency", "base", "on_date"),
        Index("ix_exchange_rate_lookup", "currency", "base", "on_date"),
    )


class LedgerEntry(Base):
    """One double-entry journal entry of the fund; its postings sum to zero per currency."""

    __tablename__ = "fund_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posted_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(300))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), nullable=True)
    project: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    postings: Mapped[list[LedgerPosting]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="LedgerPosting.id"
    )


class LedgerPosting(Base):
    """A debit (positive) or credit (negative) to one account, in minor units."""

    __tablename__ = "fund_posting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("fund_entry.id"), index=True)
    account: Mapped[str] = mapped_column(String(40), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class CooperationRequest(Base):
    """An incoming or outgoing international request (MLA) about a case's assets."""

    __tablename__ = "asset_cooperation_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("asset_case.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    counterpart_state: Mapped[str] = mapped_column(String(3), doc="ISO 3166-1 alpha-3")
    reference: Mapped[str] = mapped_column(String(100))
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    sent_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24))
    answered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("case_id", "reference"),)
    __mapper_args__ = {"version_id_col": version}


class SharingAgreement(Base):
    """An asset-sharing agreement with another State for a case (UNTOC 14(3)(b))."""

    __tablename__ = "asset_sharing_agreement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("asset_case.id"), index=True)
    counterpart_state: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(100))
    share_percent: Mapped[str] = mapped_column(String(16), doc="exact decimal text, 0-100")
    signed_on: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(String(300), default="")


class SocialReuseProject(Base):
    """A confiscated asset given to a social or institutional reuse project.

    The project is what the reuse is for and who benefits; its monitoring
    reports (:class:`SocialReuseReport`) record, visit by visit, whether the
    asset still serves that purpose. Fund allocations to the project carry its
    name (``LedgerEntry.project``).
    """

    __tablename__ = "asset_reuse_project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    beneficiary: Mapped[str] = mapped_column(String(200), doc="organisation using the asset")
    purpose: Mapped[str] = mapped_column(Text)
    started_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reports: Mapped[list[SocialReuseReport]] = relationship(
        order_by="(SocialReuseReport.reported_on, SocialReuseReport.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class SocialReuseReport(Base):
    """One monitoring report on a reuse project: when, the conclusion, what was found."""

    __tablename__ = "asset_reuse_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("asset_reuse_project.id"), index=True)
    reported_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    finding: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
