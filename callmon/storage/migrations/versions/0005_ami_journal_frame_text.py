"""journal: an AMI event's payload is its frame text, its key leads with its Timestamp

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

The listener journals each AMI event as the frame Asterisk sent (``Key: value`` lines joined by
``\\n``, see ``callmon.ami.framing.AmiEvent.text``) instead of re-encoding its parsed headers as
JSON, and keys it by ``<Timestamp>-<SHA-1 of that text>`` (the SHA-1 alone when the event has no
plain Timestamp). Rows of kind ``ami`` written before are converted here, so a capture journaled
then and ingested or heard again now still dedupes to one row per event. Rows of the files
(``cdr``, ``cel``, ``queue_log``) are not touched.

The conversion is written out here, not imported, so this revision keeps meaning what it meant.
"""

import hashlib
import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000
_HEADER = re.compile(r"^([!-9;-~]+):[ ]?([^\r\n]*)\r*$", re.M)


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _text_of(headers: dict) -> str:
    return "\n".join(f"{k.split('#', 1)[0]}: {v}" for k, v in headers.items())


def _new_key(text: str, timestamp) -> str:
    digest = _sha1(text)
    if isinstance(timestamp, str) and timestamp and len(timestamp) <= 20 and timestamp.isascii() \
            and timestamp.replace(".", "", 1).isdigit():
        return f"{timestamp}-{digest}"
    return digest


def _headers_of(text: str) -> dict:
    headers: dict = {}
    for key, value in _HEADER.findall(text):
        if key in headers:
            n = 2
            while f"{key}#{n}" in headers:
                n += 1
            key = f"{key}#{n}"
        headers[key] = value
    return headers


def _to_text(payload: str):
    if not payload.startswith("{"):
        return None  # already frame text
    headers = json.loads(payload)
    text = _text_of(headers)
    return text, _new_key(text, headers.get("Timestamp"))


def _to_json(payload: str):
    if payload.startswith("{"):
        return None
    text = json.dumps(_headers_of(payload), ensure_ascii=False, separators=(",", ":"))
    return text, _sha1(text)


def _convert(convert) -> None:
    """Rewrite the ``ami`` rows' payload and key in id order, a batch at a time. A row whose new
    key another row already has is the same event journaled twice: it is dropped."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, pbx, payload FROM journal WHERE kind = 'ami' AND id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        last = rows[-1].id
        updates, seen = [], set()
        for row in rows:
            new = convert(row.payload)
            if new is not None:
                updates.append({"id": row.id, "pbx": row.pbx, "payload": new[0], "key": new[1]})
        taken = set()
        for pbx in {u["pbx"] for u in updates}:
            keys = [u["key"] for u in updates if u["pbx"] == pbx]
            for i in range(0, len(keys), 500):
                found = conn.execute(sa.text(
                    "SELECT event_key FROM journal WHERE pbx = :pbx AND kind = 'ami' AND event_key IN :keys"
                ).bindparams(sa.bindparam("keys", expanding=True)), {"pbx": pbx, "keys": keys[i:i + 500]})
                taken.update((pbx, k) for (k,) in found)
        keep, drop = [], []
        for u in updates:
            k = (u["pbx"], u["key"])
            (drop if k in taken or k in seen else keep).append(u)
            seen.add(k)
        if drop:
            conn.execute(sa.text("DELETE FROM journal WHERE id = :id"), [{"id": u["id"]} for u in drop])
        if keep:
            conn.execute(sa.text("UPDATE journal SET payload = :payload, event_key = :key WHERE id = :id"), keep)


def upgrade() -> None:
    _convert(_to_text)


def downgrade() -> None:
    _convert(_to_json)
