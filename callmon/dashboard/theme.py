"""The page around every Dash page: the HTML shell and its style sheet (kept in Python so the
package needs no data files). Sizes follow the viewport, so one page reads on a laptop and on a
wall screen across the room."""

from __future__ import annotations

# amber from ring 2, red from ring 3 (the charter's limit), as on the live page's ringing list
RING_COLOURS = {1: "#2e7d32", 2: "#f29900", 3: "#d32f2f"}
OK, WARN, BAD, INK, MUTED = "#2e7d32", "#f29900", "#d32f2f", "#1f2933", "#616e7c"
# the calls-per-hour bars, answered in ring 1 .. 5, 6+
RING_BUCKET_COLOURS = ["#1b5e20", "#66bb6a", "#f29900", "#e65100", "#c62828", "#6a1b1a"]
FONT = "'Noto Sans KR', 'Noto Sans CJK KR', 'Malgun Gothic', 'Apple SD Gothic Neo', sans-serif"

CSS = f"""
:root {{ --ok: {OK}; --warn: {WARN}; --bad: {BAD}; --ink: {INK}; --muted: {MUTED}; }}
* {{ box-sizing: border-box; }}
html {{ font-size: clamp(14px, 0.55vw + 9px, 26px); }}
body {{ margin: 0; font-family: {FONT}; color: var(--ink); background: #f4f6f8; }}
header.cm-top {{ display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.2rem;
  padding: .5rem 1.2rem; background: #102a43; color: #fff; }}
header.cm-top .cm-brand {{ font-weight: 700; font-size: 1.2rem; margin-right: 1rem; }}
header.cm-top nav {{ display: flex; gap: .3rem; flex-wrap: wrap; }}
header.cm-top a {{ color: #d9e2ec; text-decoration: none; padding: .35rem .8rem; border-radius: .3rem; }}
header.cm-top a.active, header.cm-top a:hover {{ background: #243b53; color: #fff; }}
header.cm-top .cm-user {{ margin-left: auto; display: flex; gap: .8rem; align-items: center; color: #bcccdc; }}
main.cm-main {{ padding: .8rem 1.2rem 2rem; }}
h1 {{ font-size: 1.5rem; margin: .3rem 0 .8rem; }}
h2 {{ font-size: 1.15rem; margin: 1.2rem 0 .5rem; }}
.cm-tiles {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .6rem; }}
.cm-tile {{ background: #fff; border-radius: .5rem; padding: .6rem .8rem; box-shadow: 0 1px 2px #0002; }}
.cm-tile .cm-label {{ color: var(--muted); font-size: .85rem; }}
.cm-tile .cm-value {{ font-size: 2.1rem; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; }}
.cm-tile.bad .cm-value {{ color: var(--bad); }}
.cm-tile.warn .cm-value {{ color: var(--warn); }}
.cm-tile.ok .cm-value {{ color: var(--ok); }}
.cm-row {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: .8rem; }}
.cm-card {{ background: #fff; border-radius: .5rem; padding: .6rem .8rem; box-shadow: 0 1px 2px #0002; overflow-x: auto; }}
table.cm-table {{ border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }}
table.cm-table th, table.cm-table td {{ padding: .3rem .5rem; border-bottom: 1px solid #e4e7eb; text-align: right; white-space: nowrap; }}
table.cm-table th {{ color: var(--muted); font-weight: 600; background: #f8fafc; }}
table.cm-table td:first-child, table.cm-table th:first-child {{ text-align: left; }}
table.cm-table td.text, table.cm-table th.text {{ text-align: left; }}
tr.overdue td {{ color: var(--bad); font-weight: 600; }}
.cm-ringing {{ display: flex; flex-wrap: wrap; gap: .5rem; }}
.cm-ring {{ border-radius: .5rem; padding: .5rem .8rem; color: #fff; background: {RING_COLOURS[1]}; min-width: 12rem; }}
.cm-ring.queued {{ background: #52606d; }}
.cm-ring.r2 {{ background: {RING_COLOURS[2]}; }}
.cm-ring.r3 {{ background: {RING_COLOURS[3]}; }}
.cm-ring .cm-count {{ font-size: 1.8rem; font-weight: 700; }}
.cm-muted {{ color: var(--muted); }}
.cm-bad {{ color: var(--bad); font-weight: 600; }}
.cm-ok {{ color: var(--ok); }}
.cm-form {{ display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }}
.cm-form label {{ display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }}
input.cm-input {{ font-size: 1rem; padding: .3rem .5rem; border: 1px solid #bcccdc; border-radius: .25rem; min-height: 2.2rem; }}
button, .cm-button {{ font-size: 1rem; padding: .35rem .9rem; border-radius: .3rem; border: 1px solid #243b53;
  background: #243b53; color: #fff; cursor: pointer; }}
button.secondary {{ background: #fff; color: #243b53; }}
.cm-filters {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .5rem; align-items: end; }}
.cm-filters label {{ display: flex; flex-direction: column; gap: .15rem; font-size: .85rem; color: var(--muted); }}
.cm-note {{ margin: .4rem 0; }}
.cm-login {{ max-width: 24rem; margin: 10vh auto; background: #fff; padding: 1.5rem; border-radius: .6rem; box-shadow: 0 2px 6px #0003; }}
.cm-login label {{ display: block; margin: .6rem 0 .2rem; color: var(--muted); }}
.cm-login input {{ width: 100%; font-size: 1.1rem; padding: .4rem; }}
.cm-login button {{ margin-top: 1rem; width: 100%; }}
.cm-error {{ color: var(--bad); margin-top: .6rem; }}
.ag-theme-alpine, .ag-root-wrapper {{ --ag-font-size: 0.9rem; --ag-font-family: {FONT}; font-family: {FONT}; }}
.cm-detail {{ display: grid; grid-template-columns: minmax(16rem, auto) 1fr; gap: 1rem; align-items: start; }}
@media (max-width: 900px) {{ .cm-detail {{ grid-template-columns: 1fr; }} }}
.cm-small {{ font-size: .85rem; opacity: .9; }}
"""

INDEX = """<!DOCTYPE html>
<html lang="{%lang%}">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
<style>""" + CSS + """</style>
</head>
<body>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""
