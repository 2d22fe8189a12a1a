"""The directory table: extension -> employee, team, imported from a CSV.

The imported directory wins over the config's ``[directory]`` extension by extension; extensions
only the config names are still used (see :func:`callmon.service.pipeline.merged_directory`).
"""

from __future__ import annotations

import time
from typing import Iterable

from sqlalchemy import delete, insert, select

from callmon.core.config import Employee
from callmon.storage.schema import directory


class DirectoryQueries:
    """Store mixin: read and write the imported directory."""

    def load_directory(self, pbx: str) -> dict[str, Employee]:
        """The imported directory of one PBX, ``extension -> Employee``."""
        q = select(directory.c.extension, directory.c.name, directory.c.team).where(directory.c.pbx == pbx)
        with self.engine.connect() as conn:
            return {r.extension: Employee(r.extension, r.name, r.team) for r in conn.execute(q)}

    def import_directory(self, pbx: str, employees: Iterable[Employee], source: str, *, replace: bool = False) -> int:
        """Upsert employees (all or nothing); ``replace`` drops the PBX's other entries first."""
        rows = {e.extension: e for e in employees}
        now = time.time()
        with self.engine.begin() as conn:
            q = delete(directory).where(directory.c.pbx == pbx)
            conn.execute(q if replace else q.where(directory.c.extension.in_(list(rows))))
            if rows:
                conn.execute(insert(directory), [
                    {"pbx": pbx, "extension": e.extension, "name": e.name, "team": e.team,
                     "source": source[:255], "imported_at": now}
                    for e in rows.values()
                ])
        return len(rows)
