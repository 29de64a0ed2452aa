"""Every notebook is a pair (.py percent script and .ipynb) with the same cells; nbmake runs the .ipynb."""

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_the_notebooks_exist():
    names = {path.stem for path in SCRIPTS}
    expected = {"00_quickstart", "01_data", "02_metric_learning_vs_classification", "03_proxy_losses",
                "04_disentanglement", "05_similarity_retrieval", "06_auto_tagging", "07_triplet_prediction",
                "08_training_time", "09_benchmark", "10_real_music"}
    assert expected <= names, f"missing notebooks: {sorted(expected - names)}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_pair_is_in_sync(script):
    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: run `jupytext --to ipynb {script}`"
    from_script = jupytext.read(script)
    from_notebook = jupytext.read(paired)
    assert cells(from_script) == cells(from_notebook), (
        f"{script.name} and {paired.name} differ: run `jupytext --sync {script}` (edit the .py, then sync)")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_notebook_imports_from_the_library(script):
    text = script.read_text()
    assert "import mdrbench" in text or "from mdrbench" in text
    assert "MDRBENCH_SIZE" in text, "every notebook honours the size switch"
