"""Report tables, intervals, the comparison rule and the findings, on hand-made results (no training)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mdrbench.corpus import CATEGORIES
from mdrbench.evidence import make_evidence
from mdrbench.report import (
    PAPER_ROWS,
    collect_results,
    compare,
    findings,
    markdown_table,
    paired_columns,
    t_interval,
    table1,
    table3,
    write_report,
)
from mdrbench.results import RESULT_VERSION, RunFolder, atomic_write_json, load_result

SEEDS = (0, 1, 2)


def fake_result(config, seed, r1, auc, subspace_overall, best_epoch=5, stopped_by="schedule"):
    notions = {"genre": 0.7, "mood": 0.6, "instrument": 0.8, "era": 0.65, "overall": 0.69}
    triplets = {"complete": notions}
    if config.endswith("-dis"):
        triplets["subspace"] = {**notions, "overall": subspace_overall}
    objective = config.split("-norm")[0].split("-raw")[0]
    return {"version": RESULT_VERSION, "config": config, "seed": seed,
            "recall_at_k": {"1": r1, "2": r1 + 0.1, "4": r1 + 0.2, "8": r1 + 0.3},
            "auc": {"roc_auc": auc, "pr_auc": auc / 2, "scores": "head logits", "per_category": {}},
            "triplets": triplets, "track_triplet_accuracy": 0.9, "human_triplet_accuracy": 0.7,
            "human_triplet_accuracy_clean": 0.8, "human_source": "simulated raters",
            "embedding_spread": {"mean_cosine": 0.1, "p5_cosine": -0.2}, "disentanglement": None,
            "training": {"epochs_run": best_epoch + 4, "best_epoch": best_epoch, "lr_reductions": 2,
                         "stopped_by": stopped_by, "steps_per_epoch": 10,
                         "excerpts_per_step": {"triplet": 3, "triplet-track": 6}.get(objective, 1) * 8,
                         "median_step_seconds": {"triplet": 3, "triplet-track": 6}.get(objective, 1) * 0.1,
                         "seconds_per_epoch": 1.0, "total_seconds": 10.0, "cpu_seconds": 10.0}}


# config: (R@1, AUC, sub-space overall, best epoch); classification-norm-full is read from proxy-norm-full
VALUES = {"triplet-norm-full": (0.30, 0.80, None, 10), "triplet-norm-dis": (0.33, 0.81, 0.79, 10),
          "triplet-track-norm-dis": (0.31, 0.80, 0.75, 10), "proxy-norm-full": (0.45, 0.89, None, 5),
          "proxy-norm-dis": (0.44, 0.89, 0.74, 5), "classification-raw-full": (0.06, 0.88, None, 4),
          "classification-norm-dis": (0.45, 0.89, 0.73, 6)}


def wobble(config, seed):
    """A per-seed wobble that differs between configurations, so that paired differences vary over seeds: under
    report.compare, differences that are identical on every seed (zero spread) decide nothing."""
    return 0.0 if config == "proxy-norm-full" else 0.002 * ((seed * (list(VALUES).index(config) + 1)) % 7)


def fake_evidence(n=40, noise=0.0, seed=0):
    """Per-query evidence of n test tracks; with noise 0 every run's is the same, so differences between runs
    have no query noise and the intervals are the seeds' alone (what these hand-made tests reason about)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, 4), dtype=bool)
    labels[np.arange(n), np.arange(n) % 4] = True
    recall = np.clip(0.5 + noise * rng.normal(size=(n, 4)), 0, 1)
    correct = rng.random(n) < 0.7 if noise else np.arange(n) % 10 < 7
    notions = {c: correct for c in CATEGORIES}
    return make_evidence(labels, recall, labels + noise * rng.normal(size=labels.shape),
                         {**{c: np.arange(n) for c in CATEGORIES}, "track": np.arange(n)},
                         {"complete": {**notions, "track": correct}, "subspace": notions})


def write_fake_run(folder, result, evidence=None):
    run = RunFolder(folder)
    run.write_evidence(evidence or fake_evidence())
    run.finish(result)


@pytest.fixture
def results_folder(tmp_path):
    for config, (r1, auc, sub, best) in VALUES.items():
        for seed in SEEDS:
            extra = wobble(config, seed)
            epochs = best + seed if config in ("triplet-norm-full", "triplet-norm-dis") else best
            result = fake_result(config, seed, r1 + 0.01 * seed + extra, auc + 0.001 * seed + extra / 10,
                                 None if sub is None else sub + extra, epochs)
            write_fake_run(tmp_path / "runs" / config / f"seed{seed}", result)
    for name, r1 in (("random", 0.11), ("mel-statistics", 0.23)):
        result = {**fake_result(name, 0, r1, 0.5, None), "training": None}
        write_fake_run(tmp_path / "baselines" / name / "seed0", result)
    return tmp_path


def set_metric(folder, config, update):
    for seed in SEEDS:
        path = folder / "runs" / config / f"seed{seed}" / "result.json"
        result = json.loads(path.read_text())
        update(result, seed)
        atomic_write_json(path, result)


def test_collect_tables_and_intervals(results_folder):
    results = collect_results(results_folder)
    assert len(results) == 8 * 3 + 2  # the alias row per seed, and two baselines
    assert list(dict.fromkeys(results["config"])) == [*PAPER_ROWS, "random", "mel-statistics"]
    table = table1(results)
    assert table.loc["proxy-norm-full", "R@1"] == pytest.approx(46.0)
    half = stats.t.ppf(0.975, 2) * np.std([45, 46, 47], ddof=1) / np.sqrt(3)
    assert table.loc["proxy-norm-full", "R@1 ±"] == pytest.approx(half)
    assert table.loc["classification-norm-full", "R@1"] == table.loc["proxy-norm-full", "R@1"]
    assert table.loc["classification-raw-full", "R@1 paper"] == pytest.approx(6.1)
    assert np.isnan(table.loc["random", "R@1 ±"]) and table.loc["mel-statistics", "R@1"] == pytest.approx(23.0)
    # time: epochs to convergence x steps x median step seconds, relative to the fastest configuration
    assert table["time_ratio"].min() == pytest.approx(1.0)
    assert table.loc["classification-raw-full", "time_ratio"] == pytest.approx(1.0)
    assert table.loc["triplet-track-norm-dis", "time_ratio"] == pytest.approx(10 * 0.6 / (4 * 0.1))
    assert table.loc["proxy-norm-full", "converged"] == 3


def test_table3_subspace_rows_only_for_disentangled_models(results_folder):
    triplets = table3(collect_results(results_folder))
    assert ("subspace", "triplet-norm-dis") in triplets.index
    for config in ("proxy-norm-full", "triplet-norm-full", "classification-raw-full", "random"):
        assert ("subspace", config) not in triplets.index
        assert ("complete", config) in triplets.index
    assert triplets.loc[("subspace", "triplet-norm-dis"), "overall paper"] == pytest.approx(0.792)


def test_t_interval_matches_scipy():
    values = [0.3, 0.35, 0.5, 0.41]
    mean, half, n = t_interval(values)
    low, high = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    assert n == 4 and mean - half == pytest.approx(low) and mean + half == pytest.approx(high)
    assert np.isnan(t_interval([1.0])[1]) and t_interval([])[2] == 0


def test_compare_holds_fails_or_cannot_decide():
    assert compare([1.0, 1.2, 0.9]).verdict == "holds"
    assert compare([-1.0, -1.2, -0.9]).verdict == "does not hold"
    assert compare([1.0, -1.0, 0.2]).verdict == "undetermined"  # within noise
    assert compare([0.001, 0.002, 0.0015]).verdict == "holds"  # tiny but consistent: the interval decides
    assert compare([1.0]).verdict == "undetermined"  # one seed
    assert compare([1.0, np.nan, 1.1]).verdict == "undetermined"
    assert compare([1.0, 1.2, 0.9], converged=False).verdict == "undetermined"
    assert "contains 0" in compare([1.0, -1.0, 0.2]).reason
    # two seeds with the very same gain (a discrete metric on few tracks): a zero-width interval is no evidence
    same = compare([0.010, 0.010])
    assert same.verdict == "undetermined" and "same difference" in same.reason and same.low == same.high


def test_paired_columns_is_one_configuration_seed_by_seed():
    results = pd.DataFrame({"kind": ["model", "model", "model", "baseline"], "config": ["a", "a", "b", "a"],
                            "seed": [1, 0, 0, 0], "x": [3.0, 1.0, 9.0, 9.0], "y": [1.0, 0.5, 0.0, 0.0],
                            "converged": [True, True, False, True]})
    differences, converged = paired_columns(results, "a", "x", "y")
    np.testing.assert_allclose(differences, [0.5, 2.0])  # seed 0, then seed 1; the baseline row is not a run
    assert converged
    assert paired_columns(results, "b", "x", "y")[1] is False
    assert len(paired_columns(results, "missing", "x", "y")[0]) == 0


def test_findings_follow_the_numbers(results_folder):
    by_key = {f["key"]: f for f in findings(collect_results(results_folder))}
    assert {"normalization", "retrieval", "tagging", "subspace-lead", "complete-triplets",
            "similarity-disentanglement", "epochs", "training-time"} <= set(by_key)
    for key in ("normalization", "retrieval", "tagging", "subspace-lead"):
        assert by_key[key]["verdict"] == "holds", by_key[key]["evidence"]
    # 5, 6 and 7 more epochs on three seeds: p < 0.05 alone, but not after Holm over every test of the report
    assert by_key["epochs"]["verdict"] == "undetermined" and "not after Holm" in by_key["epochs"]["evidence"]
    # pairs are like for like, each with its own verdict and power sentence; every test is Holm-corrected
    retrieval = by_key["retrieval"]
    assert [p["label"] for p in retrieval["pairs"]] == ["proxy-norm-full - triplet-norm-full",
                                                        "proxy-norm-dis - triplet-norm-dis",
                                                        "classification-norm-dis - triplet-norm-dis"]
    assert all(p["p_holm"] >= p["p"] for p in retrieval["pairs"]) and retrieval["n_tests"] >= 20
    assert "power" in retrieval["pairs"][0]["text"] or "detects" in retrieval["pairs"][0]["text"]
    sub = by_key["subspace-lead"]
    wobbles = [wobble("triplet-norm-dis", s) - wobble("triplet-track-norm-dis", s) for s in SEEDS]
    assert sub["pairs"][0]["difference"] == pytest.approx(0.79 - 0.75 + np.mean(wobbles))
    # every complete-space accuracy is the same: no spread, nothing decided
    assert by_key["complete-triplets"]["verdict"] == "undetermined"
    # the information claim needs the probes, which these runs lack
    assert by_key.get("information-disentanglement", {"verdict": "undetermined"})["verdict"] == "undetermined"
    # The disentangled triplet model loses in the sub-spaces on every seed: the claim flips.
    set_metric(results_folder, "triplet-norm-dis", lambda r, s: r["triplets"]["subspace"].update(overall=0.5 + s / 100))
    sub = next(f for f in findings(collect_results(results_folder)) if f["key"] == "subspace-lead")
    assert sub["verdict"] == "does not hold"
    # Now one seed of it wins, two lose: within noise.
    set_metric(results_folder, "triplet-norm-dis",
               lambda r, s: r["triplets"]["subspace"].update(overall=0.9 if s == 0 else 0.74))
    sub = next(f for f in findings(collect_results(results_folder)) if f["key"] == "subspace-lead")
    assert sub["verdict"] == "undetermined"


def test_summary_verdict_rule():
    from mdrbench.findings import summary_verdict

    assert summary_verdict(["holds", "holds"]) == "holds"
    assert summary_verdict(["holds", "undetermined"]) == "holds in part"
    assert summary_verdict(["holds", "does not hold"]) == "does not hold"
    assert summary_verdict(["undetermined", "undetermined"]) == "undetermined"


def test_query_noise_widens_the_interval(results_folder):
    """The same per-seed numbers with noisy, differing per-query evidence: the interval must widen beyond the
    seeds' alone, and the table's half-widths too."""
    narrow = next(f for f in findings(collect_results(results_folder)) if f["key"] == "normalization")
    table_before = table1(collect_results(results_folder))
    for config, offset in (("classification-raw-full", 1), ("proxy-norm-full", 2)):
        for seed in SEEDS:
            RunFolder(results_folder / "runs" / config / f"seed{seed}").write_evidence(
                fake_evidence(n=40, noise=0.3, seed=10 * offset + seed))
    wide = next(f for f in findings(collect_results(results_folder)) if f["key"] == "normalization")
    (pair_before,), (pair_after,) = narrow["pairs"], wide["pairs"]
    assert pair_after["difference"] == pytest.approx(pair_before["difference"])  # the point estimate is the record's
    assert pair_after["high"] - pair_after["low"] > pair_before["high"] - pair_before["low"]
    assert pair_after["n_queries"] == 40 and pair_after["seed_share"] < 1
    assert table1(collect_results(results_folder)).loc["proxy-norm-full", "R@1 ±"] > table_before.loc[
        "proxy-norm-full", "R@1 ±"]


def test_a_run_that_hit_the_cap_or_nan_decides_nothing(results_folder):
    set_metric(results_folder, "classification-raw-full", lambda r, s: r["training"].update(stopped_by="cap"))
    normalization = next(f for f in findings(collect_results(results_folder)) if "Normalization" in f["claim"])
    assert normalization["verdict"] == "undetermined" and "schedule" in normalization["evidence"]
    set_metric(results_folder, "classification-raw-full", lambda r, s: r["training"].update(stopped_by="schedule"))
    set_metric(results_folder, "classification-raw-full", lambda r, s: r["recall_at_k"].update({"1": np.nan}))
    normalization = next(f for f in findings(collect_results(results_folder)) if "Normalization" in f["claim"])
    assert normalization["verdict"] == "undetermined" and "NaN" in normalization["evidence"]


def test_the_papers_dim_sim_figures_stand_only_beside_real_dim_sim(results_folder):
    assert "human paper" not in table1(collect_results(results_folder)).columns
    from mdrbench.report import human_table

    assert "human paper" not in human_table(collect_results(results_folder)).columns  # simulated raters
    for config in VALUES:
        set_metric(results_folder, config, lambda r, s: r.update(human_source="Dim-Sim"))
    table = human_table(collect_results(results_folder))
    assert table.loc["triplet-track-norm-dis", "human paper"] == pytest.approx(0.852)
    assert np.isnan(table.loc["proxy-norm-dis", "human paper"])  # the paper gives four models only


def test_unfinished_or_corrupt_runs_are_named(results_folder):
    path = results_folder / "runs" / "proxy-norm-dis" / "seed1" / "result.json"
    path.write_text("{truncated")
    assert load_result(path.parent) is None
    results = collect_results(results_folder)
    assert len(results) == 8 * 3 + 2 - 1
    assert results.attrs["problems"] == [f"{path} is unreadable (Expecting property name enclosed in double quotes: "
                                         f"line 1 column 2 (char 1)); `mdrbench bench` will redo this run."]


def test_write_report(results_folder):
    set_metric(results_folder, "triplet-norm-full", lambda r, s: r["training"].update(stopped_by="cap"))
    write_report(results_folder)
    text = (results_folder / "report.md").read_text()
    assert "Table 1" in text and "(43.8)" in text and "**holds**" in text and "95% interval over seeds and test" in text
    assert "Holm" in text and "like for like" in text and "not comparable" in text
    assert "did not stop by the schedule" in text and "| triplet-norm-full | 0 | cap |" in text
    assert "mel-statistics" in text and "random" in text
    page = (results_folder / "report.html").read_text()
    assert "<table" in page and "verdict-holds" in page and "<pre" not in page
    assert 'src="http' not in page and "src='http" not in page  # plotly.js is inline: renders offline
    assert pd.read_csv(results_folder / "results.csv")["config"].nunique() == 10


def test_markdown_table_formats_numbers():
    text = markdown_table(pd.DataFrame({"a": [1.23456, np.nan]}, index=["x", "y"]), digits=2)
    assert "| x | 1.23 |" in text and "| y |  |" in text
