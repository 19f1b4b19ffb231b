"""Alembic migrations of the audit store, run by :func:`auditor.store.migrate.upgrade` on open."""
