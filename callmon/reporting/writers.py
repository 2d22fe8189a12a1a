"""Writes a :class:`~callmon.reporting.report.Report`, chosen by the file's extension.

- ``.xlsx``: one workbook; the first sheet states the period and the rule set, then one sheet
  per table (openpyxl).
- ``.csv``: one file per table, so each stays a plain rectangle for pandas or a spreadsheet:
  ``FILE.csv`` holds the institution's figures with the period and the rule set in its first
  columns, ``FILE-agent.csv``, ``FILE-team.csv``, ... the other tables next to it.
- ``.html``: one self-contained page (the charts drawn by plotly.js, included), tables and trends.
- ``.pdf``: that page printed by headless Chromium (``--print-to-pdf``), charts included.

In CSV and XLSX a text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) is written with a leading apostrophe, so a spreadsheet never runs it as a formula
(OWASP "CSV injection"); the numbers in them are masked unless the report was built for a role
that may see them.
"""

from __future__ import annotations

import html
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment

from callmon.core.errors import CallmonError
from callmon.reporting.report import Report

log = logging.getLogger(__name__)

# sheet names: Korean first, English second (Excel allows 31 characters, no / \ ? * [ ] :)
SHEETS = {
    "summary": "기관 institution",
    "agent": "상담원 agents",
    "team": "팀 teams",
    "queue": "대기열 queues",
    "hour": "시간대 hours",
    "day": "일자 days",
    "callbacks": "콜백 callbacks",
    "training": "교육 대상 training",
}
# column headings of the HTML, PDF and XLSX reports: Korean first, English in parentheses (the
# CSV keeps the field names, for programs)
LABELS = {
    "scope": "범위 (scope)", "calls": "수신 (calls)", "answered": "응답 (answered)", "abandoned": "포기 (abandoned)",
    "abandonment_rate": "포기율 (abandonment rate)", "ring_pass": "기준 내 응답 (within ring limit)",
    "ring_fail": "기준 초과 (past ring limit)", "ring_rate": "기준 내 응답률 (ring rate)",
    "rings_1": "1벨 (1 ring)", "rings_2": "2벨 (2 rings)", "rings_3": "3벨 (3 rings)", "rings_4": "4벨 (4 rings)",
    "rings_5": "5벨 (5 rings)", "rings_6plus": "6벨 이상 (6+ rings)", "avg_rings": "평균 벨 수 (avg rings)",
    "avg_ring_seconds": "평균 대기 초 (avg ring s)", "p90_ring_seconds": "90% 대기 초 (p90 ring s)",
    "outbound": "발신 (outbound)", "agent_first_hangups": "상담원 먼저 끊음 (agent hung up first)",
    "callbacks_due": "콜백 대상 (callbacks due)", "callbacks_met": "기한 내 회신 (met)",
    "callbacks_late": "기한 후 회신 (late)", "callbacks_overdue": "기한 초과 미회신 (overdue)",
    "callbacks_open": "회신 대기 (open)", "callbacks_resolved": "고객 재통화 해결 (resolved by customer)",
    "agent": "상담원 (agent)", "team": "팀 (team)", "queue": "대기열 (queue)", "hour": "시간대 (hour)",
    "day": "일자 (day)", "rang": "울림 (rang)", "warnings": "경고 (warnings)", "callback_id": "콜백 번호 (id)",
    "number": "전화번호 (number)", "missed_call_ids": "부재 통화 (missed calls)",
    "first_missed_at": "첫 부재 (first missed)", "due_at": "기한 (due)", "status": "상태 (status)",
    "fulfilled_at": "회신 시각 (called back)", "fulfilled_by_call_id": "회신 통화 (callback call)",
    "fulfilled_by_agent": "회신자 (by)", "name": "이름 (name)", "purpose": "용건 (purpose)",
    "cancel_reason": "취소 사유 (cancel reason)", "employee": "직원 (employee)", "period": "기간 (period)",
    "reached_at": "도달 시각 (reached at)", "call_ids": "통화 (calls)",
}
WIDE = 12  # a table of more columns than this is printed in a smaller font


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its columns headed for people (:data:`LABELS`; an unknown one as named).

    >>> list(labelled(pd.DataFrame(columns=["ring_rate", "rings_6plus", "x"])).columns)
    ['기준 내 응답률 (ring rate)', '6벨 이상 (6+ rings)', 'x']
    """
    return table.rename(columns=lambda c: LABELS.get(str(c), c))


REPORT_SHEET = "보고서 report"
FORMATS = (".xlsx", ".csv", ".html", ".htm", ".pdf")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHROMIUM_ENV = "CALLMON_CHROMIUM"
PDF_TIMEOUT_S = 120


def escape_formula(value):
    """A text cell that a spreadsheet would read as a formula, with a leading apostrophe.

    >>> escape_formula("=HYPERLINK(1)"), escape_formula("+821012345678"), escape_formula("Kim"), escape_formula(-3)
    ("'=HYPERLINK(1)", "'+821012345678", 'Kim', -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def escaped(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell passed through :func:`escape_formula`."""
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(escape_formula)
    out.columns = [escape_formula(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def check_format(path: str | Path) -> str:
    """The format a path's extension names, or a clear error for one this writer does not know."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise CallmonError(f"{path}: unknown report format {suffix or '(no extension)'!r}; "
                           "write .xlsx, .csv, .html or .pdf")
    return suffix


def write_report(report: Report, path: str | Path) -> list[Path]:
    """Write the report where ``path`` says, in the format its extension names; return the files."""
    path = Path(path)
    suffix = check_format(path)
    writers = {".xlsx": _write_xlsx, ".csv": _write_csv, ".html": _write_html, ".htm": _write_html,
               ".pdf": _write_pdf}
    try:
        return writers[suffix](report, path)
    except OSError as exc:
        raise CallmonError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc


def _write_xlsx(report: Report, path: Path) -> list[Path]:
    meta = pd.DataFrame([(heading, value) for _, heading, value in report.meta()], columns=["항목 item", "값 value"])
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        escaped(meta).to_excel(xl, sheet_name=REPORT_SHEET, index=False)
        for name, table in report.tables.items():
            escaped(labelled(table)).to_excel(xl, sheet_name=SHEETS.get(name, name)[:31], index=False)
        for sheet in xl.book.worksheets:
            for column in sheet.columns:
                # the values' width; a long heading wraps (over two or three lines) rather than widen it
                width = max((len(str(c.value)) for c in column[1:] if c.value is not None), default=0)
                heading = len(str(column[0].value or ""))
                sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width + 2, (heading + 2) // 2))
                column[0].alignment = Alignment(wrap_text=True, vertical="top")
    return [path]


def _write_csv(report: Report, path: Path) -> list[Path]:
    written = []
    meta = {key: value for key, _, value in report.meta()}
    for name, table in report.tables.items():
        if name == "summary":
            target = path
            table = table.assign(**meta)[[*meta, *table.columns]]
        else:
            target = path.with_name(f"{path.stem}-{name}{path.suffix}")
        escaped(table).to_csv(target, index=False, encoding="utf-8-sig")  # the BOM: Excel reads Korean right
        written.append(target)
    return written


# -- HTML and PDF -----------------------------------------------------------------------------------

_CSS = """
body { font-family: "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 22px 0 6px; border-bottom: 2px solid #1565c0; }
table { border-collapse: collapse; font-size: 11px; margin: 4px 0 10px; max-width: 100%; }
table.wide { width: 100%; font-size: 8px; table-layout: auto; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { white-space: normal; word-break: keep-all; vertical-align: bottom; }
td { overflow-wrap: break-word; } table.wide th, table.wide td { padding: 2px 3px; }
thead { display: table-header-group; } tr { page-break-inside: avoid; }
th { background: #e3f2fd; } td:first-child, th:first-child { text-align: left; }
.meta td { text-align: left; } .chart { page-break-inside: avoid; margin: 8px 0; }
.note { color: #555; font-size: 11px; }
@page { size: A4 landscape; margin: 12mm; }
"""
TITLES = {
    "summary": "기관 / Institution", "team": "팀별 / Per team", "agent": "상담원별 / Per agent",
    "queue": "대기열별 / Per queue", "hour": "시간대별 / Per hour", "day": "일자별 / Per day",
    "callbacks": "콜백 / Callbacks", "training": "CS 교육 대상 / CS training",
    "trend_institution": "추이 / Trend (institution)", "trend_team": "추이 / Trend (per team)",
}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"
    return str(value)


def _table(table: pd.DataFrame, css: str = "") -> str:
    """An HTML table with people's headings; a wide one in a smaller font across the page."""
    if len(table.columns) > WIDE:
        css = f"{css} wide".strip()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in labelled(table).columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def report_html(report: Report) -> str:
    """The report as one self-contained HTML page: what it states about itself, the charts
    (plotly.js included once), every table and the trends."""
    from callmon.reporting import charts

    figures = [charts.rings_by_group(report.tables["team"], "team", "팀별 응답 벨 수 / Answered by ring, per team"),
               charts.hourly(report.tables["hour"], "시간대별 수신 / Inbound calls per hour")]
    if report.trends:
        figures.insert(0, charts.trend(report.trends.get("institution", pd.DataFrame()), report.trends.get("team"),
                                       "3벨 전 응답률 추이 / Answered before the limit ring, per period (%)"))
    parts = []
    for i, fig in enumerate(figures):
        parts.append('<div class="chart">' + fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False,
                                                         config={"staticPlot": True, "displayModeBar": False})
                     + "</div>")
    meta = pd.DataFrame([(heading, value) for _, heading, value in report.meta()], columns=["항목 item", "값 value"])
    sections = [f"<h1>callmon 전화응대 보고서 / charter report — {html.escape(report.period.label)}</h1>",
                _table(meta, "meta")]
    if report.masked:
        sections.append('<p class="note">전화번호는 가려져 있습니다 / phone numbers are masked.</p>')
    sections += ["<h2>도표 / Charts</h2>", *parts]
    for name, table in report.tables.items():
        sections.append(f"<h2>{html.escape(TITLES.get(name, name))}</h2>{_table(table)}")
    for name, table in report.trends.items():
        sections.append(f"<h2>{html.escape(TITLES.get('trend_' + name, name))}</h2>{_table(table)}")
    return ("<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\">"
            f"<title>callmon {html.escape(report.period.label)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(sections) + "</body></html>")


def _write_html(report: Report, path: Path) -> list[Path]:
    path.write_text(report_html(report), encoding="utf-8")
    return [path]


def chromium() -> str:
    """The Chromium to print PDFs with: ``$CALLMON_CHROMIUM``, else chromium on the PATH."""
    for candidate in (os.environ.get(CHROMIUM_ENV), os.environ.get("CALLMON_TEST_CHROMIUM"), "chromium",
                      "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise CallmonError("PDF reports are printed by Chromium: install it (Debian: apt-get install chromium) "
                       f"or set {CHROMIUM_ENV}")


def html_to_pdf(page: Path, path: Path) -> None:
    """Print an HTML file to PDF with headless Chromium (the page's own CSS, charts drawn): the one
    print command of every report."""
    with tempfile.TemporaryDirectory(prefix="callmon-pdf-") as tmp:
        target = path.resolve()
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=15000", f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--print-to-pdf={target}", page.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise CallmonError(f"{path}: Chromium did not print the PDF within {PDF_TIMEOUT_S} s") from exc
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise CallmonError(f"{path}: Chromium could not print the PDF (exit {done.returncode}): {' | '.join(tail)}")


def _write_pdf(report: Report, path: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="callmon-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(report_html(report), encoding="utf-8")
        html_to_pdf(page, path)
    return [path]
