"""Alembic environment: runs on the connection practice.migrate hands it."""

from alembic import context

from practice.models import Base

VERSION_TABLE = "practice_alembic_version"


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001
    # A host's database holds its own tables too: compare and migrate only ours.
    if type_ == "table":
        return name.startswith("practice_")
    return True


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_object=include_object,
    # SQLite batch mode rebuilds a table (copy, drop, rename), which drops its triggers: a
    # migration that rebuilds practice_consultation, _availability_window or _time_off must
    # create the triggers of 0001 and 0007 again (tests/test_migrations.py checks for them), and
    # one that rebuilds practice_therapist must drop 0007's triggers first: their bodies name it.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
