"""Alembic environment: migrations run on the connection the twin hands in (twin.store.db.upgrade)."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the twin always passes a connection
    raise RuntimeError("run migrations through `python -m twin db upgrade`")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
