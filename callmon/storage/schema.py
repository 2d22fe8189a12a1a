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
    Column("payload", Text, nullable=False),  # AMI: the frame text; a file row: its line (journal_files says how to read it)
    Column("source", String(255), nullable=False),
    Column("line", Integer, nullable=True),
    Column("ingested_at", Float, nullable=False),
    Column("file_id", Id, nullable=True),  # a file row: journal_files.id (AMI: NULL)
    UniqueConstraint("pbx", "kind", "event_key", name="uq_journal_key"),
)
Index("ix_journal_linkedid", journal.c.pbx, journal.c.linkedid)
Index("ix_journal_ts", journal.c.pbx, journal.c.ts)

# the files whose lines the journal keeps: which file, and how its lines are read again
# (callmon.sources.files.reread); an import of the same file again finds its row
journal_files = Table(
    "journal_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # cdr | cel | queue_log
    Column("name", String(255), nullable=False),  # as given to the import: the rows' file
    Column("layout", Text, nullable=False),  # "pipe", or "csv:" and the column names in file order
    Column("zone", String(64), nullable=False),  # the zone the file's local times are read in
    Column("size", BigInteger, nullable=True),
    Column("mtime", Float, nullable=True),
    Column("head_sha1", String(40), nullable=True),  # of its first 64 KiB
    Column("created_at", Float, nullable=False),
)

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
    # the outside party in E.164 (inbound: the caller, outbound: the called; internal: NULL),
    # what callback obligations are kept by (0002)
    Column("customer_number", String(32)),
    UniqueConstraint("pbx", "call_id", name="uq_calls_call"),
)
Index("ix_calls_arrived", calls.c.pbx, calls.c.arrived_at)
Index("ix_calls_customer", calls.c.pbx, calls.c.customer_number, calls.c.ended_at)
Index("ix_calls_callback", calls.c.pbx, calls.c.callback_id)

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
    # not unique per uniqueid: a leg from Master.csv alone has none (0003)
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

# -- 0002: the rules' per-agent view, the directory, callback obligations ---------------------

# each staff phone's verdict (the agents' view of the ring rule, one row per phone that rang) and
# the hang-up verdict for the extension it counts to; a "fail" row is a warning for that employee
agent_results = Table(
    "agent_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("call_id", String(64), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("extension", String(64), nullable=False),
    Column("agent", String(128)),
    Column("team", String(128)),
    Column("uniqueid", String(64)),  # the leg, for ring rows
    Column("result", String(8), nullable=False),
    Column("reason", Text),
    Column("rings", Integer),
    Column("ring_seconds", Float),
    Column("answered", Boolean, nullable=False),
    Column("at", Float),  # the call's time (arrival, else first ring, answer, end)
)
Index("ix_agent_results_call", agent_results.c.pbx, agent_results.c.call_id)
Index("ix_agent_results_at", agent_results.c.pbx, agent_results.c.at)

# extension -> employee, team, imported from a CSV (wins over the config's [directory])
directory = Table(
    "directory",
    metadata,
    Column("pbx", String(64), primary_key=True),
    Column("extension", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("team", String(128)),
    Column("source", String(255)),
    Column("imported_at", Float, nullable=False),
)

# what each PBX showed about its endpoints (calls/parties.py): staff phone or outside, learnt
# from the calls, so live, imported and rebuilt records class an endpoint alike
endpoints = Table(
    "endpoints",
    metadata,
    Column("pbx", String(64), primary_key=True),
    Column("endpoint", String(128), primary_key=True),
    Column("own_numbers", Text, nullable=False),  # JSON list of the short caller IDs it had
    Column("outside_numbers", Integer, nullable=False),  # calls it brought in from outside numbers
    Column("dialled_outside", Integer, nullable=False),  # times dialled with an outside number
    Column("dialled_short", Text, nullable=False),  # JSON list of the short numbers it was dialled as
    Column("queue_member", Boolean, nullable=False),
    Column("first_seen", Float),
    Column("last_seen", Float),
    Column("calls", Integer, nullable=False),
)

# what people enter: memos (open an obligation) and cancellations (close one); kept, never derived
memos = Table(
    "memos",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("number", String(32), nullable=False),  # E.164
    Column("dialled", String(64), nullable=False),  # as entered
    Column("name", String(128)),
    Column("purpose", Text),
    Column("agent", String(128)),
    Column("at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("ix_memos_number", memos.c.pbx, memos.c.number, memos.c.at)

cancellations = Table(
    "cancellations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("callback_key", String(160), nullable=False),
    Column("number", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("by", String(128)),
    Column("created_at", Float, nullable=False),
)
Index("ix_cancellations_number", cancellations.c.pbx, cancellations.c.number, cancellations.c.at)

# derived from calls, memos and cancellations (re-derivable); callback_id stays with the natural
# key. ``status`` is the closing status, or ``open`` while unmet: open vs overdue depends on
# the moment of reading and is decided then
callbacks = Table(
    "callbacks",
    metadata,
    Column("callback_id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("key", String(160), nullable=False),
    Column("number", String(32), nullable=False),
    Column("missed_call_ids", Text, nullable=False),  # JSON list
    Column("attempt_call_ids", Text, nullable=False),  # JSON list
    Column("first_missed_at", Float, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("status", String(24), nullable=False),
    Column("fulfilled_at", Float),
    Column("fulfilled_by_call_id", String(64)),
    Column("fulfilled_by_agent", String(128)),
    Column("name", String(128)),
    Column("purpose", Text),
    Column("memo_agent", String(128)),  # who took the memo (a failed callback is their warning)
    Column("agent", String(128)),  # the owner: the memo's agent, else the direct line that rang
    Column("team", String(128)),
    Column("cancel_reason", Text),
    Column("cancelled_at", Float),
    UniqueConstraint("pbx", "key", name="uq_callbacks_key"),
    Column("closed_at", Float),  # fulfilled_at or cancelled_at; NULL while open (0004)
)
Index("ix_callbacks_number", callbacks.c.pbx, callbacks.c.number, callbacks.c.first_missed_at)
Index("ix_callbacks_closed", callbacks.c.pbx, callbacks.c.number, callbacks.c.closed_at)

# -- 0007: dashboard users and the access log -------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | supervisor | admin
    Column("password_hash", String(255), nullable=False),  # argon2id, with its parameters and salt
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("name", name="uq_users_name"),
)

# every unmasking and every export of full numbers: who, when, what, why (kept, never derived)
access_log = Table(
    "access_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("user", String(64), nullable=False),
    Column("role", String(16)),
    Column("action", String(32), nullable=False),
    Column("what", Text, nullable=False),
    Column("why", Text),
)
Index("ix_access_log_at", access_log.c.at)

# -- 0009: write-side rollups of the report (storage/rollups.py): a cache of calls and
# agent_results per UTC hour (``hour`` = floor(epoch / 3600)), kept by the writers' transactions

# the hours whose rollup rows are stale: marked by triggers on calls and agent_results, emptied
# (the hours recomputed) before each write transaction of the Store commits
rollup_dirty = Table(
    "rollup_dirty",
    metadata,
    Column("pbx", String(64), nullable=False),
    Column("hour", BigInteger, nullable=False),
)

def _counts(*names: str) -> list[Column]:
    return [Column(name, Integer, nullable=False) for name in names]


def _ring_histogram() -> list[Column]:
    """The columns both views share: calls by rings to answer (1..5, 6 and more) and the sum and
    count of the answered rings' seconds."""
    return [*_counts(*(f"rings_{k}" for k in range(1, 6)), "rings_6plus"),
            Column("rs_sum", Float, nullable=False), Column("rs_n", Integer, nullable=False)]


def _rollup(name: str, keys: list[Column], values: list[Column]) -> Table:
    """A rollup table: ``pbx``, the key columns (``span`` and ``hour`` first) and the values, with
    the index that reads a period's rows (pbx, then the time keys)."""
    table = Table(name, metadata, Column("pbx", String(64), nullable=False), *keys, *values)
    times = [c for c in table.c if c.name in ("span", "hour")]
    Index(f"ix_{name}_hour", table.c.pbx, *times)
    return table


def _time_keys(span: bool) -> list[Column]:
    return ([Column("span", Integer, nullable=False)] if span else []) + [Column("hour", BigInteger, nullable=False)]


def _ring_seconds() -> list[Column]:
    """One row per distinct value: the p90 of ring seconds is read from (value, count) pairs."""
    return [Column("ring_seconds", Float, nullable=False), Column("n", Integer, nullable=False)]


# the customer's view per (hour of arrival, team, queue): the counts of customer_cube
rollup_customer = _rollup(
    "rollup_customer", [*_time_keys(span=False), Column("team", String(128)), Column("queue", String(64))],
    [*_counts("calls", "answered", "abandoned", "ring_pass", "ring_fail"), *_ring_histogram(),
     *_counts("outbound", "agent_first_hangups")])

# the ring seconds of the answered inbound calls per (hour, team, queue): value and count (p90)
rollup_customer_rs = _rollup(
    "rollup_customer_rs", [*_time_keys(span=False), Column("team", String(128)), Column("queue", String(64))],
    _ring_seconds())

# the agents' view per (span of hours from ``hour``, agent or extension, team): the counts of
# agent_cube (``rows``: its verdicts) and ``credited``: the calls credited to the agent
# (credited_calls). Spans of 1, 24 and 384 hours (storage/rollups.py LEVELS): a period is read
# from a few rows per agent
rollup_agents = _rollup(
    "rollup_agents", [*_time_keys(span=True), Column("agent", String(128)), Column("team", String(128))],
    [*_counts("rows", "rang", "answered", "abandoned", "ring_pass", "ring_fail"), *_ring_histogram(),
     *_counts("warnings", "agent_first_hangups", "credited")])

# the ring seconds of the agents' answered rings per (span, hour, agent): value and count (p90)
rollup_agent_rs = _rollup(
    "rollup_agent_rs", [*_time_keys(span=True), Column("agent", String(128))], _ring_seconds())

# the warnings (failed verdicts) per (span, hour, employee = agent else extension): how many,
# each (employee, rule, call) once, and their call ids in the order of time then call id,
# joined by WARNING_SEP; the training list reads these instead of every failed verdict
rollup_warnings = _rollup(
    "rollup_warnings", [*_time_keys(span=True), Column("employee", String(128), nullable=False)],
    [*_counts("n"), Column("call_ids", Text, nullable=False)])
