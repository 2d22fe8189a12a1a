"""monitoring sessions: templates (versioned), sessions, planned test calls, evaluations (immutable)

Revision ID: 0008
Revises: 0007 (0005 on its own branch; rechained after merging the dashboard's 0007)
Create Date: 2026-12-06

An evaluation is never updated: a correction is a new row with the next version, a reason and
its author; scores read the latest version of each (test call, evaluator).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
IMMUTABLE = "monitoring evaluations are immutable: a correction is a new version"


def upgrade() -> None:
    op.create_table(
        "monitoring_templates",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_monitoring_templates_version"),
    )
    op.create_table(
        "monitoring_sessions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("template_id", Id, sa.ForeignKey("monitoring_templates.id"), nullable=False),
        sa.Column("teams", sa.Text, nullable=False),
        sa.Column("extensions", sa.Text, nullable=False),
        sa.Column("evaluators", sa.Text, nullable=False),
        sa.Column("window_s", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.UniqueConstraint("pbx", "name", name="uq_monitoring_sessions_name"),
    )
    op.create_table(
        "monitoring_plan",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("session_id", Id, sa.ForeignKey("monitoring_sessions.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("extension", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("evaluator", sa.String(128), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("session_id", "seq", name="uq_monitoring_plan_seq"),
    )
    op.create_table(
        "monitoring_evaluations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("session_id", Id, sa.ForeignKey("monitoring_sessions.id"), nullable=False),
        sa.Column("test_call", sa.String(64), nullable=False),
        sa.Column("evaluator", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("called_at", sa.Float, nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("marks", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("session_id", "test_call", "evaluator", "version", name="uq_monitoring_evaluations_version"),
    )


    # immutable in the database too: an UPDATE or DELETE of an evaluation is refused
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION monitoring_evaluations_immutable() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN RAISE EXCEPTION '{IMMUTABLE}'; END $$")
        op.execute("CREATE TRIGGER monitoring_evaluations_immutable BEFORE UPDATE OR DELETE ON monitoring_evaluations "
                   "FOR EACH ROW EXECUTE FUNCTION monitoring_evaluations_immutable()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER monitoring_evaluations_no_{action.lower()} BEFORE {action} ON "
                       f"monitoring_evaluations BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS monitoring_evaluations_immutable ON monitoring_evaluations")
        op.execute("DROP FUNCTION IF EXISTS monitoring_evaluations_immutable()")
    op.drop_table("monitoring_evaluations")
    op.drop_table("monitoring_plan")
    op.drop_table("monitoring_sessions")
    op.drop_table("monitoring_templates")
