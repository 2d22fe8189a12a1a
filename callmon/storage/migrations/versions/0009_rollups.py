"""write-side rollups of the report: per UTC hour, the customer's and the agents' counts and
the ring-seconds histograms; the triggers that mark the hours a write touches; filled from the
calls and agent results already stored

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

See callmon/storage/rollups.py: the rollups are a cache of ``calls`` and ``agent_results``,
recomputed per marked hour at the end of each write transaction.
"""

import sqlalchemy as sa
from alembic import op

from callmon.storage import rollups

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_RINGS = [f"rings_{k}" for k in range(1, 6)] + ["rings_6plus"]


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.Integer, nullable=False) for n in names]


def upgrade() -> None:
    op.create_table("rollup_dirty", sa.Column("pbx", sa.String(64), nullable=False),
                    sa.Column("hour", sa.BigInteger, nullable=False))
    op.create_table(
        "rollup_customer",
        sa.Column("pbx", sa.String(64), nullable=False), sa.Column("hour", sa.BigInteger, nullable=False),
        sa.Column("team", sa.String(128)), sa.Column("queue", sa.String(64)),
        *_counts("calls", "answered", "abandoned", "ring_pass", "ring_fail", *_RINGS),
        sa.Column("rs_sum", sa.Float, nullable=False), *_counts("rs_n", "outbound", "agent_first_hangups"),
    )
    op.create_index("ix_rollup_customer_hour", "rollup_customer", ["pbx", "hour"])
    op.create_table(
        "rollup_customer_rs",
        sa.Column("pbx", sa.String(64), nullable=False), sa.Column("hour", sa.BigInteger, nullable=False),
        sa.Column("team", sa.String(128)), sa.Column("queue", sa.String(64)),
        sa.Column("ring_seconds", sa.Float, nullable=False), sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_index("ix_rollup_customer_rs_hour", "rollup_customer_rs", ["pbx", "hour"])
    op.create_table(
        "rollup_agents",
        sa.Column("pbx", sa.String(64), nullable=False), sa.Column("span", sa.Integer, nullable=False),
        sa.Column("hour", sa.BigInteger, nullable=False),
        sa.Column("agent", sa.String(128)), sa.Column("team", sa.String(128)),
        *_counts("rows", "rang", "answered", "abandoned", "ring_pass", "ring_fail", *_RINGS),
        sa.Column("rs_sum", sa.Float, nullable=False),
        *_counts("rs_n", "warnings", "agent_first_hangups", "credited"),
    )
    op.create_index("ix_rollup_agents_hour", "rollup_agents", ["pbx", "span", "hour"])
    op.create_table(
        "rollup_agent_rs",
        sa.Column("pbx", sa.String(64), nullable=False), sa.Column("span", sa.Integer, nullable=False),
        sa.Column("hour", sa.BigInteger, nullable=False),
        sa.Column("agent", sa.String(128)),
        sa.Column("ring_seconds", sa.Float, nullable=False), sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_index("ix_rollup_agent_rs_hour", "rollup_agent_rs", ["pbx", "span", "hour"])
    op.create_table(
        "rollup_warnings",
        sa.Column("pbx", sa.String(64), nullable=False), sa.Column("span", sa.Integer, nullable=False),
        sa.Column("hour", sa.BigInteger, nullable=False), sa.Column("employee", sa.String(128), nullable=False),
        sa.Column("n", sa.Integer, nullable=False), sa.Column("call_ids", sa.Text, nullable=False),
    )
    op.create_index("ix_rollup_warnings_hour", "rollup_warnings", ["pbx", "span", "hour"])
    bind = op.get_bind()
    for statement in rollups.trigger_ddl(bind.dialect.name):
        op.execute(statement)
    rollups.rebuild_all(bind)


def downgrade() -> None:
    for statement in rollups.drop_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    for table in ("rollup_warnings", "rollup_agent_rs", "rollup_agents", "rollup_customer_rs", "rollup_customer", "rollup_dirty"):
        op.drop_table(table)
