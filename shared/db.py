"""SQLAlchemy 2 plumbing with no Flask: the declarative base, engines and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, MetaData, create_engine, event, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker

from shared.config import ROOT

if TYPE_CHECKING:
    from shared.config import Settings

Row = TypeVar("Row", bound="Base")

# Named constraints make migrations reproducible and let SQLite's batch mode drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine (connection pool) per URL per process; see :func:`dispose_engines`."""
    if url not in _ENGINES:
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        _ENGINES[url] = engine
    return _ENGINES[url]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the web read while a worker writes; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Forget pooled connections inherited across fork; each process must open its own."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


def upgrade_database(settings: Settings) -> str:
    """Migrate ``settings.database_url`` to the newest revision; returns that revision."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if settings.database_url.startswith("sqlite"):
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolates '%', which URL-encoded passwords contain.
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(cfg, "head")
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def stamp_once(
    session: Session, column: InstrumentedAttribute[Any], row_id: int, stale_before: datetime,
    *where: ColumnElement[bool],
) -> bool:  # fmt: skip
    """Stamp ``column`` of row ``row_id`` with now if the row meets ``where`` and is not
    stamped since ``stale_before`` (an older stamp counts as lost); True for the one caller
    that stamped it. One atomic UPDATE, so callers at once send one task between them (a bulk
    result's traces, a job's baseline)."""
    model = column.class_
    marked = session.execute(
        update(model)
        .where(model.id == row_id, *where)
        .where(or_(column.is_(None), column < stale_before))
        .values({column.key: utcnow()})
    )
    return bool(getattr(marked, "rowcount", 0) == 1)


def get_or_add(
    session: Session, model: type[Row], key: dict[str, Any], extra: dict[str, Any]
) -> tuple[Row, bool]:
    """The row with ``key``, added (with ``extra``) if there is none; True when added.

    A concurrent insert of the same key loses to the unique constraint and reads the winner.
    """
    row = session.scalar(select(model).filter_by(**key))
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = model(**key, **extra)
            session.add(row)
        return row, True
    except IntegrityError:  # another submission added it a moment ago
        return session.scalars(select(model).filter_by(**key)).one(), False
