"""The endpoints table: what a PBX showed about each endpoint (:mod:`callmon.calls.parties`)."""

from __future__ import annotations

import json
from typing import Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from callmon.calls.parties import Evidence
from callmon.storage.schema import endpoints


class EndpointQueries:
    """Store mixin: load and save the evidence learnt per endpoint."""

    def load_endpoints(self, pbx: str, conn: Connection | None = None) -> dict[str, Evidence]:
        """Everything learnt about the endpoints of one PBX, ``endpoint -> Evidence``."""
        q = select(endpoints).where(endpoints.c.pbx == pbx)
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(q).all()
        else:
            rows = conn.execute(q).all()
        return {r.endpoint: Evidence(json.loads(r.own_numbers), r.outside_numbers, r.dialled_outside,
                                     json.loads(r.dialled_short), bool(r.queue_member), r.first_seen, r.last_seen,
                                     r.calls) for r in rows}

    def endpoint_pbxs(self) -> list[str]:
        """The PBXs something was learnt about, by name."""
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(select(endpoints.c.pbx).distinct()))

    def save_endpoints(self, conn: Connection, pbx: str, known: Mapping[str, Evidence]) -> None:
        """Replace what is stored about these endpoints, in the caller's transaction."""
        if not known:
            return
        names = list(known)
        for i in range(0, len(names), 500):
            conn.execute(delete(endpoints).where(endpoints.c.pbx == pbx, endpoints.c.endpoint.in_(names[i:i + 500])))
        conn.execute(insert(endpoints), [
            {"pbx": pbx, "endpoint": name, "own_numbers": json.dumps(ev.own_numbers),
             "outside_numbers": ev.outside_numbers, "dialled_outside": ev.dialled_outside,
             "dialled_short": json.dumps(ev.dialled_short), "queue_member": ev.queue_member,
             "first_seen": ev.first_seen, "last_seen": ev.last_seen, "calls": ev.calls}
            for name, ev in known.items()])
