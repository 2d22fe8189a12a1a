"""The tables. Times are Unix epoch seconds (double precision): the same on SQLite and PostgreSQL,
exact to the microsecond, and rendered in the configured zone only at the edges."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite
Id = BigInteger().with_variant(Integer(), "sqlite")

journal = Table(
    "journal",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # ami | cdr | cel | queue_log
    Column("event_key", String(64), nullable=False),
    Column("ts", Float, nullable=True),
    Column("name", String(64), nullable=False),
    Column("linkedid", String(64), nullable=True),
    Column("uniqueid", String(64), nullable=True),
    Column("payload", Text, nullable=False),  # JSON object of the headers / columns
    Column("source", String(255), nullable=False),
    Column("line", Integer, nullable=True),
    Column("ingested_at", Float, nullable=False),
    UniqueConstraint("pbx", "kind", "event_key", name="uq_journal_key"),
)
Index("ix_journal_linkedid", journal.c.pbx, journal.c.linkedid)
Index("ix_journal_ts", journal.c.pbx, journal.c.ts)

calls = Table(
    "calls",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("call_id", String(64), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("called", String(64), nullable=False),
    Column("queue", String(64)),
    Column("arrived_at", Float),
    Column("first_ring_at", Float),
    Column("answered_at", Float),
    Column("ended_at", Float),
    Column("outcome", String(16), nullable=False),
    Column("answered_by", String(64)),
    Column("answered_leg", String(64)),
    Column("agent", String(128)),
    Column("team", String(128)),
    Column("ring_seconds", Float),
    Column("rings", Integer),
    Column("wait_seconds", Float),
    Column("talk_seconds", Float),
    Column("hangup_by", String(16)),
    Column("hangup_channel", String(128)),
    Column("transferred", Boolean, nullable=False),
    Column("incomplete", Boolean, nullable=False),
    Column("ring_rule", String(8), nullable=False),
    Column("ring_reason", Text),
    Column("hangup_rule", String(8), nullable=False),
    Column("hangup_reason", Text),
    Column("callback_id", BigInteger),
    Column("sources", String(64), nullable=False),
    Column("uniqueids", Text, nullable=False),  # JSON list
    UniqueConstraint("pbx", "call_id", name="uq_calls_call"),
)
Index("ix_calls_arrived", calls.c.pbx, calls.c.arrived_at)

legs = Table(
    "legs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("call_id", String(64), nullable=False),
    Column("uniqueid", String(64), nullable=False),
    Column("channel", String(128), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("party", String(16), nullable=False),
    Column("created_at", Float),
    Column("ring_started_at", Float),
    Column("ring_ended_at", Float),
    Column("answered_at", Float),
    Column("ended_at", Float),
    Column("dial_status", String(16)),
    Column("hangup_cause", Integer),
    UniqueConstraint("pbx", "call_id", "uniqueid", name="uq_legs_leg"),
)
Index("ix_legs_call", legs.c.pbx, legs.c.call_id)

# calls in progress, as the live listener sees them now (the dashboard's wallboard)
live_calls = Table(
    "live_calls",
    metadata,
    Column("pbx", String(64), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),  # ringing | talking | queued
    Column("caller", String(64)),
    Column("called", String(64)),
    Column("queue", String(64)),
    Column("arrived_at", Float),
    Column("first_ring_at", Float),
    Column("answered_at", Float),
    Column("answered_by", String(64)),
    Column("updated_at", Float, nullable=False),
)
