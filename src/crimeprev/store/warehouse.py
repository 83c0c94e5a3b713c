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
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
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
        """Return canonical table `name` as an Ibis table expression."""
        if name not in TABLES:
            raise NotFoundError(f"no warehouse table {name!r}; tables: {', '.join(TABLES)}")
        with ibis_duckdb_compat():
            return self.con.table(name)

    def execute_sql(self, sql: str) -> None:
        """Run one SQL statement that returns nothing (DDL, transaction control)."""
        result = self.con.raw_sql(sql)
        self._release(result)

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

    def ensure_schema(self) -> None:
        """Create the canonical tables that do not exist yet."""
        existing = set(self.list_tables())
        for name, columns in TABLES.items():
            if name in existing:
                continue
            body = ", ".join(f"{col} {kind}" for col, kind in columns.items())
            self.execute_sql(f"CREATE TABLE IF NOT EXISTS {name} ({body})")

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

    def insert(self, name: str, data: ibis.Table | pa.Table) -> None:
        """Append rows (an Ibis expression or an Arrow table) to table `name`.

        The columns are put in the table's order and cast to its types, so
        an expression that lacks a nullable column gets NULLs. The statement
        is ``INSERT INTO ... SELECT`` compiled from the expression: Ibis's own
        ``insert`` re-parses the compiled SQL with sqlglot, which takes
        seconds for a validation query.
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
        self.execute_sql(f"INSERT INTO {name} ({', '.join(schema.names)}) {sql}")

    def materialize(self, expr: ibis.Table, name: str) -> ibis.Table:
        """Store `expr` in a temporary table (dropped with the session) and return it."""
        self.execute_sql(f"CREATE TEMPORARY TABLE {name} AS {self._sql(expr)}")
        with ibis_duckdb_compat():
            return self.con.table(name)

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


def _connect(url: str) -> BaseBackend:
    if url.startswith("duckdb://"):
        path = url.removeprefix("duckdb://")
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
        warehouse, or ``postgres://user@host:port/database``.

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
