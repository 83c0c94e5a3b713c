"""The analytical warehouse: canonical tables behind one Ibis connection.

:func:`open_warehouse` turns a warehouse URL into a :class:`Warehouse`. DuckDB
(a local file, or ``duckdb://`` in memory) is the default; ``postgres://`` and
``postgresql://`` URLs select the PostgreSQL backend, and the same Ibis
expressions run on both. The canonical tables (``incident``, ``aggregate``,
``area``, ``population``, ``concordance``, ``quarantine``, ``import_log``) are
created on first open with plain, portable DDL: the DDL helpers of Ibis are
bypassed because ``DROP``/``CREATE ... OVERWRITE`` render as empty statements
with the sqlglot release this project locks (30.x), while query compilation is
unaffected.

``incident`` is a view. Rows written one batch at a time, small imports and
every row on PostgreSQL live in the wide base table ``incident_rows``; on
DuckDB each large import of a source file is stored as its own table holding
only the columns its profile maps, and the view adds the import's constants (source, import id,
area set, date precision) and NULL for the columns it does not map. DuckDB
writes a table of 24 columns, 16 of them NULL, at half the speed of the same
rows in 8 columns; the view costs nothing when read, because a filter on
``source`` removes the other imports' branches before they are scanned.

DuckDB engine options come from the URL's query string
(``duckdb://w.duckdb?memory_limit=2GB&threads=4``); a file warehouse is capped at
:data:`DEFAULT_MEMORY_LIMIT` unless told otherwise, so a large import spills to
disk instead of growing without bound.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import pyarrow as pa
from ibis.backends import BaseBackend

from crimeprev.errors import ConfigurationError, NotFoundError

#: Column name -> portable SQL type of every canonical table.
TABLES: dict[str, dict[str, str]] = {
    "incident": {
        "source": "TEXT",
        "import_id": "TEXT",
        "source_row": "BIGINT",
        "source_id": "TEXT",
        "occurred_at": "TIMESTAMP",
        "occurred_precision": "TEXT",
        "offence_code": "TEXT",
        "offence_label": "TEXT",
        "iccs_code": "TEXT",
        "iccs_weight": "DOUBLE PRECISION",
        "area_set": "TEXT",
        "area_id": "TEXT",
        "lon": "DOUBLE PRECISION",
        "lat": "DOUBLE PRECISION",
        "x": "DOUBLE PRECISION",
        "y": "DOUBLE PRECISION",
        "attempted": "BOOLEAN",
        "victim_sex": "TEXT",
        "victim_age": "INTEGER",
        "perpetrator_sex": "TEXT",
        "perpetrator_age": "INTEGER",
        "relationship": "TEXT",
        "weapon": "TEXT",
        "location_type": "TEXT",
    },
    "aggregate": {
        "source": "TEXT",
        "import_id": "TEXT",
        "source_row": "BIGINT",
        "offence_code": "TEXT",
        "offence_label": "TEXT",
        "iccs_code": "TEXT",
        "iccs_weight": "DOUBLE PRECISION",
        "area_set": "TEXT",
        "area_id": "TEXT",
        "area_name": "TEXT",
        "year": "INTEGER",
        "sex": "TEXT",
        "age": "TEXT",
        "unit": "TEXT",
        "value": "DOUBLE PRECISION",
        # The SDMX time period (``2020``, ``2020-Q1``, ``2020-01``) and its FREQ
        # (``A``, ``Q``, ``M``); ``year`` is the year the period starts in.
        "period": "TEXT",
        "freq": "TEXT",
    },
    "area": {
        "area_set": "TEXT",
        "area_id": "TEXT",
        "name": "TEXT",
        "level": "TEXT",
        "parent_id": "TEXT",
        "geometry_wkt": "TEXT",
    },
    "population": {
        "area_set": "TEXT",
        "area_id": "TEXT",
        "year": "INTEGER",
        "sex": "TEXT",
        "age_band": "TEXT",
        "population": "DOUBLE PRECISION",
        "source": "TEXT",
    },
    "concordance": {
        "scheme": "TEXT",
        "national_code": "TEXT",
        "national_label": "TEXT",
        "iccs_code": "TEXT",
        "share": "DOUBLE PRECISION",
        "valid_from": "DATE",
        "valid_to": "DATE",
        "note": "TEXT",
    },
    "incident_part": {
        "table_name": "TEXT",
        "import_id": "TEXT",
        "source": "TEXT",
        "area_set": "TEXT",
        "occurred_precision": "TEXT",
        "columns": "TEXT",
        # The stored column whose value the import's own code table maps to
        # iccs_code and iccs_weight (NULL when both are stored per row).
        "mapping": "TEXT",
    },
    "quarantine": {
        "source": "TEXT",
        "import_id": "TEXT",
        "source_row": "BIGINT",
        "raw": "TEXT",
        "reasons": "TEXT",
    },
    "import_log": {
        "import_id": "TEXT",
        "source": "TEXT",
        "file_name": "TEXT",
        "file_hash": "TEXT",
        "rows_read": "BIGINT",
        "rows_accepted": "BIGINT",
        "rows_quarantined": "BIGINT",
        "status": "TEXT",
        "started_at": "TIMESTAMP",
        "finished_at": "TIMESTAMP",
        "note": "TEXT",
    },
}

#: Columns added to a canonical table after its first release: opening an older
#: warehouse adds them.
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "aggregate": ("period", "freq"),
    "incident_part": ("mapping",),
}
#: The base table behind the ``incident`` view.
INCIDENT_ROWS = "incident_rows"
#: Suffix of the table holding an import's own offence-to-ICCS codes.
CODES_SUFFIX = "_codes"
#: Columns of ``incident`` that one import stores once, in ``incident_part``.
PART_CONSTANTS = ("source", "import_id", "area_set", "occurred_precision")
#: DuckDB memory cap of a file warehouse when its URL names none.
DEFAULT_MEMORY_LIMIT = "512MB"
#: DuckDB options a warehouse URL may set.
DUCKDB_OPTIONS = ("memory_limit", "threads", "temp_directory", "max_temp_directory_size")

_IBIS_TYPES = {
    "TEXT": "string",
    "BIGINT": "int64",
    "INTEGER": "int32",
    "DOUBLE PRECISION": "float64",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
}


def table_schema(name: str) -> ibis.Schema:
    """Return the Ibis schema of canonical table `name`.

    Examples
    --------
    >>> table_schema("population").names
    ('area_set', 'area_id', 'year', 'sex', 'age_band', 'population', 'source')
    """
    return ibis.schema({col: _IBIS_TYPES[kind] for col, kind in TABLES[name].items()})


def stored_schema(name: str) -> ibis.Schema:
    """The Ibis schema the engine reports for canonical table `name`.

    As :func:`table_schema`, except that timestamps carry the microsecond
    scale both DuckDB and PostgreSQL store them with.

    Examples
    --------
    >>> stored_schema("import_log")["started_at"]
    Timestamp(timezone=None, scale=6, nullable=True)
    """
    return _STORED_SCHEMAS[name]


def _stored(name: str) -> ibis.Schema:
    types = {
        col: dt.Timestamp(scale=6) if kind == "TIMESTAMP" else dt.dtype(_IBIS_TYPES[kind])
        for col, kind in TABLES[name].items()
    }
    return ibis.schema(types)


_STORED_SCHEMAS = {name: _stored(name) for name in TABLES}


@contextmanager
def ibis_duckdb_compat() -> Iterator[None]:
    """Silence DuckDB 2's deprecation of ``fetch_arrow_table``, which Ibis 12 still calls.

    Scoped to the Ibis calls that look up table schemas; the warning says
    nothing about our code and pytest turns warnings into errors.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"fetch_arrow_table\(\) is deprecated", category=DeprecationWarning
        )
        yield


@dataclass
class Warehouse:
    """An open warehouse: the Ibis backend plus the canonical tables.

    Use :func:`open_warehouse` to build one.
    """

    url: str
    con: BaseBackend

    @property
    def backend(self) -> str:
        """The backend name, ``"duckdb"`` or ``"postgres"``."""
        return str(self.con.name)

    def table(self, name: str) -> ibis.Table:
        """Return canonical table `name` as an Ibis table expression.

        The schema is the canonical one (:func:`stored_schema`), which
        :meth:`ensure_schema` guarantees the table has, so no round trip to
        the engine asks for it: Ibis's own ``table`` describes the table
        each time, a fixed cost that several look-ups per import add up.
        """
        if name not in TABLES:
            raise NotFoundError(f"no warehouse table {name!r}; tables: {', '.join(TABLES)}")
        return ops.DatabaseTable(
            name,
            schema=stored_schema(name),
            source=self.con,
            namespace=ops.Namespace(catalog=None, database=None),
        ).to_expr()

    def execute_sql(self, sql: str) -> None:
        """Run one SQL statement that returns nothing (DDL, transaction control)."""
        result = self.con.raw_sql(sql)
        self._release(result)

    def select_rows(
        self, name: str, equal: Mapping[str, str], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of canonical table `name` whose text columns equal the given values.

        Plain SQL, for the look-ups every import makes (is this file in the
        log?): an Ibis expression would be compiled for each.

        Examples
        --------
        >>> warehouse = open_warehouse("duckdb://")
        >>> warehouse.select_rows("import_log", {"source": "chicago"})
        []
        """
        if name not in TABLES:
            raise NotFoundError(f"no warehouse table {name!r}; tables: {', '.join(TABLES)}")
        names = list(TABLES[name])
        unknown = sorted(set(equal) - set(names))
        if unknown:
            raise NotFoundError(f"no column {unknown[0]!r} in warehouse table {name!r}")
        where = " AND ".join(f"{_ident(col)} = {_quote(value)}" for col, value in equal.items())
        sql = f"SELECT {', '.join(map(_ident, names))} FROM {name}"
        if where:
            sql += f" WHERE {where}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cursor = self.con.raw_sql(sql)
        try:
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            self._release(cursor)

    def _release(self, cursor: Any) -> None:
        # DuckDB's raw_sql returns the connection itself: closing it would end
        # the session. PostgreSQL returns a cursor that must be closed.
        if self.backend != "duckdb":
            cursor.close()

    def list_tables(self) -> list[str]:
        """Names of the tables in the current schema.

        Read from ``information_schema`` directly: Ibis 12's DuckDB
        ``list_tables`` calls a cursor method DuckDB 2 removed.
        """
        schema = "current_schema()"
        cursor = self.con.raw_sql(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = {schema}"
        )
        try:
            rows = cursor.fetchall()
        finally:
            self._release(cursor)
        return sorted(str(row[0]) for row in rows)

    def _table_types(self) -> dict[str, str]:
        cursor = self.con.raw_sql(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        )
        try:
            rows = cursor.fetchall()
        finally:
            self._release(cursor)
        return {str(name): str(kind) for name, kind in rows}

    def ensure_schema(self) -> None:
        """Create the canonical tables that do not exist yet, and the ``incident`` view.

        A warehouse written before ``incident`` became a view has it as a
        table: it is renamed to ``incident_rows`` and keeps its rows.
        """
        existing = self._table_types()
        if "VIEW" not in existing.get("incident", "VIEW") and INCIDENT_ROWS not in existing:
            self.execute_sql(f"ALTER TABLE incident RENAME TO {INCIDENT_ROWS}")
            existing[INCIDENT_ROWS] = existing.pop("incident")
        created = []
        for name, columns in TABLES.items():
            target = INCIDENT_ROWS if name == "incident" else name
            if target in existing:
                if name in ADDED_COLUMNS:
                    self._add_columns(target, columns)
                continue
            body = ", ".join(f"{col} {kind}" for col, kind in columns.items())
            created.append(f"CREATE TABLE IF NOT EXISTS {target} ({body})")
        if not created and "incident" in existing:
            return
        # One transaction for the new tables and the view: a fresh warehouse
        # is made in one commit instead of one per table.
        with self.transaction():
            for statement in created:
                self.execute_sql(statement)
            if "incident" not in existing:
                self._refresh_incident_view()

    def _add_columns(self, table: str, columns: Mapping[str, str]) -> None:
        """Add the columns a table written by an older release lacks (their values NULL)."""
        cursor = self.con.raw_sql(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = {_quote(table)}"
        )
        try:
            present = {str(row[0]) for row in cursor.fetchall()}
        finally:
            self._release(cursor)
        for column in ADDED_COLUMNS[table]:
            if column not in present:
                self.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {columns[column]}")

    def _refresh_incident_view(self) -> None:
        """(Re)define ``incident`` as the base table plus every stored import."""
        schema = TABLES["incident"]
        names = list(TABLES["incident_part"])
        cursor = self.con.raw_sql(
            f"SELECT {', '.join(map(_ident, names))} FROM incident_part ORDER BY table_name"
        )
        try:
            parts = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            self._release(cursor)
        branches = [f"SELECT {', '.join(schema)} FROM {INCIDENT_ROWS}"]
        for part in parts:
            stored = set(str(part["columns"]).split(","))
            key = part.get("mapping")
            coded = {
                "iccs_code": "m.iccs_code",
                "iccs_weight": "CAST(coalesce(m.share, 1.0) AS DOUBLE PRECISION)",
            }
            items = []
            for col, kind in schema.items():
                if col in PART_CONSTANTS:
                    items.append(f"CAST({_quote(part[col])} AS {kind}) AS {col}")
                elif key and col in coded:
                    items.append(f"{coded[col]} AS {col}")
                elif col in stored:
                    items.append(f"t.{col} AS {col}")
                else:
                    items.append(f"CAST(NULL AS {kind}) AS {col}")
            source = f"{part['table_name']} AS t"
            if key:
                codes = f"{part['table_name']}{CODES_SUFFIX}"
                source += f" LEFT JOIN {codes} AS m ON t.{key} = m.national_code"
            branches.append(f"SELECT {', '.join(items)} FROM {source}")
        self.execute_sql("DROP VIEW IF EXISTS incident")
        self.execute_sql("CREATE VIEW incident AS " + " UNION ALL ".join(branches))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: all of it lands, or none of it.

        Both DuckDB and PostgreSQL keep a killed process's open transaction
        out of the database, so an interrupted import leaves no trace.
        """
        self.execute_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute_sql("ROLLBACK")
            raise
        else:
            self.execute_sql("COMMIT")

    def execute_count(self, sql: str) -> int:
        """Run one ``INSERT`` or ``CREATE TABLE ... AS`` and return the rows it wrote.

        The count comes with the statement's result, so no second query
        has to count what was just written.
        """
        cursor = self.con.raw_sql(sql)
        try:
            if self.backend == "duckdb":
                row = cursor.fetchone()
                return int(row[0]) if row else 0
            return int(cursor.rowcount)
        finally:
            self._release(cursor)

    def insert(self, name: str, data: ibis.Table | pa.Table) -> int:
        """Append rows (an Ibis expression or an Arrow table) to table `name`.

        The columns are put in the table's order and cast to its types, so
        an expression that lacks a nullable column gets NULLs. The statement
        is ``INSERT INTO ... SELECT`` compiled from the expression: Ibis's own
        ``insert`` re-parses the compiled SQL with sqlglot, which takes
        seconds for a validation query. Rows for ``incident`` go to its base
        table. Returns the number of rows written.

        On DuckDB an Arrow table is handed to the engine as it is and the
        statement is written here, without Ibis: compiling an in-memory table
        costs 15-60 ms, and an import writes three small ones (its codes, its
        catalogue row and its log row).
        """
        if isinstance(data, pa.Table) and self.backend == "duckdb":
            return self._insert_arrow(name, data)
        return self.execute_count(self.insert_statement(name, data))

    def _insert_arrow(self, name: str, data: pa.Table) -> int:
        if name not in TABLES:
            raise NotFoundError(f"no warehouse table {name!r}; tables: {', '.join(TABLES)}")
        view = f"_arrow_{uuid.uuid4().hex}"
        present = set(data.column_names)
        items = [
            f"CAST({_ident(col) if col in present else 'NULL'} AS {kind})"
            for col, kind in TABLES[name].items()
        ]
        target = INCIDENT_ROWS if name == "incident" else name
        raw = self.con.con
        raw.register(view, data)
        try:
            return self.execute_count(
                f"INSERT INTO {target} ({', '.join(map(_ident, TABLES[name]))}) "
                f"SELECT {', '.join(items)} FROM {view}"
            )
        finally:
            raw.unregister(view)

    def insert_statement(self, name: str, data: ibis.Table | pa.Table) -> str:
        """The ``INSERT INTO ... SELECT`` that :meth:`insert` runs, compiled but not run.

        Compiling is pure Python (Ibis and sqlglot), so a caller may compile
        one statement in a thread while the engine runs another.
        """
        schema = table_schema(name)
        expr = data if isinstance(data, ibis.Table) else ibis.memtable(data)
        present = set(expr.columns)
        selected = expr.select(
            *[
                (expr[col] if col in present else ibis.null()).cast(dtype).name(col)
                for col, dtype in schema.items()
            ]
        )
        sql = self._sql(selected)
        target = INCIDENT_ROWS if name == "incident" else name
        return f"INSERT INTO {target} ({', '.join(schema.names)}) {sql}"

    def store_import(
        self,
        import_id: str,
        data: ibis.Table | pa.Table,
        constants: Mapping[str, str | None],
        *,
        own_table: bool = True,
        codes: ibis.Table | str | None = None,
        code_key: str | None = None,
        prepared: tuple[list[str], str] | None = None,
    ) -> int:
        """Store one import's incidents and return the number of rows written.

        On DuckDB, with `own_table`, the rows become table
        ``incident_<import_id>`` with only the columns `data` has (the columns
        in :data:`PART_CONSTANTS` are taken from `constants` instead), and the
        ``incident`` view is redefined to include it. Otherwise (small imports,
        which would only lengthen the view, and every import on PostgreSQL)
        they are appended to ``incident_rows``. Run it inside
        :meth:`transaction` so that the table, its catalogue row and the view
        land together or not at all.

        `codes` (columns ``national_code``, ``iccs_code``, ``share``) maps the
        stored column `code_key` to ICCS: then `data` has no ICCS columns, the
        codes are stored once as ``incident_<import_id>_codes`` and the view
        joins them, instead of writing an ICCS code and a weight on every row
        (together about a sixth of DuckDB's time writing an import). A
        one-to-many code gives one view row per ICCS code, as a join at
        import time would. Only for an import with a table of its own. A
        text `codes` names a scheme of the ``concordance`` table, whose rows
        are then copied in plain SQL (no expression to compile).

        `prepared` is :meth:`import_select` of `data` and `constants`,
        compiled beforehand (e.g. while the file is hashed).
        """
        if not re.fullmatch(r"[0-9a-f]{32}", import_id):
            raise ValueError(f"import id must be 32 hex digits, got {import_id!r}")
        expr = data if isinstance(data, ibis.Table) else ibis.memtable(data)
        if self.backend != "duckdb" or not own_table:
            if codes is not None:
                raise ValueError("codes apply only to an import stored in a table of its own")
            return self.insert("incident", expr.mutate(**literal_columns(constants)))
        stored, select_sql = prepared or self.import_select(expr, constants)
        table_name = f"incident_{import_id}"
        if codes is not None:
            if code_key not in stored:
                raise ValueError(f"code key {code_key!r} is not a stored column: {stored}")
            if isinstance(codes, str):
                mapping = (
                    "SELECT CAST(national_code AS TEXT) AS national_code, "
                    "CAST(iccs_code AS TEXT) AS iccs_code, "
                    "CAST(share AS DOUBLE PRECISION) AS share "
                    f"FROM concordance WHERE scheme = {_quote(codes)}"
                )
            else:
                mapping = self._sql(
                    codes.select(
                        codes.national_code.cast("string").name("national_code"),
                        codes.iccs_code.cast("string").name("iccs_code"),
                        codes.share.cast("float64").name("share"),
                    )
                )
            self.execute_sql(f"CREATE TABLE {table_name}{CODES_SUFFIX} AS {mapping}")
        written = self.execute_count(f"CREATE TABLE {table_name} AS {select_sql}")
        entry = {
            "table_name": table_name,
            **constants,
            "columns": ",".join(stored),
            "mapping": code_key if codes is not None else None,
        }
        self.insert("incident_part", pa.table({k: [v] for k, v in entry.items()}))
        self._refresh_incident_view()
        return written

    def import_select(
        self, data: ibis.Table, constants: Mapping[str, str | None]
    ) -> tuple[list[str], str]:
        """The columns an import's own table stores, and the compiled ``SELECT`` of them.

        Those of ``incident`` that `data` has, less the `constants`, each
        cast to its canonical type (see :meth:`store_import`).
        """
        schema = table_schema("incident")
        stored = [col for col in schema.names if col in data.columns and col not in constants]
        selected = data.select(*[data[col].cast(schema[col]).name(col) for col in stored])
        return stored, self._sql(selected)

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        """Store `expr` in a temporary table (dropped with the session) and return it."""
        self.execute_sql(f"CREATE TEMPORARY TABLE {name} AS {self._sql(expr)}")
        with ibis_duckdb_compat():
            return self.con.table(name)

    def temporary_view(self, expr: ibis.Table | str, name: str) -> ibis.Table:
        """Define `expr` (or its compiled SQL) as a temporary view (gone with the session).

        Returns the view as a table. Queries built on the view compile to a
        short reference to it instead of repeating `expr`'s nested SQL, which
        Ibis is slow to compile.
        """
        sql = expr if isinstance(expr, str) else self._sql(expr)
        self.execute_sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {sql}")
        with ibis_duckdb_compat():
            return self.con.table(name)

    def compile_sql(self, expr: ibis.Expr) -> str:
        """Compile `expr` to this backend's SQL (pure Python: nothing runs)."""
        return self._sql(expr)

    def _sql(self, expr: ibis.Expr) -> str:
        """Compile `expr` for this backend, registering its in-memory tables."""
        self.con._run_pre_execute_hooks(expr)
        return str(self.con.compile(expr))

    def to_arrow(self, expr: ibis.Table) -> pa.Table:
        """Execute `expr` and return the result as an Arrow table."""
        if self.backend == "duckdb":
            sql = self._sql(expr)
            result = self.con.con.sql(sql).to_arrow_table()
            return result.rename_columns(list(expr.columns))
        return self.con.to_pyarrow(expr)

    def scalar(self, expr: ibis.Scalar) -> Any:
        """Execute a scalar expression and return its Python value."""
        table = self.to_arrow(expr.name("value").as_table())
        return table.column(0)[0].as_py()

    def close(self) -> None:
        """Close the connection."""
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _quote(value: object) -> str:
    """A SQL literal for a text value (NULL for None)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def literal_columns(constants: Mapping[str, str | None]) -> dict[str, ibis.Value]:
    """Text literals to add as columns with ``Table.mutate``."""
    return {name: ibis.literal(value, type="string") for name, value in constants.items()}


def duckdb_options(url: str) -> tuple[str, dict[str, str]]:
    """Split a DuckDB warehouse URL into its file path and engine options.

    A file warehouse gets :data:`DEFAULT_MEMORY_LIMIT` unless the URL sets
    ``memory_limit``; an in-memory one keeps DuckDB's own default.

    Raises
    ------
    ConfigurationError
        If the query string names an option DuckDB is not given by us, or a
        value that is not a plain size, count or path.

    Examples
    --------
    >>> duckdb_options("duckdb://data/w.duckdb?threads=2")
    ('data/w.duckdb', {'threads': '2', 'memory_limit': '512MB'})
    >>> duckdb_options("duckdb://")
    ('', {})
    """
    rest = url.removeprefix("duckdb://")
    path, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    for name, value in options.items():
        if name not in DUCKDB_OPTIONS:
            raise ConfigurationError(
                f"unknown DuckDB option {name!r} in the warehouse URL; "
                f"expected one of {', '.join(DUCKDB_OPTIONS)}"
            )
        if not re.fullmatch(r"[\w./ -]+", value):
            raise ConfigurationError(
                f"DuckDB option {name}={value!r} in the warehouse URL is not a plain value "
                "(e.g. memory_limit=2GB, threads=4)"
            )
    if path and path != ":memory:":
        options.setdefault("memory_limit", DEFAULT_MEMORY_LIMIT)
    return path, options


def _connect(url: str) -> BaseBackend:
    if url.startswith("duckdb://"):
        path, options = duckdb_options(url)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            con = ibis.duckdb.connect(path)
        else:
            con = ibis.duckdb.connect()
        # DuckDB draws a progress bar on stdout for long queries; faces draw their own.
        con.raw_sql("SET enable_progress_bar = false")
        # Row order inside a table carries no meaning here (rows keep source_row),
        # so inserts may run in parallel.
        con.raw_sql("SET preserve_insertion_order = false")
        for name, value in options.items():
            con.raw_sql(f"SET {name} = {_quote(value)}")
        return con
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        plain = "postgres://" + url.split("://", 1)[1]
        return ibis.connect(plain)
    raise ConfigurationError(
        f"unsupported warehouse URL {url!r}; expected duckdb://<file>, duckdb:// "
        "(in memory) or postgres://user@host:port/database"
    )


def open_warehouse(url: str) -> Warehouse:
    """Open (and on first use create) the warehouse at `url`.

    Parameters
    ----------
    url : str
        ``duckdb://path/to/file.duckdb``, ``duckdb://`` for an in-memory
        warehouse, or ``postgres://user@host:port/database``. A DuckDB URL
        may end in engine options, e.g. ``?memory_limit=2GB&threads=4``
        (see :func:`duckdb_options`).

    Raises
    ------
    ConfigurationError
        If the URL names no supported backend.

    Examples
    --------
    >>> warehouse = open_warehouse("duckdb://")
    >>> warehouse.backend
    'duckdb'
    >>> warehouse.scalar(warehouse.table("incident").count())
    0
    """
    warehouse = Warehouse(url=url, con=_connect(url))
    warehouse.ensure_schema()
    return warehouse
