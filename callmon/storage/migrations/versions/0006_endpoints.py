"""endpoints: what each PBX showed about its endpoints (staff phone or outside), learnt from calls

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

callmon classes a named phone (``SIP/agent1``) as staff from the PBX's own evidence (its caller ID,
queue membership, the numbers it is dialled with); this table keeps what was learnt per PBX so a
live call, an import and a rebuild class an endpoint alike, and ``callmon endpoints`` lists it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("pbx", sa.String(64), primary_key=True),
        sa.Column("endpoint", sa.String(128), primary_key=True),
        sa.Column("own_numbers", sa.Text, nullable=False),
        sa.Column("outside_numbers", sa.Integer, nullable=False),
        sa.Column("dialled_outside", sa.Integer, nullable=False),
        sa.Column("dialled_short", sa.Text, nullable=False),
        sa.Column("queue_member", sa.Boolean, nullable=False),
        sa.Column("first_seen", sa.Float),
        sa.Column("last_seen", sa.Float),
        sa.Column("calls", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("endpoints")
