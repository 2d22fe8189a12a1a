"""journal: a file row is kept as its line, with the file it came from (journal_files)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06

An import journals a Master.csv, CEL or queue_log row as its line (the text as read, without the
line end) and the id of a ``journal_files`` row: the file's name, kind, layout (``pipe``, or
``csv:`` and the column names in file order), the zone its local times were read in, and its
size, time and first bytes' SHA-1. ``callmon.sources.files.reread`` reads the lines again with
the importers' readers.

Rows written before held the row's parsed columns as JSON (an array in field order, or an object
by column name). Their lines are gone, so each is written here as the line of a CSV file with
every column (times as epoch seconds, which the readers take as they are), under one
``journal_files`` row per (pbx, kind, source) with that layout and zone UTC and no size: read
again, it is the row it was. Keys, times and ids are not touched.

The rendering is written out here, not imported, so this revision keeps meaning what it meant.
The downgrade turns lines back into JSON arrays by reading them with the readers of the code
that runs it (the lines' meaning is theirs), then drops ``file_id`` and ``journal_files``.
"""

import csv
import io
import json
import time

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 5000
FILE_KINDS = ("cdr", "cel", "queue_log")
# each kind's fields in the order the journal's JSON arrays held them; then how to write each
# value: "f" a time (epoch seconds; "" for None), "i" a whole number ("" for None), else text
FIELDS = {
    "cdr": ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
            "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield",
            "peeraccount", "linkedid", "sequence"),
    "cel": ("eventtype", "eventtime", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten", "context",
            "channame", "appname", "appdata", "amaflags", "accountcode", "uniqueid", "linkedid", "peer", "userfield",
            "userdeftype", "extra", "peeraccount"),
    "queue_log": ("time", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5"),
}
NUMBERS = {"start": "f", "answer": "f", "end": "f", "duration": "i", "billsec": "i", "sequence": "i",
           "eventtime": "f", "time": "f"}


def _text(name: str, value) -> str:
    how = NUMBERS.get(name)
    if value is None or value == "":
        return ""
    if how == "f":
        return repr(float(value))
    if how == "i":
        return str(int(value))
    return str(value)


def line_of(kind: str, payload: str) -> str:
    """The CSV line (every column of ``kind``, in :data:`FIELDS` order) of an old JSON payload."""
    values = json.loads(payload)
    names = FIELDS[kind]
    if isinstance(values, dict):
        values = [values.get(n) for n in names]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([_text(n, v) for n, v in zip(names, values)])
    return out.getvalue()


def _batches(conn, select: str):
    """The rows of ``select`` (which takes ``:last`` and ``:n`` and orders by id) in batches of
    :data:`BATCH`, each batch read after the one before was handled."""
    last = 0
    while rows := conn.execute(sa.text(select), {"last": last, "n": BATCH}).all():
        yield rows
        last = rows[-1].id


def upgrade() -> None:
    op.create_table(
        "journal_files",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pbx", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("layout", sa.Text, nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("mtime", sa.Float, nullable=True),
        sa.Column("head_sha1", sa.String(40), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.add_column("journal", sa.Column("file_id", Id, nullable=True))
    conn = op.get_bind()
    files: dict[tuple, int] = {}
    for rows in _batches(conn, "SELECT id, pbx, kind, source, payload FROM journal "
                               "WHERE kind IN ('cdr', 'cel', 'queue_log') AND file_id IS NULL AND id > :last "
                               "ORDER BY id LIMIT :n"):
        updates = []
        for r in rows:
            key = (r.pbx, r.kind, r.source)
            if key not in files:
                files[key] = conn.execute(sa.text(
                    "INSERT INTO journal_files (pbx, kind, name, layout, zone, created_at) "
                    "VALUES (:pbx, :kind, :name, :layout, 'UTC', :at) RETURNING id"),
                    {"pbx": r.pbx, "kind": r.kind, "name": r.source, "layout": "csv:" + ",".join(FIELDS[r.kind]),
                     "at": time.time()}).scalar_one()
            updates.append({"id": r.id, "payload": line_of(r.kind, r.payload), "file_id": files[key]})
        conn.execute(sa.text("UPDATE journal SET payload = :payload, file_id = :file_id WHERE id = :id"), updates)


def downgrade() -> None:
    from callmon.sources.files.reread import reread  # the readers of the code that runs this

    conn = op.get_bind()
    layouts = {r.id: r for r in conn.execute(sa.text("SELECT id, kind, name, layout, zone FROM journal_files"))}
    for rows in _batches(conn, "SELECT id, file_id, payload, line FROM journal "
                               "WHERE file_id IS NOT NULL AND id > :last ORDER BY id LIMIT :n"):
        updates = []
        for file_id in {r.file_id for r in rows}:
            f = layouts[file_id]
            mine = [r for r in rows if r.file_id == file_id]
            parsed = reread(f.kind, f.layout, f.zone, f.name, [r.line or 0 for r in mine], [r.payload for r in mine])
            updates.extend({"id": r.id, "payload": json.dumps(list(row[:-2]), ensure_ascii=False, separators=(",", ":"))}
                           for r, row in zip(mine, parsed))
        conn.execute(sa.text("UPDATE journal SET payload = :payload WHERE id = :id"), updates)
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("file_id")
    op.drop_table("journal_files")
