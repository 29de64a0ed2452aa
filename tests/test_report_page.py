"""The HTML report page (mdrbench.htmlpage): unit tests on the markup, then a real render in headless Chromium.

The browser test skips where Chromium is missing, except under CI=true, where it fails: CI installs Chromium
(.ci/run), so a skip there would hide a page that no longer draws.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from conftest import require_program

from mdrbench.htmlpage import html_figure, html_findings, html_markdown, html_page, html_table

FINDINGS = [
    {"claim": "Normalization helps retrieval", "verdict": "holds", "evidence": "R@1 43.8 vs 6.1"},
    {"claim": "Proxy beats triplet", "verdict": "does not hold", "evidence": "0.71 < 0.74"},
    {"claim": "Classification trains faster", "verdict": "undetermined", "evidence": "no timing <yet>"},
]


def small_frame() -> pd.DataFrame:
    frame = pd.DataFrame({"R@1": [43.81234, np.nan], "AUC": ["0.345 ± 0.012 (0.318)", "<script>alert(1)</script>"],
                          "seeds": [3, 2]}, index=pd.Index(["triplet-norm-full", "proxy-norm-full"], name="config"))
    return frame


# ---------------------------------------------------------------- markup


def test_table_structure_formats_and_escapes():
    text = html_table(small_frame(), caption="Table 1 & more", digits=2)
    assert text.startswith("<table>") and "<thead>" in text and "<tbody>" in text
    assert "<caption>Table 1 &amp; more</caption>" in text
    assert "<th>config</th>" in text and "<th>triplet-norm-full</th>" in text
    assert ">43.81<" in text and "43.812" not in text
    assert "<td class='num'></td>" not in text and "<td></td>" in text  # NaN -> blank cell
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<td>0.345 ± 0.012 (0.318)</td>" in text  # strings kept as given
    assert text.count("<tr>") == 3
    assert "<th>config</th>" not in html_table(small_frame(), index=False)


def test_findings_verdict_badges():
    text = html_findings(FINDINGS)
    for css in ("verdict-holds", "verdict-fails", "verdict-undetermined"):
        assert text.count(css) == 1
    assert text.count("<li>") == 3 and "no timing &lt;yet&gt;" in text
    with pytest.raises(ValueError, match="verdict"):
        html_findings([{"claim": "x", "verdict": "maybe", "evidence": ""}])


def test_page_is_self_contained():
    from plotly.offline import get_plotlyjs

    page = html_page("a <title>", html_figure(go.Figure(go.Bar(x=["a"], y=[1]))))
    assert page.startswith("<!DOCTYPE html>") and "<meta charset='utf-8'>" in page
    assert "<title>a &lt;title&gt;</title>" in page
    assert page.count(get_plotlyjs()) == 1 and page.index(get_plotlyjs()) < page.index("</head>")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.I)  # nothing loaded, remote or local
    assert not re.search(r"<(link|img|iframe)[^>]*(src|href)\s*=\s*['\"]?https?://", page, flags=re.I)
    assert "<table" not in html_figure(go.Figure()) and "Plotly.newPlot" in html_figure(go.Figure())


def test_markdown_subset():
    text = html_markdown("# Title\n\nSome **bold** and `a<b>`\ntext.\n\n## Part\n- one\n- **two**\n### Small\nend")
    assert "<h1>Title</h1>" in text and "<h2>Part</h2>" in text and "<h3>Small</h3>" in text
    assert "<p>Some <strong>bold</strong> and <code>a&lt;b&gt;</code> text.</p>" in text
    assert "<ul>\n<li>one</li>\n<li><strong>two</strong></li>\n</ul>" in text
    assert "<p>end</p>" in text
    assert "<script>" not in html_markdown("<script>x</script> **`<b>`**")


# ---------------------------------------------------------------- browser


def chromium_binary() -> str:
    return require_program(("chromium", "chromium-browser"), "Chromium")


def run_chromium(page: Path, profile: Path, *extra: str) -> str:
    """Open ``page`` in headless Chromium, offline-safe flags, and return its stdout (the DOM with --dump-dom)."""
    command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", *extra, page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


class DrawnFigures(HTMLParser):
    """Collects, per Plotly graph div (by id), the classes of the elements Plotly drew inside it."""

    def __init__(self):
        super().__init__()
        self.stack: list[str | None] = []  # the graph div id each open element belongs to, or None
        self.drawn: dict[str, set[str]] = {}
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        owner = self.stack[-1] if self.stack else None
        if "plotly-graph-div" in classes:
            owner = attrs.get("id")
            self.drawn.setdefault(owner, set())
        elif owner is not None:
            self.drawn[owner] |= classes
        self.tables += tag == "table"
        if tag not in {"meta", "link", "br", "img", "input", "hr", "path", "rect", "image", "line"}:
            self.stack.append(owner)

    def handle_endtag(self, tag):
        if self.stack and tag not in {"meta", "link", "br", "img", "input", "hr", "path", "rect", "image", "line"}:
            self.stack.pop()


def test_page_renders_in_headless_chromium(tmp_path):
    chromium_binary()
    bars = go.Figure(go.Bar(x=["R@1", "R@2", "R@4", "R@8"], y=[12.0, 20.5, 31.2, 44.0], name="ours"))
    bars.update_layout(title="Recall at K")
    heat = go.Figure(go.Heatmap(z=np.arange(12.0).reshape(3, 4), x=["genre", "mood", "instrument", "era"],
                                y=["triplet", "proxy", "classification"], colorscale="Viridis"))
    heat.update_layout(title="Triplet accuracy")
    body = "\n".join([html_markdown("# mdrbench report\n\nA **test** page with `two` figures."),
                      html_table(small_frame(), caption="Table 1"), html_markdown("## Findings"),
                      html_findings(FINDINGS), html_figure(bars), html_figure(heat)])
    page = tmp_path / "report.html"
    page.write_text(html_page("mdrbench report", body), encoding="utf-8")
    figure_ids = re.findall(r'<div id="([^"]+)" class="plotly-graph-div"', body)
    assert len(figure_ids) == 2

    parser = DrawnFigures()
    parser.feed(run_chromium(page, tmp_path / "profile", "--dump-dom"))
    assert parser.tables == 1
    assert set(parser.drawn) == set(figure_ids)
    for figure_id, classes in parser.drawn.items():
        assert "main-svg" in classes, f"figure {figure_id} did not draw: {sorted(classes)[:20]}"
    bar_classes, heat_classes = (parser.drawn[i] for i in figure_ids)
    assert "bars" in bar_classes and "hm" in heat_classes  # a bar trace and a heatmap trace were drawn

    png = tmp_path / "report.png"
    run_chromium(page, tmp_path / "profile", f"--screenshot={png}", "--window-size=1200,1600")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 30_000, f"screenshot is only {png.stat().st_size} bytes"


def test_the_benchmark_report_draws_its_tables_and_figures_offline(tmp_path):
    """report.html as `mdrbench report` writes it (hand-made results), opened in headless Chromium."""

    from test_report import SEEDS, VALUES, fake_result, write_fake_run

    from mdrbench.report import write_report

    chromium_binary()
    for config, (r1, auc, sub, best) in VALUES.items():
        for seed in SEEDS:
            folder = tmp_path / "results" / "runs" / config / f"seed{seed}"
            write_fake_run(folder, fake_result(config, seed, r1 + 0.01 * seed, auc, sub, best))
    write_report(tmp_path / "results")
    page = tmp_path / "results" / "report.html"
    assert not re.search(r"<script[^>]*\bsrc=", page.read_text())  # plotly.js is inline, nothing loads remotely
    parser = DrawnFigures()
    parser.feed(run_chromium(page, tmp_path / "profile", "--dump-dom"))
    assert parser.tables >= 4  # Table 1, the cost table, Table 3, the human-style triplets
    assert len(parser.drawn) == 2 and all("main-svg" in classes for classes in parser.drawn.values())
