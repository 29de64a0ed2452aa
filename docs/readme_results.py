"""Write the README's results section from a finished benchmark: every number read from the runs, none typed.

    python docs/readme_results.py [--size default] [--measured "TEXT"] [--check]

Replaces what lies between the `<!-- results:begin -->` and `<!-- results:end -->` markers of README.md
with the tables (mean ± 95% interval over seeds, the paper in brackets, the two baselines), the cost of
training, which configurations beat the mel-statistics baseline, and `mdrbench.report.findings`. Run times
come from the runs' result.json; what was measured outside the benchmark (a command's wall time under
`/usr/bin/time`, the load from /proc/loadavg) is passed in with --measured. `--check` only reports whether
the README is current.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

import mdrbench  # noqa: F401  (sets the Keras backend)
import mdrbench.paths
from mdrbench import report
from mdrbench.results import scan_results

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def above_baseline(results, baseline: str = "mel-statistics") -> list[str]:
    """One line per metric: the configurations whose seed mean is above the baseline, and those that are not."""
    table = report.table1(results)
    models = [config for config in table.index if config not in report.BASELINE_ROWS]
    lines = []
    for column, digits in (("R@1", 1), ("AUC", 3)):
        reference = table.loc[baseline, column]
        below = [f"{config} ({table.loc[config, column]:.{digits}f})" for config in models
                 if not table.loc[config, column] > reference]
        verdict = ("every configuration is above it" if not below else
                   f"{len(models) - len(below)} of {len(models)} are above it; below: {', '.join(below)}")
        lines.append(f"- {column}: {baseline} reaches {reference:.{digits}f}; {verdict}.")
    return lines


def results_section(folder: Path, measured: str | None = None) -> str:
    results = report.collect_results(folder)
    models = results[(results["kind"] == "model") & results["same_as"].isna()]
    if not len(models):
        raise SystemExit(f"{folder} holds no finished runs: run `mdrbench bench` first.")
    per_config = models.groupby("config").size()
    seeds_text = (str(per_config.min()) if per_config.min() == per_config.max()
                  else f"{per_config.min()}-{per_config.max()} (not finished)")
    stopped = models["stopped_by"].value_counts().to_dict()
    manifest = report.read_manifest(folder)
    budget = manifest.get("budget", {})
    lines = [f"`mdrbench bench` at the `{manifest.get('size', '?')}` size: {len(models)} trained runs "
             f"({models['config'].nunique()} configurations x {seeds_text} seeds; classification-norm-full is "
             f"proxy-norm-full, trained once), stopped by: "
             + ", ".join(f"{key} {value}" for key, value in stopped.items()) + ". "
             f"Schedule: Adam, lr / 5 after {budget.get('patience')} stalled epochs, at most "
             f"{budget.get('max_lr_reductions')} reductions, then stop (cap {budget.get('max_epochs')} epochs, never "
             f"reached when every run says `schedule`)."]
    runs, _ = scan_results(folder)
    minutes = pd.Series({result["seed"]: 0.0 for result in runs})
    for result in runs:
        minutes[result["seed"]] += result.get("wall_seconds", float("nan")) / 60
    lines[-1] += (" Training and evaluation, per seed (the sum of its runs' wall time): "
                  + ", ".join(f"seed {seed} {value:.0f} min" for seed, value in minutes.sort_index().items()) + ".")
    if measured:
        lines[-1] += f" {measured}"
    n_test = int(models["n_test_tracks"].dropna().iloc[0]) if models["n_test_tracks"].notna().any() else None
    lines += ["", f"Ours: mean ± half-width of the {report.INTERVAL_NAME}; the paper's value (MSD, 201,680 training "
              "tracks, 28,435 test tracks) in brackets; R@K in percent. `random` and `mel-statistics` are baselines "
              f"on the same test set and triplets. R@K grows with the database searched: on {n_test} test tracks "
              "these numbers are not comparable with earlier mdrbench results on 400 test tracks, nor with the "
              "paper's.", ""]
    table = report.compact(report.table1(results), report.TABLE1_DIGITS).drop(columns=["converged"])
    lines += [report.markdown_table(table), ""]
    lines += ["Against the simple baseline (per-band log-mel mean and standard deviation; cosine for retrieval, "
              "one logistic regression per tag for tagging):", "", *above_baseline(results), ""]
    lines += ["Triplet prediction, overall accuracy (mean of genre, mood, instrument, era), in the complete space "
              "and, for disentangled models, in each dimension's own sub-space:", ""]
    triplets = report.table3(results)[["overall", "overall ±", "overall paper"]]
    lines += [report.markdown_table(report.compact(triplets, 3)), ""]
    lines += ["What training cost: the data budget of an epoch (as many anchors as training tracks), the median step "
              "time measured interleaved in one process after the runs (so that another job cannot inflate one "
              "configuration), and epochs to convergence (the best epoch), means over seeds:", ""]
    cost = report.cost_table(results)
    for column, digits in (("step_seconds", 3), ("epochs_to_convergence", 1), ("epochs_run", 1), ("time_seconds", 0),
                           ("time_ratio", 2), ("excerpts_per_step", 0), ("steps_per_epoch", 0), ("lr_reductions", 1)):
        if column in cost:
            cost[column] = [f"{value:.{digits}f}" for value in cost[column]]
    lines += [report.markdown_table(cost), ""]
    found = report.findings(results)
    n_tests = found[0]["n_tests"] if found else 0
    lines += [f"The findings (`mdrbench.report.findings`, the one rule the report and the notebooks print): each a "
              "family of like-for-like pairs stated before the data, each pair paired on the same seeds and test "
              f"tracks with a 95% interval over both; verdicts Holm-corrected over the report's {n_tests} tests. A "
              "finding holds when every pair holds, does not hold when a pair goes the other way, holds in part "
              "when some pairs hold and none goes the other way. The power sentences (the smallest difference "
              "this design detects with 80% power at Holm's strictest level, and what would detect the practical "
              "size) are in `report.md`.", ""]
    for finding in found:
        lines.append(f"- **{finding['verdict']}**: {finding['claim']} (paper: {finding['paper']}).")
        for pair in finding["pairs"]:
            low, high = pair["low"], pair["high"]
            digits = 1 if finding["evidence"].startswith("R@") or "epochs" in finding["evidence"][:25] else 3
            interval = f"[{low:+.{digits}f}, {high:+.{digits}f}]" if pd.notna(low) else "no interval"
            lines.append(f"  - {pair['label']}: {pair['difference']:+.{digits}f} {interval}, *{pair['verdict']}*")
    lines += ["", report.below_baseline_text(results)]
    spread = models.groupby("config")["mean_cosine"].mean()
    lines += ["", f"Spread of the spaces: the mean pairwise cosine of the test embeddings goes from "
                  f"{spread.min():.2f} ({spread.idxmin()}) to {spread.max():.2f} ({spread.idxmax()}), means over "
                  f"seeds (1 would be a collapsed space, every track in one direction)."]
    lines += ["", probe_sentence(folder)]
    return "\n".join(lines)


def probe_sentence(folder: Path, config: str = "proxy-norm-dis", seed: int = 0) -> str:
    """What the stored linear-probe matrix of one run says: how well each factor is read from each sub-space."""
    from mdrbench.results import load_run

    matrix = load_run(folder, config, seed).result["disentanglement"]  # {block: {factor: adjusted accuracy}}
    blocks = [block for block in matrix if block != "complete"]
    parts = []
    for factor in matrix[blocks[0]]:
        values = [matrix[block][factor] for block in blocks]
        parts.append(f"{factor} {min(values):.2f}-{max(values):.2f} (own block {matrix[factor][factor]:.2f})"
                     if factor in matrix else f"{factor} {min(values):.2f}-{max(values):.2f}")
    return (f"A linear probe on the test tracks of {config} (seed {seed}) reads each factor from each 64-d block "
            f"(adjusted balanced accuracy, 0 chance, 1 perfect; range over the four blocks): " + ", ".join(parts)
            + ". The picture below is that run.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default")
    parser.add_argument("--measured", help="what was measured outside the benchmark (wall time of the command, "
                        "the machine's load), appended as written")
    parser.add_argument("--check", action="store_true")
    arguments = parser.parse_args()
    section = results_section(mdrbench.paths.results_dir(arguments.size), arguments.measured)
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers; add them around the results section.")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{BEGIN}\n{section}\n{END}{tail}"
    if arguments.check:
        sys.exit(0 if updated == text else "README.md results are not current: run docs/readme_results.py")
    README.write_text(updated)
    print(f"wrote the results section of {README}")


if __name__ == "__main__":
    main()
