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
            escaped(table).to_excel(xl, sheet_name=SHEETS.get(name, name)[:31], index=False)
        for sheet in xl.book.worksheets:
            for column in sheet.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
                sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width + 2))
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
table { border-collapse: collapse; font-size: 11px; margin: 4px 0 10px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
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
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
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


def _write_pdf(report: Report, path: Path) -> list[Path]:
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="callmon-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(report_html(report), encoding="utf-8")
        target = path.resolve()
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=15000", f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--print-to-pdf={target}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise CallmonError(f"{path}: Chromium did not print the PDF within {PDF_TIMEOUT_S} s") from exc
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise CallmonError(f"{path}: Chromium could not print the PDF (exit {done.returncode}): {' | '.join(tail)}")
    return [path]
