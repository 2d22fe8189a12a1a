"""legs: no unique (pbx, call_id, uniqueid)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A leg known from Master.csv alone has no uniqueid (cdr_csv writes party A's only), so two such
legs of one call would collide. Legs are replaced per call, so the store keeps them unique; the
index on (pbx, call_id) stays.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("legs") as batch:
        batch.drop_constraint("uq_legs_leg", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("legs") as batch:
        batch.create_unique_constraint("uq_legs_leg", ["pbx", "call_id", "uniqueid"])
