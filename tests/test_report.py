"""Report tables and the findings check, on hand-made results (no training)."""

import json

import numpy as np
import pytest

from mdrbench.bench import RESULT_VERSION, atomic_write_text, load_result
from mdrbench.report import PAPER_ROWS, collect_results, findings, markdown_table, table1, table3, write_report


def fake_result(config, seed, r1, auc, subspace_overall, seconds):
    notions = {"genre": 0.7, "mood": 0.6, "instrument": 0.8, "era": 0.65, "overall": 0.69}
    triplets = {"complete": notions}
    if config.endswith("-dis"):
        triplets["subspace"] = {**notions, "overall": subspace_overall}
    return {"version": RESULT_VERSION, "config": config, "seed": seed,
            "recall_at_k": {"1": r1, "2": r1 + 0.1, "4": r1 + 0.2, "8": r1 + 0.3},
            "auc": {"roc_auc": auc, "pr_auc": auc / 2, "scores": "head", "per_category": {}},
            "triplets": triplets, "track_triplet_accuracy": 0.9, "human_triplet_accuracy": 0.7,
            "human_triplet_accuracy_clean": 0.8, "disentanglement": None,
            "training": {"epochs_run": 10, "best_epoch": 5, "seconds_per_epoch": seconds, "total_seconds": 10 * seconds,
                         "hop_seconds": 0.032}}


@pytest.fixture
def results_folder(tmp_path):
    values = {"triplet-norm-full": (0.30, 0.80, None, 3.0), "triplet-norm-dis": (0.33, 0.81, 0.79, 3.2),
              "triplet-track-norm-dis": (0.31, 0.80, 0.75, 4.0), "proxy-norm-full": (0.45, 0.89, None, 1.1),
              "proxy-norm-dis": (0.44, 0.89, 0.74, 1.2), "classification-raw-full": (0.06, 0.88, None, 1.0),
              "classification-norm-full": (0.44, 0.88, None, 1.0), "classification-norm-dis": (0.45, 0.89, 0.73, 1.3)}
    for config, (r1, auc, sub, seconds) in values.items():
        for seed in (0, 1):
            result = fake_result(config, seed, r1 + 0.01 * seed, auc, sub, seconds)
            atomic_write_text(tmp_path / "runs" / config / f"seed{seed}" / "result.json", json.dumps(result))
    return tmp_path


def test_collect_and_tables(results_folder):
    results = collect_results(results_folder)
    assert len(results) == 16
    assert list(dict.fromkeys(results["config"])) == list(PAPER_ROWS)
    table = table1(results)
    assert table.loc["proxy-norm-full", "R@1"] == pytest.approx(45.5)
    assert table.loc["proxy-norm-full", "R@1 sd"] == pytest.approx(np.std([45, 46], ddof=1))
    assert table.loc["classification-raw-full", "R@1 paper"] == pytest.approx(6.1)
    # the fastest configuration defines ratio 1; epochs to convergence x seconds per epoch
    assert table["time_ratio"].min() == pytest.approx(1.0)
    assert table.loc["triplet-track-norm-dis", "time_ratio"] == pytest.approx(4.0)
    triplets = table3(results)
    assert ("subspace", "triplet-norm-dis") in triplets.index
    assert ("subspace", "proxy-norm-full") not in triplets.index
    assert triplets.loc[("subspace", "triplet-norm-dis"), "overall paper"] == pytest.approx(0.792)


def test_findings_follow_the_numbers(results_folder):
    claims = {claim: holds for claim, holds, _ in findings(collect_results(results_folder))}
    assert all(claims.values()) and len(claims) == 5
    # Make the disentangled triplet model lose in the sub-spaces: the claim must flip.
    path = results_folder / "runs" / "triplet-norm-dis"
    for seed in (0, 1):
        result = json.loads((path / f"seed{seed}" / "result.json").read_text())
        result["triplets"]["subspace"]["overall"] = 0.5
        atomic_write_text(path / f"seed{seed}" / "result.json", json.dumps(result))
    claims = {claim: holds for claim, holds, _ in findings(collect_results(results_folder))}
    assert claims["The disentangled triplet model leads sub-space triplet prediction"] is False


def test_unfinished_or_corrupt_runs_are_ignored(results_folder):
    (results_folder / "runs" / "proxy-norm-dis" / "seed1" / "result.json").write_text("{truncated")
    assert load_result(results_folder / "runs" / "proxy-norm-dis" / "seed1") is None
    assert len(collect_results(results_folder)) == 15


def test_write_report(results_folder):
    write_report(results_folder)
    text = (results_folder / "report.md").read_text()
    assert "Table 1" in text and "(43.80)" in text and "**holds**" in text
    assert (results_folder / "report.html").read_text().count("plotly") > 0
    assert (results_folder / "results.csv").exists()


def test_markdown_table_formats_numbers():
    import pandas as pd

    text = markdown_table(pd.DataFrame({"a": [1.23456, np.nan]}, index=["x", "y"]), digits=2)
    assert "| x | 1.23 |" in text and "| y |  |" in text
