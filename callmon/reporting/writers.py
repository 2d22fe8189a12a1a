"""Writes a :class:`~callmon.reporting.report.Report`, chosen by the file's extension.

- ``.xlsx``: one workbook; the first sheet states the period and the rule set, then one sheet
  per table (openpyxl).
- ``.csv``: one file per table, so each stays a plain rectangle for pandas or a spreadsheet:
  ``FILE.csv`` holds the institution's figures with the period and the rule set in its first
  columns, ``FILE-agent.csv``, ``FILE-team.csv``, ... the other tables next to it.
- ``.html``/``.pdf`` come with the dashboard; until then they are refused with a clear error.
"""

from __future__ import annotations

import logging
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
LATER = (".html", ".htm", ".pdf")


def write_report(report: Report, path: str | Path) -> list[Path]:
    """Write the report where ``path`` says, in the format its extension names; return the files."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".xlsx": _write_xlsx, ".csv": _write_csv}
    if suffix in LATER:
        raise CallmonError(f"{path}: {suffix[1:].upper()} reports come with the dashboard and are not available "
                           "yet; write .xlsx or .csv")
    if suffix not in writers:
        raise CallmonError(f"{path}: unknown report format {suffix or '(no extension)'!r}; write .xlsx or .csv")
    try:
        return writers[suffix](report, path)
    except OSError as exc:
        raise CallmonError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc


def _write_xlsx(report: Report, path: Path) -> list[Path]:
    meta = pd.DataFrame([(heading, value) for _, heading, value in report.meta()], columns=["항목 item", "값 value"])
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        meta.to_excel(xl, sheet_name=REPORT_SHEET, index=False)
        for name, table in report.tables.items():
            table.to_excel(xl, sheet_name=SHEETS.get(name, name)[:31], index=False)
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
        table.to_csv(target, index=False, encoding="utf-8-sig")  # the BOM: Excel reads Korean right
        written.append(target)
    return written
