"""The finer tables a source has published, kept so that each new one is protected against them.

:mod:`crimeprev.indicators.linked_protection` protects a table by day, week,
date range or tags jointly with the source's monthly pattern. Two such tables
of *different* selections (a daily table at ICCS level 1 and one at level 2,
one by area and one without, a daily table and a tag table) could each be
safe with the pattern and still, read together, narrow a hidden small count
(a published level-1 day less its published level-2 days leaves the hidden
one). So every finer table that is published is written into the source's
**release ledger**: the request, each row's key, its published value and
whether it was hidden. A new table is then protected jointly with the
pattern *and every earlier release*: their published rows are known to the
reader and fixed, their hidden rows stay hidden, and their small counts must
keep a proven range as wide as the new table's own
(:func:`crimeprev.indicators.linked_protection.linked_counts_status`). If
that cannot be done, the new table is refused; an earlier release is never
changed or withdrawn, and a request asked again gets the recorded marks.

Order dependence is inherent: what is published first constrains what can
be published later (first asked, first published), so two warehouses asked
for the same tables in a different order may show different marks, and a
table refused on one may be published on the other. The demo build
(:mod:`crimeprev.demo.stats`) starts every source with an empty ledger: it
makes the patterns and their proofs, and publishes no finer table, so the
first reader of the demo decides. (Publishing a daily table there cost the
build about a minute and made any second daily selection of a large source
run out of programmes: see the cost note in
:mod:`crimeprev.indicators.linked_protection`.)

Storage: with a ``cache_dir`` (the web app and the CLI pass the warehouse's
``<data_dir>/disclosure`` folder, where the patterns are kept) the ledger is
one JSON file per source and pattern (a digest of the pattern's counts and
marks), so it survives restarts and is shared by every process on that
warehouse; it is read and extended under an exclusive file lock held for the
whole protection of the new table, and written aside then moved in place. A
changed source (a new import, hence a new pattern) starts a new ledger.
Without a ``cache_dir`` (library use, tests) the ledger lives in memory with
the pattern object.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError

_LOCK = threading.RLock()
_PATH_LOCKS: dict[Path, threading.Lock] = {}
#: Ledgers read from disk: path -> ((mtime_ns, size), ledger).
_READ: dict[Path, tuple[tuple[int, int], ReleaseLedger]] = {}
_VERSION = 1
#: Proofs kept in memory per ledger.
MAX_PROOFS = 20_000


@dataclass(frozen=True)
class Release:
    """One published finer table: what was asked, and what each row showed.

    ``grain`` is the sub-cell period it was protected on (``day`` or the
    pattern's fine period), ``low``/``high`` the whole months it touched
    (ISO dates, None for the source's span), ``names`` the key columns of a
    row and ``keys`` each row's key (:func:`row_key`).
    """

    request: str
    query: dict[str, Any]
    grain: str
    low: str | None
    high: str | None
    names: list[str]
    keys: list[list[str | None]]
    values: list[float]
    status: list[str]

    def describe(self) -> str:
        """A short label of the table, for messages."""
        q = self.query
        parts = [f"ICCS level {q['level']}" if q["level"] else "codes as coded"]
        parts.append(f"by {q['period']}" if q["period"] else "all periods")
        if q["by_area"]:
            parts.append("by area")
        if q["tags"]:
            parts.append("by " + ", ".join(q["tags"]))
        if q["iccs_code"]:
            parts.append(f"ICCS {q['iccs_code']} only")
        if q["start"] or q["end"]:
            parts.append(f"from {q['start'] or 'the start'} to {q['end'] or 'the end'}")
        return ", ".join(parts)

    def status_for(self, frame: pd.DataFrame, value: str) -> list[str]:
        """The recorded marks of `frame` (the same table asked again), row by row.

        Raises
        ------
        InvalidInputError
            If `frame` has a row the release lacks or another count for it.
        """
        recorded = {
            tuple(key): (count, mark)
            for key, count, mark in zip(self.keys, self.values, self.status, strict=True)
        }
        out = []
        for key, count in zip(row_keys(frame, self.names), frame[value].fillna(0), strict=True):
            hit = recorded.get(tuple(key))
            if hit is None or abs(hit[0] - float(count)) > 1e-6:
                raise InvalidInputError(
                    f"the table published before as {self.describe()} has no row {key} with "
                    f"count {float(count):g}; the warehouse changed since (import again or restart)"
                )
            out.append(hit[1])
        return out


@dataclass
class ReleaseLedger:
    """The releases of one source's pattern, oldest first."""

    releases: list[Release] = field(default_factory=list)
    path: Path | None = None
    #: Proofs found for the tables so far (sub-cell key -> change), kept in memory
    #: only, for the next table to try before its programmes.
    proofs: list[dict[tuple[str | None, ...], float]] = field(default_factory=list)

    def keep_proofs(self, found: list[dict[tuple[str | None, ...], float]]) -> None:
        """Add the proofs of the latest table (the most recent :data:`MAX_PROOFS` are kept)."""
        self.proofs = [*found, *self.proofs][:MAX_PROOFS]

    def find(self, request: str) -> Release | None:
        """The release recorded for `request`, if any."""
        for release in self.releases:
            if release.request == request:
                return release
        return None

    def record(self, release: Release) -> None:
        """Add `release` (and write the ledger, when it is kept on disk)."""
        releases = [*self.releases, release]
        if self.path is not None:
            _write(self.path, releases)
        self.releases = releases
        if self.path is not None:
            stat = self.path.stat()
            with _LOCK:
                _READ[self.path] = ((stat.st_mtime_ns, stat.st_size), self)


def row_key(values: Sequence[Any]) -> list[str | None]:
    """A row's key as JSON keeps it: missing as None, dates as ISO days, the rest as text.

    Examples
    --------
    >>> row_key(["05", pd.Timestamp("2020-03-02"), None, float("nan")])
    ['05', '2020-03-02', None, None]
    """
    out: list[str | None] = []
    for v in values:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(None)
        elif isinstance(v, (date, pd.Timestamp, np.datetime64)):
            out.append(pd.Timestamp(v).date().isoformat())
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(str(int(v)))  # 5 and 5.0 (a column with nulls) are one key
        else:
            out.append(str(v))
    return out


def row_keys(frame: pd.DataFrame, names: Sequence[str]) -> list[list[str | None]]:
    """:func:`row_key` of every row of `frame` over the columns `names`."""
    columns = [frame[name].tolist() for name in names]
    return (
        [row_key(values) for values in zip(*columns, strict=True)]
        if names
        else [[] for _ in range(len(frame))]
    )


def request_key(query: Any, value: str) -> tuple[str, dict[str, Any]]:
    """A request's canonical text, and its query as JSON keeps it."""
    fields = {
        "source": query.source,
        "level": query.level,
        "period": query.period,
        "by_area": bool(query.by_area),
        "tags": list(query.tags),
        "iccs_code": query.iccs_code,
        "start": query.start.isoformat() if query.start else None,
        "end": query.end.isoformat() if query.end else None,
        "value": value,
    }
    return json.dumps(fields, sort_keys=True), fields


def pattern_digest(pattern: Any) -> str:
    """A digest of a source pattern's counts and marks: a new import gives a new one."""
    digest = hashlib.sha256()
    for array in (pattern.system.values, pattern.protection.hidden, pattern.protection.primary):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr(pattern.threshold).encode())
    return digest.hexdigest()[:24]


@contextlib.contextmanager
def open_ledger(pattern: Any, source: str, cache_dir: Path | None) -> Iterator[ReleaseLedger]:
    """The release ledger of `source`'s `pattern`, held exclusively while the block runs.

    With `cache_dir`, the ledger file is locked (other processes and threads
    wait), read if it changed, and written by :meth:`ReleaseLedger.record`.
    """
    if cache_dir is None:
        with _LOCK:
            ledger = pattern.__dict__.get("_release_ledger")
            if ledger is None:
                ledger = ReleaseLedger()
                object.__setattr__(pattern, "_release_ledger", ledger)
            yield ledger
        return
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in source)
    path = Path(cache_dir) / f"ledger-{safe}-{pattern_digest(pattern)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        thread_lock = _PATH_LOCKS.setdefault(path, threading.Lock())
    with thread_lock, open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield _read(path)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: Path) -> ReleaseLedger:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ReleaseLedger(path=path)
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        hit = _READ.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        releases = [Release(**item) for item in data["releases"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        # Never start afresh over a ledger that cannot be read: tables already
        # published would be forgotten.
        raise InvalidInputError(
            f"the release ledger {path} cannot be read ({error}); restore it from a backup, "
            "or remove it only if none of its tables was ever published"
        ) from error
    ledger = ReleaseLedger(releases, path)
    with _LOCK:
        _READ[path] = (stamp, ledger)
    return ledger


def _write(path: Path, releases: list[Release]) -> None:
    """Write the ledger aside, then move it in place (a reader never sees half of it)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    data = {"version": _VERSION, "releases": [asdict(r) for r in releases]}
    partial.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, path)
