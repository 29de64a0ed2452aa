"""The course site: every notebook and its solutions, executed, as static HTML pages that work offline.

``mdrbench course --out DIR`` executes each notebook of the checkout's ``notebooks/`` (and ``notebooks/solutions/``)
with nbclient, in the notebook's own folder, into ``DIR/executed/``, then renders the executed copies with
nbconvert's ``HTMLExporter``; ``--executed FOLDER`` renders notebooks already executed elsewhere instead (CI executes
them once, with ``nbmake --overwrite``). The site::

    DIR/index.html                             the course map: title, objectives, prerequisites, time of each notebook
    DIR/NN_name.html                           a notebook with its outputs
    DIR/solutions/NN_name_solutions.html       its worked solutions
    DIR/glossary.html                          docs/glossary.md
    DIR/_static/plotly.min.js                  ONE copy of plotly.js, from the installed plotly package
    DIR/_static/notebook.css, course.css, course.js
    DIR/site.json                              what each page holds (figures, audio players), for the browser test

Nothing is loaded from the network: every page loads ``_static/plotly.min.js`` with a relative ``<script src>``,
each Plotly output (``application/vnd.plotly.v1+json``) becomes a ``<div>`` that ``course.js`` draws with
``Plotly.newPlot`` from the figure's JSON, and the outputs that would need a CDN, require.js or a kernel are
dropped: the HTML that loads plotly.js beside a figure's JSON, and ipywidgets views (a short note says the widget
needs a running notebook; the static outputs the notebooks print beside their widgets stay). Audio players are
``<audio>`` elements with data URIs and stay inline. Formulas stay as their TeX source (MathJax would come from a
CDN). A page that would still load a remote resource, or a notebook with an error output, stops the build with one
line naming the notebook, the cell and the fix.

The course map reads each notebook's header (its markdown cells before the first code cell): the title is the first
``# `` heading, and the lines ``**Objectives:**``, ``**Prerequisites:**`` and ``**Time:**`` (or such a label, or a
``## Objectives`` heading, followed by a list) give the rest. A field a notebook does not state is shown as not
stated, never filled in.
"""

from __future__ import annotations

import copy
import fnmatch
import html
import json
import posixpath
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from mdrbench.errors import MdrbenchError

__all__ = [
    "CDN_PATTERN",
    "CourseError",
    "Header",
    "PAPER_URL",
    "REMOTE_RESOURCE",
    "Site",
    "build_site",
    "execute_notebooks",
    "find_notebooks",
    "read_header",
]

PAPER_URL = "https://arxiv.org/abs/2008.03729"
PAPER = ("Lee, Bryan, Salamon, Jin and Nam, Metric learning vs classification for disentangled music representation "
         "learning, ISMIR 2020 (arXiv 2008.03729)")
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
SOLUTIONS = "solutions"
SOLUTION_SUFFIX = "_solutions"
EXECUTED = "executed"  # DIR/executed/: the notebooks this build executed
STATIC = "_static"
MANIFEST = "site.json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
COLAB_TAG = "mdrbench-colab"  # the generated badge and install cells (mdrbench.colab); replaced by the nav's links
# A page must not load anything from another host: no script, stylesheet, image, frame or media from a URL.
REMOTE_RESOURCE = re.compile(r"<(?:script|link|img|iframe|audio|video|source|embed)\b[^>]*\b(?:src|href)\s*=\s*"
                             r"[\"']?(?:https?:)?//", flags=re.IGNORECASE)
# What nbconvert's and plotly's defaults load from the network (the tests look for these in every page).
CDN_PATTERN = re.compile(r"cdn\.plot\.ly|cdnjs\.cloudflare\.com|unpkg\.com|jsdelivr|require(?:\.min)?\.js|"
                         r"html-manager|embed-amd", flags=re.IGNORECASE)
WIDGET_NOTE = ("<div class='mdr-widget-note'>An interactive widget was here: it needs a running notebook, so this "
               "static page cannot show it. Open the notebook in JupyterLab, Binder or Colab to use it.</div>")
MISSING = "<span class='mdr-missing'>not stated in the notebook</span>"
# The header labels the course map reads, lower case, without the colon.
FIELDS = {
    "objectives": ("objectives", "learning objectives", "objective", "you will learn", "goals"),
    "prerequisites": ("prerequisites", "prerequisite", "before this", "before you start", "requires"),
    "time": ("time",),
}
_LABEL = re.compile(r"^\*\*(?P<label>[^*]+?)\*\*:?\s*(?P<rest>.*)$", flags=re.S)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


class CourseError(MdrbenchError, ValueError):
    """A problem with the notebooks or the options of the course build: one line, what and the fix."""


# ------------------------------------------------------------------------------------------- the notebooks


def _is_solution(path: Path) -> bool:
    return path.stem.endswith(SOLUTION_SUFFIX)


def _order(path: Path) -> tuple:
    stem = path.stem.removesuffix(SOLUTION_SUFFIX)
    return stem[:2], stem, _is_solution(path)


def find_notebooks(folder: Path, only: str | None = None) -> list[Path]:
    """The notebooks ``NN_name.ipynb`` of ``folder`` and ``folder/solutions``, in course order (each notebook, then
    its solutions); ``only``: a glob of notebook names (``0[01]_*``, ``05_*``; comma-separated for several)."""
    folder = Path(folder)
    found = [*folder.glob(NOTEBOOK_GLOB), *(folder / SOLUTIONS).glob(NOTEBOOK_GLOB)]
    stems: dict[str, Path] = {}
    for path in found:
        if path.stem in stems:
            raise CourseError(f"{folder} holds two notebooks named {path.stem}: {stems[path.stem]} and {path}. Fix: "
                              f"keep one of them.")
        stems[path.stem] = path
    notebooks = sorted(found, key=_order)
    if only:
        patterns = [pattern.strip().removesuffix(".ipynb") for pattern in only.split(",") if pattern.strip()]
        notebooks = [path for path in notebooks if any(fnmatch.fnmatch(path.stem, p) for p in patterns)]
    return notebooks


def _checkout() -> Path:
    return Path(__file__).resolve().parent.parent


def _read(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:  # nbformat's errors on a broken file are ValueErrors (JSON, schema)
        raise CourseError(f"{path}: cannot be read as a notebook ({' '.join(str(error).split())[:200]}). Fix: "
                          f"repair or delete it.") from None


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------- execution


def execute_notebooks(notebooks: Sequence[Path], source_root: Path, out_root: Path, timeout: int = 600,
                      log: Callable[[str], None] = print) -> list[Path]:
    """Execute each notebook with nbclient, its working directory the notebook's own folder, and write the
    executed copy under ``out_root`` at the same place relative to ``source_root``. The first cell that raises
    (or runs longer than ``timeout`` seconds) stops everything with a :class:`CourseError` naming the notebook
    and the cell; the notebook as far as it ran, traceback included, is written all the same."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    written = []
    for number, source in enumerate(notebooks, start=1):
        nb = _read(source)
        target = Path(out_root) / source.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": str(source.parent)}})
        current = {"index": None}
        client.on_cell_execute = lambda cell, cell_index, current=current: current.update(index=cell_index)
        start = time.perf_counter()
        problem = None
        try:
            client.execute()
        except CellExecutionError as error:
            evalue = " ".join(str(error.evalue).split())[:300]
            problem = f"raised {error.ename}: {evalue}"
        except CellTimeoutError:
            problem = f"ran longer than the per-cell timeout of {timeout} s (--timeout)"
        except DeadKernelError:
            problem = "killed the kernel (out of memory?)"
        except RuntimeError as error:  # the kernel did not start
            raise CourseError(f"{source}: the kernel {kernel!r} did not start ({' '.join(str(error).split())[:200]})."
                              f" Fix: install ipykernel in this environment (pip install -e '.[notebooks]').") from None
        finally:
            nbformat.write(nb, target)
        if problem is not None:
            cell = "a cell" if current["index"] is None else f"cell {current['index'] + 1}"
            raise CourseError(f"{source}: {cell} {problem}; the notebook as far as it ran, with the traceback, is "
                              f"{target}. Fix: run the notebook in Jupyter and fix that cell, then build again.")
        log(f"executed {number}/{len(notebooks)} {source.stem} in {time.perf_counter() - start:.0f} s")
        written.append(target)
    return written


# ------------------------------------------------------------------------------------------- the header


@dataclass
class Header:
    """What the course map shows of a notebook: markdown strings, None where the notebook does not state it."""

    title: str
    objectives: str | None = None
    prerequisites: str | None = None
    time: str | None = None


def _header_cells(nb) -> list[str]:
    sources = []
    for cell in nb.cells:
        if COLAB_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            break
        if cell.cell_type == "markdown":
            sources.append(cell.source)
    return sources


def _field_name(label: str) -> str | None:
    key = label.strip().rstrip(":").strip().lower()
    return next((name for name, aliases in FIELDS.items() if key in aliases), None)


def read_header(nb, name: str) -> Header:
    """Title (first ``# `` heading, else ``name``), objectives, prerequisites and time from the header cells.

    A field starts at a line ``**Label:** text`` (or a heading ``## Label``) and runs to the end of its paragraph
    or the next such line; a label alone on its paragraph takes the list that follows it."""
    title, values = None, {}
    for source in _header_cells(nb):
        paragraphs = [p.strip().splitlines() for p in re.split(r"\n\s*\n", source) if p.strip()]
        for number, lines in enumerate(paragraphs):
            fields: list[tuple[str | None, list[str]]] = []  # (field, its lines) in this paragraph
            for line in lines:
                heading = re.match(r"^(#{1,3})\s+(.+?)\s*#*\s*$", line)
                if heading and len(heading.group(1)) == 1 and title is None:
                    title = heading.group(2)
                label = _LABEL.match(line.strip())
                if heading and len(heading.group(1)) > 1:
                    fields.append((_field_name(heading.group(2)), []))
                elif label:
                    fields.append((_field_name(label.group("label")), [label.group("rest")]))
                elif fields:
                    fields[-1][1].append(line)
            for field_name, value_lines in fields:
                if field_name is None or field_name in values:
                    continue
                value = "\n".join(value_lines).strip()
                if not value and number + 1 < len(paragraphs) and _LIST_ITEM.match(paragraphs[number + 1][0]):
                    value = "\n".join(paragraphs[number + 1])
                if value:
                    values[field_name] = value if _LIST_ITEM.match(value) else " ".join(value.split())
    return Header(title=title or name, **values)


# ------------------------------------------------------------------------------------------- rendering


def _markdown():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin

    return MarkdownIt("commonmark").enable("table").use(anchors_plugin, min_level=1, max_level=3)


def _plain(markdown_text: str) -> str:
    """The text of a one-line markdown string (a title for <title>)."""
    text = re.sub(r"<[^>]+>", "", _markdown().renderInline(markdown_text))
    return html.unescape(text)


@dataclass
class _Page:
    stem: str
    executed: Path
    solution: bool
    header: Header
    nb: object = None
    figures: int = 0
    audio: int = 0
    widgets: int = 0

    @property
    def site_path(self) -> str:
        return f"{SOLUTIONS}/{self.stem}.html" if self.solution else f"{self.stem}.html"

    @property
    def repo_path(self) -> str:
        """Where the notebook lives in the repository (its relative links are relative to that)."""
        return f"notebooks/{SOLUTIONS}/{self.stem}.ipynb" if self.solution else f"notebooks/{self.stem}.ipynb"

    @property
    def base(self) -> str:
        return self.stem.removesuffix(SOLUTION_SUFFIX)


def _relative(target: str, page: str) -> str:
    """``target`` (a site path) as seen from ``page`` (a site path)."""
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])([^"']*)\2""", flags=re.IGNORECASE)


def _rewrite_links(text: str, repo_path: str, page: str, site_paths: dict[str, str], repo) -> str:
    """Relative links to notebooks (``.ipynb``) and documents (``.md``) written for the repository, as links of
    the site: a notebook of the site to its page, docs/glossary.md to glossary.html, anything else to its page on
    GitHub. ``site_paths``: repository path -> site path."""

    def rewrite(match: re.Match) -> str:
        href = match.group(3)
        if re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", href, flags=re.IGNORECASE):
            return match.group(0)
        path, _, fragment = html.unescape(href).partition("#")
        if not path.endswith((".ipynb", ".md")):
            return match.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(repo_path), path))
        if target.startswith(".."):
            return match.group(0)
        if target in site_paths:
            new = _relative(site_paths[target], page)
        elif repo is not None:
            new = repo.file_url(target)
        else:
            return match.group(0)
        new += f"#{fragment}" if fragment else ""
        return f"{match.group(1)}{match.group(2)}{html.escape(new, quote=True)}{match.group(2)}"

    return _HREF.sub(rewrite, text)


def _figure_html(figure: dict, figure_id: str) -> str:
    """A Plotly output as a <div> and its JSON; course.js draws it with Plotly.newPlot."""
    data = json.dumps(figure, separators=(",", ":")).replace("<", "\\u003c")  # never ends the <script> early
    return (f"<div id='{figure_id}' class='plotly-graph-div mdr-figure'></div>\n"
            f"<script type='application/json' class='mdr-plotly-json' data-target='{figure_id}'>{data}</script>")


def _problems(nb, executed_elsewhere: bool) -> list[str]:
    """Error outputs, and (for notebooks executed elsewhere) code cells that never ran."""
    problems = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                evalue = " ".join(str(output.get("evalue", "")).split())[:200]
                problems.append(f"cell {index} holds an error output, {output.get('ename', 'Error')}: {evalue}")
                break
        if executed_elsewhere and cell.source.strip() and cell.get("execution_count") is None:
            problems.append(f"cell {index} was never executed")
    return problems


def _prepare(page: _Page) -> None:
    """The notebook as the page shows it: the Colab cells out (the nav links to Colab), Plotly outputs as
    <div>s, widget views as a note, the widget state out (it would load the widget manager from a CDN)."""
    nb = copy.deepcopy(page.nb)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        if COLAB_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            if PLOTLY_MIME in data:
                page.figures += 1
                output["data"] = {"text/html": _figure_html(data[PLOTLY_MIME], f"mdr-figure-{page.figures}")}
                output["metadata"] = {}
            elif WIDGET_MIME in data:
                page.widgets += 1
                output["data"] = {"text/html": WIDGET_NOTE}
                output["metadata"] = {}
            elif "<audio" in str(data.get("text/html", "")):
                page.audio += str(data["text/html"]).count("<audio")
        cells.append(cell)
    nb.cells = cells
    page.nb = nb


_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head -%}
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ resources.mdr.title }}</title>
<link rel="stylesheet" href="{{ resources.mdr.root }}_static/notebook.css">
<link rel="stylesheet" href="{{ resources.mdr.root }}_static/course.css">
<script src="{{ resources.mdr.root }}_static/plotly.min.js"></script>
<script src="{{ resources.mdr.root }}_static/course.js"></script>
{%- endblock html_head -%}
{%- block body_header -%}
<body class="jp-Notebook mdr-notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.mdr.nav_top }}
<main>
{%- endblock body_header -%}
{% block body_footer %}
</main>
{{ resources.mdr.nav_bottom }}
</body>
{% endblock body_footer %}
"""

_COURSE_JS = """\
// Draws each Plotly figure of the page (mdrbench.course) from its JSON, with the site's one local plotly.min.js.
(function () {
  function fail(target, message) {
    target.classList.add("mdr-figure-error");
    target.textContent = "This figure could not be drawn: " + message;
  }
  function draw() {
    document.querySelectorAll("script.mdr-plotly-json").forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-target"));
      if (!target) return;
      if (!window.Plotly) { fail(target, "plotly.min.js did not load"); return; }
      try {
        var figure = JSON.parse(node.textContent);
        // JupyterLab's default height; a figure that sets its own height keeps it.
        if (!(figure.layout && figure.layout.height)) target.style.height = "450px";
        var config = Object.assign({responsive: true}, figure.config || {});
        Promise.resolve(Plotly.newPlot(target, {data: figure.data || [], layout: figure.layout || {},
                                                frames: figure.frames || [], config: config}))
          .catch(function (error) { fail(target, error.message || String(error)); });
      } catch (error) {
        fail(target, error.message || String(error));
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
"""

_COURSE_CSS = """\
/* mdrbench course site: navigation, course map, glossary (the notebook pages also load notebook.css) */
body.mdr-notebook main { max-width: 1150px; margin: 0 auto; padding: 1em 1.5em; }
.mdr-nav { display: flex; flex-wrap: wrap; align-items: center; gap: .3em 1.2em; padding: .55em 1.5em;
           background: #f3f6f9; border-bottom: 1px solid #d0d7de; font: 14px/1.4 system-ui, -apple-system,
           "Segoe UI", Roboto, sans-serif; }
.mdr-nav.mdr-bottom { border-bottom: 0; border-top: 1px solid #d0d7de; margin-top: 2em; }
.mdr-nav a { color: #0b57d0; text-decoration: none; } .mdr-nav a:hover { text-decoration: underline; }
.mdr-nav .mdr-spacer { flex: 1; } .mdr-nav .mdr-here { font-weight: 600; color: #222; }
.mdr-page { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; }
.mdr-page main { max-width: 1000px; margin: 0 auto; padding: 1em 1.5em 2em; }
.mdr-page h1, .mdr-page h2 { line-height: 1.25; } .mdr-page h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.mdr-page code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; font-size: 90%; }
.mdr-map { border-collapse: collapse; width: 100%; font-size: 15px; }
.mdr-map th, .mdr-map td { text-align: left; vertical-align: top; padding: .55em .6em;
                           border-bottom: 1px solid #e1e4e8; }
.mdr-map thead th { background: #f3f6f9; }
.mdr-map td p { margin: 0 0 .3em; } .mdr-map td ul, .mdr-map td ol { margin: 0; padding-left: 1.2em; }
.mdr-map .mdr-number { font-variant-numeric: tabular-nums; color: #555; white-space: nowrap; }
.mdr-missing { color: #8a8a8a; font-style: italic; }
.mdr-widget-note { border-left: 3px solid #c9a227; background: #fff8e1; padding: .4em .8em; font-style: italic; }
.mdr-figure { width: 100%; min-height: 120px; }
.mdr-figure-error { color: #b00020; border: 1px solid #b00020; padding: .5em; }
"""


def _page_html(title: str, body: str, nav: str, root: str = "") -> str:
    """A page of the site outside the notebooks (index, glossary): course.css only, no script."""
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1.0'>\n"
            f"<title>{html.escape(title)}</title>\n<link rel='stylesheet' href='{root}{STATIC}/course.css'>\n</head>\n"
            f"<body class='mdr-page'>\n{nav}\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _nav(here: str, page: str, pages: list[_Page], position: int | None, repo, bottom: bool = False) -> str:
    """The navigation bar: course map, glossary, paper; previous and next page; notebook <-> solutions; Colab."""

    def link(target: str, text: str, rel: str | None = None) -> str:
        rel_attr = f" rel='{rel}'" if rel else ""
        return f"<a href='{html.escape(_relative(target, page), quote=True)}'{rel_attr}>{text}</a>"

    parts = [link("index.html", "Course map") if here != "index" else "<span class='mdr-here'>Course map</span>",
             link("glossary.html", "Glossary") if here != "glossary" else "<span class='mdr-here'>Glossary</span>",
             f"<a href='{PAPER_URL}'>The paper (arXiv 2008.03729)</a>"]
    if position is not None:
        current = pages[position]
        partner = next((p for p in pages if p.base == current.base and p.solution != current.solution), None)
        if partner is not None:
            parts.append(link(partner.site_path, "Its notebook" if current.solution else "Its solutions"))
        if repo is not None:
            parts.append(f"<a href='{html.escape(repo.colab_url(current.repo_path), quote=True)}'>Open in Colab</a>")
            parts.append(f"<a href='{html.escape(repo.binder_url(current.repo_path), quote=True)}'>Binder</a>")
        parts.append("<span class='mdr-spacer'></span>")
        if position > 0:
            previous = pages[position - 1]
            parts.append(link(previous.site_path, f"&larr; {html.escape(_plain(previous.header.title))}", "prev"))
        if position + 1 < len(pages):
            following = pages[position + 1]
            parts.append(link(following.site_path, f"{html.escape(_plain(following.header.title))} &rarr;", "next"))
    css = "mdr-nav mdr-bottom" if bottom else "mdr-nav"
    return f"<nav class='{css}'>" + "\n".join(parts) + "</nav>"


def _field(markdown_text: str | None, page: _Page, site_paths: dict[str, str], repo, md) -> str:
    if not markdown_text:
        return MISSING
    rendered = md.render(markdown_text).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return _rewrite_links(rendered, page.repo_path, "index.html", site_paths, repo)


def _index_html(pages: list[_Page], site_paths: dict[str, str], repo, only: str | None) -> str:
    md = _markdown()
    rows = []
    for page in pages:
        if page.solution and any(p.base == page.base and not p.solution for p in pages):
            continue  # listed in its notebook's row
        solution = next((p for p in pages if p.base == page.base and p.solution and p is not page), None)
        title = md.renderInline(page.header.title)
        links = f"<a href='{html.escape(page.site_path, quote=True)}'>{title}</a>"
        if solution is not None:
            links += f"<br><a href='{html.escape(solution.site_path, quote=True)}'>Solutions</a>"
        elif not page.solution:
            links += "<br><span class='mdr-missing'>no solutions notebook</span>"
        rows.append(f"<tr id='{html.escape(page.stem, quote=True)}'><td class='mdr-number'>{page.stem[:2]}</td>"
                    f"<td>{links}</td>"
                    f"<td>{_field(page.header.objectives, page, site_paths, repo, md)}</td>"
                    f"<td>{_field(page.header.prerequisites, page, site_paths, repo, md)}</td>"
                    f"<td>{_field(page.header.time, page, site_paths, repo, md)}</td></tr>")
    partial = (f"<p class='mdr-missing'>A partial build: only the notebooks matching <code>{html.escape(only)}</code>."
               f"</p>\n") if only else ""
    body = (f"<h1>mdrbench: the course</h1>\n"
            f"<p>The notebooks of mdrbench, a teaching-and-benchmark suite for music representation learning that "
            f"reproduces and extends <a href='{PAPER_URL}'>{html.escape(PAPER)}</a>. Each page is a notebook as it "
            f"ran, outputs included; each notebook ends with exercises, worked in its solutions. To change a cell and "
            f"run it again, open the notebook in JupyterLab, Binder or Colab (links at the top of each page). Terms "
            f"are in the <a href='glossary.html'>glossary</a>.</p>\n{partial}"
            f"<h2>Course map</h2>\n<table class='mdr-map'>\n<thead><tr><th>#</th><th>Notebook</th>"
            f"<th>Learning objectives</th><th>Prerequisites</th><th>Time</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>\n"
            "<p>Objectives, prerequisites and times are read from each notebook's header (its <code>**Objectives:**"
            "</code>, <code>**Prerequisites:**</code> and <code>**Time:**</code> lines); where a notebook does not "
            "state one, the map says so.</p>")
    return _page_html("mdrbench course", body, _nav("index", "index.html", pages, None, repo))


def _glossary_html(glossary: Path, pages: list[_Page], site_paths: dict[str, str], repo) -> str:
    try:
        text = glossary.read_text(encoding="utf-8")
    except OSError as error:
        raise CourseError(f"{glossary}: cannot read the glossary ({error.strerror or error}). Fix: build from a "
                          f"checkout of the repository (it has docs/glossary.md).") from None
    body = _rewrite_links(_markdown().render(text), "docs/glossary.md", "glossary.html", site_paths, repo)
    return _page_html("mdrbench glossary", body, _nav("glossary", "glossary.html", pages, None, repo))


def _notebook_css(exporter_class) -> str:
    """nbconvert's own stylesheets of its 'lab' template (JupyterLab's look and the code highlighting), taken
    from a page it renders, so that every notebook page shares one copy instead of inlining it."""
    import nbformat

    stock = exporter_class(template_name="lab")
    page, _ = stock.from_notebook_node(nbformat.v4.new_notebook())
    head = page.split("</head>", 1)[0]
    return "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", head, flags=re.S | re.IGNORECASE))


def _write_static(out: Path, exporter_class) -> None:
    static = out / STATIC
    static.mkdir(parents=True, exist_ok=True)
    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"
    if not plotly_js.is_file():
        raise CourseError(f"{plotly_js}: the installed plotly package has no plotly.min.js. Fix: reinstall plotly "
                          f"(pip install --force-reinstall plotly).")
    with resources.as_file(plotly_js) as source:
        shutil.copyfile(source, static / "plotly.min.js")
    (static / "notebook.css").write_text(_notebook_css(exporter_class), encoding="utf-8")
    (static / "course.css").write_text(_COURSE_CSS, encoding="utf-8")
    (static / "course.js").write_text(_COURSE_JS, encoding="utf-8")


# ------------------------------------------------------------------------------------------- the build


@dataclass
class Site:
    """What a build wrote: the folder, its pages and how long it took."""

    out: Path
    pages: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    executed: bool = False

    def summary(self) -> str:
        notebooks = sum(not p["solution"] for p in self.pages)
        figures, audio = sum(p["figures"] for p in self.pages), sum(p["audio"] for p in self.pages)
        how = "executed and rendered" if self.executed else "rendered"
        solutions = len(self.pages) - notebooks
        return (f"course site: {_count(notebooks, 'notebook')} and {_count(solutions, 'solutions notebook')} {how} "
                f"in {self.seconds:.0f} s ({_count(figures, 'Plotly figure')}, {_count(audio, 'audio player')}), with "
                f"the course map and the glossary; open {self.out / 'index.html'} (works offline)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _clear_earlier_site(out: Path) -> None:
    """Remove the pages of an earlier build in ``out`` (its executed/ notebooks stay); refuse any other folder."""
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / MANIFEST).is_file():
        raise CourseError(f"--out {out} is not empty and holds no earlier course site ({MANIFEST}). Fix: choose a new "
                          f"or empty folder, e.g. .course/site.")
    for page in [*out.glob("*.html"), *(out / SOLUTIONS).glob("*.html"), out / MANIFEST]:
        page.unlink()
    shutil.rmtree(out / STATIC, ignore_errors=True)


def _repository():
    from mdrbench.colab import repository

    try:
        return repository()
    except (LookupError, ValueError):
        return None


def build_site(out: Path, executed: Path | None = None, notebooks: Path | None = None, only: str | None = None,
               timeout: int = 600, glossary: Path | None = None, log: Callable[[str], None] = print) -> Site:
    """Build the course site in ``out`` (created; files of an earlier build are replaced).

    executed: a folder of notebooks already executed (``NN_*.ipynb`` and ``solutions/NN_*.ipynb``, e.g. by
        ``nbmake --overwrite``): render them as they are. None: execute the notebooks of ``notebooks`` (default:
        the checkout's ``notebooks/``) into ``out/executed/`` first.
    only: a glob of notebook names (``0[01]_*``), solutions included when they match.
    timeout: seconds a cell may run when executing.
    glossary: the glossary's markdown (default: the checkout's ``docs/glossary.md``).
    """
    try:
        import markdown_it  # noqa: F401
        import mdit_py_plugins  # noqa: F401
        import nbclient  # noqa: F401
        from nbconvert import HTMLExporter
    except ImportError:
        raise CourseError("mdrbench course needs nbconvert, nbclient and markdown-it-py. Fix: pip install -e "
                          "'.[notebooks]'.") from None
    start = time.perf_counter()
    out = Path(out)
    glossary = Path(glossary) if glossary is not None else _checkout() / "docs" / "glossary.md"
    if executed is not None:
        folder = Path(executed)
        if not folder.is_dir():
            raise CourseError(f"--executed {folder}: no such folder. Fix: point at the folder of executed notebooks "
                              f"(e.g. the copy `pytest --nbmake --overwrite` ran), or leave --executed out to execute "
                              f"the notebooks here.")
        sources = find_notebooks(folder)
        if not sources:
            raise CourseError(f"--executed {folder} holds no notebooks (NN_name.ipynb, solutions in {SOLUTIONS}/). Fix:"
                              f" point at the folder of executed notebooks (e.g. the copy `pytest --nbmake "
                              f"--overwrite` ran), or leave --executed out to execute the notebooks here.")
    else:
        folder = Path(notebooks) if notebooks is not None else _checkout() / "notebooks"
        sources = find_notebooks(folder) if folder.is_dir() else []
        if not sources:
            raise CourseError(f"{folder} holds no notebooks (NN_name.ipynb) to execute. Fix: run from a checkout of "
                              f"the repository, give --notebooks DIR, or --executed FOLDER of executed notebooks.")
    if only:
        matching = find_notebooks(folder, only)
        if not matching:
            raise CourseError(f"--only {only!r} matches none of the {len(sources)} notebooks in {folder} (e.g. "
                              f"{sources[0].stem}). Fix: a glob of notebook names, such as '0[01]_*'.")
        sources = matching
    _clear_earlier_site(out)
    out.mkdir(parents=True, exist_ok=True)
    if executed is None:
        log(f"executing {len(sources)} notebooks from {_rel(folder)} into {_rel(out / EXECUTED)} (per-cell timeout "
            f"{timeout} s)")
        sources = execute_notebooks(sources, folder, out / EXECUTED, timeout=timeout, log=log)

    pages = []
    for source in sources:
        nb = _read(source)
        problems = _problems(nb, executed_elsewhere=executed is not None)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            if "never executed" in problems[0]:
                fix = ("point --executed at notebooks that ran to the end (e.g. the copy `pytest --nbmake --overwrite` "
                       "wrote), or leave --executed out to execute them here")
            elif executed is not None:
                fix = "fix that cell and execute the notebook again (or leave --executed out to execute it here)"
            else:
                fix = "fix that cell and build again"
            raise CourseError(f"{source}: {problems[0]}{more}. Fix: {fix}.")
        pages.append(_Page(source.stem, source, _is_solution(source), read_header(nb, source.stem), nb))

    repo = _repository()
    site_paths = {page.repo_path: page.site_path for page in pages}
    site_paths["docs/glossary.md"] = "glossary.html"
    _write_static(out, HTMLExporter)
    from jinja2 import DictLoader

    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"mdrbench-course.html.j2": _TEMPLATE})],
                            template_file="mdrbench-course.html.j2")
    for position, page in enumerate(pages):
        _prepare(page)
        root = "../" if page.solution else ""
        meta = {"title": html.escape(f"{_plain(page.header.title)} · mdrbench course"), "root": root,
                "nav_top": _nav("page", page.site_path, pages, position, repo),
                "nav_bottom": _nav("page", page.site_path, pages, position, repo, bottom=True)}
        body, _ = exporter.from_notebook_node(page.nb, resources={"mdr": meta, "metadata": {"name": page.stem}})
        body = _rewrite_links(body, page.repo_path, page.site_path, site_paths, repo)
        target = out / page.site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    (out / "index.html").write_text(_index_html(pages, site_paths, repo, only), encoding="utf-8")
    (out / "glossary.html").write_text(_glossary_html(glossary, pages, site_paths, repo), encoding="utf-8")

    for written in [out / "index.html", out / "glossary.html", *(out / page.site_path for page in pages)]:
        text = written.read_text(encoding="utf-8")
        remote = REMOTE_RESOURCE.search(text)
        if remote:
            line = text.count("\n", 0, remote.start()) + 1
            raise CourseError(f"{written} line {line} loads a resource from the network ({text[remote.start():][:80]}"
                              f"...), so the site would not work offline. Fix: make that output self-contained (no "
                              f"remote <script>, <img> or <link>).")
    site = Site(out=out, executed=executed is None, seconds=time.perf_counter() - start, pages=[
        {"path": page.site_path, "notebook": page.stem, "title": _plain(page.header.title), "solution": page.solution,
         "figures": page.figures, "audio": page.audio, "widgets": page.widgets} for page in pages])
    (out / MANIFEST).write_text(json.dumps({"pages": site.pages, "paper": PAPER_URL}, indent=1) + "\n",
                                encoding="utf-8")
    return site
