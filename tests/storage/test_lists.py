"""``one_of``: one bound JSON array instead of one parameter per value, on SQLite and PostgreSQL."""

from __future__ import annotations


import sqlalchemy as sa

from callmon.storage import normalize_url
from callmon.storage.lists import one_of


def test_selects_and_deletes_exactly_the_listed_values(db_url):
    engine = sa.create_engine(normalize_url(db_url))
    md = sa.MetaData()
    t = sa.Table("one_of_probe", md, sa.Column("x", sa.String(16)), sa.Column("n", sa.Integer))
    with engine.begin() as conn:
        md.create_all(conn)
        conn.execute(t.insert(), [{"x": f"id-{i}", "n": i} for i in range(3000)])
        many = [f"id-{i}" for i in range(0, 3000, 7)] + ["absent", "quote's \"and\" 한글"]
        found = conn.execute(sa.select(t.c.n).where(t.c.n < 1000, one_of(t.c.x, many))).scalars().all()
        assert sorted(found) == list(range(0, 1000, 7))
        assert conn.execute(sa.select(t.c.n).where(one_of(t.c.x, []))).all() == []
        gone = conn.execute(t.delete().where(one_of(t.c.x, ["id-1", "id-2", "id-1"])).returning(t.c.n)).scalars().all()
        assert sorted(gone) == [1, 2]
        md.drop_all(conn)
    engine.dispose()
