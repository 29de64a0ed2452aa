"""The notebooks' prose states no result: counts and findings are printed from the runs being shown.

A count typed into markdown ("48 test tracks") is true at one size only and goes stale the day a size changes;
a finding typed into markdown ("triplet models need more epochs") contradicts the numbers the day they differ.
These patterns are the ones that went stale before; a notebook prints such things from its workspace instead.
"""

import re
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
# Solutions reason about hypothetical counts ("going from 2 seeds to 3"); they are checked for findings only.
ALL_SCRIPTS = sorted([*SCRIPTS, *(NOTEBOOKS / "solutions").glob("[0-9][0-9]_*.py")])

# A number followed by what it counts in the corpus or the benchmark ("48 test tracks", "2 seeds", "168 training
# tracks", "36 tags"). Sizes of the model (256-d, 64 units) and of the paper's setup are definitions, not counts.
STALE_COUNT = re.compile(r"\b\d+ (?:test |training |validation |train |valid )?(?:tracks|seeds|tags|triplets|runs)\b")
# Verdicts and expectations that earlier versions typed in and the measured numbers contradicted.
STALE_FINDINGS = [re.compile(pattern, flags=re.IGNORECASE) for pattern in (
    r"should show a (?:bright )?diagonal",
    r"triplet models? (?:need|take|requires?) more epochs",
    r"\bfinding (?:holds|does not hold)\b",
)]
# Where a count is the subject, not a result: the paper's own setup, a worked toy example, a real corpus.
ALLOWED = re.compile(r"paper|toy|e\.g\.|for example|MSD|Last\.fm|Dim-Sim|Jamendo|top-\d+", flags=re.IGNORECASE)
# A question or a condition is not a claim ("whether triplet models need more epochs", "if the interval...").
CONDITIONAL = re.compile(r"\?|\bwhether\b|\bif\b", flags=re.IGNORECASE)


def prose_lines(script: Path, exercises: bool = True) -> list[tuple[int, str]]:
    """(cell number, line) of the markdown cells; ``exercises=False`` leaves out the Exercises (hypotheticals)."""
    lines = []
    for number, cell in enumerate(jupytext.read(script).cells):
        if not exercises and cell.source.lstrip().startswith("## Exercises"):
            continue
        if cell.cell_type == "markdown" and "mdrbench-colab" not in cell.metadata.get("tags", []):
            lines += [(number, line) for line in cell.source.splitlines()]
    return lines


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_prose_types_no_count_of_the_corpus_or_runs(script):
    stale = [f"cell {cell}: {line.strip()}" for cell, line in prose_lines(script, exercises=False)
             if STALE_COUNT.search(line) and not ALLOWED.search(line)]
    assert not stale, "print these counts from the workspace instead:\n" + "\n".join(stale)


@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=lambda path: path.stem)
def test_prose_types_no_finding(script):
    stale = [f"cell {cell}: {line.strip()}" for cell, line in prose_lines(script)
             if any(pattern.search(line) for pattern in STALE_FINDINGS) and not CONDITIONAL.search(line)]
    assert not stale, "state these conditionally or print them from mdrbench.report.findings:\n" + "\n".join(stale)


def test_the_patterns_catch_what_went_stale_before():
    assert STALE_COUNT.search("the numbers rest on 48 test tracks") and STALE_COUNT.search("averaged over 2 seeds")
    assert not STALE_COUNT.search("a 256-d embedding split into four 64-d sub-spaces")
    assert any(pattern.search("a disentangled model should show a diagonal") for pattern in STALE_FINDINGS)
    assert any(pattern.search("triplet models need more epochs") for pattern in STALE_FINDINGS)
    assert CONDITIONAL.search("whether triplet models need more epochs")
