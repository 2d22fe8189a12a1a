"""The monitoring session's report: HTML and PDF to publish, CSV/XLSX of the detail.

What is published holds no personal data: no phone number at all, people as 직원 A, B, ... when
anonymised (the default), no evaluator names. The detail (CSV/XLSX) is for the institution: numbers
masked, every cell that a spreadsheet would read as a formula (leading ``=`` ``+`` ``-`` ``@``,
tab, CR) escaped with a leading apostrophe. The PDF is the HTML printed by headless Chromium.
"""

from __future__ import annotations

import logging
import string
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import pandas as pd

from callmon.core.errors import CallmonError
from callmon.monitoring.scoring import SCORE_RULE, compare as compare_groups
from callmon.read.monitoring import MonitoringView, evaluation_rows, group_rows
from callmon.reporting.writers import escaped, html_to_pdf
from callmon.monitoring.session import SessionScores

log = logging.getLogger(__name__)



def _letters(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = string.ascii_uppercase[r] + out
    return out


@dataclass(frozen=True)
class MonitoringReport:
    """A session's results as they are published, and the detail behind them."""

    session: Mapping[str, Any]
    template_label: str
    generated_at: float
    timezone: str
    anonymised: bool
    institution: Mapping[str, Any]
    teams: pd.DataFrame
    people: pd.DataFrame
    items: pd.DataFrame
    grades: pd.DataFrame
    comparison: pd.DataFrame | None
    compared_with: str | None
    training: pd.DataFrame
    detail: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def meta(self) -> list[tuple[str, Any]]:
        tz = ZoneInfo(self.timezone)
        return [
            ("회차 session", self.session["name"]),
            ("기간 period", self.session["period"]),
            ("양식 template", self.template_label),
            ("점수 산정 scoring rule", SCORE_RULE),
            ("익명 처리 anonymised", "예 yes" if self.anonymised else "아니오 no"),
            ("작성 generated at", datetime.fromtimestamp(self.generated_at, tz).isoformat(timespec="minutes")),
        ]


def build_monitoring_report(mon: MonitoringView, ref: str, now: float, *, anonymise: bool = True,
                            compare: str | None = None) -> MonitoringReport:
    """Score the session as of ``now`` and lay out its report (``compare``: another session,
    e.g. the H1 one, set against it)."""
    scores = mon.scores(ref, now)
    session, template = scores.session, scores.template
    groups = pd.DataFrame(group_rows(scores), columns=["group", "name", "team", "calls", "score", "grade"])
    people = groups[groups["group"] == "person"].sort_values(["score", "name"], ascending=[False, True], na_position="last")
    names = {n: (f"직원 {_letters(i)}" if anonymise else n) for i, n in enumerate(people["name"])}
    evaluators = {ev: (f"평가자 {i}" if anonymise else ev) for i, ev in enumerate(sorted(session["evaluators"]), 1)}

    def who(name: Any) -> Any:
        if not isinstance(name, str):
            return name
        if name not in names:
            names[name] = f"직원 {_letters(len(names))}" if anonymise else name
        return names[name]

    people_t = pd.DataFrame({"직원 person": people["name"].map(who), "팀 team": people["team"],
                             "시험통화 calls": people["calls"], "점수 score": people["score"], "등급 grade": people["grade"]})
    teams = groups[groups["group"] == "team"]
    teams_t = pd.DataFrame({"팀 team": teams["name"], "시험통화 calls": teams["calls"], "점수 score": teams["score"],
                            "등급 grade": teams["grade"]})
    inst = groups[groups["group"] == "institution"].iloc[0].to_dict()
    items_t = _items_table(scores)
    grades_t = (people_t.groupby("등급 grade").size().reindex([g.label for g in template.grades], fill_value=0)
                .rename("인원 people").reset_index())
    comparison, compared_with = None, None
    if compare:
        other = mon.scores(compare, now)
        compared_with = f"{other.session['name']} ({other.session['period']})"
        comparison = pd.DataFrame(compare_groups(other.groups, scores.groups)).rename(columns={
            "group": "구분 group", "name": "이름 name", "first": f"{other.session['period']}",
            "second": f"{session['period']}", "change": "변화 change"})
    training = _training(mon, session, now, who)
    detail = _detail(scores, who, evaluators)
    notes = []
    unscored = [s for s in scores.evaluations if s.score.status != "scored"]
    if unscored:
        notes.append(f"점수 없는 평가 {len(unscored)}건 (매칭 실패·미완료): " + ", ".join(
            f"#{s.evaluation['test_call']} {s.score.status}" for s in unscored))
    if any(s.score.provisional for s in scores.evaluations):
        notes.append("잠정: 기한 전 콜백이 있는 시험통화는 콜백 항목을 제외하고 산정 / provisional: callbacks not yet due")
    return MonitoringReport(session, f"{template.name} v{template.version}", now, mon.config.timezone,
                            anonymise, inst, teams_t, people_t, items_t, grades_t, comparison, compared_with,
                            training, detail, tuple(notes))


def _items_table(scores: SessionScores) -> pd.DataFrame:
    """Per item: on how many test calls it applied and the mean mark (as a percentage)."""
    rows = []
    for item in scores.template.items:
        marks = [r.mark for s in scores.evaluations if s.score.status == "scored"
                 for r in s.score.items if r.key == item.key and r.counted]
        rows.append({"단계 stage": item.stage, "항목 item": item.label, "배점 weight": item.weight,
                     "자동 automatic": "자동" if item.automatic else "", "해당 평가 applied": len(marks),
                     "달성률 achieved %": round(100 * sum(marks) / len(marks), 1) if marks else None})
    return pd.DataFrame(rows)


def _training(mon: MonitoringView, session: Mapping[str, Any], now: float, who) -> pd.DataFrame:
    from callmon.read import Reader
    from callmon.reporting.report import training_rows

    cols = ["직원 employee", "팀 team", "경고 warnings"]
    reader = Reader.open(mon.q.store.url, mon.config, mon.pbx)
    try:
        rows = training_rows(reader, reader.period(session["period"]), now)
    finally:
        reader.close()
    return pd.DataFrame([[who(r["employee"]), r["team"], r["warnings"]] for r in rows], columns=cols)


def _detail(scores: SessionScores, who, evaluators: Mapping[str, str]) -> pd.DataFrame:
    tz = ZoneInfo("UTC")
    rows = []
    keys = [i.key for i in scores.template.items]
    for r, s in zip(evaluation_rows(scores), scores.evaluations):
        items = {x.key: x for x in s.score.items}
        row = {
            "test_call": r["test_call"], "evaluator": evaluators.get(r["evaluator"], r["evaluator"]),
            "version": r["version"], "called_at": datetime.fromtimestamp(r["called_at"], tz).isoformat(),
            "number": r["number"], "match": r["match"], "call_id": r["call_id"],
            "candidates": " ".join(r["candidates"]), "person": who(r["person"]), "team": r["team"],
            "score": r["score"], "grade": r["grade"], "status": r["status"], "provisional": r["provisional"],
        }
        for k in keys:
            x = items.get(k)
            row[k] = None if x is None or not x.counted else x.mark
        row["not_applicable"] = " ".join(r["not_applicable"])
        row["evidence"] = "; ".join(f"{k}: {v}" for k, v in r["evidence"].items())
        row["reason"] = r["reason"]
        row["note"] = s.evaluation.get("note")
        rows.append(row)
    return pd.DataFrame(rows)


# -- writers ------------------------------------------------------------------------------------

def write_monitoring_report(report: MonitoringReport, path: str | Path) -> list[Path]:
    """Write the report in the format the extension names (.html, .pdf, .csv, .xlsx)."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".html": _write_html, ".htm": _write_html, ".pdf": _write_pdf, ".csv": _write_csv, ".xlsx": _write_xlsx}
    if suffix not in writers:
        raise CallmonError(f"{path}: unknown report format {suffix or '(no extension)'!r}; write .html, .pdf, .csv or .xlsx")
    try:
        return writers[suffix](report, path)
    except OSError as exc:
        raise CallmonError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc


def _write_csv(report: MonitoringReport, path: Path) -> list[Path]:
    escaped(report.detail).to_csv(path, index=False, encoding="utf-8-sig")
    return [path]


def _write_xlsx(report: MonitoringReport, path: Path) -> list[Path]:
    meta = pd.DataFrame(report.meta(), columns=["항목 item", "값 value"])
    sheets = {"보고서 report": meta, "상세 detail": report.detail, "팀 teams": report.teams,
              "직원 people": report.people, "항목 items": report.items, "교육 대상 training": report.training}
    if report.comparison is not None:
        sheets["비교 comparison"] = report.comparison
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, df in sheets.items():
            escaped(df).to_excel(xl, sheet_name=name, index=False)
    return [path]


def _charts(report: MonitoringReport) -> list[str]:
    import plotly.graph_objects as go

    font = dict(family="NanumGothic, Noto Sans CJK KR, sans-serif", size=13)
    layout = dict(font=font, height=320, width=760, margin=dict(l=60, r=20, t=50, b=60), template="simple_white")
    figs = []
    t = report.teams
    figs.append(go.Figure(go.Bar(x=t["팀 team"], y=t["점수 score"], text=t["점수 score"], textposition="outside",
                                 marker_color="#2f6fb0"), layout=dict(title="팀별 점수 / score by team",
                                                                       yaxis=dict(range=[0, 105]), **layout)))
    i = report.items.dropna(subset=["달성률 achieved %"])
    tall = {**layout, "height": 60 + 26 * len(i), "margin": dict(l=330, r=40, t=50, b=40)}
    figs.append(go.Figure(go.Bar(y=i["항목 item"], x=i["달성률 achieved %"], orientation="h", marker_color="#4a9a6a",
                                 text=i["달성률 achieved %"], textposition="outside"),
                          layout=dict(title="항목별 달성률 (%) / achievement by item", xaxis=dict(range=[0, 110]),
                                      yaxis=dict(autorange="reversed"), **tall)))
    if report.comparison is not None:
        c = report.comparison
        cols = [col for col in c.columns if col not in ("구분 group", "이름 name", "변화 change")]
        figs.append(go.Figure([go.Bar(name=col, x=c["이름 name"], y=c[col]) for col in cols],
                              layout=dict(title="상·하반기 비교 / compared", barmode="group", yaxis=dict(range=[0, 105]), **layout)))
    first = True
    out = []
    for f in figs:
        out.append(f.to_html(full_html=False, include_plotlyjs=first, config={"staticPlot": True}))
        first = False
    return out


def render_html(report: MonitoringReport) -> str:
    """The report as one self-contained HTML page (charts inline)."""
    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

    def table(df: pd.DataFrame) -> str:
        return df.to_html(index=False, na_rep="-", classes="t", border=0, escape=True)

    from markupsafe import Markup

    return env.from_string(_HTML).render(
        r=report, meta=report.meta(), inst=report.institution,
        charts=[Markup(c) for c in _charts(report)],
        teams=Markup(table(report.teams)), people=Markup(table(report.people)), items=Markup(table(report.items)),
        grades=Markup(table(report.grades)), training=Markup(table(report.training)),
        comparison=Markup(table(report.comparison)) if report.comparison is not None else None)


def _write_html(report: MonitoringReport, path: Path) -> list[Path]:
    path.write_text(render_html(report), encoding="utf-8")
    return [path]


def _write_pdf(report: MonitoringReport, path: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="callmon-report-") as tmp:
        html = Path(tmp) / "report.html"
        _write_html(report, html)
        html_to_pdf(html, path)
    return [path]


_HTML = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<title>{{ r.session.name }} 결과</title>
<style>
 @page { size: A4; margin: 14mm; }
 body { font-family: "NanumGothic", "Noto Sans CJK KR", sans-serif; color: #222; max-width: 800px; margin: auto; }
 h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; border-bottom: 2px solid #2f6fb0; padding-bottom: 3px; margin-top: 26px; }
 .meta td { padding: 2px 10px 2px 0; font-size: 12px; vertical-align: top; }
 .big { font-size: 30px; font-weight: bold; color: #2f6fb0; }
 table.t { border-collapse: collapse; width: 100%; font-size: 12px; }
 table.t th, table.t td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; }
 table.t th { background: #eef3f9; }
 .chart { page-break-inside: avoid; }
 h2 { page-break-after: avoid; break-after: avoid; }
 .note { font-size: 12px; color: #844; }
</style></head><body>
<h1>{{ r.session.name }}</h1>
<table class="meta">{% for k, v in meta %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>기관 종합 / institution</h2>
<p><span class="big">{{ "%.2f"|format(inst.score) if inst.score is not none else "-" }}</span> 점 · 등급 <b>{{ inst.grade or "-" }}</b> · 시험통화 {{ inst.calls }}건</p>
{% for n in r.notes %}<p class="note">{{ n }}</p>{% endfor %}
<div class="chart">{{ charts[0] }}</div>
<h2>팀별 결과 / teams</h2>{{ teams }}
<h2>항목별 결과 / items</h2>
<div class="chart">{{ charts[1] }}</div>{{ items }}
<h2>직원별 결과 / people{% if r.anonymised %} (익명){% endif %}</h2>{{ people }}
<h2>등급 분포 / grades</h2>{{ grades }}
{% if comparison %}<h2>비교: {{ r.compared_with }} / comparison</h2><div class="chart">{{ charts[2] }}</div>{{ comparison }}{% endif %}
<h2>CS 교육 대상 (경고 3회) / CS training list</h2>{{ training }}
</body></html>
"""
