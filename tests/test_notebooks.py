"""Every notebook is a pair (.py percent script and .ipynb) with the same cells; nbmake runs the .ipynb.

Every notebook ends with an "## Exercises" section, and its worked solutions live in a paired notebook of
notebooks/solutions/ (also run by nbmake) that solves each exercise, in order, with the library.
"""

import ast
import re
from pathlib import Path

import jupytext
import pytest

import mdrbench

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
SCRIPTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
SOLUTION_SCRIPTS = sorted(SOLUTIONS.glob("[0-9][0-9]_*.py"))
EXERCISE_ITEM = re.compile(r"^(\d+)\. \*\*", flags=re.MULTILINE)  # "1. **Title.** ..." in the Exercises cell


def cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def solution_of(script: Path) -> Path:
    return SOLUTIONS / f"{script.stem}_solutions.py"


def exercises_cell(script: Path) -> str:
    markdown = [cell.source for cell in jupytext.read(script).cells if cell.cell_type == "markdown"]
    found = [source for source in markdown if source.lstrip().startswith("## Exercises")]
    assert found, f"{script.name} has no markdown cell starting with '## Exercises'"
    return found[-1]


def test_the_notebooks_exist():
    names = {path.stem for path in SCRIPTS}
    expected = {"00_quickstart", "01_data", "02_metric_learning_vs_classification", "03_proxy_losses",
                "04_models_and_training", "05_disentanglement", "06_similarity_retrieval", "07_auto_tagging",
                "08_triplet_prediction", "09_training_time", "10_benchmark", "11_real_music",
                "12_what_the_benchmark_says", "13_train_it_yourself", "14_bring_your_own_model"}
    assert expected <= names, f"missing notebooks: {sorted(expected - names)}"


@pytest.mark.parametrize("script", SCRIPTS + SOLUTION_SCRIPTS, ids=lambda p: p.stem)
def test_pair_is_in_sync(script):
    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: run `jupytext --to ipynb {script}`"
    from_script = jupytext.read(script)
    from_notebook = jupytext.read(paired)
    assert cells(from_script) == cells(from_notebook), (
        f"{script.name} and {paired.name} differ: run `jupytext --sync {script}` (edit the .py, then sync)")


@pytest.mark.parametrize("script", SCRIPTS + SOLUTION_SCRIPTS, ids=lambda p: p.stem)
def test_notebook_imports_from_the_library(script):
    text = script.read_text()
    assert "import mdrbench" in text or "from mdrbench" in text
    assert "MDRBENCH_SIZE" in text, "every notebook honours the size switch"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_notebook_ends_with_exercises_that_name_their_solutions(script):
    notebook = jupytext.read(script)
    headings = [line for cell in notebook.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    assert headings and headings[-1].startswith("## Exercises"), f"{script.name}: the last section is {headings[-1:]}"
    text = exercises_cell(script)
    numbers = [int(n) for n in EXERCISE_ITEM.findall(text)]
    assert 3 <= len(numbers) <= 5 and numbers == list(range(1, len(numbers) + 1)), numbers
    assert f"(solutions/{script.stem}_solutions.ipynb)" in text, "the section links its solutions notebook"
    items = re.split(r"^\d+\. ", text, flags=re.MULTILINE)[1:]
    assert all("Solution: exercise" in item for item in items), "every exercise names its solution"
    assert any("predict" in item.lower() for item in items), "one exercise asks to predict an effect first"
    assert "open-ended" in items[-1].lower(), "the exercises end with an open-ended one"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_solution_notebook_solves_every_exercise_in_order(script):
    solution = solution_of(script)
    assert solution.exists(), f"{solution.relative_to(NOTEBOOKS.parent)} is missing"
    assert solution.with_suffix(".ipynb").exists()
    n_exercises = len(EXERCISE_ITEM.findall(exercises_cell(script)))
    notebook = jupytext.read(solution)
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    solved = [int(n) for n in re.findall(r"^## Exercise (\d+)\b", markdown, flags=re.MULTILINE)]
    assert solved == list(range(1, n_exercises + 1)), f"{solution.name} solves exercises {solved} of {n_exercises}"
    title = next(line for line in markdown.splitlines() if line.startswith("# "))
    assert title.startswith(f"# {script.stem[:2]} · Solutions"), title
    assert "**Time:**" in markdown, "the header says how long it takes"
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert code.count("assert ") >= 2, "the answers are checked, not only printed"


def test_every_solution_notebook_belongs_to_a_notebook():
    assert {path.stem for path in SOLUTION_SCRIPTS} == {f"{script.stem}_solutions" for script in SCRIPTS}


def _library_functions() -> set[str]:
    names = set()
    for module in Path(mdrbench.__file__).parent.rglob("*.py"):
        tree = ast.parse(module.read_text())
        names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
                  and not node.name.startswith("_")}
    return names


@pytest.mark.parametrize("script", SOLUTION_SCRIPTS, ids=lambda p: p.stem)
def test_solutions_do_not_redefine_library_code(script):
    tree = ast.parse(script.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assert not defined & _library_functions(), f"use mdrbench's {sorted(defined & _library_functions())} instead"
