"""Load benchmark: concurrent clients against the running asset registry server on PostgreSQL.

Starts the real server (``python -m crimeprev serve`` on a free loopback port)
on a fresh PostgreSQL schema, seeds one case with a few shared assets and a
funded ledger, then lets ``--clients`` concurrent HTTP clients (httpx, asyncio)
share ``--operations`` mixed operations, stopping early at ``--time-limit``:

* reads: one asset in full, the asset list, the fund ledger;
* creates: a new asset in the case;
* updates with optimistic locking: load an asset, PATCH its location with the
  version seen (a stale version must answer 409);
* lifecycle transitions: load an asset and take its next step (seized, under
  management, interim sale with proceeds booked in the fund, confiscated,
  disposed), with the version seen;
* ledger postings: a receipt or an allocation.

Many clients work on the same few assets on purpose, so stale versions and
lifecycle races happen. After the run the script checks, against the database
and the server, that:

* no request got a 5xx or failed to connect;
* no update was lost: each asset's audit history is one unbroken chain of
  versions (every write starts from the version the previous one produced),
  every successful update is in it with the version the server answered, and
  the asset now holds the last write's values;
* the fund ledger balances: every entry sums to zero, the server's
  reconciliation agrees, and the fund's cash equals what the clients' successful
  postings and interim sales add up to;
* ``crimeprev assets audit-verify`` accepts the audit chain.

It reports throughput (operations per second of wall time), latency p50/p95
per kind of operation, the status counts and the server's peak memory. Several
``--clients`` values run one after the other (each on a fresh schema and
server), so the levels of concurrency are side by side in one table.

Usage::

    python bench/bench_assets_load.py --clients 1 10 50 --operations 2000

PostgreSQL: ``CRIMEPREV_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the schema is dropped
at the end. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from crimeprev.assets import cases, ledger, registry
from crimeprev.assets.models import Asset, LedgerEntry, LedgerPosting
from crimeprev.assets.money import Money
from crimeprev.db import Database
from crimeprev.db import accounts as acc
from crimeprev.db.models import AuditRecord
from crimeprev.db.testing import fast_password_hashing, temporary_schema, url_with_schema

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Operation kinds and their share of the mix.
MIX: dict[str, int] = {
    "read_asset": 20,
    "read_list": 8,
    "read_fund": 7,
    "create": 10,
    "update": 25,
    "transition": 18,
    "receipt": 6,
    "allocation": 6,
}
#: The lifecycle path the clients push assets along, with each step's facts.
NEXT_STEP: dict[str, dict[str, Any]] = {
    "identified": {"to_state": "seized", "court_order": "LOAD-ORDER-1"},
    "seized": {"to_state": "under_management"},
    "under_management": {
        "to_state": "interim_sold",
        "court_order": "LOAD-ORDER-2",
        "owner_consent": True,
        "realised": {"amount": "1000.00", "currency": "EUR"},
    },
    "interim_sold": {
        "to_state": "confiscated",
        "court_order": "LOAD-ORDER-3",
        "confiscation_type": "object_based",
    },
    "confiscated": {"to_state": "disposed", "disposal": "sold"},
}
SALE_MINOR = 100_000  # what an interim sale above books (EUR 1000.00)
RECEIPT_MINOR = 10_000  # EUR 100.00
ALLOCATION_MINOR = 5_000  # EUR 50.00
SEED_MINOR = 1_000_000_00  # EUR 1,000,000.00 in the fund before the run


@dataclass
class Run:
    """What the clients did and saw during one run."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    updates: list[tuple[int, int, str]] = field(default_factory=list)  # (asset, version, marker)
    sales: int = 0
    receipts: int = 0
    allocations: int = 0
    done: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str, clients: int, shared_assets: int) -> tuple[list[str], list[int], int]:
    """Migrate and seed the registry; return one API token per client, the asset ids, the case."""
    database = Database(url)
    database.upgrade()
    with fast_password_hashing(), database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO", name="Asset office", country="ITA")
        acc.create_user(
            session,
            acc.SYSTEM,
            username="loadadmin",
            password="load test passphrase",
            roles=["administrator"],
        )
        admin = acc.principal_for(acc.get_user(session, "loadadmin"), via="bench")
        case = cases.create_case(
            session,
            admin,
            reference="LOAD-1",
            title="Fictional load-test case",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 1),
            agency_code="AMO",
        )
        ids = [
            registry.create_asset(
                session,
                admin,
                case.id,
                reference=f"LOAD-A{number}",
                category="vehicle",
                description="Fictional vehicle",
                country="ITA",
                identified_on=date(2024, 1, 2),
            ).id
            for number in range(shared_assets)
        ]
        ledger.record_receipt(
            session,
            admin,
            amount=Money.from_minor(SEED_MINOR, "EUR"),
            source="confiscated_cash",
            posted_on=date(2024, 1, 3),
            description="Fictional seed receipt",
        )
        tokens = [
            acc.create_api_token(session, acc.SYSTEM, "loadadmin", name=f"client {n}").secret
            for n in range(clients)
        ]
        case_id = case.id
    database.dispose()
    return tokens, ids, case_id


@contextmanager
def server(url: str, folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The real server on a free loopback port, on the registry at `url`."""
    port = free_port()
    env = {
        **os.environ,
        "CRIMEPREV_DATA_DIR": str(folder),
        "CRIMEPREV_DATABASE_URL": url,
        "CRIMEPREV_SECRET_KEY": "load-benchmark-secret",
    }
    log = (folder / "server.log").open("wb")
    command = [sys.executable, "-m", "crimeprev", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited: {(folder / 'server.log').read_text()}")
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not answer /api/health within 120 s")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MiB, or NaN where /proc is absent."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Client:
    """One simulated user: its own connection, token and random stream."""

    def __init__(self, number: int, http: httpx.AsyncClient, run: Run, shared: list[int]):
        self.number = number
        self.http = http
        self.run = run
        self.shared = shared
        self.random = random.Random(number)
        self.count = 0

    async def call(self, kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.run.failures.append(f"{kind} {method} {path}: {error.__class__.__name__} {error}")
            self.run.statuses[(kind, 0)] += 1
            return None
        self.run.latencies[kind].append(time.perf_counter() - started)
        self.run.statuses[(kind, response.status_code)] += 1
        if response.status_code >= 500:
            self.run.failures.append(
                f"{kind} {method} {path}: {response.status_code} {response.text}"
            )
        return response

    async def load(self, asset_id: int) -> dict[str, Any] | None:
        response = await self.call("read_asset", "GET", f"/api/assets/items/{asset_id}")
        if response is None or response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def operate(self, kind: str, case_id: int) -> None:
        self.count += 1
        asset_id = self.random.choice(self.shared)
        if kind == "read_asset":
            await self.load(asset_id)
        elif kind == "read_list":
            await self.call(kind, "GET", "/api/assets/items", params={"limit": 50})
        elif kind == "read_fund":
            await self.call(kind, "GET", "/api/assets/fund")
        elif kind == "create":
            await self.create(case_id)
        elif kind == "update":
            await self.update(asset_id)
        elif kind == "transition":
            await self.transition(asset_id)
        elif kind == "receipt":
            await self.post_receipt()
        else:
            await self.allocate()

    async def create(self, case_id: int) -> None:
        body = {
            "case_id": case_id,
            "reference": f"LOAD-C{self.number}-{self.count}",
            "category": "valuables_and_art" if self.count % 2 else "vehicle",
            "description": "Fictional asset registered under load",
            "country": "ITA",
            "identified_on": "2024-02-01",
        }
        response = await self.call("create", "POST", "/api/assets/items", json=body)
        if response is not None and response.status_code == 201:
            self.shared.append(int(response.json()["id"]))

    async def update(self, asset_id: int) -> None:
        seen = await self.load(asset_id)
        if seen is None:
            return
        marker = f"vault {self.number}-{self.count}"
        body = {"expected_version": seen["version"], "location": marker}
        response = await self.call("update", "PATCH", f"/api/assets/items/{asset_id}", json=body)
        if response is not None and response.status_code == 200:
            self.run.updates.append((asset_id, int(response.json()["version"]), marker))

    async def transition(self, asset_id: int) -> None:
        seen = await self.load(asset_id)
        if seen is None or seen["state"] not in NEXT_STEP:
            return
        step = NEXT_STEP[seen["state"]]
        body = {
            **step,
            "occurred_on": date.today().isoformat(),
            "expected_version": seen["version"],
        }
        path = f"/api/assets/items/{asset_id}/transitions"
        response = await self.call("transition", "POST", path, json=body)
        if response is not None and response.status_code == 200 and "realised" in step:
            self.run.sales += 1

    async def post_receipt(self) -> None:
        body = {
            "amount": Money.from_minor(RECEIPT_MINOR, "EUR").to_json(),
            "source": "sale",
            "posted_on": date.today().isoformat(),
            "description": f"Fictional receipt {self.number}-{self.count}",
        }
        response = await self.call("receipt", "POST", "/api/assets/fund/receipts", json=body)
        if response is not None and response.status_code == 201:
            self.run.receipts += 1

    async def allocate(self) -> None:
        body = {
            "amount": Money.from_minor(ALLOCATION_MINOR, "EUR").to_json(),
            "purpose": "victims",
            "posted_on": date.today().isoformat(),
            "description": f"Fictional compensation {self.number}-{self.count}",
        }
        response = await self.call("allocation", "POST", "/api/assets/fund/allocations", json=body)
        if response is not None and response.status_code == 201:
            self.run.allocations += 1


async def drive(
    base: str, tokens: list[str], shared: list[int], case_id: int, operations: int, limit: float
) -> tuple[Run, float]:
    """Run the clients until `operations` are done or `limit` seconds pass; return the wall time."""
    run = Run()
    kinds = list(MIX)
    plan = random.Random(7).choices(kinds, weights=[MIX[k] for k in kinds], k=operations)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in plan:
        queue.put_nowait(kind)
    deadline = time.monotonic() + limit

    async def worker(number: int, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
            client = Client(number, http, run, shared)
            while time.monotonic() < deadline:
                try:
                    kind = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await client.operate(kind, case_id)
                run.done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n, token) for n, token in enumerate(tokens)))
    return run, time.perf_counter() - started


def check_updates(url: str, run: Run) -> list[str]:
    """No lost update: per asset, one unbroken version chain holding every successful write."""
    problems: list[str] = []
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(AuditRecord.entity_id, AuditRecord.before_json, AuditRecord.after_json)
                .where(AuditRecord.entity == "asset")
                .order_by(AuditRecord.sequence)
            ).all()
            current = {
                asset_id: (version, location)
                for asset_id, version, location in connection.execute(
                    select(Asset.id, Asset.version, Asset.location)
                ).all()
            }
    finally:
        engine.dispose()
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entity_id, before, after in rows:
        history[int(entity_id)].append(
            {"before": json.loads(before) if before else None, "after": json.loads(after)}
        )
    written: dict[tuple[int, int], str] = {}
    for asset_id, records in history.items():
        for previous, record in zip(records, records[1:], strict=False):
            if (
                record["before"] is None
                or record["before"]["version"] != previous["after"]["version"]
            ):
                problems.append(f"asset {asset_id}: a write did not start from the last version")
        for record in records:
            written[(asset_id, record["after"]["version"])] = record["after"]["location"]
        last = records[-1]["after"]
        if current.get(asset_id) != (last["version"], last["location"]):
            problems.append(f"asset {asset_id}: holds {current.get(asset_id)}, last write {last}")
    for asset_id, version, marker in run.updates:
        if written.get((asset_id, version)) != marker:
            problems.append(f"asset {asset_id}: update to version {version} ({marker}) is lost")
    return problems


def check_ledger(url: str, base: str, token: str, run: Run) -> list[str]:
    """The fund balances: entries sum to zero, the server reconciles, cash matches the clients."""
    problems: list[str] = []
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            unbalanced = connection.execute(
                select(LedgerPosting.entry_id)
                .group_by(LedgerPosting.entry_id, LedgerPosting.currency)
                .having(func.sum(LedgerPosting.amount_minor) != 0)
            ).all()
            entries = connection.execute(select(func.count(LedgerEntry.id))).scalar_one()
            cash = connection.execute(
                select(func.coalesce(func.sum(LedgerPosting.amount_minor), 0)).where(
                    LedgerPosting.account == ledger.Account.FUND_CASH,
                    LedgerPosting.currency == "EUR",
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if unbalanced:
        problems.append(f"{len(unbalanced)} fund entries do not sum to zero")
    expected = (
        SEED_MINOR
        + run.receipts * RECEIPT_MINOR
        + run.sales * SALE_MINOR
        - run.allocations * ALLOCATION_MINOR
    )
    if int(cash) != expected:
        problems.append(f"fund cash {cash} minor units, the clients' postings give {expected}")
    if entries != 1 + run.receipts + run.sales + run.allocations:
        problems.append(
            f"{entries} fund entries for {run.receipts + run.sales + run.allocations + 1}"
        )
    fund = httpx.get(base + "/api/assets/fund", headers={"Authorization": f"Bearer {token}"})
    body = fund.json()
    if not (body.get("balanced") and body.get("cash_matches")):
        problems.append(f"the server's reconciliation fails: {body.get('balanced')=}")
    return problems


def check_audit_cli(url: str, folder: Path) -> list[str]:
    """`crimeprev assets audit-verify` on the registry must exit 0."""
    env = {**os.environ, "CRIMEPREV_DATA_DIR": str(folder), "CRIMEPREV_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "crimeprev", "assets", "audit-verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return [f"audit-verify failed: {result.stdout} {result.stderr}"]
    return []


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_level(
    postgres: str, clients: int, operations: int, shared_assets: int, limit: float
) -> dict[str, Any]:
    """One run at `clients` concurrency on a fresh schema and server; return figures and checks."""
    engine = create_engine(postgres)
    try:
        with temporary_schema(engine, prefix="crimeprev_load") as schema:
            url = url_with_schema(postgres, schema)
            tokens, shared, case_id = seed(url, clients, shared_assets)
            with tempfile.TemporaryDirectory() as tmp, server(url, Path(tmp)) as (base, process):
                run, wall = asyncio.run(drive(base, tokens, shared, case_id, operations, limit))
                memory = peak_rss_mib(process.pid)
                problems = list(run.failures[:10])
                problems += check_updates(url, run)
                problems += check_ledger(url, base, tokens[0], run)
                problems += check_audit_cli(url, Path(tmp))
    finally:
        engine.dispose()
    every = [value for values in run.latencies.values() for value in values]
    return {
        "clients": clients,
        "operations": run.done,
        "requests": len(every),
        "wall_s": wall,
        "ops_per_s": run.done / wall if wall else float("nan"),
        "p50_ms": 1000 * statistics.median(every) if every else float("nan"),
        "p95_ms": 1000 * percentile(every, 0.95),
        "by_kind": {
            kind: (len(values), 1000 * statistics.median(values), 1000 * percentile(values, 0.95))
            for kind, values in sorted(run.latencies.items())
        },
        "statuses": {f"{kind} {status}": n for (kind, status), n in sorted(run.statuses.items())},
        "updates_ok": len(run.updates),
        "stale_409": run.statuses[("update", 409)] + run.statuses[("transition", 409)],
        "server_errors": sum(n for (_, status), n in run.statuses.items() if status >= 500),
        "server_peak_mib": memory,
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--assets", type=int, default=20, help="shared assets seeded")
    parser.add_argument("--time-limit", type=float, default=600, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    postgres = os.environ.get("CRIMEPREV_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    results = []
    for clients in args.clients:
        result = run_level(postgres, clients, args.operations, args.assets, args.time_limit)
        results.append(result)
        print(
            f"\n{clients} clients: {result['operations']} operations ({result['requests']} "
            f"requests) in {result['wall_s']:.1f} s"
        )
        for kind, (count, p50, p95) in result["by_kind"].items():
            print(f"  {kind:<11} {count:>5} requests  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
        print("  statuses:", ", ".join(f"{k}: {v}" for k, v in result["statuses"].items()))
        for problem in result["problems"]:
            print("  PROBLEM:", problem)
    print(
        "\n| clients | operations | requests | wall s | ops/s | p50 ms | p95 ms | "
        "updates ok | 409 stale | 5xx | server peak MiB | checks |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        checks = "all pass" if not r["problems"] else f"{len(r['problems'])} FAIL"
        print(
            f"| {r['clients']} | {r['operations']} | {r['requests']} | {r['wall_s']:.1f} | "
            f"{r['ops_per_s']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['updates_ok']} | "
            f"{r['stale_409']} | {r['server_errors']} | {r['server_peak_mib']:.0f} | {checks} |"
        )
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if any(r["problems"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
