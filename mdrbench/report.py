"""Tables in the paper's layout, our numbers beside the paper's, and which findings hold.

``collect_results(folder)`` reads every finished run; ``table1`` / ``table3`` / ``human_table`` aggregate
over seeds (mean and standard deviation) and put the paper's value beside ours; ``findings`` checks the
paper's four headline claims against our numbers; ``write_report`` writes report.md, report.html and
results.csv. ``mdrbench report DIR`` calls it on stored results.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.corpus import CATEGORIES

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
# Dim-Sim accuracy on the complete space, as reported in the paper's text.
PAPER_HUMAN = {"triplet-norm-full": 0.820, "triplet-track-norm-dis": 0.852, "proxy-norm-full": 0.784,
               "classification-norm-dis": 0.801}
RECALL_COLUMNS = ["R@1", "R@2", "R@4", "R@8"]
TRIPLET_COLUMNS = [*CATEGORIES, "overall"]


def paper_table(name: str) -> pd.DataFrame:
    """The paper's Table 1 (``results``) or Table 3 (``triplets``) with our configuration names as index."""
    with resources.files("mdrbench").joinpath(f"data/paper_{name}.csv").open() as handle:
        frame = pd.read_csv(handle)
    lookup = {v: k for k, v in PAPER_ROWS.items()}
    frame["config"] = [lookup[(m, n, d)] for m, n, d in
                       zip(frame["model"], frame["normalization"], frame["disentanglement"], strict=True)]
    return frame


def collect_results(folder: str | Path) -> pd.DataFrame:
    """One row per finished run (config, seed) with every number flattened into columns."""
    from mdrbench.bench import load_result

    rows = []
    for run_dir in sorted(Path(folder).glob("runs/*/seed*")):
        result = load_result(run_dir)
        if result is None:
            continue
        row = {"config": result["config"], "seed": result["seed"]}
        row.update({f"R@{k}": 100 * v for k, v in result["recall_at_k"].items()})
        row["AUC"] = result["auc"]["roc_auc"]
        row["PR-AUC"] = result["auc"]["pr_auc"]
        for space, values in result["triplets"].items():
            for notion, value in values.items():
                row[f"{space}:{notion}"] = value
        row["track"] = result["track_triplet_accuracy"]
        row["human"] = result["human_triplet_accuracy"]
        row["human_clean"] = result["human_triplet_accuracy_clean"]
        training = result["training"]
        row["epochs_to_convergence"] = max(training["best_epoch"], 1)
        row["seconds_per_epoch"] = training["seconds_per_epoch"]
        row["train_seconds"] = training["total_seconds"]
        row["wall_seconds"] = result.get("wall_seconds", np.nan)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        order = {name: i for i, name in enumerate(PAPER_ROWS)}
        frame = frame.sort_values(["config", "seed"], key=lambda s: s.map(order) if s.name == "config" else s)
        time_to_converge = frame["epochs_to_convergence"] * frame["seconds_per_epoch"]
        # Training-time ratio: epochs to convergence x time per epoch, relative to the fastest run here.
        frame["time_ratio"] = time_to_converge / time_to_converge.groupby(frame["config"]).transform("mean").min()
    return frame.reset_index(drop=True)


def _mean_std(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    grouped = frame.groupby("config", sort=False)[columns]
    return grouped.mean(), grouped.std(ddof=1)  # NaN (shown blank) with a single seed


def table1(results: pd.DataFrame) -> pd.DataFrame:
    """Training-time ratio, R@1/2/4/8 (percent) and tag ROC-AUC: ours (mean, std over seeds) and the paper's."""
    columns = ["time_ratio", *RECALL_COLUMNS, "AUC"]
    mean, std = _mean_std(results, columns)
    paper = paper_table("results").set_index("config").rename(
        columns={"training_time_ratio": "time_ratio", "r_at_1": "R@1", "r_at_2": "R@2", "r_at_4": "R@4",
                 "r_at_8": "R@8", "auc": "AUC"})
    table = pd.DataFrame(index=mean.index)
    for column in columns:
        table[column] = mean[column]
        table[f"{column} sd"] = std[column]
        table[f"{column} paper"] = paper[column].reindex(mean.index)
    table["seeds"] = results.groupby("config", sort=False).size()
    return table


def table3(results: pd.DataFrame) -> pd.DataFrame:
    """Triplet accuracy per dimension in the complete space and, for disentangled models, each sub-space."""
    paper = paper_table("triplets")
    rows = []
    for space in ("complete", "subspace"):
        columns = [f"{space}:{c}" for c in TRIPLET_COLUMNS if f"{space}:{c}" in results.columns]
        if not columns:
            continue
        present = results.dropna(subset=columns)
        if not len(present):
            continue
        mean, std = _mean_std(present, columns)
        for config in mean.index:
            row = {"space": space, "config": config}
            match = paper[(paper["space"] == space) & (paper["config"] == config)]
            for notion in TRIPLET_COLUMNS:
                key = f"{space}:{notion}"
                row[notion] = mean.loc[config, key] if key in mean.columns else np.nan
                row[f"{notion} sd"] = std.loc[config, key] if key in std.columns else np.nan
                row[f"{notion} paper"] = float(match[notion].iloc[0]) if len(match) else np.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["space", "config"]) if rows else pd.DataFrame()


def human_table(results: pd.DataFrame) -> pd.DataFrame:
    mean, std = _mean_std(results, ["human", "human_clean", "track"])
    table = mean.copy()
    table["human sd"] = std["human"]
    table["Dim-Sim paper"] = pd.Series(PAPER_HUMAN).reindex(mean.index)
    return table


def findings(results: pd.DataFrame) -> list[tuple[str, bool | None, str]]:
    """The paper's headline claims, each checked on our numbers: (claim, holds, evidence)."""
    if not len(results):
        return []
    means = results.groupby("config").mean(numeric_only=True)
    have = set(means.index)
    claims: list[tuple[str, bool | None, str]] = []

    def value(config, column):
        return means.loc[config, column]

    if {"classification-raw-full", "classification-norm-full"} <= have:
        raw, norm = value("classification-raw-full", "R@1"), value("classification-norm-full", "R@1")
        claims.append(("Normalization is essential for retrieval with a classifier (R@1 normalized >> raw)",
                       bool(norm > raw + 2.0), f"R@1 {norm:.1f} normalized vs {raw:.1f} raw (paper 43.8 vs 6.1)"))
    triplets = [c for c in ("triplet-norm-full", "triplet-norm-dis", "triplet-track-norm-dis") if c in have]
    proxies = [c for c in ("proxy-norm-full", "proxy-norm-dis", "classification-norm-full",
                           "classification-norm-dis") if c in have]
    if triplets and proxies:
        for column, label in (("R@1", "R@1"), ("AUC", "tag ROC-AUC")):
            worst_proxy = min(value(c, column) for c in proxies)
            best_triplet = max(value(c, column) for c in triplets)
            claims.append((f"Proxy and normalized classification beat triplet models on {label}",
                           bool(worst_proxy > best_triplet),
                           f"lowest proxy/classification {worst_proxy:.3f} vs highest triplet {best_triplet:.3f}"))
    dis = [c for c in ("triplet-norm-dis", "triplet-track-norm-dis", "proxy-norm-dis", "classification-norm-dis")
           if c in have and "subspace:overall" in means.columns]
    if "triplet-norm-dis" in dis and len(dis) > 1:
        ours = value("triplet-norm-dis", "subspace:overall")
        others = max(value(c, "subspace:overall") for c in dis if c != "triplet-norm-dis")
        claims.append(("The disentangled triplet model leads sub-space triplet prediction", bool(ours > others),
                       f"sub-space overall {ours:.3f} vs best other disentangled model {others:.3f} "
                       f"(paper 0.792 vs 0.752)"))
    if "time_ratio" in means.columns and triplets and proxies:
        fastest_classifier = min(value(c, "time_ratio") for c in proxies + ["classification-raw-full"] if c in have)
        fastest_triplet = min(value(c, "time_ratio") for c in triplets)
        claims.append(("Classification-style models train faster than triplet models",
                       bool(fastest_classifier < fastest_triplet),
                       f"time ratio {fastest_classifier:.2f} (fastest proxy/classification) vs "
                       f"{fastest_triplet:.2f} (fastest triplet)"))
    return claims


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


def _compact(table: pd.DataFrame, digits: int) -> pd.DataFrame:
    """Fold 'X', 'X sd', 'X paper' columns into one 'ours ± sd (paper)' string column per X."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column.endswith(" sd") or column.endswith(" paper") or column == "seeds":
            continue
        parts = []
        for index in table.index:
            mean = table.loc[index, column]
            sd = table.loc[index, f"{column} sd"] if f"{column} sd" in table.columns else np.nan
            paper = table.loc[index, f"{column} paper"] if f"{column} paper" in table.columns else np.nan
            text = "" if pd.isna(mean) else f"{mean:.{digits}f}"
            if not pd.isna(sd) and sd > 0:
                text += f" ± {sd:.{digits}f}"
            if not pd.isna(paper):
                text += f" ({paper:.{digits}f})"
            parts.append(text)
        out[column] = parts
    if "seeds" in table.columns:
        out["seeds"] = table["seeds"]
    return out


def report_markdown(folder: str | Path, results: pd.DataFrame) -> str:
    folder = Path(folder)
    manifest = {}
    if (folder / "benchmark.json").exists():
        manifest = json.loads((folder / "benchmark.json").read_text())
    lines = [f"# mdrbench report: {manifest.get('corpus', folder.name)} (size {manifest.get('size', '?')})", ""]
    if not len(results):
        return "\n".join(lines + ["No finished runs yet."])
    lines += ["Ours: mean ± standard deviation over seeds; the paper's value (MSD, 201k training tracks) in "
              "brackets. R@K in percent.", "", "## Table 1: training time, similarity retrieval, auto-tagging", "",
              markdown_table(_compact(table1(results), 2)), "",
              "## Table 3: triplet prediction per dimension", "", markdown_table(_compact(table3(results), 3)), "",
              "## Human-like triplets (Dim-Sim schema) and track triplets", "",
              markdown_table(human_table(results)), "", "## The paper's findings on this corpus", ""]
    for claim, holds, evidence in findings(results):
        lines.append(f"- **{'holds' if holds else 'does not hold'}**: {claim}. {evidence}.")
    return "\n".join(lines) + "\n"


def write_report(folder: str | Path) -> pd.DataFrame:
    """Rebuild report.md, report.html and results.csv from the finished runs in ``folder``."""
    from mdrbench.bench import atomic_write_text

    folder = Path(folder)
    results = collect_results(folder)
    atomic_write_text(folder / "results.csv", results.to_csv(index=False))
    markdown = report_markdown(folder, results)
    atomic_write_text(folder / "report.md", markdown)
    atomic_write_text(folder / "report.html", report_html(markdown, results))
    return results


def report_html(markdown: str, results: pd.DataFrame) -> str:
    """The markdown report as preformatted text plus the figures from mdrbench.views."""
    import html

    parts = ["<html><head><meta charset='utf-8'><title>mdrbench report</title></head><body>",
             f"<pre style='font-size:13px'>{html.escape(markdown)}</pre>"]
    if len(results):
        from mdrbench import views

        ours = table1(results)[RECALL_COLUMNS].assign(source="ours")
        paper = table1(results)[[f"{c} paper" for c in RECALL_COLUMNS]]
        paper.columns = RECALL_COLUMNS
        figures = [views.recall_at_k_figure(pd.concat([ours, paper.assign(source="paper")]))]
        table = table3(results)
        if len(table):
            figures.append(views.triplet_accuracy_figure(table[TRIPLET_COLUMNS]))
        for index, figure in enumerate(figures):
            parts.append(figure.to_html(full_html=False, include_plotlyjs="cdn" if index == 0 else False))
    parts.append("</body></html>")
    return "\n".join(parts)
