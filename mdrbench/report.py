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
INTERVAL_NAME = ("95% interval over seeds and test tracks (seed variance with Student's t, plus the variance over "
                 "1000 resamples of the test tracks; training-time columns over seeds only)")
# Columns that are means over test tracks or triplets: their intervals resample the test tracks too.
EVIDENCE_COLUMNS = {*(f"R@{k}" for k in (1, 2, 4, 8)), "AUC", "track", "human", "human_clean",
                    *(f"{space}:{notion}" for space in ("complete", "subspace") for notion in (*CATEGORIES, "overall"))}
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
    row["probe_selectivity"] = probe_selectivity(result.get("disentanglement"))
    row["n_test_tracks"] = result.get("n_test_tracks")
    training = result.get("training")
    row["stopped_by"] = training["stopped_by"] if training else kind
    if kind == "external":  # a model scored by `mdrbench score`: frozen embeddings, its own facts
        external = result.get("external", {})
        row["module"] = external.get("module")
        row["embedding_size"] = external.get("embedding_size")
        row["module_sample_rate"] = external.get("module_sample_rate")
        row["heard_up_to_hz"] = external.get("heard_up_to_hz")
        row["AUC-prototype"] = result.get("auc_prototype", {}).get("roc_auc")
        learned = result.get("learned_subspaces")
        row["projection_stopped_by"] = learned["stopped_by"] if learned else None
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


def probe_selectivity(matrix: dict | None) -> float:
    """Own block minus the mean of the other blocks, mean over the factors, of a stored probe matrix
    ({space: {factor: adjusted balanced accuracy}}); NaN without block probes (see
    :func:`mdrbench.evidence.probe_selectivity`, the same on resampled test sets)."""
    from mdrbench.evidence import probe_selectivity as selectivity

    if not matrix or not all(c in matrix for c in CATEGORIES):
        return np.nan
    value = selectivity({space: {f: np.array([v]) for f, v in row.items()} for space, row in matrix.items()})
    return float(value[0]) if value is not None else np.nan


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
    externals, external_problems = scan_results(folder, "external")
    baseline_problems += external_problems
    rows = [_row(result, "model") for result in runs]
    for row in list(rows):
        for alias, source in SAME_FUNCTION.items():
            if row["config"] == source:
                rows.append({**row, "config": alias, "same_as": source})
    rows += [_row(result, "baseline") for result in baselines]
    rows += [_row(result, "external") for result in externals]
    frame = pd.DataFrame(rows)
    frame.attrs["problems"] = problems + baseline_problems
    if not len(frame):
        return frame
    if "same_as" not in frame.columns:
        frame["same_as"] = None
    frame["converged"] = frame["stopped_by"].isin(["schedule", "baseline", "external"])
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
    frame.attrs["folder"] = str(folder)  # where the per-query evidence of every row lies (mdrbench.findings)
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
    """(means, interval half-widths) per config for the given columns: 95% intervals over seeds and test
    queries where the runs keep per-query evidence (:func:`mdrbench.findings.estimate_column`), over seeds
    alone for the training-time columns."""
    from mdrbench.findings import estimate_column

    means, halves = {}, {}
    for config, group in results.groupby("config", sort=False):
        means[config], halves[config] = {}, {}
        for column in columns:
            if column not in group:
                means[config][column], halves[config][column] = np.nan, np.nan
                continue
            estimate = estimate_column(results, config, column) if column in EVIDENCE_COLUMNS else None
            if estimate is None or estimate.n_seeds < 2 or not estimate.variance > 0:
                mean, half, _ = t_interval(group[column])
            else:
                low, high = estimate.interval()
                mean, half = estimate.mean, (high - low) / 2
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


def external_table(results: pd.DataFrame) -> pd.DataFrame:
    """External models (``mdrbench score``) and the baselines: what each module is
    (embedding size, rate, the highest frequency it heard), R@1, tag AUC from a logistic probe and from
    prototypes, triplet accuracy in the complete space and inside its learned sub-spaces, probe selectivity."""
    if "kind" not in results or not (results["kind"] == "external").any():
        return pd.DataFrame()
    externals = results[results["kind"].isin(["external", "baseline"])]  # the baselines as the yardstick
    columns = [c for c in ("R@1", "AUC", "AUC-prototype", "complete:overall", "subspace:overall",
                           "probe_selectivity") if c in externals]
    mean, half = _summary(externals, columns)
    half["AUC-prototype"] = np.nan  # no per-query evidence of the prototype scores: a value, not an interval
    facts = externals.groupby("config", sort=False).agg(
        module=("module", "first"), D=("embedding_size", "first"), rate=("module_sample_rate", "first"),
        heard_up_to_hz=("heard_up_to_hz", "first"), seeds=("seed", "size"))
    table = facts.copy()
    for column in columns:
        table[column] = mean[column]
        table[f"{column} ±"] = half[column]
    if "projection_stopped_by" in externals:
        table["sub-space fit stopped by"] = externals.groupby("config", sort=False)["projection_stopped_by"].agg(
            lambda values: ", ".join(f"{v} x{n}" for v, n in values.value_counts().items()))
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
        if space == "subspace":  # the study's disentangled models, and external models' learned sub-spaces
            present = present[present["config"].isin(DISENTANGLED) | (present["kind"] == "external")]
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
    """A paired comparison: the verdict, the mean difference, its interval and p-value."""

    verdict: str  # "holds", "does not hold", "undetermined"
    difference: float
    low: float
    high: float
    n_seeds: int
    reason: str = ""
    p_value: float = np.nan
    n_queries: int = 0

    def describe(self, digits: int = 3) -> str:
        if not np.isfinite(self.difference):
            return f"no difference computable ({self.reason})"
        interval = (f"[{self.low:+.{digits}f}, {self.high:+.{digits}f}]" if np.isfinite(self.low)
                    else "no interval")
        noise = f"{self.n_seeds} seed{'s' if self.n_seeds != 1 else ''}"
        noise += f" x {self.n_queries} test tracks" if self.n_queries else " (seed noise only)"
        text = f"difference {self.difference:+.{digits}f}, {int(CONFIDENCE * 100)}% interval {interval}, {noise}"
        return text + (f"; {self.reason}" if self.reason else "")


def compare(differences, converged: bool = True, confidence: float = CONFIDENCE, replicates=None,
            n_queries: int = 0) -> Comparison:
    """The one rule for "does A beat B" on one comparison alone (the report's findings use the same rule and
    also correct across all their tests, :mod:`mdrbench.findings`).

    Args:
        differences: (S,) paired differences, A - B per seed, positive = the claim.
        replicates: (B,) the seed-mean difference on B resamples of the test tracks
            (:func:`mdrbench.findings.column_replicates`), so that the interval covers the query noise too;
            None: seed noise only, which the description says.
        n_queries: the number of test tracks resampled.

    *holds* when the whole interval (:mod:`mdrbench.stats`: Student's t with Welch-Satterthwaite degrees of
    freedom) lies above 0; *does not hold* when it lies below 0; *undetermined* when it contains 0 (within
    noise), when fewer than two seeds, any NaN, or any run behind the numbers did not converge, and when every
    seed gave exactly the same difference and no resample varies it: a spread of zero (common for a discrete
    metric such as P@1 on a few test tracks) measures no noise.
    """
    from mdrbench import stats

    values = np.asarray(differences, dtype=float)
    n = len(values)
    if n == 0 or np.isnan(values).any():
        mean = float(np.nanmean(values)) if n and not np.isnan(values).all() else np.nan
        return Comparison("undetermined", mean, np.nan, np.nan, n, "a value is missing (NaN)")
    estimate = stats.two_level_estimate(values, replicates, n_queries)
    low, high = estimate.interval(confidence) if n >= 2 and estimate.variance > 0 else (np.nan, np.nan)
    p_value = estimate.p_value() if n >= 2 else np.nan
    queries = estimate.n_queries
    if not converged:
        return Comparison("undetermined", estimate.mean, low, high, n, "a run behind it did not stop by the schedule",
                          p_value, queries)
    if n < 2:
        return Comparison("undetermined", estimate.mean, low, high, n, "one seed: no interval", p_value, queries)
    if estimate.variance == 0:
        return Comparison("undetermined", estimate.mean, estimate.mean, estimate.mean, n, "every seed gave the same "
                          "difference: no spread to measure the noise with", p_value, queries)
    if low > 0:
        return Comparison("holds", estimate.mean, low, high, n, "", p_value, queries)
    if high < 0:
        return Comparison("does not hold", estimate.mean, low, high, n, "", p_value, queries)
    return Comparison("undetermined", estimate.mean, low, high, n, "the interval contains 0: within noise", p_value,
                      queries)


def paired(results: pd.DataFrame, column: str, first: list[str], second: list[str], first_reduce=min,
           second_reduce=max) -> tuple[np.ndarray, bool]:
    """Per seed: reduce(column over ``first`` configs) - reduce(column over ``second`` configs), over the seeds
    every one of them has; and whether all those runs converged. With one config on each side this is a
    like-for-like pair; the report's own findings use :mod:`mdrbench.findings`, which adds the query noise."""
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
    """The paper's claims and the findings the data shows, as like-for-like families over seeds and test
    queries with Holm's correction and power (:func:`mdrbench.findings.findings`)."""
    from mdrbench.findings import findings as family_findings

    return family_findings(results)


def below_baselines(results: pd.DataFrame, columns=("R@1", "AUC", "complete:overall")) -> list[dict]:
    """Every configuration whose mean is below the mel-statistics baseline's on a column, with the difference's
    interval over seeds and test queries (config minus baseline): {config, column, ours, baseline, comparison}."""
    from mdrbench.findings import Claim, Pair, pair_estimate

    baseline = "mel-statistics"
    if not len(results) or baseline not in set(results["config"]):
        return []
    out = []
    base_rows = results[results["config"] == baseline]
    for column in columns:
        if column not in results.columns:
            continue
        base = float(base_rows[column].mean())
        for config in dict.fromkeys(results.loc[results["kind"] == "model", "config"]):
            ours = float(results.loc[results["config"] == config, column].mean())
            if not ours < base:
                continue
            claim = Claim("baseline", "", column, (Pair(config, baseline),), "", practical=0.0)
            estimate, _, reason = pair_estimate(results, claim, claim.pairs[0])
            low, high = estimate.interval() if estimate is not None and estimate.variance > 0 else (np.nan, np.nan)
            out.append({"config": config, "column": column, "ours": ours, "baseline": base,
                        "difference": ours - base, "low": low, "high": high, "reason": reason})
    return out


def complete_space_by_dimension(results: pd.DataFrame) -> pd.DataFrame:
    """The like-for-like complete-space pairs (triplet minus proxy/classification) per dimension: difference
    and 95% interval over seeds and test queries (descriptive: the finding tests the overall column)."""
    from mdrbench.findings import CLAIMS, pair_estimate

    claim = next(c for c in CLAIMS if c.key == "complete-triplets")
    have = set(results["config"]) if len(results) else set()
    rows = []
    for pair in claim.pairs:
        if not {pair.first, pair.second} <= have:
            continue
        row = {"pair": pair.label}
        for notion in (*CATEGORIES, "overall"):
            column_claim = type(claim)(claim.key, claim.text, f"complete:{notion}", claim.pairs, claim.paper,
                                       claim.practical)
            estimate, _, _ = pair_estimate(results, column_claim, pair)
            if estimate is None or not estimate.variance > 0:
                row[notion] = ""
                continue
            low, high = estimate.interval()
            row[notion] = f"{estimate.mean:+.3f} [{low:+.3f}, {high:+.3f}]"
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair") if rows else pd.DataFrame()


# ------------------------------------------------------------------------------------------------ output
def _cell(mean, half, paper, digits: int) -> str:
    if isinstance(mean, str):  # a label column (an external model's module name)
        return mean
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


EXTERNAL_DIGITS = {"R@1": 1, "D": 0, "rate": 0, "heard_up_to_hz": 0}
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
        return blocks + external_section(results)
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
               *external_section(results),
               ("markdown", "## Table 3: triplet prediction per dimension"),
               ("table", compact(table3(results), 3)),
               ("markdown", f"## Dim-Sim-style triplets ({_human_source(folder)}) and track triplets"),
               ("table", compact(human_table(results), 3)),
               ("markdown", "## Findings: the paper's claims and what the data shows"),
               ("markdown", findings_preamble(folder, results)),
               ("findings", findings(results)),
               ("markdown", "## Below the simple baseline"),
               ("markdown", below_baseline_text(results)),
               ("markdown", "## Complete-space triplet prediction per dimension, like for like\n\nTriplet model "
                "minus its proxy or classification counterpart, per dimension (descriptive: the finding above "
                "tests the overall column)."),
               ("table", complete_space_by_dimension(results))]
    blocks += [("figure", figure) for figure in report_figures(results)]
    return blocks


def external_section(results: pd.DataFrame) -> list[tuple[str, object]]:
    """The report's blocks on external models, empty when there are none."""
    table = external_table(results)
    if not len(table):
        return []
    return [("markdown", "## External models (`mdrbench score`)\n\nFrozen embeddings of each fixed excerpt, a "
             "track being their mean. AUC: a logistic regression per tag fitted on the training split (as for "
             "mel-statistics); AUC-prototype: cosine to each tag's mean training embedding. Sub-space columns: "
             "four 64-d blocks learned by a linear map with the disentangled triplet loss on the training split "
             "(`mdrbench.scoring`). Intervals over the fitting seeds and the test tracks."),
            ("table", compact(table, EXTERNAL_DIGITS))]


def findings_preamble(folder, results: pd.DataFrame) -> str:
    """How the findings are decided, what the test set is, and where the timing was measured."""
    from mdrbench.findings import N_RESAMPLES, read_timing

    n_test = results["n_test_tracks"].dropna()
    tracks = f"{int(n_test.iloc[0])} test tracks" if len(n_test) else "the test tracks"
    seeds = sorted(results.loc[results["kind"] == "model", "seed"].unique().tolist())
    timing = read_timing(folder)
    machine = next((v.get("machine") for v in timing.values() if isinstance(v, dict) and v.get("machine")), None)
    precision = next((v.get("precision") for v in timing.values() if isinstance(v, dict) and v.get("precision")),
                     None)
    hardware = (f"The step cost and the training-time ratio were measured on {machine}, in {precision}: precision "
                "and hardware change the step cost of large and small batches differently, so these two findings "
                "hold for that machine." if machine else
                "The training-time findings hold for the machine that timed the steps (not recorded here).")
    return (
        "Each finding is a family of like-for-like pairs stated before the data (`mdrbench.findings.CLAIMS`). "
        f"Each pair is paired on {len(seeds)} seed{'s' if len(seeds) != 1 else ''} and on the same {tracks}: its "
        "interval adds the seed variance (Student's t, seeds - 1 degrees of freedom) and the variance over "
        f"{N_RESAMPLES} resamples of the test tracks (queries against the fixed database for R@K, triplets "
        "clustered by anchor, AUC and probes recomputed per resample), with Welch-Satterthwaite degrees of "
        "freedom; the training-time pairs have seed noise only, the step cost the noise of the interleaved timing "
        "rounds (Bouthillier et al. 2021 on benchmark variance). Intervals are 95% for each pair alone; verdicts "
        "use Holm-adjusted p-values over every test of this report (family-wise error 5%). A finding **holds** "
        "when every pair holds, **does not hold** when a pair goes the other way, **holds in part** when some "
        "pairs hold and none goes the other way, and is **undetermined** otherwise. Each pair's power sentence "
        "gives the smallest difference this design detects with 80% power at Holm's strictest level (5% / the "
        "number of tests), and the seeds or test tracks that would detect the claim's practical size. R@K grows "
        f"with the size of the database searched: these numbers ({tracks}) are not comparable with earlier "
        "mdrbench results on 400 test tracks, nor with the paper's 28,435. " + hardware
    )


def below_baseline_text(results: pd.DataFrame) -> str:
    below = below_baselines(results)
    if not below:
        return "Every configuration is at or above the mel-statistics baseline on R@1, AUC and complete-space " \
               "triplet prediction (means)."
    lines = ["Configurations whose mean is below the mel-statistics baseline (per-band log-mel statistics; "
             "difference, 95% interval over seeds and test tracks):"]
    for row in below:
        digits = 1 if row["column"].startswith("R@") else 3
        interval = (f"[{row['low']:+.{digits}f}, {row['high']:+.{digits}f}]" if np.isfinite(row["low"])
                    else "no interval")
        lines.append(f"- **{row['config']}** on {row['column']}: {row['ours']:.{digits}f} vs "
                     f"{row['baseline']:.{digits}f}, {row['difference']:+.{digits}f} {interval}")
    return "\n".join(lines)


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
            for f in content:
                lines.append(f"- **{f['verdict']}**: {f['claim']} (paper: {f['paper']}).")
                lines += [f"  - *{p['verdict']}*: {p['text']}" for p in f.get("pairs", [])]
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
            parts.append(htmlpage.html_findings([{**f, "claim": f"{f['claim']} (paper: {f['paper']})"}
                                                 for f in content]))
        elif kind == "figure":
            parts.append(htmlpage.html_figure(content))
    return htmlpage.html_page(title, "\n".join(parts))


def write_report(folder: str | Path, out: str | Path | None = None) -> pd.DataFrame:
    """Rebuild report.md, report.html and results.csv from the finished runs in ``folder`` (into ``out``,
    default ``folder`` itself; the read-only reference results need another ``out``)."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder
    results = collect_results(folder)
    atomic_write_text(out / "results.csv", results.drop(columns=["schedule"], errors="ignore").to_csv(index=False))
    blocks = report_sections(folder, results)
    atomic_write_text(out / "report.md", markdown_report(blocks))
    atomic_write_text(out / "report.html", report_html(blocks))
    return results


def markdown_report(blocks) -> str:
    """The report as markdown (the figures live in the HTML page only)."""
    return report_markdown([block for block in blocks if block[0] != "figure"])
