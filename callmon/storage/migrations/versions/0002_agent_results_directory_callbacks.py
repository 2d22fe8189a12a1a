"""agent_results, directory, memos, cancellations, callbacks; calls.customer_number

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

A migration is a frozen snapshot: it spells its tables out instead of importing schema.py,
which keeps changing after it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("customer_number", sa.String(32)))
    op.create_index("ix_calls_customer", "calls", ["pbx", "customer_number", "ended_at"])
    op.create_index("ix_calls_callback", "calls", ["pbx", "callback_id"])
    op.create_table(
        "agent_results",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("extension", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(128)),
        sa.Column("team", sa.String(128)),
        sa.Column("uniqueid", sa.String(64)),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("rings", sa.Integer),
        sa.Column("ring_seconds", sa.Float),
        sa.Column("answered", sa.Boolean, nullable=False),
        sa.Column("at", sa.Float),
    )
    op.create_index("ix_agent_results_call", "agent_results", ["pbx", "call_id"])
    op.create_index("ix_agent_results_at", "agent_results", ["pbx", "at"])
    op.create_table(
        "directory",
        sa.Column("pbx", sa.String(64), primary_key=True),
        sa.Column("extension", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128)),
        sa.Column("source", sa.String(255)),
        sa.Column("imported_at", sa.Float, nullable=False),
    )
    op.create_table(
        "memos",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("dialled", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128)),
        sa.Column("purpose", sa.Text),
        sa.Column("agent", sa.String(128)),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_memos_number", "memos", ["pbx", "number", "at"])
    op.create_table(
        "cancellations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("callback_key", sa.String(160), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("by", sa.String(128)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_cancellations_number", "cancellations", ["pbx", "number", "at"])
    op.create_table(
        "callbacks",
        sa.Column("callback_id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("missed_call_ids", sa.Text, nullable=False),
        sa.Column("attempt_call_ids", sa.Text, nullable=False),
        sa.Column("first_missed_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("fulfilled_at", sa.Float),
        sa.Column("fulfilled_by_call_id", sa.String(64)),
        sa.Column("fulfilled_by_agent", sa.String(128)),
        sa.Column("name", sa.String(128)),
        sa.Column("purpose", sa.Text),
        sa.Column("memo_agent", sa.String(128)),
        sa.Column("agent", sa.String(128)),
        sa.Column("team", sa.String(128)),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("cancelled_at", sa.Float),
        sa.UniqueConstraint("pbx", "key", name="uq_callbacks_key"),
    )
    op.create_index("ix_callbacks_number", "callbacks", ["pbx", "number", "first_missed_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_number", "callbacks")
    op.drop_table("callbacks")
    op.drop_index("ix_cancellations_number", "cancellations")
    op.drop_table("cancellations")
    op.drop_index("ix_memos_number", "memos")
    op.drop_table("memos")
    op.drop_table("directory")
    op.drop_index("ix_agent_results_at", "agent_results")
    op.drop_index("ix_agent_results_call", "agent_results")
    op.drop_table("agent_results")
    op.drop_index("ix_calls_callback", "calls")
    op.drop_index("ix_calls_customer", "calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("customer_number")
