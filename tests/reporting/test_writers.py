"""The report writers on a real capture (j_load, a busy stretch): every format is written;
the PDF (printed by headless Chromium) holds the charts; text cells that a spreadsheet would run
as a formula are escaped in CSV and XLSX; numbers are masked unless the viewer may see them."""

from __future__ import annotations

import re
import subprocess

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from callmon.read import Reader
from callmon.reporting.render import parse_time
from callmon.reporting.report import build_report
from callmon.reporting.writers import escape_formula, write_report
from tests.conftest import SAMPLES, run_cli

AT = "2026-11-30T12:00"
CONFIG = {"pbx": {"timezone": "Asia/Seoul"},
          "directory": {"2001": {"name": "=HYPERLINK(\"http://x\")", "team": "@민원팀"},
                        "2002": {"name": "Lee Agent", "team": "-요금팀"}}}


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """j_load stored, with directory names that look like formulas."""
    tmp = tmp_path_factory.mktemp("writers")
    db = f"sqlite:///{tmp / 'c.db'}"
    cfg = tmp / "c.toml"
    cfg.write_text('[pbx]\ntimezone = "Asia/Seoul"\n[directory]\n"2001" = { name = "=HYPERLINK(\\"http://x\\")", '
                   'team = "@민원팀" }\n"2002" = { name = "Lee Agent", team = "-요금팀" }\n', encoding="utf-8")
    run_cli("ingest", str(SAMPLES / "j_load" / "ami.raw"), "--db", db, "--config", str(cfg))
    from callmon.core.config import load_config

    r = Reader.open(db, load_config(cfg))
    yield r
    r.close()


def _report(reader, full=False):
    viewer = reader.viewer("s", "supervisor", reveal=True) if full else reader.viewer("v", "viewer")
    return build_report(reader, "2026-11", parse_time(AT, reader.tz), viewer)


def test_formula_cells_are_escaped_in_csv_and_xlsx(reader, tmp_path):
    """A name starting with = and teams starting with @ or - come out with a leading apostrophe."""
    report = _report(reader)
    assert "=HYPERLINK" in report.tables["agent"]["agent"].iloc[0] or \
        any(str(a).startswith("=") for a in report.tables["agent"]["agent"])
    write_report(report, tmp_path / "r.csv")
    agents = pd.read_csv(tmp_path / "r-agent.csv", dtype=str)
    teams = pd.read_csv(tmp_path / "r-team.csv", dtype=str)
    assert "'=HYPERLINK(\"http://x\")" in agents["agent"].tolist()
    assert {"'@민원팀", "'-요금팀"} <= set(teams["team"])
    assert not any(v.startswith(("=", "+", "-", "@")) for col in (agents, teams) for v in col.stack())
    write_report(report, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'@민원팀" in cells
    assert not any(v.startswith(("=", "+", "-", "@")) for v in cells)
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    assert escape_formula(-1.5) == -1.5 and escape_formula("Kim") == "Kim"


def test_viewers_exports_hold_masked_numbers_and_a_supervisors_full_ones(reader, tmp_path):
    """The callbacks sheet shows 010-****-NNNN to a viewer, the full number when revealed."""
    masked = _report(reader).tables["callbacks"]["number"].tolist()
    full = _report(reader, full=True).tables["callbacks"]["number"].tolist()
    assert len(masked) == len(full) == 20
    assert all("****" in n for n in masked) and all(n.startswith("+8210") for n in full)
    for fmt in ("csv", "xlsx", "html"):
        files = write_report(_report(reader), tmp_path / f"m.{fmt}")
        text = "".join(f.read_bytes().decode("utf-8", "replace") if fmt != "xlsx" else
                       " ".join(str(c.value) for ws in openpyxl.load_workbook(f).worksheets
                                for row in ws.iter_rows() for c in row) for f in files)
        assert not any(n in text for n in full), fmt
        assert masked[0] in text


def test_html_report_is_self_contained_with_charts_and_trends(reader, tmp_path):
    (path,) = write_report(_report(reader), tmp_path / "r.html")
    page = path.read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == 3 and "<script src=" not in page
    assert "2026-11" in page and "추이 / Trend (institution)" in page and "2026-06" in page  # six months back


def test_pdf_is_printed_by_chromium_with_its_charts(reader, tmp_path):
    """The PDF is non-empty and holds the charts' titles and legends (drawn as vector text)."""
    (path,) = write_report(_report(reader), tmp_path / "r.pdf")
    assert path.read_bytes()[:5] == b"%PDF-" and path.stat().st_size > 20_000
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    for words in ("Answered by ring, per team", "Inbound calls per hour", "per period", "ring 1", "2026-11"):
        assert words in text, words
    assert "010-****-" in text and "+8210" not in text


def test_pdf_tables_have_peoples_headings_and_fit_the_page_width(reader, tmp_path):
    """Every table is headed in Korean with the English in parentheses (no field names), and
    the wide per-group tables are printed whole: their last column is on the page, and no word
    lies past the page's right edge (pdftotext -bbox, as poppler lays the page out)."""
    (path,) = write_report(_report(reader), tmp_path / "r.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    compact = re.sub(r"\s+", "", text)  # the extracted Korean comes with spaces between its syllable groups
    assert "포기율" in compact and "6벨이상" in compact and "기준내응답률" in compact
    for field in ("abandonment_rate", "rings_6plus", "callbacks_resolved", "agent_first_hangups"):
        assert field not in text, field
    wide = [name for name, table in _report(reader).tables.items() if "callbacks_resolved" in table.columns]
    assert len(wide) >= 5
    assert compact.count("고객재통화") >= len(wide)  # the last column of each wide table made it onto the page
    boxes = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', boxes, flags=re.S)
    assert pages
    for width, body in pages:
        right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', body)]
        assert max(right) <= float(width), (max(right), width)


def test_xlsx_sheets_head_their_columns_for_people(reader, tmp_path):
    (path,) = write_report(_report(reader), tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    headings = [c.value for c in wb["기관 institution"][1]]
    assert "포기율 (abandonment rate)" in headings and "6벨 이상 (6+ rings)" in headings
    assert not [h for h in headings if h and re.fullmatch(r"[a-z0-9_]+", h)], headings
