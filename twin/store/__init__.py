"""The store: the schema (SQLAlchemy Core tables), migrations, the current SQL of every function and trigger, the engine, the embedded cluster, backups."""
