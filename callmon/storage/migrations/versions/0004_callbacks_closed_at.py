"""callbacks.closed_at: when an obligation was met, resolved or cancelled (NULL while open)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

After a write only the obligations open at, or closed after, the earliest touched moment can
change; this column and its index find them without reading a number's whole history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("closed_at", sa.Float))
    op.execute("UPDATE callbacks SET closed_at = COALESCE(fulfilled_at, cancelled_at)")
    op.create_index("ix_callbacks_closed", "callbacks", ["pbx", "number", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_closed", "callbacks")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("closed_at")
