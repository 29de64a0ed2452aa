"""Colab and Binder: every notebook opens with its own badge and an install cell that acts only on Colab, both
generated from [project.urls] in pyproject.toml (idempotently); the explorer falls back to static figures there."""

import ast
import shutil
import sys
import tomllib
import types
from pathlib import Path

import jupytext
import numpy as np
import plotly.graph_objects as go
import pytest

from mdrbench import colab, views

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
SOLUTION_SCRIPTS = sorted((NOTEBOOKS / "solutions").glob("[0-9][0-9]_*.py"))


def project_url() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        urls = tomllib.load(file)["project"]["urls"]
    return urls["Repository"]


def owner_and_name() -> str:
    return project_url().removeprefix("https://github.com/")


def test_the_url_lives_in_pyproject_and_the_module_reads_it():
    assert project_url().startswith("https://github.com/")
    repo = colab.repository()
    assert repo.url == project_url()
    assert f"{repo.owner}/{repo.name}" == owner_and_name()
    assert colab.repository(ROOT / "pyproject.toml") == repo


def test_an_installed_package_reads_the_url_from_its_metadata(tmp_path, monkeypatch):
    """Without a checkout (pip install from the repository, as on Colab) the URL comes from the metadata."""
    from email.message import Message
    from importlib import metadata

    message = Message()
    message["Name"] = "mdrbench"
    message["Project-URL"] = "Homepage, https://github.com/someone/home"
    message["Project-URL"] = "Repository, https://github.com/someone/thing"
    monkeypatch.setattr(colab, "_CHECKOUT", tmp_path)  # no pyproject.toml there
    monkeypatch.setattr(metadata, "metadata", lambda name: message)
    assert colab.repository().url == "https://github.com/someone/thing"
    monkeypatch.setattr(metadata, "metadata", lambda name: Message())
    with pytest.raises(LookupError, match="project.urls"):
        colab.repository()


def test_repository_url_parsing():
    repo = colab.Repository.from_url("https://github.com/someone/thing.git")
    assert (repo.owner, repo.name, repo.url) == ("someone", "thing", "https://github.com/someone/thing")
    assert repo.colab_url("03_proxy_losses.py") == ("https://colab.research.google.com/github/someone/thing/blob/"
                                                    "main/notebooks/03_proxy_losses.ipynb")
    assert repo.binder_url("03_proxy_losses").endswith("?labpath=notebooks%2F03_proxy_losses.ipynb")
    assert repo.pip_requirement == "mdrbench @ git+https://github.com/someone/thing"
    with pytest.raises(ValueError, match="GitHub"):
        colab.Repository.from_url("https://gitlab.com/someone/thing")


def test_solution_notebooks_get_urls_to_their_own_folder():
    repo = colab.Repository.from_url("https://github.com/someone/thing")
    solution = "03_proxy_losses_solutions"
    expected = f"notebooks/solutions/{solution}.ipynb"
    for given in (f"notebooks/solutions/{solution}.py", f"solutions/{solution}.py",
                  Path("/anywhere/repo/notebooks/solutions") / f"{solution}.ipynb"):
        assert colab.notebook_path(given) == expected
        assert repo.colab_url(given) == f"https://colab.research.google.com/github/someone/thing/blob/main/{expected}"
        assert repo.binder_url(given).endswith(f"?labpath=notebooks%2Fsolutions%2F{solution}.ipynb")
        assert colab.glossary_link(given) == "../../docs/glossary.md"
    for given in ("03_proxy_losses.py", "notebooks/03_proxy_losses.py", ROOT / "notebooks" / "03_proxy_losses.py"):
        assert colab.notebook_path(given) == "notebooks/03_proxy_losses.ipynb"
        assert colab.glossary_link(given) == "../docs/glossary.md"


def test_the_generator_lists_the_solution_notebooks():
    listed = colab.notebook_scripts()
    assert SOLUTION_SCRIPTS, "notebooks/solutions/ holds the solution notebooks"
    assert listed == SCRIPTS + SOLUTION_SCRIPTS
    assert colab.notebook_scripts(solutions=False) == SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS + SOLUTION_SCRIPTS, ids=lambda p: p.stem)
def test_notebook_opens_with_its_badge_and_a_colab_only_install_cell(script):
    cells = jupytext.read(script.with_suffix(".ipynb")).cells
    badge, install, header = cells[0], cells[1], cells[2]
    folder = "notebooks/solutions" if script.parent.name == "solutions" else "notebooks"

    assert badge.cell_type == "markdown" and colab.CELL_TAG in badge.metadata.get("tags", [])
    colab_url = f"https://colab.research.google.com/github/{owner_and_name()}/blob/main/{folder}/{script.stem}.ipynb"
    assert f"]({colab_url})" in badge.source, "the Colab badge must open this notebook's .ipynb"
    assert "colab-badge.svg" in badge.source
    assert f"labpath={folder.replace('/', '%2F')}%2F{script.stem}.ipynb" in badge.source

    assert install.cell_type == "code" and colab.CELL_TAG in install.metadata.get("tags", [])
    assert "enable_custom_widget_manager()" in install.source
    assert f"mdrbench @ git+{project_url()}" in install.source
    assert "torch==" not in install.source  # Colab has its own torch
    # Everything that acts is under the Colab check: the module is `import sys` and one `if`.
    body = ast.parse(install.source).body
    assert [type(node) for node in body] == [ast.Import, ast.If]
    assert ast.unparse(body[1].test) == "'google.colab' in sys.modules"

    assert header.cell_type == "markdown" and header.source.lstrip().startswith("# ")
    glossary = "../../docs/glossary.md" if folder.endswith("solutions") else "../docs/glossary.md"
    assert f"]({glossary})" in header.source, "the header links the glossary, relative to the notebook's folder"


def test_install_cell_does_nothing_outside_colab(monkeypatch):
    source = jupytext.read(SCRIPTS[0]).cells[1].source
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the install cell ran a command outside Colab")

    monkeypatch.setattr("subprocess.run", no_subprocess)
    exec(compile(source, "install-cell", "exec"), {})


def test_install_cell_on_a_pretend_colab(monkeypatch):
    """With google.colab imported (and mdrbench already there) it skips pip and enables the widget manager."""
    source = jupytext.read(SCRIPTS[0]).cells[1].source
    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    google_colab.output = output
    google.colab = google_colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append("pip"))
    exec(compile(source, "install-cell", "exec"), {})
    assert calls == ["widgets"]  # mdrbench is importable here, so no pip


def test_the_glossary_exists_and_defines_the_terms():
    headings = {line[3:] for line in (ROOT / "docs" / "glossary.md").read_text().splitlines()
                if line.startswith("## ")}
    for term in ["complete space", "sub-space", "notion", "proxy", "prototype", "sizes: `ci`, `default`, `full`",
                 '"full" vs "-full"', "triplet mining", "simulated raters", "`stopped_by`", "time ratio"]:
        assert term in headings, term


def test_the_notebooks_are_up_to_date_with_pyproject(capsys):
    assert colab.main(["--check"]) == 0, capsys.readouterr().out


def copy_notebooks(target: Path) -> list[Path]:
    (target / "notebooks" / "solutions").mkdir(parents=True)
    for script in SCRIPTS + SOLUTION_SCRIPTS:
        for path in (script, script.with_suffix(".ipynb")):
            shutil.copy2(path, target / path.relative_to(ROOT))
    return colab.notebook_scripts(target)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.glob("notebooks/**/*"))
            if path.is_file()}


def test_generator_is_idempotent(tmp_path):
    scripts = copy_notebooks(tmp_path)
    before = snapshot(tmp_path)
    assert not any(colab.update_notebook(script) for script in scripts)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("which", ["notebook", "solutions"])
def test_generator_writes_the_cells_once_and_syncs_the_pair(tmp_path, which):
    scripts = copy_notebooks(tmp_path)
    script = next(s for s in scripts if (s.parent.name == "solutions") == (which == "solutions"))
    # Take the generated cells and the glossary line out, as in a notebook from before the generator.
    expected = [cell.source for cell in jupytext.read(script).cells]
    stripped = jupytext.read(script)
    stripped.cells = [cell for cell in stripped.cells if colab.CELL_TAG not in cell.metadata.get("tags", [])]
    header = stripped.cells[0].source.split("\n")
    assert header[1] == "" and header[2].startswith("Words with a precise meaning") and "glossary" in header[3]
    stripped.cells[0].source = "\n".join(header[:1] + header[4:])
    jupytext.write(stripped, script, fmt="py:percent")
    jupytext.write(stripped, script.with_suffix(".ipynb"))

    assert colab.update_notebook(script)
    first = snapshot(tmp_path)
    assert not colab.update_notebook(script)  # a second run changes nothing
    assert snapshot(tmp_path) == first
    py, ipynb = jupytext.read(script), jupytext.read(script.with_suffix(".ipynb"))
    assert [c.source for c in py.cells] == [c.source for c in ipynb.cells]
    assert [c.source for c in py.cells] == expected  # the same cells as the repository's


def test_static_figures_switch(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv(colab.STATIC_FIGURES_ENV, raising=False)
    assert not colab.static_figures()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert colab.on_colab() and colab.static_figures()
    monkeypatch.setenv(colab.STATIC_FIGURES_ENV, "0")
    assert not colab.static_figures()
    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setenv(colab.STATIC_FIGURES_ENV, "1")
    assert colab.static_figures()
    monkeypatch.setenv(colab.STATIC_FIGURES_ENV, "maybe")
    with pytest.raises(ValueError, match="MDRBENCH_STATIC_FIGURES"):
        colab.static_figures()


# ------------------------------------------------------------------------------ the explorer's static fallback

SLICES = {"genre": slice(0, 4), "era": slice(4, 8)}


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    labels = {"genre": rng.choice(["jazz", "rock"], 24), "era": rng.choice(["80s", "90s", "00s"], 24)}
    tags = [[genre, era] for genre, era in zip(labels["genre"], labels["era"], strict=True)]
    return rng.normal(size=(24, 8)), labels, tags


class FakeHandle:
    def __init__(self):
        self.shown = []

    def display(self, obj, **kwargs):
        self.shown.append(obj)

    def update(self, obj, **kwargs):
        self.shown.append(obj)


def test_explorer_falls_back_to_a_static_figure_with_a_track_picker(points):
    embeddings, labels, tags = points
    played = []

    def audio_fn(index):
        played.append(index)
        return np.sin(np.arange(800) * 0.05), 8000

    explorer = views.SubspaceExplorer(embeddings, labels, SLICES, tags_per_point=tags, audio_fn=audio_fn,
                                      static=True)
    assert type(explorer.figure) is go.Figure
    assert explorer.picker is not None and explorer.picker in explorer.widget.children
    assert explorer.figure not in explorer.widget.children
    assert [trace.name for trace in explorer.figure.data] == ["jazz", "rock"]

    explorer._figure_handle, explorer._selection_handle = FakeHandle(), FakeHandle()
    explorer.show()  # headless: the controls print, the figure and selection go to the (fake) handles
    assert len(explorer._figure_handle.shown) == 1 and "Pick a track" in explorer._selection_handle.shown[0].data

    explorer.set_subspace("era")
    explorer.set_color("era")
    figure_bundle = explorer._figure_handle.shown[-1]
    assert len(explorer._figure_handle.shown) == 3  # shown, then one update per change
    assert "era space" in str(figure_bundle)

    explorer.picker.value = 5  # what a pick does
    assert explorer.selected_index == 5 and played == [5]
    assert explorer.figure.data[-1].name == "picked"
    assert explorer.figure.data[-1].x[0] == pytest.approx(explorer.projection()[5, 0])
    selection = explorer._selection_handle.shown[-1].data
    assert "(point 5)" in selection and "<audio" in selection and "autoplay" in selection
    assert len(explorer.output.outputs) == 2  # the same record as the widget version keeps

    explorer.select(7)  # from code: the picker follows, the audio is fetched once
    assert explorer.picker.value == 7 and played == [5, 7]
    assert "picked" in str(explorer._figure_handle.shown[-1])


def test_explorer_picks_the_fallback_on_colab_and_displays_through_its_widget(points, monkeypatch):
    embeddings, labels, tags = points
    monkeypatch.delenv(colab.STATIC_FIGURES_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    explorer = views.SubspaceExplorer(embeddings, labels, SLICES, tags_per_point=tags)
    assert explorer.static and type(explorer.figure) is go.Figure
    shown = []
    monkeypatch.setattr(explorer, "show", lambda: shown.append(True))
    explorer.widget._ipython_display_()  # display(explorer.widget), as notebook 05 does
    explorer._ipython_display_()
    assert shown == [True, True]

    monkeypatch.setenv(colab.STATIC_FIGURES_ENV, "0")
    explorer = views.SubspaceExplorer(embeddings, labels, SLICES)
    assert not explorer.static and isinstance(explorer.figure, go.FigureWidget) and explorer.picker is None
