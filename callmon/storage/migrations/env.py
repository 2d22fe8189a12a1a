"""Alembic environment: migrations run on the connection callmon hands over (never a URL from
alembic.ini), so the same code migrates SQLite and PostgreSQL."""

from alembic import context

from callmon.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - callmon always passes its connection
    raise RuntimeError("callmon migrations run through callmon.storage.Store, which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
