"""A self-contained HTML page for the benchmark report: tables, findings, text and Plotly figures.

Plain functions, numbers in and strings out, no template engine and no new dependency::

    body = html_markdown("# Results") + html_table(frame, caption="Table 1") + html_figure(figure)
    Path("report.html").write_text(html_page("mdrbench report", body), encoding="utf-8")

``html_page`` embeds plotly.js inline (once, in the head) and the figures from ``html_figure`` do not carry
their own copy, so the page renders with no network at all. Every piece of text is escaped with
``html.escape``; only the markup these functions write themselves reaches the page unescaped.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

VERDICTS = {"holds": "verdict-holds", "does not hold": "verdict-fails", "holds in part": "verdict-partly",
            "undetermined": "verdict-undetermined"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; line-height: 1.5;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1, h2, h3 { line-height: 1.2; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; font-size: 90%; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; }
thead th { background: #e9eef4; } tbody th { text-align: left; font-weight: 600; }
tbody tr:nth-child(even) { background: #f7f9fb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.findings { list-style: none; padding: 0; }
ul.findings li { margin: .6em 0; display: grid; grid-template-columns: 8.5em 1fr; column-gap: .6em; }
.badge { text-align: center; padding: .1em .5em; border-radius: 4px; color: #fff; font-size: 13px;
         font-weight: 600; align-self: start; margin-top: .15em; }
.verdict-holds { background: #2e7d32; } .verdict-fails { background: #c62828; }
.verdict-undetermined { background: #757575; } .verdict-partly { background: #9e7b00; }
.evidence { color: #555; font-size: 14px; }
.figure { margin: 1em 0; }
"""


def _cell(value, digits: int) -> tuple[str, bool]:
    """One table cell as (escaped text, is-a-number); floats get ``digits`` decimals, missing values are blank."""
    if isinstance(value, str):
        return html.escape(value), False
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return "", False
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}f}", True
    return html.escape(str(value)), isinstance(value, int | np.integer)


def html_table(frame: pd.DataFrame, caption: str | None = None, digits: int = 3, index: bool = True) -> str:
    """``frame`` as a ``<table>`` with a ``<thead>`` and a ``<tbody>``.

    Floats are written with ``digits`` decimals and NaN as an empty cell; strings (such as the report's
    ``"0.345 ± 0.012 (0.318)"``) are kept as given, escaped. With ``index`` the index is the first column,
    as row headers.
    """
    parts = ["<table>"]
    if caption is not None:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    names = [str(c) for c in frame.columns]
    if index:
        names.insert(0, "" if frame.index.name is None else str(frame.index.name))
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr></thead>")
    parts.append("<tbody>")
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = []
        if index:
            cells.append(f"<th>{_cell(label, digits)[0]}</th>")
        for value in row:
            text, number = _cell(value, digits)
            cells.append(f"<td class='num'>{text}</td>" if number else f"<td>{text}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def html_figure(figure) -> str:
    """A Plotly figure as a ``<div>`` plus the ``<script>`` that draws it, without a copy of plotly.js.

    The page must load plotly.js once itself: ``html_page`` does.
    """
    return f"<div class='figure'>{figure.to_html(full_html=False, include_plotlyjs=False)}</div>"


def html_findings(findings: list[dict]) -> str:
    """Findings as a list, each with its verdict as a coloured badge (holds green, does not hold red,
    undetermined grey).

    Each finding is a dict with ``claim``, ``verdict`` (one of ``VERDICTS``) and ``evidence``.
    """
    items = []
    for finding in findings:
        verdict = finding["verdict"]
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {sorted(VERDICTS)}, not {verdict!r}")
        pairs = finding.get("pairs")
        if pairs:  # one line per like-for-like pair, with its own verdict and power
            detail = "".join(f"<li><span class='badge {VERDICTS[p['verdict']]}'>{html.escape(p['verdict'])}</span> "
                             f"{html.escape(p['text'])}</li>" for p in pairs)
            detail = f"<ul class='evidence'>{detail}</ul>"
        else:
            detail = f"<div class='evidence'>{html.escape(finding['evidence'])}</div>"
        items.append(f"<li><span class='badge {VERDICTS[verdict]}'>{html.escape(verdict)}</span>"
                     f"<div>{html.escape(finding['claim'])}{detail}</div></li>")
    return "<ul class='findings'>\n" + "\n".join(items) + "\n</ul>"


def _inline(text: str) -> str:
    """Escape ``text``, then turn ``code`` spans and **bold** into tags (no bold inside code)."""
    pieces = re.split(r"`([^`]+)`", text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(f"<code>{html.escape(piece)}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(piece)))
    return "".join(out)


def html_markdown(text: str) -> str:
    """A small markdown subset as HTML: ``#``/``##``/``###`` headings, ``- `` bullet lists, paragraphs
    (separated by blank lines), ``**bold**`` and ```code```. Everything else is text, escaped.
    """
    blocks, paragraph, bullets = [], [], []

    def flush():
        if paragraph:
            blocks.append("<p>" + _inline(" ".join(paragraph)) + "</p>")
            paragraph.clear()
        if bullets:
            blocks.append("<ul>\n" + "\n".join(f"<li>{_inline(b)}</li>" for b in bullets) + "\n</ul>")
            bullets.clear()

    for line in text.splitlines():
        stripped = line.strip()
        heading = re.match(r"(#{1,3}) (.*)", stripped)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2).strip())}</h{level}>")
        elif stripped.startswith("- "):
            if paragraph:
                flush()
            bullets.append(stripped[2:])
        elif not stripped:
            flush()
        elif bullets:  # a continuation line of the last bullet
            bullets[-1] += " " + stripped
        else:
            paragraph.append(stripped)
    flush()
    return "\n".join(blocks)


def html_page(title: str, body: str) -> str:
    """A complete HTML5 document around ``body`` with inline CSS and plotly.js inline in the head, so that it
    renders offline. ``body`` is HTML (from the functions above); ``title`` is text.
    """
    from plotly.offline import get_plotlyjs

    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n"
            f"<script type='text/javascript'>{get_plotlyjs()}</script>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
