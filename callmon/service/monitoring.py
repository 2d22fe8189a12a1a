"""Monitoring sessions, the write side: create a session, plan its test calls, record
evaluations (one at a time or from an evaluator's CSV/XLSX sheet), and score one as entered
(the form's running score). Reading a session's scores is :mod:`callmon.read.monitoring`.

The domain lives in :mod:`callmon.monitoring` (pure); the tables in
:mod:`callmon.storage.monitoring`.
"""

from __future__ import annotations

import csv
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from callmon.core.errors import CallmonError, InputError
from callmon.metrics.numbers import normalize
from callmon.metrics.warnings import period_bounds
from callmon.monitoring.matching import DEFAULT_WINDOW_S, CallFacts
from callmon.monitoring.sampling import Person, plan
from callmon.monitoring.scoring import parse_mark
from callmon.monitoring.session import ScoredTestCall, facts_of, score_one, span_of
from callmon.monitoring.template import DEFAULT, Template, template_from_toml
from callmon.service.pipeline import Pipeline
from callmon.storage.monitoring import MonitoringQueries

log = logging.getLogger(__name__)

# the sheet's fixed columns; every other column is an item key of the session's template
SHEET_COLUMNS = ("test_call", "evaluator", "called_at", "number", "call_id", "reason", "note")


class MonitoringError(CallmonError):
    """A monitoring request that cannot be carried out (unknown session, evaluator, item...)."""


def _iso(ts: float | None, tz: ZoneInfo) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def _parse_time(text: str, tz: ZoneInfo) -> float:
    dt = datetime.fromisoformat(str(text).strip())
    return (dt if dt.tzinfo else dt.replace(tzinfo=tz)).timestamp()


class Monitoring:
    """Monitoring sessions of one PBX, on the pipeline's store and configuration."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.q = MonitoringQueries(pipeline.store)
        self.tz = pipeline.config.tz

    # -- sessions ------------------------------------------------------------------------------
    def create(self, name: str, period: str, *, evaluators: Mapping[str, Sequence[str]], teams: Sequence[str] = (),
               extensions: Sequence[str] = (), template: Template = DEFAULT, window_s: float = DEFAULT_WINDOW_S,
               created_by: str | None = None) -> dict[str, Any]:
        """Create a session; the template version is stored (once) and kept by the session."""
        if not name.strip():
            raise MonitoringError("a session needs a name")
        try:
            start, end = period_bounds(period, self.tz)
        except ValueError as exc:
            raise MonitoringError(str(exc)) from exc
        if not evaluators:
            raise MonitoringError("a session needs at least one evaluator and the number they call from")
        numbers = {}
        for ev, nums in evaluators.items():
            normal = [normalize(n) for n in nums]
            if not normal or not all(n.startswith("+") for n in normal):
                raise MonitoringError(f"evaluator {ev!r}: give the outside number(s) they call from, got {list(nums)}")
            numbers[ev] = normal
        template_id = self.q.template_id(template.name, template.version, template.to_toml())
        sid = self.q.create_session(pbx=self.pipeline.pbx, name=name.strip(), period=period.strip().upper(),
                                    starts_at=start.timestamp(), ends_at=end.timestamp(), template_id=template_id,
                                    teams=list(teams), extensions=list(extensions), evaluators=numbers,
                                    window_s=float(window_s), created_by=created_by)
        log.info("monitoring session %s created (%s)", sid, name)
        return self.session(str(sid))

    def session(self, ref: str) -> dict[str, Any]:
        """A session by id or name (MonitoringError when there is none)."""
        s = self.q.session(self.pipeline.pbx, str(ref))
        if s is None:
            raise MonitoringError(f"no monitoring session {ref!r} (see: callmon monitor list)")
        return s

    def sessions(self) -> list[dict[str, Any]]:
        return self.q.sessions(self.pipeline.pbx)

    def template(self, session: Mapping[str, Any]) -> Template:
        """The template version the session was created with."""
        return template_from_toml(self.q.template_body(session["template_id"]))

    # -- planning ------------------------------------------------------------------------------
    def people(self, session: Mapping[str, Any]) -> list[Person]:
        """Everyone in scope: the session's extensions, and the directory's people of its teams."""
        directory = self.pipeline.config.directory
        out = {}
        for ext, emp in directory.items():
            if emp.team and emp.team in session["teams"]:
                out[ext] = Person(ext, emp.name, emp.team)
        for ext in session["extensions"]:
            emp = directory.get(ext)
            out[ext] = Person(ext, emp.name if emp else ext, (emp.team if emp else None) or "-")
        return sorted(out.values(), key=lambda p: (p.team, p.extension))

    def plan(self, ref: str, seed: int, *, per_person: int | None = None, per_team: int | None = None) -> list[dict[str, Any]]:
        """Plan (or plan again, before any evaluation) the session's test calls."""
        session = self.session(ref)
        try:
            planned = plan(self.people(session), sorted(session["evaluators"]), seed,
                           per_person=per_person, per_team=per_team)
        except ValueError as exc:
            raise MonitoringError(str(exc)) from exc
        rows = [{"seq": p.seq, "team": p.team, "extension": p.extension, "agent": p.agent, "evaluator": p.evaluator,
                 "seed": seed} for p in planned]
        self.q.replace_plan(session["id"], rows)
        return self.q.plan(session["id"])

    # -- evaluations ---------------------------------------------------------------------------
    def _evaluation_row(self, session: Mapping[str, Any], template: Template, planned: Mapping[str, Mapping],
                        raw: Mapping[str, Any], *, author: str, source: str) -> dict[str, Any]:
        """Check one evaluation as entered; ValueError says what is wrong."""
        evaluator = str(raw.get("evaluator") or "").strip()
        if evaluator not in session["evaluators"]:
            raise ValueError(f"unknown evaluator {evaluator!r} (session: {', '.join(sorted(session['evaluators']))})")
        test_call = str(raw.get("test_call") or "").strip()
        if not test_call:
            raise ValueError("test_call is missing")
        if planned and test_call not in planned:
            raise ValueError(f"test call {test_call!r} is not in the session's plan (1..{len(planned)})")
        previous = self.q.latest_evaluation(session["id"], test_call, evaluator)
        if raw.get("called_at"):
            try:
                called_at = _parse_time(str(raw["called_at"]), self.tz)
            except ValueError:
                raise ValueError(f"called_at is not an ISO date/time: {raw['called_at']!r}") from None
        elif previous is not None:  # a correction keeps what it does not change
            called_at = previous["called_at"]
        else:
            raise ValueError("called_at (when the test call was made) is missing")
        if not session["starts_at"] <= called_at < session["ends_at"]:
            raise ValueError(f"called_at {_iso(called_at, self.tz)} is outside the session's period {session['period']}")
        own = session["evaluators"][evaluator]
        if raw.get("number"):
            number = normalize(str(raw["number"]).strip())
        elif previous is not None:
            number = previous["number"]
        elif len(own) == 1:
            number = own[0]
        else:
            raise ValueError(f"number is missing: {evaluator} calls from {len(own)} numbers, say which one")
        marks: dict[str, float | None] = {}
        for key, value in (raw.get("marks") or {}).items():
            if value is None or str(value).strip() == "":
                continue
            try:
                item = template.item(key)
            except KeyError:
                raise ValueError(f"no item {key!r} in template {template.name!r} v{template.version}") from None
            if item.automatic:
                raise ValueError(f"item {key!r} is filled from the call record, not by the evaluator")
            try:
                marks[key] = parse_mark(value)
            except ValueError as exc:
                raise ValueError(f"item {key!r}: {exc}") from None
        call_id = (str(raw.get("call_id")).strip() or None) if raw.get("call_id") else None
        if call_id is None and previous is not None:
            call_id = previous["call_id"]
        return {"test_call": test_call, "evaluator": evaluator, "number": number, "called_at": called_at,
                "call_id": call_id,
                "marks": marks, "note": raw.get("note") or None, "reason": raw.get("reason") or None,
                "author": author, "source": source}

    def evaluate(self, ref: str, raw: Mapping[str, Any], *, author: str, source: str = "cli") -> dict[str, Any]:
        """Record one evaluation (a correction when the test call was already evaluated by this
        evaluator: it needs ``reason``). Returns the stored row with its version."""
        session = self.session(ref)
        template = self.template(session)
        planned = {str(p["seq"]): p for p in self.q.plan(session["id"])}
        try:
            row = self._evaluation_row(session, template, planned, raw, author=author, source=source)
        except ValueError as exc:
            raise MonitoringError(str(exc)) from exc
        return self.q.add_evaluations(session["id"], [row])[0]

    def import_sheet(self, ref: str, path: str | Path, *, author: str) -> list[dict[str, Any]]:
        """Import an evaluator's sheet (CSV or XLSX; one row per test call: the columns of
        :data:`SHEET_COLUMNS` and one column per item). All rows or none: the first bad row
        raises :class:`InputError` with the file and line."""
        path = Path(path)
        session = self.session(ref)
        template = self.template(session)
        planned = {str(p["seq"]): p for p in self.q.plan(session["id"])}
        rows = []
        for line, raw in read_sheet(path):
            fixed = {k: raw.get(k) for k in SHEET_COLUMNS}
            fixed["marks"] = {k: v for k, v in raw.items() if k not in SHEET_COLUMNS}
            try:
                rows.append(self._evaluation_row(session, template, planned, fixed, author=author,
                                                 source=f"{path.name}:{line}"))
            except ValueError as exc:
                raise InputError(str(exc), file=str(path), line=line) from None
        if not rows:
            raise InputError("no evaluations in the sheet", file=str(path))
        stored = self.q.add_evaluations(session["id"], rows)
        log.info("%s: %d evaluation(s) imported into monitoring session %s", path.name, len(stored), session["id"])
        return stored

    def preview(self, ref: str, raw: Mapping[str, Any], now: float) -> ScoredTestCall:
        """Score an evaluation as entered, without storing it (the form's running score)."""
        session = self.session(ref)
        template = self.template(session)
        planned = {str(p["seq"]): p for p in self.q.plan(session["id"])}
        try:
            e = self._evaluation_row(session, template, planned, raw, author="", source="preview")
        except ValueError as exc:
            raise MonitoringError(str(exc)) from exc
        return score_one(session, template, e, planned, self._facts(session, [e], now), now,
                         iso=lambda t: _iso(t, self.tz))

    def history(self, ref: str) -> list[dict[str, Any]]:
        """Every version of every evaluation of the session (corrections included)."""
        return self.q.evaluations(self.session(ref)["id"], latest=False)

    # -- what test calls are matched with ----------------------------------------------------
    def _facts(self, session: Mapping[str, Any], evaluations: Sequence[Mapping[str, Any]], now: float) -> list[CallFacts]:
        numbers, since, until = span_of(evaluations, session["window_s"])
        calls, callbacks = self.q.scoring_rows(self.pipeline.pbx, numbers, since, until)
        return facts_of(calls, callbacks, session["window_s"], now)


def read_sheet(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line, row) of an evaluator's sheet; the header is line 1. CSV (UTF-8, with or without
    BOM) or XLSX (the first sheet). Blank rows are skipped."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                header = [h.strip().lower() for h in next(reader, [])]
                _check_header(header, path)
                for line, values in enumerate(reader, 2):
                    if any(v.strip() for v in values):
                        if len(values) > len(header):
                            raise InputError(f"{len(values)} columns, the header has {len(header)}", file=str(path), line=line)
                        yield line, dict(zip(header, (v.strip() for v in values)))
        elif suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            rows = wb.worksheets[0].iter_rows(values_only=True)
            header = [str(h or "").strip().lower() for h in next(rows, ())]
            _check_header(header, path)
            for line, values in enumerate(rows, 2):
                cells = [_cell(v) for v in values]
                if any(cells):
                    yield line, dict(zip(header, cells))
        else:
            raise InputError("an evaluator sheet is a .csv or .xlsx file", file=str(path))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", file=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    except InputError:
        raise
    except Exception as exc:  # openpyxl's errors for a damaged workbook have no common base
        raise InputError(f"not a readable spreadsheet: {exc}", file=str(path)) from exc


def _cell(v: Any) -> str:
    """An XLSX cell as the sheet's text: dates in ISO, whole numbers without ``.0`` (test call 3)."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _check_header(header: list[str], path: Path) -> None:
    missing = [c for c in ("test_call", "evaluator", "called_at") if c not in header]
    if missing:
        raise InputError(f"the header lacks column(s) {', '.join(missing)}", file=str(path), line=1)
