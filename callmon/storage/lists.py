"""``column IN (values)`` with the values as ONE bound parameter, however many there are.

SQLAlchemy's ``column.in_(values)`` binds one parameter per value and renders them anew at every
execution: ~2 µs a value, which an import that looks up calls, numbers and linkedids by the hundred
thousand pays many times over (and it has to be cut into chunks to stay under the drivers' limits).
:func:`one_of` binds the values as ONE parameter instead: a JSON array that SQLite unnests with
``json_each``, an array for PostgreSQL's ``= ANY(...)``. The statement's text is the same for any
number of values, so it is compiled once and cached.

On PostgreSQL it must be ``= ANY(array)``, not a join with ``json_array_elements_text``: the
planner costs a set-returning function at 100 rows and, on tables whose statistics do not yet
show what an import's open transaction has written, hashes the function's rows against a scan
of the whole index, once per block (measured: an import of 200,000 calls that never ended).
``= ANY`` is an index condition like an ``IN`` list.

>>> from sqlalchemy import column, select, table
>>> from sqlalchemy.dialects import sqlite
>>> t = table("calls", column("call_id"))
>>> print(select(t.c.call_id).where(one_of(t.c.call_id, ["b", "a"])).compile(dialect=sqlite.dialect()))
SELECT calls.call_id 
FROM calls 
WHERE calls.call_id IN (SELECT value FROM json_each(?))
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType, TypeDecorator


class _Values(TypeDecorator):
    """A list of strings, bound as a JSON array (SQLite) or as an array (PostgreSQL)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(ARRAY(String()) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value, dialect):
        return value if dialect.name == "postgresql" else orjson.dumps(value).decode()


class one_of(ColumnElement):  # noqa: N801 - reads as an operator, like sqlalchemy's own and_/or_
    """``column IN (values)``; ``values`` are strings, bound as one parameter."""

    type = NullType()  # a predicate as written: no Boolean, or SQLite would render it '... = 1'
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("values", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, values: Iterable[str]):
        self.column = column
        self.values = bindparam(None, list(values), type_=_Values(), unique=True)


@compiles(one_of, "sqlite")
def _sqlite(element: one_of, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({compiler.process(element.values, **kw)}))"


@compiles(one_of, "postgresql")
def _postgresql(element: one_of, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.values, **kw)})"


@compiles(one_of)
def _other(element: one_of, compiler, **kw) -> str:
    raise NotImplementedError(f"one_of() is written for SQLite and PostgreSQL, not {compiler.dialect.name}")
