"""journal, calls, legs, live_calls

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("ts", sa.Float, nullable=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("uniqueid", sa.String(64), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("line", sa.Integer, nullable=True),
        sa.Column("ingested_at", sa.Float, nullable=False),
        sa.UniqueConstraint("pbx", "kind", "event_key", name="uq_journal_key"),
    )
    op.create_index("ix_journal_linkedid", "journal", ["pbx", "linkedid"])
    op.create_index("ix_journal_ts", "journal", ["pbx", "ts"])
    op.create_table(
        "calls",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("called", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64)),
        sa.Column("arrived_at", sa.Float),
        sa.Column("first_ring_at", sa.Float),
        sa.Column("answered_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("answered_leg", sa.String(64)),
        sa.Column("agent", sa.String(128)),
        sa.Column("team", sa.String(128)),
        sa.Column("ring_seconds", sa.Float),
        sa.Column("rings", sa.Integer),
        sa.Column("wait_seconds", sa.Float),
        sa.Column("talk_seconds", sa.Float),
        sa.Column("hangup_by", sa.String(16)),
        sa.Column("hangup_channel", sa.String(128)),
        sa.Column("transferred", sa.Boolean, nullable=False),
        sa.Column("incomplete", sa.Boolean, nullable=False),
        sa.Column("ring_rule", sa.String(8), nullable=False),
        sa.Column("ring_reason", sa.Text),
        sa.Column("hangup_rule", sa.String(8), nullable=False),
        sa.Column("hangup_reason", sa.Text),
        sa.Column("callback_id", sa.BigInteger),
        sa.Column("sources", sa.String(64), nullable=False),
        sa.Column("uniqueids", sa.Text, nullable=False),
        sa.UniqueConstraint("pbx", "call_id", name="uq_calls_call"),
    )
    op.create_index("ix_calls_arrived", "calls", ["pbx", "arrived_at"])
    op.create_table(
        "legs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float),
        sa.Column("ring_started_at", sa.Float),
        sa.Column("ring_ended_at", sa.Float),
        sa.Column("answered_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("dial_status", sa.String(16)),
        sa.Column("hangup_cause", sa.Integer),
        sa.UniqueConstraint("pbx", "call_id", "uniqueid", name="uq_legs_leg"),
    )
    op.create_index("ix_legs_call", "legs", ["pbx", "call_id"])
    op.create_table(
        "live_calls",
        sa.Column("pbx", sa.String(64), primary_key=True),
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64)),
        sa.Column("called", sa.String(64)),
        sa.Column("queue", sa.String(64)),
        sa.Column("arrived_at", sa.Float),
        sa.Column("first_ring_at", sa.Float),
        sa.Column("answered_at", sa.Float),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("live_calls")
    op.drop_index("ix_legs_call", "legs")
    op.drop_table("legs")
    op.drop_index("ix_calls_arrived", "calls")
    op.drop_table("calls")
    op.drop_index("ix_journal_ts", "journal")
    op.drop_index("ix_journal_linkedid", "journal")
    op.drop_table("journal")
