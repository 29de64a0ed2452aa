"""Tables in the paper's layout with intervals over seeds, baselines beside the models, and which of the
paper's findings hold, do not hold, or cannot be decided.

- :func:`collect_results` reads every finished run and baseline into one row per (configuration, seed).
- :func:`table1` / :func:`table3` / :func:`human_table`: mean and a 95% Student-t interval over seeds, the
  paper's value beside ours, the random and mel-statistics baselines as rows.
- :func:`compare`: the one rule every claim goes through (paired differences across seeds).
- :func:`findings`: the paper's headline claims, each checked with :func:`compare`.
- :func:`write_report`: report.md, report.html (renders offline) and results.csv. ``mdrbench report DIR``.

A number only counts when the run that made it converged: a run that did not stop by the schedule
(``stopped_by`` "cap" or "nan") is flagged in the tables and makes every finding it touches "undetermined".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.configs import SAME_FUNCTION
from mdrbench.corpus import CATEGORIES
from mdrbench.results import atomic_write_text, read_manifest, scan_results

# Our configuration names -> the paper's (model, normalization, disentanglement) rows.
PAPER_ROWS: dict[str, tuple[str, int, int]] = {
    "triplet-norm-full": ("triplet", 1, 0),
    "triplet-norm-dis": ("triplet", 1, 1),
    "triplet-track-norm-dis": ("triplet+track_reg", 1, 1),
    "proxy-norm-full": ("proxy", 1, 0),
    "proxy-norm-dis": ("proxy", 1, 1),
    "classification-raw-full": ("classification", 0, 0),
    "classification-norm-full": ("classification", 1, 0),
    "classification-norm-dis": ("classification", 1, 1),
}
BASELINE_ROWS = ("random", "mel-statistics")
# Dim-Sim accuracy on the complete space, as reported in the paper's text (real human votes: not comparable
# with simulated raters, so it is only shown beside a real Dim-Sim evaluation).
PAPER_HUMAN = {"triplet-norm-full": 0.820, "triplet-track-norm-dis": 0.852, "proxy-norm-full": 0.784,
               "classification-norm-dis": 0.801}
RECALL_COLUMNS = ["R@1", "R@2", "R@4", "R@8"]
TRIPLET_COLUMNS = [*CATEGORIES, "overall"]
CONFIDENCE = 0.95
INTERVAL_NAME = "95% Student-t interval over seeds"
TRIPLETS = ("triplet-norm-full", "triplet-norm-dis", "triplet-track-norm-dis")
PROXY_LIKE = ("proxy-norm-full", "proxy-norm-dis", "classification-norm-full", "classification-norm-dis")
DISENTANGLED = ("triplet-norm-dis", "triplet-track-norm-dis", "proxy-norm-dis", "classification-norm-dis")


def paper_table(name: str) -> pd.DataFrame:
    """The paper's Table 1 (``results``) or Table 3 (``triplets``) with our configuration names as index."""
    with resources.files("mdrbench").joinpath(f"data/paper_{name}.csv").open() as handle:
        frame = pd.read_csv(handle)
    lookup = {v: k for k, v in PAPER_ROWS.items()}
    frame["config"] = [lookup[(m, n, d)] for m, n, d in
                       zip(frame["model"], frame["normalization"], frame["disentanglement"], strict=True)]
    return frame


# ------------------------------------------------------------------------------------------------ results
def _row(result: dict, kind: str) -> dict:
    row = {"config": result["config"], "seed": result["seed"], "kind": kind}
    row.update({f"R@{k}": 100 * v for k, v in result["recall_at_k"].items()})
    row["AUC"] = result["auc"]["roc_auc"]
    row["PR-AUC"] = result["auc"]["pr_auc"]
    for space, values in result["triplets"].items():
        for notion, value in values.items():
            row[f"{space}:{notion}"] = value
    row["track"] = result["track_triplet_accuracy"]
    row["human"] = result["human_triplet_accuracy"]
    row["human_clean"] = result["human_triplet_accuracy_clean"]
    row["human_source"] = result.get("human_source", "simulated raters")
    row["mean_cosine"] = result["embedding_spread"]["mean_cosine"]
    training = result.get("training")
    row["stopped_by"] = training["stopped_by"] if training else "baseline"
    if training:
        row["epochs_to_convergence"] = max(training["best_epoch"], 1)
        row["epochs_run"] = training["epochs_run"]
        row["lr_reductions"] = training["lr_reductions"]
        row["steps_per_epoch"] = training["steps_per_epoch"]
        row["excerpts_per_step"] = training["excerpts_per_step"]
        row["run_step_seconds"] = training["median_step_seconds"]
        row["train_seconds"] = training["total_seconds"]
        row["schedule"] = training.get("schedule")
    return row


def collect_results(folder: str | Path) -> pd.DataFrame:
    """One row per finished run (config, seed) and baseline, every number flattened into columns.

    ``classification-norm-full`` rows are copies of ``proxy-norm-full`` (the same function, trained once),
    marked in the ``same_as`` column. ``time_ratio``: epochs to convergence x the cost of an epoch (steps x the
    median step time measured for every configuration in one process, interleaved; see ``timing.json``),
    relative to the fastest configuration's mean. Unreadable result files are listed in
    ``frame.attrs["problems"]``.
    """
    runs, problems = scan_results(folder, "runs")
    baselines, baseline_problems = scan_results(folder, "baselines")
    rows = [_row(result, "model") for result in runs]
    for row in list(rows):
        for alias, source in SAME_FUNCTION.items():
            if row["config"] == source:
                rows.append({**row, "config": alias, "same_as": source})
    rows += [_row(result, "baseline") for result in baselines]
    frame = pd.DataFrame(rows)
    frame.attrs["problems"] = problems + baseline_problems
    if not len(frame):
        return frame
    if "same_as" not in frame.columns:
        frame["same_as"] = None
    frame["converged"] = frame["stopped_by"].isin(["schedule", "baseline"])
    order = {name: i for i, name in enumerate([*PAPER_ROWS, *BASELINE_ROWS])}
    frame = frame.sort_values(["config", "seed"], key=lambda s: s.map(order) if s.name == "config" else s)
    models = frame["kind"] == "model"
    if models.any():
        step_seconds = _timing(folder)
        cost = frame["config"].map(lambda c: step_seconds.get(SAME_FUNCTION.get(c, c), np.nan))
        cost = cost.fillna(frame.get("run_step_seconds"))  # no interleaved timing yet: the run's own median
        frame["step_seconds"] = cost
        frame["time_seconds"] = frame["epochs_to_convergence"] * frame["steps_per_epoch"] * cost
        fastest = frame[models].groupby("config")["time_seconds"].mean().min()
        frame["time_ratio"] = frame["time_seconds"] / fastest
    frame = frame.reset_index(drop=True)
    frame.attrs["problems"] = problems + baseline_problems
    return frame


def _timing(folder) -> dict[str, float]:
    path = Path(folder) / "timing.json"
    if not path.exists():
        return {}
    try:
        return {name: float(values["median_step_seconds"]) for name, values in json.loads(path.read_text()).items()}
    except (json.JSONDecodeError, KeyError, TypeError):
        return {}


# ------------------------------------------------------------------------------------------------ intervals
def t_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """(mean, half-width of the Student-t confidence interval, n) of the finite values; half-width NaN when
    fewer than two values."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, 0
    mean = float(values.mean())
    if n < 2:
        return mean, np.nan, 1
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, half, n


def _summary(results: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(means, interval half-widths) per config for the given columns."""
    means, halves = {}, {}
    for config, group in results.groupby("config", sort=False):
        means[config], halves[config] = {}, {}
        for column in columns:
            mean, half, _ = t_interval(group[column]) if column in group else (np.nan, np.nan, 0)
            means[config][column], halves[config][column] = mean, half
    return pd.DataFrame.from_dict(means, orient="index"), pd.DataFrame.from_dict(halves, orient="index")


def table1(results: pd.DataFrame) -> pd.DataFrame:
    """Training-time ratio, R@1/2/4/8 (percent) and tag ROC-AUC: ours (mean, interval half-width "± ...")
    and the paper's value, one row per configuration, then the baselines; plus seeds and convergence."""
    columns = ["time_ratio", *RECALL_COLUMNS, "AUC", "mean_cosine"]
    mean, half = _summary(results, [c for c in columns if c in results.columns])
    paper = paper_table("results").set_index("config").rename(
        columns={"training_time_ratio": "time_ratio", "r_at_1": "R@1", "r_at_2": "R@2", "r_at_4": "R@4",
                 "r_at_8": "R@8", "auc": "AUC"})
    table = pd.DataFrame(index=mean.index)
    for column in columns:
        table[column] = mean[column] if column in mean else np.nan
        table[f"{column} ±"] = half[column] if column in half else np.nan
        if column in paper.columns:
            table[f"{column} paper"] = paper[column].reindex(mean.index)
    grouped = results.groupby("config", sort=False)
    table["seeds"] = grouped.size()
    table["converged"] = grouped["converged"].sum().astype(int)
    return table.rename_axis("config")


def cost_table(results: pd.DataFrame) -> pd.DataFrame:
    """What training cost, per configuration: the data budget of an epoch (steps, excerpts embedded per step),
    the median step time measured interleaved in one process, epochs to convergence and run (means over seeds),
    learning-rate reductions, and the resulting training time (epochs to convergence x steps x step time)."""
    models = results[results["kind"] == "model"]
    columns = {"excerpts_per_step": "first", "steps_per_epoch": "first", "step_seconds": "first",
               "epochs_to_convergence": "mean", "epochs_run": "mean", "lr_reductions": "mean", "time_seconds": "mean",
               "time_ratio": "mean"}
    present = {column: how for column, how in columns.items() if column in models.columns}
    table = models.groupby("config", sort=False).agg(present)
    table["stopped by"] = models.groupby("config", sort=False)["stopped_by"].agg(
        lambda values: ", ".join(f"{value} x{count}" for value, count in values.value_counts().items()))
    return table.rename_axis("config")


def table3(results: pd.DataFrame) -> pd.DataFrame:
    """Triplet accuracy per dimension in the complete space (every row) and in each dimension's own sub-space
    (disentangled models only: a 64-d slice of an entangled space means nothing)."""
    paper = paper_table("triplets")
    rows = []
    for space in ("complete", "subspace"):
        columns = [f"{space}:{c}" for c in TRIPLET_COLUMNS]
        if not set(columns) <= set(results.columns):
            continue
        present = results.dropna(subset=columns)
        if space == "subspace":
            present = present[present["config"].isin(DISENTANGLED)]
        if not len(present):
            continue
        mean, half = _summary(present, columns)
        for config in mean.index:
            row = {"space": space, "config": config}
            match = paper[(paper["space"] == space) & (paper["config"] == config)]
            for notion in TRIPLET_COLUMNS:
                row[notion] = mean.loc[config, f"{space}:{notion}"]
                row[f"{notion} ±"] = half.loc[config, f"{space}:{notion}"]
                row[f"{notion} paper"] = float(match[notion].iloc[0]) if len(match) else np.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["space", "config"]) if rows else pd.DataFrame()


def human_table(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on the Dim-Sim-style triplets (all decided, clean subset) and on track triplets.

    Beside a real Dim-Sim evaluation (``human_source`` "Dim-Sim") the paper's per-model Dim-Sim accuracy is
    shown as "human paper"; simulated raters are never put beside it (they vote on the clean factors the models
    learn, so the numbers are not comparable).
    """
    mean, half = _summary(results, ["human", "human_clean", "track"])
    table = pd.DataFrame(index=mean.index)
    for column in ("human", "human_clean", "track"):
        table[column], table[f"{column} ±"] = mean[column], half[column]
    if "human_source" in results.columns and (results["human_source"] == "Dim-Sim").any():
        table["human paper"] = pd.Series(PAPER_HUMAN).reindex(mean.index)
    return table.rename_axis("config")


# -------------------------------------------------------------------------------------- the comparison rule
@dataclass(frozen=True)
class Comparison:
    """A paired comparison across seeds: the verdict, the mean difference and its interval."""

    verdict: str  # "holds", "does not hold", "undetermined"
    difference: float
    low: float
    high: float
    n_seeds: int
    reason: str = ""

    def describe(self, digits: int = 3) -> str:
        if not np.isfinite(self.difference):
            return f"no difference computable ({self.reason})"
        interval = (f"[{self.low:+.{digits}f}, {self.high:+.{digits}f}]" if np.isfinite(self.low)
                    else "no interval")
        text = f"difference {self.difference:+.{digits}f}, {int(CONFIDENCE * 100)}% interval {interval}, " \
               f"{self.n_seeds} seed{'s' if self.n_seeds != 1 else ''}"
        return text + (f"; {self.reason}" if self.reason else "")


def compare(differences, converged: bool = True, confidence: float = CONFIDENCE) -> Comparison:
    """The one rule for "does A beat B": paired differences (A - B per seed, positive = the claim).

    *holds* when the whole Student-t interval of the mean difference lies above 0; *does not hold* when it lies
    below 0; *undetermined* when it contains 0 (within noise), when fewer than two seeds, any NaN, or any
    run behind the numbers did not converge, and when every seed gave exactly the same difference: a spread of
    zero (common for a discrete metric such as P@1 on a few test tracks) measures no noise, and the zero-width
    interval it gives would claim certainty from two seeds.
    """
    values = np.asarray(differences, dtype=float)
    mean, half, n = t_interval(values, confidence)
    low, high = mean - half, mean + half
    if len(values) == 0 or np.isnan(values).any():
        return Comparison("undetermined", mean, low, high, n, "a value is missing (NaN)")
    if not converged:
        return Comparison("undetermined", mean, low, high, n, "a run behind it did not stop by the schedule")
    if n < 2:
        return Comparison("undetermined", mean, low, high, n, "one seed: no interval")
    if half == 0 and mean != 0:
        return Comparison("undetermined", mean, low, high, n, "every seed gave the same difference: no spread to "
                          "measure the noise with")
    if low > 0:
        return Comparison("holds", mean, low, high, n)
    if high < 0:
        return Comparison("does not hold", mean, low, high, n)
    return Comparison("undetermined", mean, low, high, n, "the interval contains 0: within noise")


def paired(results: pd.DataFrame, column: str, first: list[str], second: list[str], first_reduce=min,
           second_reduce=max) -> tuple[np.ndarray, bool]:
    """Per seed: reduce(column over ``first`` configs) - reduce(column over ``second`` configs), over the seeds
    every one of them has; and whether all those runs converged."""
    models = results[results["kind"] == "model"]
    needed = list(dict.fromkeys(first + second))
    if column not in models.columns or not set(needed) <= set(models["config"]):
        return np.array([]), False
    wide = models.set_index(["seed", "config"])[column].unstack("config")
    runs = models.assign(one=1).pivot_table(index="seed", columns="config", values="one", aggfunc="sum")
    seeds = runs.index[runs.reindex(columns=needed).notna().all(axis=1)]  # seeds that have every run
    wide = wide.loc[seeds]
    differences = wide[first].apply(first_reduce, axis=1) - wide[second].apply(second_reduce, axis=1)
    if wide[needed].isna().any().any():  # a NaN metric must not be reduced away by min/max
        differences[wide[needed].isna().any(axis=1)] = np.nan
    used = models[models["config"].isin(needed) & models["seed"].isin(seeds)]
    return differences.to_numpy(dtype=float), bool(used["converged"].all())


def paired_columns(results: pd.DataFrame, config: str, first: str, second: str) -> tuple[np.ndarray, bool]:
    """Per seed of one configuration: ``first`` minus ``second`` column (e.g. ``subspace:overall`` minus
    ``complete:overall``), (n_seeds,) float ordered by seed; and whether all its runs converged. Feed both to
    :func:`compare`, like :func:`paired`'s output (which compares configurations on one column)."""
    models = results[(results["kind"] == "model") & (results["config"] == config)].sort_values("seed")
    if models.empty or not {first, second} <= set(models.columns):
        return np.array([]), False
    differences = (models[first] - models[second]).to_numpy(dtype=float)
    return differences, bool(models["converged"].all())


def findings(results: pd.DataFrame) -> list[dict]:
    """The paper's headline claims checked on our runs with :func:`compare`.

    Each finding: ``claim``, ``verdict`` ("holds" / "does not hold" / "undetermined"), ``difference``,
    ``low``, ``high`` (its interval), ``n_seeds``, ``evidence`` (one sentence with the numbers), ``paper``.
    """
    if not len(results) or not (results["kind"] == "model").any():
        return []
    have = set(results.loc[results["kind"] == "model", "config"])
    claims = []

    def add(claim, column, first, second, paper, digits=3, first_reduce=min, second_reduce=max):
        if not (set(first) | set(second)) <= have:
            return
        differences, converged = paired(results, column, list(first), list(second), first_reduce, second_reduce)
        comparison = compare(differences, converged)
        claims.append({"claim": claim, "verdict": comparison.verdict, "difference": comparison.difference,
                       "low": comparison.low, "high": comparison.high, "n_seeds": comparison.n_seeds,
                       "evidence": f"{column}: {comparison.describe(digits)}", "paper": paper})

    add("Normalization is essential for retrieval with a classifier: classification-norm-full beats "
        "classification-raw-full on R@1", "R@1", ["classification-norm-full"], ["classification-raw-full"],
        "R@1 43.8 vs 6.1", digits=1)
    proxies = [c for c in PROXY_LIKE if c in have]
    triplets = [c for c in TRIPLETS if c in have]
    if proxies and triplets:
        add("Proxy and normalized classification models beat the triplet models on similarity retrieval "
            "(the worst of the former vs the best of the latter, R@1)", "R@1", proxies, triplets,
            "R@1 43.8-45.0 vs 31.8-36.5", digits=1)
        add("Proxy and normalized classification models beat the triplet models on auto-tagging "
            "(worst vs best, ROC-AUC)", "AUC", proxies, triplets, "ROC-AUC 0.887-0.890 vs 0.813-0.825")
    others = [c for c in DISENTANGLED if c != "triplet-norm-dis" and c in have]
    if "subspace:overall" in results.columns and others:
        add("The disentangled triplet model leads triplet prediction in the sub-spaces "
            "(triplet-norm-dis vs the best other disentangled model, overall sub-space accuracy)",
            "subspace:overall", ["triplet-norm-dis"], others, "0.792 vs 0.737-0.752")
    if "time_ratio" in results.columns and proxies and triplets:
        add("Classification-style models train faster than triplet models (fastest triplet model minus "
            "fastest proxy/classification model, training-time ratio)", "time_ratio", triplets,
            [*proxies, "classification-raw-full"] if "classification-raw-full" in have else proxies,
            "1.00-1.29 vs 1.87-3.05", digits=2, first_reduce=min, second_reduce=min)
    return claims


# ------------------------------------------------------------------------------------------------ output
def _cell(mean, half, paper, digits: int) -> str:
    if pd.isna(mean):
        return ""
    text = f"{mean:.{digits}f}"
    if not pd.isna(half):
        text += f" ± {half:.{digits}f}"
    if not pd.isna(paper):
        text += f" ({paper:.{digits}f})"
    return text


def compact(table: pd.DataFrame, digits: int | dict = 3) -> pd.DataFrame:
    """Fold 'X', 'X ±', 'X paper' columns into one 'mean ± half (paper)' string column per X."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column.endswith(" ±") or column.endswith(" paper") or column in ("seeds", "converged"):
            continue
        places = digits.get(column, 3) if isinstance(digits, dict) else digits
        out[column] = [_cell(table.loc[i, column], table.loc[i, f"{column} ±"] if f"{column} ±" in table else np.nan,
                             table.loc[i, f"{column} paper"] if f"{column} paper" in table else np.nan, places)
                       for i in table.index]
    for column in ("seeds", "converged"):
        if column in table.columns:
            out[column] = table[column]
    return out


TABLE1_DIGITS = {"time_ratio": 2, "R@1": 1, "R@2": 1, "R@4": 1, "R@8": 1, "AUC": 3, "mean_cosine": 2}


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    frame = frame.reset_index()
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    lines = [header, rule] + ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def not_converged(results: pd.DataFrame) -> pd.DataFrame:
    models = results[(results["kind"] == "model") & results["same_as"].isna()] if len(results) else results
    return models.loc[~models["converged"], ["config", "seed", "stopped_by", "epochs_run"]] if len(models) else models


def report_sections(folder: str | Path, results: pd.DataFrame) -> list[tuple[str, object]]:
    """The report as (kind, content) blocks: "markdown" text, "table" DataFrames, "findings", "figure"."""
    manifest = read_manifest(folder)
    title = f"mdrbench report: {manifest.get('corpus', Path(folder).name)} (size {manifest.get('size', '?')})"
    blocks: list[tuple[str, object]] = [("markdown", f"# {title}")]
    problems = results.attrs.get("problems", [])
    if problems:
        blocks.append(("markdown", "**Unreadable results** (each will be redone by `mdrbench bench`):\n\n"
                       + "\n".join(f"- {p}" for p in problems)))
    if not len(results) or not (results["kind"] == "model").any():
        blocks.append(("markdown", "No finished runs yet: run `mdrbench bench`."))
        return blocks
    budget = manifest.get("budget", {})
    schedule = next((s for s in results.get("schedule", pd.Series(dtype=object)).dropna()), {}) or {}
    seeds = sorted(results.loc[results["kind"] == "model", "seed"].unique().tolist())
    blocks.append(("markdown", (
        f"Ours: mean ± half-width of the {INTERVAL_NAME} ({len(seeds)} seed{'s' if len(seeds) != 1 else ''}); "
        "the paper's value (MSD, 201k training tracks) in brackets. R@K in percent. `random` and "
        "`mel-statistics` are baselines scored on the same test set and triplets. classification-norm-full is "
        "the same function as proxy-norm-full (trained once, shown under both names).\n\n"
        f"Schedule (scaled to this size): Adam lr {schedule.get('learning_rate', '?')} (the paper: 0.005), "
        f"lr x {schedule.get('lr_factor', '?')} after {budget.get('patience', '?')} stalled "
        f"epochs (relative min_delta {budget.get('min_delta', '?')}), at most {budget.get('max_lr_reductions', '?')}"
        f" reductions, then stop at the next stall; cap {budget.get('max_epochs', '?')} epochs; an epoch draws one"
        " anchor per training track (batch " f"{budget.get('batch_size', '?')}).")))
    stragglers = not_converged(results)
    if len(stragglers):
        blocks.append(("markdown", "**Runs that did not stop by the schedule** (they feed no finding):"))
        blocks.append(("table", stragglers.set_index("config")))
    else:
        blocks.append(("markdown", "Every run stopped by the schedule."))
    blocks += [("markdown", "## Table 1: training time, similarity retrieval, auto-tagging"),
               ("table", compact(table1(results), TABLE1_DIGITS)),
               ("markdown", "## Training cost\n\nAn epoch draws one anchor per training track for every objective; "
                "the step time is the median of every configuration's steps timed round-robin in one process "
                "(`timing.json`), so a job sharing the machine slows all alike. Training time = epochs to "
                "convergence x steps per epoch x step time."),
               ("table", cost_table(results)),
               ("markdown", "## Table 3: triplet prediction per dimension"),
               ("table", compact(table3(results), 3)),
               ("markdown", f"## Dim-Sim-style triplets ({_human_source(folder)}) and track triplets"),
               ("table", compact(human_table(results), 3)),
               ("markdown", "## The paper's findings on this corpus"),
               ("findings", findings(results))]
    blocks += [("figure", figure) for figure in report_figures(results)]
    return blocks


def _human_source(folder) -> str:
    run = next(Path(folder).glob("runs/*/seed*/result.json"), None)
    if run is None:
        return "none"
    try:
        return json.loads(run.read_text()).get("human_source", "simulated raters")
    except json.JSONDecodeError:
        return "unknown"


def report_figures(results: pd.DataFrame) -> list:
    from mdrbench import views

    table = table1(results)
    ours = table[RECALL_COLUMNS].assign(source="ours")
    paper = table[[f"{c} paper" for c in RECALL_COLUMNS]].dropna(how="all")
    paper.columns = RECALL_COLUMNS
    figures = [views.recall_at_k_figure(pd.concat([ours, paper.assign(source="paper")]),
                                        title="Similarity retrieval R@K (ours solid, the paper dashed)")]
    triplet_table = table3(results)
    if len(triplet_table):
        figures.append(views.triplet_accuracy_figure(triplet_table[TRIPLET_COLUMNS], title="Triplet prediction"))
    return figures


def report_markdown(blocks) -> str:
    lines = []
    for kind, content in blocks:
        if kind == "markdown":
            lines.append(content)
        elif kind == "table":
            lines.append(markdown_table(content))
        elif kind == "findings":
            lines += [f"- **{f['verdict']}**: {f['claim']}. {f['evidence']} (paper: {f['paper']})." for f in content]
        lines.append("")
    return "\n".join(lines)


def report_html(blocks) -> str:
    from mdrbench import htmlpage

    parts, title = [], "mdrbench report"
    for kind, content in blocks:
        if kind == "markdown":
            if content.startswith("# "):
                title = content[2:]
            parts.append(htmlpage.html_markdown(content))
        elif kind == "table":
            multi = isinstance(content.index, pd.MultiIndex)  # (space, config): one column per level
            parts.append(htmlpage.html_table(content.reset_index() if multi else content, index=not multi))
        elif kind == "findings":
            parts.append(htmlpage.html_findings([{**f, "evidence": f"{f['evidence']} (paper: {f['paper']})"}
                                                 for f in content]))
        elif kind == "figure":
            parts.append(htmlpage.html_figure(content))
    return htmlpage.html_page(title, "\n".join(parts))


def write_report(folder: str | Path) -> pd.DataFrame:
    """Rebuild report.md, report.html and results.csv from the finished runs in ``folder``."""
    folder = Path(folder)
    results = collect_results(folder)
    atomic_write_text(folder / "results.csv", results.drop(columns=["schedule"], errors="ignore").to_csv(index=False))
    blocks = report_sections(folder, results)
    atomic_write_text(folder / "report.md", report_markdown([b for b in blocks if b[0] != "figure"]))
    atomic_write_text(folder / "report.html", report_html(blocks))
    return results
