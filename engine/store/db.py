"""The database handle: engine, sessions, one transaction per state change.

Why a small class instead of Flask-SQLAlchemy: the engine is used by the CLI,
the worker and the service alike, and must not depend on a web framework.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_INSTANCE_DIR = Path("instance")
DEFAULT_SQLITE_NAME = "payroute.sqlite3"


def aware(moment: datetime | None) -> datetime | None:
    """A stored moment as UTC-aware: SQLite gives back the naive UTC it was written as, PostgreSQL
    an aware one (every ``DateTime(timezone=True)`` column holds UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _encode_password_at(url: str) -> str:
    """A password's unencoded ``@`` as ``%40``. SQLAlchemy splits the authority at
    its *first* ``@``, so ``user:p@ss@host`` would connect to the host ``ss@host``
    and the driver's "cannot resolve host" error would print the password's tail;
    like urlsplit (and the SMTP URLs) the credentials end at the *last* ``@``
    before the query."""
    scheme, sep, rest = url.partition("://")
    head, q, query = rest.partition("?")
    if not sep or head.count("@") < 2:
        return url
    userinfo, _, where = head.rpartition("@")
    return f"{scheme}://{userinfo.replace('@', '%40')}@{where}{q}{query}"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return _encode_password_at(url)


def default_url(instance_dir: Path | None = None) -> str:
    """``PAYROUTE_DATABASE_URL``, else a SQLite file under the instance folder."""
    env = os.environ.get("PAYROUTE_DATABASE_URL")
    if env:
        return env
    folder = instance_dir or DEFAULT_INSTANCE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / DEFAULT_SQLITE_NAME).resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


#: The execution option of :meth:`Database.read`'s connections: read-only, so SQLite need not lock for writing.
READ_ONLY = "payroute_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)

        # Take the write lock at BEGIN so two writers serialize instead of
        # deadlocking on lock upgrade (pysqlite's default defers BEGIN).
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # A read-only unit (Database.read) opens no transaction: each SELECT is atomic on its own
            # (SQLite's autocommit mode), under a shared lock, so reads neither queue behind a writer's
            # lock nor behind each other (the write lock is one per database file: two workers
            # authenticating at once would otherwise take turns, sleeping in SQLite's busy handler).
            if not conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: first_row's statements, compiled for this engine's dialect: id → (statement, SQL, parameter order)
        self._raw: dict[int, tuple[Any, str, tuple[str, ...] | None]] = {}

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only unit on a Core connection (no ORM session), rolled back when done.

        For the hot reads that must not write: the API token lookup of every request, the health
        check. Each statement sees what was committed when it began, as under PostgreSQL's READ
        COMMITTED (there, it is an ordinary transaction); on SQLite no transaction is opened at all
        (:data:`READ_ONLY`), instead of the write lock every :meth:`transaction` takes. So: one
        statement per question, or a :meth:`transaction` when several must agree."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            yield conn

    def first_row(self, statement: Any, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a one-statement read, run on a pooled DBAPI connection directly.

        Why: SQLAlchemy's execution machinery (connection, context, result) costs more per
        statement than SQLite takes to answer an indexed lookup, and the API token lookup of
        every request paid it. ``statement`` (a Core select with named :func:`bindparam`\\ s, kept
        by the caller: it is compiled once per statement, still a parameterized query) runs like
        :meth:`read` (no transaction on SQLite; the pool rolls PostgreSQL's implicit one back).
        Values come back as the driver gives them, without SQLAlchemy's result processing (on
        SQLite a DateTime is its stored text): only plain lookups belong here."""
        known = self._raw.get(id(statement))
        if known is None or known[0] is not statement:
            compiled = statement.compile(dialect=self.engine.dialect)
            order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
            known = self._raw[id(statement)] = (statement, compiled.string, order)
        _, sql, order = known
        args: Any = tuple(params[name] for name in order) if order is not None else dict(params)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, args)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool (which rolls back)
        return tuple(row) if row is not None else None

    def create_all(self) -> None:
        """Create tables directly (tests); production uses :func:`upgrade`."""
        from engine.store.tables import Base

        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
