"""Alembic environment: AllToken passes a live connection in config.attributes."""

from alembic import context

from alltoken.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through alltoken (alltoken.store.migrate), which supplies the connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
