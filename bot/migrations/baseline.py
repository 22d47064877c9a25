"""For the first revision of each part: a database made before the migrations (by the create_all
of the earlier code) has no alembic_version table and some or all of that revision's tables.
Each table it has is kept as it is, with its rows; only the missing ones are created."""

from __future__ import annotations

import logging
from typing import Iterable, Sequence, Tuple

import sqlalchemy as sa
from alembic import op

logger = logging.getLogger("alembic.runtime.migration")


def create_table_unless_present(name: str, *elements, indexes: Iterable[Tuple[str, Sequence[str]]] = ()) -> None:
    """op.create_table(name, *elements) and its (index name, columns) indexes, unless the table exists."""
    if sa.inspect(op.get_bind()).has_table(name):
        logger.info("Table %s exists (made before the migrations): kept with its rows", name)
        return
    op.create_table(name, *elements)
    for index_name, columns in indexes:
        op.create_index(index_name, name, list(columns), unique=False)
