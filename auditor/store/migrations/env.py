"""Alembic's entry point: migrate the connection the store hands over (no alembic.ini).

For development, ``alembic -x url=sqlite:///DIR/audit.sqlite revision --autogenerate
-m ... --head core@head`` also works from a shell with ``script_location`` set to
this folder (see auditor/store/migrate.py for the Config the store builds).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from auditor.store.schema import metadata

config = context.config


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:  # the alembic command line: -x url=...
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as conn:
        _migrate(conn)
