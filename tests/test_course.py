"""The course site (mdrbench.course, `mdrbench course`): built from tiny hand-made executed notebooks.

Each hand-made notebook carries the outputs the real ones make: a Plotly figure (its mime bundle made by plotly's
own renderer), an audio player (made by mdrbench.views.audio_player, as the notebooks make them), an ipywidgets
view, and, in one test, an error output. tests/test_course_in_browser.py opens the built pages in Chromium.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import nbformat
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from mdrbench.cli import main
from mdrbench.course import CDN_PATTERN, REMOTE_RESOURCE, CourseError, build_site, find_notebooks, read_header

REPO = Path(__file__).resolve().parent.parent
PLOTLY_JS = resources.files("plotly") / "package_data" / "plotly.min.js"

GLOSSARY = """# Glossary

**Contents:** [proxy](#proxy) · ["full" vs "-full"](#full-vs--full)

## proxy

A learned vector per tag; see [notebook 00](../notebooks/00_alpha.ipynb).

## "full" vs "-full"

| size | meaning |
|---|---|
| `full` | the GPU size |
"""


def plotly_output(title: str) -> nbformat.NotebookNode:
    figure = go.Figure(go.Bar(x=["R@1", "R@8"], y=[12.0, 44.0]), layout={"title": title})
    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(figure.to_dict())  # what fig.show() writes under nbclient
    return nbformat.v4.new_output("display_data", data=bundle)


def audio_output() -> nbformat.NotebookNode:
    from mdrbench.views import audio_player

    player = audio_player(np.sin(np.arange(4000) / 3.0), 8000)
    return nbformat.v4.new_output("execute_result", data={"text/html": player._repr_html_(),
                                                          "text/plain": repr(player)}, execution_count=3)


def widget_output() -> nbformat.NotebookNode:
    import ipywidgets

    bundle = ipywidgets.IntSlider(value=3)._repr_mimebundle_()
    return nbformat.v4.new_output("display_data", data=bundle)


def error_output() -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename="ValueError", evalue="the corpus is empty",
                                  traceback=["Traceback (most recent call last)", "ValueError: the corpus is empty"])


def code(source: str, *outputs, count: int | None = 1) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=count)
    cell.outputs = list(outputs)
    return cell


def notebook(title: str, header_extra: str, *cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    badge = nbformat.v4.new_markdown_cell("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                                          "(https://colab.research.google.com/github/x/y/blob/main/notebooks/a.ipynb)")
    badge.metadata["tags"] = ["mdrbench-colab"]
    nb.cells = [badge, nbformat.v4.new_markdown_cell(f"# {title}\n\nAn introduction, with the "
                                                     f"[glossary](../docs/glossary.md#proxy).\n\n{header_extra}"),
                *cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_executed_notebooks(folder: Path, with_error: bool = False) -> Path:
    """Two notebooks and one solutions notebook, as nbmake --overwrite leaves them."""
    (folder / "solutions").mkdir(parents=True, exist_ok=True)
    alpha = notebook("00 · Alpha & omega: first", "**Time:** ci about 20 s · default about 1 min\n\n"
                     "**Objectives:**\n\n- read a figure\n- listen to a track\n\n"
                     "**Prerequisites:** none; then [notebook 01](01_beta.ipynb).",
                     code("fig.show()", plotly_output("Recall at K")),
                     code("audio_player(x, 8000)", audio_output(), count=2),
                     code("explorer", widget_output(), nbformat.v4.new_output("stream", name="stdout",
                                                                               text="the static fallback\n"), count=3),
                     nbformat.v4.new_markdown_cell("Next: [notebook 01](01_beta.ipynb), its "
                                                   "[solutions](solutions/00_alpha_solutions.ipynb)."))
    alpha.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                               "version_minor": 0}}
    beta_cells = [code("fig.show()", plotly_output("one")), code("fig.show()", plotly_output("two"), count=2)]
    if with_error:
        beta_cells.append(code("1 / 0", error_output(), count=3))
    beta = notebook("01 · Beta", "**Time:** ci about 5 s", *beta_cells)
    solutions = notebook("00 · Solutions: alpha", "Worked solutions; see the [glossary](../../docs/glossary.md).",
                         code("print(42)", nbformat.v4.new_output("stream", name="stdout", text="42\n")))
    nbformat.write(alpha, folder / "00_alpha.ipynb")
    nbformat.write(beta, folder / "01_beta.ipynb")
    nbformat.write(solutions, folder / "solutions" / "00_alpha_solutions.ipynb")
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    glossary = root / "glossary.md"
    glossary.write_text(GLOSSARY)
    executed = write_executed_notebooks(root / "executed")
    built = build_site(root / "site", executed=executed, glossary=glossary, log=lambda line: None)
    return built


def pages(site) -> dict[str, str]:
    return {str(path.relative_to(site.out)): path.read_text() for path in site.out.rglob("*.html")}


def test_the_site_has_every_page_in_course_order(site):
    assert set(pages(site)) == {"index.html", "glossary.html", "00_alpha.html", "01_beta.html",
                                "solutions/00_alpha_solutions.html"}
    manifest = json.loads((site.out / "site.json").read_text())
    assert [page["path"] for page in manifest["pages"]] == ["00_alpha.html", "solutions/00_alpha_solutions.html",
                                                            "01_beta.html"]
    counts = {page["notebook"]: (page["figures"], page["audio"], page["widgets"]) for page in manifest["pages"]}
    assert counts == {"00_alpha": (1, 1, 1), "00_alpha_solutions": (0, 0, 0), "01_beta": (2, 0, 0)}
    assert "2 notebooks and 1 solutions notebook rendered" in site.summary()


def test_the_index_is_the_course_map(site):
    index = (site.out / "index.html").read_text()
    for title, link in [("00 · Alpha &amp; omega: first", "00_alpha.html"), ("01 · Beta", "01_beta.html")]:
        assert title in index and f"href='{link}'" in index
    assert "href='solutions/00_alpha_solutions.html'>Solutions</a>" in index
    row = re.search(r"<tr id='00_alpha'>(.*?)</tr>", index, flags=re.S).group(1)
    assert "<li>read a figure</li>" in row and "<li>listen to a track</li>" in row  # objectives: a list
    assert "none; then <a href=\"01_beta.html\">notebook 01</a>" in row  # prerequisites, links of the site
    assert "ci about 20 s · default about 1 min" in row
    beta = re.search(r"<tr id='01_beta'>(.*?)</tr>", index, flags=re.S).group(1)
    assert beta.count("not stated in the notebook") == 2 and "ci about 5 s" in beta  # missing, not invented
    assert "no solutions notebook" in beta
    assert "https://arxiv.org/abs/2008.03729" in index and "href='glossary.html'" in index
    assert "solutions/00_alpha_solutions" not in re.findall(r"<tr id='([^']+)'", index)  # in its notebook's row


def test_plotly_js_is_copied_once_and_loaded_relatively(site):
    copies = [path for path in site.out.rglob("*") if path.is_file() and path.read_bytes()[:2000] ==
              PLOTLY_JS.read_bytes()[:2000]]
    assert copies == [site.out / "_static" / "plotly.min.js"]
    assert copies[0].read_bytes() == PLOTLY_JS.read_bytes()
    signature = PLOTLY_JS.read_text()[-400:]  # plotly.js is never inlined into a page
    for name, text in pages(site).items():
        assert signature not in text, name
        if name in ("index.html", "glossary.html"):
            continue
        root = "../" if name.startswith("solutions/") else ""
        assert re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", text) == [f"{root}_static/plotly.min.js",
                                                                        f"{root}_static/course.js"], name
        assert f'href="{root}_static/notebook.css"' in text and f'href="{root}_static/course.css"' in text


def test_no_page_loads_anything_from_the_network(site):
    for path in [*site.out.rglob("*.html"), *(site.out / "_static").glob("course.*")]:
        text = path.read_text()
        assert not CDN_PATTERN.search(text), f"{path.name}: {CDN_PATTERN.search(text).group(0)}"
        assert not REMOTE_RESOURCE.search(text), f"{path.name}: {REMOTE_RESOURCE.search(text).group(0)}"
        assert "mathjax" not in text.lower() and "colab-badge.svg" not in text, path.name


def test_figures_become_divs_drawn_from_their_json(site):
    alpha, beta = (site.out / "00_alpha.html").read_text(), (site.out / "01_beta.html").read_text()
    assert alpha.count('class="plotly-graph-div mdr-figure"') == 1 and beta.count('mdr-figure"') == 2
    data = re.findall(r'<script class="mdr-plotly-json" data-target="(mdr-figure-\d+)" type="application/json">'
                      r"(.*?)</script>", beta, flags=re.S)
    assert [target for target, _ in data] == ["mdr-figure-1", "mdr-figure-2"]
    figures = [json.loads(text) for _, text in data]
    assert [f["layout"]["title"]["text"] for f in figures] == ["one", "two"] and figures[0]["data"][0]["type"] == "bar"
    assert "Plotly.newPlot" in (site.out / "_static" / "course.js").read_text()


def test_audio_stays_inline_and_widgets_leave_a_note(site):
    alpha = (site.out / "00_alpha.html").read_text()
    assert alpha.count("<audio") == 1 and "data:audio/wav;base64," in alpha
    assert "widget-view+json" not in alpha and "widget-state" not in alpha and "IntSlider" not in alpha
    assert "An interactive widget was here" in alpha and "the static fallback" in alpha


def test_links_are_the_sites_and_navigation_goes_both_ways(site):
    alpha = (site.out / "00_alpha.html").read_text()
    assert 'href="01_beta.html"' in alpha and 'href="solutions/00_alpha_solutions.html"' in alpha
    assert 'href="glossary.html#proxy"' in alpha and ".ipynb\"" not in alpha.split("<main>")[1].split("</main>")[0]
    assert 'rel="next"' in alpha and 'rel="prev"' not in alpha and "Its solutions" in alpha
    assert "colab.research.google.com/github/" in alpha and "notebooks/00_alpha.ipynb" in alpha  # nav: Open in Colab
    solution = (site.out / "solutions" / "00_alpha_solutions.html").read_text()
    assert 'href="../00_alpha.html" rel="prev"' in solution and 'href="../01_beta.html" rel="next"' in solution
    assert 'href="../index.html"' in solution and 'href="../glossary.html"' in solution and "Its notebook" in solution
    beta = (site.out / "01_beta.html").read_text()
    assert 'rel="next"' not in beta and "no solutions" not in beta


def test_the_glossary_page_keeps_its_anchors(site):
    glossary = (site.out / "glossary.html").read_text()
    assert 'id="full-vs--full"' in glossary and 'href="#full-vs--full"' in glossary and 'id="proxy"' in glossary
    assert "<table>" in glossary and "<code>full</code>" in glossary
    assert 'href="00_alpha.html"' in glossary  # ../notebooks/00_alpha.ipynb from docs/


def test_an_error_output_stops_the_build_naming_notebook_and_cell(tmp_path):
    executed = write_executed_notebooks(tmp_path / "executed", with_error=True)
    with pytest.raises(CourseError, match=r"01_beta\.ipynb: cell 5 holds an error output, ValueError: the corpus "
                                          r"is empty\. Fix: fix that cell and execute"):
        build_site(tmp_path / "site", executed=executed, log=lambda line: None)


def test_a_notebook_that_never_ran_is_refused(tmp_path):
    executed = write_executed_notebooks(tmp_path / "executed")
    nb = nbformat.read(executed / "01_beta.ipynb", as_version=4)
    nb.cells[2].execution_count = None
    nbformat.write(nb, executed / "01_beta.ipynb")
    with pytest.raises(CourseError, match=r"01_beta\.ipynb: cell 3 was never executed\. Fix: point --executed at "
                                          r"notebooks that ran"):
        build_site(tmp_path / "site", executed=executed, log=lambda line: None)


def test_only_builds_the_matching_notebooks(tmp_path):
    executed = write_executed_notebooks(tmp_path / "executed")
    assert [p.stem for p in find_notebooks(executed, "00_*")] == ["00_alpha", "00_alpha_solutions"]
    built = build_site(tmp_path / "site", executed=executed, only="01_*", log=lambda line: None)
    assert [page["notebook"] for page in built.pages] == ["01_beta"]
    index = (tmp_path / "site" / "index.html").read_text()
    assert "01_beta.html" in index and "00_alpha.html" not in index and "partial build" in index
    with pytest.raises(CourseError, match=r"--only '9\*' matches none of the 3 notebooks"):
        build_site(tmp_path / "site2", executed=executed, only="9*", log=lambda line: None)


def test_a_rebuild_replaces_the_earlier_pages_and_other_folders_are_refused(tmp_path):
    executed = write_executed_notebooks(tmp_path / "executed")
    build_site(tmp_path / "site", executed=executed, log=lambda line: None)
    build_site(tmp_path / "site", executed=executed, only="01_*", log=lambda line: None)
    assert sorted(str(p.relative_to(tmp_path / "site")) for p in (tmp_path / "site").rglob("*.html")) == [
        "01_beta.html", "glossary.html", "index.html"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.html").write_text("keep me")
    with pytest.raises(CourseError, match=r"--out .*mine is not empty and holds no earlier course site"):
        build_site(tmp_path / "mine", executed=executed, log=lambda line: None)
    assert (tmp_path / "mine" / "notes.html").read_text() == "keep me"


def test_cli_errors_are_one_line_with_the_fix(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for folder, expected in [(tmp_path / "empty", "holds no notebooks"), (tmp_path / "nope", "no such folder")]:
        code = main(["course", "--executed", str(folder), "--out", str(tmp_path / "site")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("mdrbench: error: --executed ") and expected in err and "Fix:" in err
    executed = write_executed_notebooks(tmp_path / "executed", with_error=True)
    code = main(["course", "--executed", str(executed), "--out", str(tmp_path / "site")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "01_beta.ipynb: cell 5" in err


def test_cli_builds_the_site(tmp_path, capsys):
    executed = write_executed_notebooks(tmp_path / "executed")
    assert main(["course", "--executed", str(executed), "--out", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert "2 notebooks and 1 solutions notebook rendered" in out and "3 Plotly figures, 1 audio player)" in out
    assert (tmp_path / "site" / "index.html").is_file()


def test_executing_runs_each_notebook_in_its_folder_and_names_the_failing_cell(tmp_path):
    """The build's own execution (nbclient): outputs land in DIR/executed/; a raising cell stops the build."""
    source = tmp_path / "notebooks"
    (source / "solutions").mkdir(parents=True)
    (source / "data.txt").write_text("read from the notebook's folder")
    good = notebook("00 · Runs", "**Time:** 1 s",
                    code("import plotly.graph_objects as go\nprint(open('data.txt').read())\n"
                         "go.Figure(go.Scatter(x=[1, 2], y=[2, 1])).show()", count=None))
    nbformat.write(good, source / "00_runs.ipynb")
    built = build_site(tmp_path / "site", notebooks=source, timeout=120, log=lambda line: None)
    executed = nbformat.read(tmp_path / "site" / "executed" / "00_runs.ipynb", as_version=4)
    outputs = executed.cells[2].outputs
    assert outputs[0]["text"].strip() == "read from the notebook's folder"
    assert "application/vnd.plotly.v1+json" in outputs[1]["data"] and built.pages[0]["figures"] == 1
    assert not any(cell.get("outputs") for cell in nbformat.read(source / "00_runs.ipynb", as_version=4).cells)

    bad = notebook("01 · Fails", "", code("x = 1", count=None), code("raise ValueError('no corpus here')", count=None))
    nbformat.write(bad, source / "solutions" / "01_fails_solutions.ipynb")
    with pytest.raises(CourseError, match=r"01_fails_solutions\.ipynb: cell 4 raised ValueError: no corpus here; "
                                          r"the notebook as far as it ran.*Fix: run the notebook in Jupyter"):
        build_site(tmp_path / "site", notebooks=source, only="01_*", timeout=120, log=lambda line: None)
    partial = nbformat.read(tmp_path / "site" / "executed" / "solutions" / "01_fails_solutions.ipynb", as_version=4)
    assert partial.cells[3].outputs[0]["output_type"] == "error"


def test_the_header_fields_in_the_forms_a_notebook_may_write_them():
    def header(*sources):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(source) for source in sources] + [code("x = 1"),
                                                                                     nbformat.v4.new_markdown_cell(
                                                                                         "**Objectives:** too late")]
        return read_header(nb, "fallback")

    inline = header("# Title\n\nIntro.\n**Time:** ci 5 s\nat most\n**Prerequisites:** notebook 00\n\n"
                    "## Learning objectives\n\n- a\n- b")
    assert (inline.title, inline.time, inline.prerequisites, inline.objectives) == (
        "Title", "ci 5 s at most", "notebook 00", "- a\n- b")
    lists = header("# T", "## Objectives\n1. one\n2. two\n\n**Time:**\n\n- ci 1 s\n- default 2 s")
    assert (lists.objectives, lists.time, lists.prerequisites) == ("1. one\n2. two", "- ci 1 s\n- default 2 s", None)
    bare = header("No heading here.\n\n**Objectives:**\n\nnot a list")
    assert (bare.title, bare.objectives, bare.time) == ("fallback", None, None)  # nothing after the code cell


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
                         + sorted((REPO / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda path: path.stem)
def test_every_notebook_header_gives_the_course_map_a_title_and_a_time(path):
    header = read_header(nbformat.read(path, as_version=4), path.stem)
    assert header.title != path.stem and not header.title.startswith("[!["), header
    assert header.time and "ci" in header.time, f"{path.name}: no **Time:** line in its header cells"
