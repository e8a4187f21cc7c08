"""Alembic environment with no Flask: the schema is ``shared.db.Base.metadata``.

The URL is the one set on the Config (tests and ``occlab db upgrade`` set it) or else the
settings' ``database_url``, so migrations reach the same database as the web and the workers.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

import shared.models  # noqa: F401  - registers every table on the metadata
from shared.config import load_settings
from shared.db import Base

config = context.config
target_metadata = Base.metadata

# Configure logging from alembic.ini only in a bare process (the alembic or occlab command):
# a host that already logs (pytest, the web app) keeps its own handlers.
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or load_settings().database_url


def include_object(obj: Any, _name: Any, type_: str, _reflected: bool, _compare: Any) -> bool:
    """Leave out of autogenerate/check what the models create on other dialects only
    (``Index(...).ddl_if(dialect="postgresql")``): Alembic itself ignores ``ddl_if``."""
    ddl_if = getattr(obj, "_ddl_if", None) if type_ == "index" else None
    if ddl_if is None or ddl_if.dialect is None:
        return True
    return bool(context.get_context().dialect.name == ddl_if.dialect)


def configure(url: str, connection: Connection | None = None) -> None:
    # SQLite cannot ALTER most constraints in place; batch mode copies the table instead.
    context.configure(
        url=None if connection is not None else url,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        include_object=include_object,
        literal_binds=connection is None,
        dialect_opts={"paramstyle": "named"} if connection is None else {},
    )


def run_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) for DBAs who apply it by hand."""
    configure(database_url())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    url = database_url()
    # NullPool: a one-shot migration must not leave pooled connections behind.
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            configure(url, connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
