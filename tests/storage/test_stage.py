"""Stage databases: images made elsewhere, attached one after another in one transaction and
copied in by SQLite, with calls left out or given a callback_id on the way."""

from __future__ import annotations

import sqlalchemy as sa

from callmon.storage import stage


def image(tables: dict[str, tuple[tuple[str, ...], list[tuple]]]) -> bytes:
    builder = stage.StageBuilder()
    for name, (cols, rows) in tables.items():
        builder.add(name, cols, rows)
    return stage.take(builder.file())


def test_images_whose_tables_lie_elsewhere_are_each_read_as_they_are(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'main.db'}")
    cols = ("call_id", "callback_id", "note")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE calls (id INTEGER PRIMARY KEY, call_id TEXT UNIQUE, callback_id INT, note)")
        conn.exec_driver_sql("CREATE TABLE journal (id INTEGER PRIMARY KEY, k TEXT UNIQUE)")
        # the first image's calls start after many journal pages; the second's come first
        first = image({"journal": (("k",), [(f"k{i}",) for i in range(5000)]),
                       "calls": (cols, [(f"a{i}", None, "x" * 50) for i in range(3000)])})
        second = image({"calls": (cols, [(f"b{i}", None, "y" * 50) for i in range(2000)]),
                        "journal": (("k",), [(f"k{i}",) for i in range(4000, 6000)])})
        stage.attach(conn, first)
        assert stage.copy(conn, "journal", ("k",), ignore=True) == 5000
        stage.skip(conn, ["a1", "a2"])
        stage.set_callback_ids(conn, [(7, "a3")])
        assert stage.copy(conn, "calls", cols) == 2998
        stage.attach(conn, second)  # the marks are the last image's: cleared
        assert stage.copy(conn, "journal", ("k",), ignore=True) == 1000  # k4000..k4999 were there
        assert stage.copy(conn, "calls", cols) == 2000
        assert stage.has(conn, "calls") and not stage.has(conn, "legs")
        rows = dict(conn.exec_driver_sql("SELECT call_id, callback_id FROM calls").all())
        notes = {n for (n,) in conn.exec_driver_sql("SELECT DISTINCT note FROM calls")}
    assert len(rows) == 4998 and "a1" not in rows and rows["a3"] == 7 and rows["b5"] is None
    assert notes == {"x" * 50, "y" * 50}
    engine.dispose()


def test_rows_given_as_columns_or_rows_or_of_mixed_types_arrive_as_given(tmp_path):
    """Columns go through Arrow; a column Arrow cannot type (numbers and text mixed) is bound by
    sqlite3; either way each value arrives with its own type."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'main.db'}")
    cols = ("call_id", "n", "x")
    rows = [("a", 1, 2.5), ("b", None, None), ("c", 3, 4.0)]
    mixed = [("d", 5, "text"), ("e", 6, 7)]
    builder = stage.StageBuilder(tmp_path)
    builder.add_columns("t", cols, [list(c) for c in zip(*rows)])
    builder.add("m", cols, mixed)
    builder.add("t", cols, [("f", 8, None)])
    builder.add("empty", cols, [])
    builder.add("m2", cols, mixed[:1])
    builder.add("m2", cols, mixed[1:])  # two parts of other types
    img = stage.take(builder.file())
    assert list(tmp_path.iterdir()) == []  # the stage file is gone once read
    with engine.begin() as conn:
        for table in ("t", "m", "m2", "empty"):
            conn.exec_driver_sql(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, call_id TEXT, n INTEGER, x)")
        stage.attach(conn, img)
        assert [stage.copy(conn, t, cols) for t in ("t", "m", "m2", "empty")] == [4, 2, 2, 0]
        got = conn.exec_driver_sql("SELECT call_id, n, x, typeof(x) FROM t UNION ALL "
                                   "SELECT call_id, n, x, typeof(x) FROM m ORDER BY call_id").all()
        assert conn.exec_driver_sql("SELECT call_id, n, x FROM m2 ORDER BY call_id").all() == mixed
    assert [tuple(r) for r in got] == [("a", 1, 2.5, "real"), ("b", None, None, "null"), ("c", 3, 4.0, "real"),
                                       ("d", 5, "text", "text"), ("e", 6, 7, "integer"), ("f", 8, None, "null")]
    engine.dispose()


def test_an_import_keeps_its_stage_files_in_memory_when_there_is_room(monkeypatch):
    """An import's directory of stage files is in /dev/shm (memory) where it has room for them,
    else in the temporary directory; the directory is named after the process."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    for free, where in ((stage.IMPORT_ROOM * 2, stage.default_directory()), (stage.IMPORT_ROOM // 2, None)):
        real = shutil.disk_usage
        monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=free))
        made = Path(stage.import_directory())
        monkeypatch.undo()
        try:
            assert str(made.parent) == (where or tempfile.gettempdir())
            assert made.name.startswith(f"callmon-import-{os.getpid()}-")
        finally:
            made.rmdir()


def test_the_stage_files_a_killed_import_left_are_removed_wherever_they_are():
    """A directory of stage files whose process is gone is removed by the next import, in
    /dev/shm and in the temporary directory alike (an import takes the latter when the former
    is short of room); a living process's stays."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    places = {stage.default_directory(), tempfile.gettempdir()} - {None}
    left = [Path(tempfile.mkdtemp(prefix=f"callmon-import-{dead}-", dir=place)) for place in places]
    living = Path(tempfile.mkdtemp(prefix=f"callmon-import-{os.getppid()}-", dir=tempfile.gettempdir()))
    made = Path(stage.import_directory())
    try:
        assert not any(d.exists() for d in left) and living.exists()
    finally:
        made.rmdir()
        living.rmdir()
