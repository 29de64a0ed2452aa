# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["mdrbench-colab"]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/12_what_the_benchmark_says.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F12_what_the_benchmark_says.ipynb)
# · [glossary](https://github.com/mdrbench/mdrbench/blob/main/docs/glossary.md)

# %% tags=["mdrbench-colab"]
# On Google Colab only: install mdrbench from its repository (Colab already has torch), then switch on Colab's
# manager for third-party widgets (ipywidgets 8, Plotly). Anywhere else (Jupyter, Binder, CI) this does nothing.
# If Colab asks to restart the session after the install, restart and run the notebook again.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import subprocess

    if importlib.util.find_spec("mdrbench") is None:
        requirement = "mdrbench @ git+https://github.com/mdrbench/mdrbench"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=True)
    from google.colab import output

    output.enable_custom_widget_manager()

# %% [markdown]
# # 12 · What the benchmark says about the paper
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# The closing synthesis. Notebooks 02-09 took the study apart, notebook 10 put the benchmark back together in the
# paper's tables. Here we ask what it all *says*: every finding the benchmark checks (the paper's claims and the
# findings the data shows), with its verdict, its interval and what its design could detect; then the two contrasts
# that run through the paper, **complete space vs disentangled space** and **similarity vs information**; then what
# more seeds, more test tracks or the `full` size would change; and what a student should take away.
#
# Nothing here is trained and nothing is typed in by hand: every number and every verdict is read from the
# benchmark's stored runs (`mdrbench.report.findings`) and printed. At the `ci` size the numbers decide nothing (the
# workspace summary says why): read this notebook at `ci` for the method, at `default` for the result.
#
# **Objectives:**
#
# - Read every finding's verdict, 95% interval and power sentence, pair by pair, under Holm's correction.
# - Contrast the complete space with the sub-spaces, and disentanglement for similarity with that for information.
# - Work out what more seeds, more test tracks or the `full` size could change, from each pair's variance components.
# - State the lessons that carry over to any benchmark: like-for-like pairs, claims stated before the data, two sources
#   of noise.
#
# **Prerequisites:** [05 · Disentanglement](05_disentanglement.ipynb),
# [06 · Similarity retrieval](06_similarity_retrieval.ipynb), [07 · Auto-tagging](07_auto_tagging.ipynb),
# [08 · Triplet prediction](08_triplet_prediction.ipynb) and [10 · Benchmark](10_benchmark.ipynb); background: p-values
# and multiple testing, statistical power.
#
# **Time:** ci about 30 s · default about 2 min · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first, once for all notebooks). At default the runs are the reference
# results that ship with mdrbench, so nothing trains; your own runs, where you have any, replace them whole (and are
# trained first where missing: about 5 min at ci, about an hour at default).

# %% [markdown]
# ## Setup
#
# `open_workspace` opens the size named by `MDRBENCH_SIZE` (unset: `default`, whose runs ship with mdrbench as
# reference results, else `ci`, a tiny corpus of seconds), its corpus and the benchmark's stored runs (training only
# what is missing), and prints what the numbers rest on: the size, where the runs come from, the seeds and how every
# run stopped. `report.findings` then checks every claim of `mdrbench.findings.CLAIMS`, each a
# family of like-for-like pairs stated before the data, with one rule (docs/statistics.md): per pair, the paired
# difference over seeds *and* test tracks, its 95% interval, and a verdict from the Holm-adjusted p-value over every
# test of the report.

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display
from plotly.subplots import make_subplots
from scipy.stats import spearmanr

from mdrbench import report, stats, views
from mdrbench.configs import SAME_FUNCTION
from mdrbench.findings import CLAIMS, VERDICTS, Claim, Pair, pair_estimate
from mdrbench.paths import results_dir
from mdrbench.results import load_result, run_folder
from mdrbench.sizes import SIZES, split_counts
from mdrbench.workspace import CI_CAVEAT, FIRST_RUN_TIME, open_workspace

PROBED = "triplet-norm-dis"  # the disentangled model whose probe matrix is drawn in section 3
VERDICT_COLORS = {"holds": "#2ca02c", "does not hold": "#d62728", "holds in part": "#ff7f0e",
                  "undetermined": "#7f7f7f"}

workspace = open_workspace()
results, size = workspace.results, workspace.size
seeds = sorted(int(seed) for seed in results.loc[results["kind"] == "model", "seed"].unique())  # every stored result
findings = report.findings(results)
by_key = {finding["key"]: finding for finding in findings}
claims = {claim.key: claim for claim in CLAIMS}
n_tests = findings[0]["n_tests"] if findings else 0
print(f"{len(findings)} findings, {sum(len(f['pairs']) for f in findings)} like-for-like pairs, {n_tests} tests "
      f"corrected together with Holm's method (family-wise error {stats.ALPHA:g})")


def interval_text(difference: float, low: float, high: float, digits: int) -> str:
    """'+1.2 [+0.3, +2.1]', or the difference alone when there is no interval."""
    if not np.isfinite(difference):
        return ""
    if not np.isfinite(low):
        return f"{difference:+.{digits}f} (no interval)"
    return f"{difference:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def pair_line(pair: dict, digits: int) -> str:
    """One pair of a finding on one line: verdict, label, difference and interval, and why when undetermined."""
    why = f" ({pair['reason']})" if pair["reason"] else ""
    return f"    [{pair['verdict']}] {pair['label']}: " \
           f"{interval_text(pair['difference'], pair['low'], pair['high'], digits)}{why}"


# %% [markdown]
# ## 1. Every finding: verdict, interval, power
#
# A finding **holds** when every one of its pairs holds, **does not hold** when a pair goes the other way beyond
# noise, **holds in part** when some pairs hold and none goes the other way, and is **undetermined** otherwise.
# `source` says whose claim it is: `paper` for a claim of the paper, `data` for a finding the data shows that the
# paper did not test (the sub-spaces' disentanglement, the cost of a step, the epochs to converge). The first
# table has one row per finding; the second one row per pair, with the difference (positive = the claim), its 95%
# interval, the Holm-adjusted p-value, how many seeds and test tracks it rests on, and how much of its variance
# comes from the seeds (`seed share`: near 1, more test tracks would not help; near 0, more seeds would not).

# %%
finding_table = pd.DataFrame([{
    "finding": finding["key"], "source": finding["source"], "verdict": finding["verdict"],
    "pairs that hold": f"{sum(p['verdict'] == 'holds' for p in finding['pairs'])} of {len(finding['pairs'])}",
    "claim": finding["claim"], "paper": finding["paper"]} for finding in findings]).set_index("finding")
pair_table = pd.DataFrame([{
    "finding": finding["key"], "pair": pair["label"], "column": claims[finding["key"]].column,
    "difference [95% interval]": interval_text(pair["difference"], pair["low"], pair["high"],
                                               claims[finding["key"]].digits),
    "Holm p": pair["p_holm"], "verdict": pair["verdict"], "seeds": pair["n_seeds"], "test tracks": pair["n_queries"],
    "seed share": pair["seed_share"], "why undetermined": pair["reason"]}
    for finding in findings for pair in finding["pairs"]]).set_index(["finding", "pair"])
with pd.option_context("display.max_colwidth", 200, "display.precision", 3):
    display(finding_table)
    display(pair_table)

# %% [markdown]
# The same pairs as a forest plot: one panel per finding (each in its own unit: R@1 points, ROC-AUC, accuracy,
# adjusted balanced accuracy, log step-time ratio, epochs, time ratio), one row per pair, the dot at the difference,
# the bar its 95% interval, coloured by the pair's verdict. The dashed line is what the claim must beat: 0 for most,
# the practical margin for the information claim. An interval that crosses it is undetermined; one that clears it
# may still be undetermined when its p-value does not survive Holm's correction (the table says so).

# %%
def forest_figure(findings: list[dict]) -> go.Figure:
    """One panel per finding, one row per pair: difference, 95% interval, coloured by verdict."""
    heights = [max(len(finding["pairs"]), 1) + 1.5 for finding in findings]
    titles = [f"{finding['key']} ({claims[finding['key']].column}): {finding['verdict']}" for finding in findings]
    figure = make_subplots(rows=len(findings), cols=1, row_heights=heights, subplot_titles=titles,
                           vertical_spacing=0.35 / len(findings))
    for row, finding in enumerate(findings, start=1):
        claim, pairs = claims[finding["key"]], finding["pairs"]
        difference = np.array([pair["difference"] for pair in pairs], dtype=float)
        low, high = (np.array([pair[side] for pair in pairs], dtype=float) for side in ("low", "high"))
        labels = [pair["first"] if pair["first"] == pair["second"] else pair["label"] for pair in pairs]
        figure.add_trace(go.Scatter(
            x=difference, y=labels, mode="markers", showlegend=False,
            marker={"size": 10, "color": [VERDICT_COLORS[pair["verdict"]] for pair in pairs]},
            error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(high - difference),
                     "arrayminus": np.nan_to_num(difference - low), "color": "#555"},
            customdata=np.stack([low, high], axis=1),
            hovertemplate="%{y}: %{x:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<extra></extra>"),
            row=row, col=1)
        figure.add_vline(x=claim.margin, line_dash="dash", line_color="#888", row=row, col=1)
    for verdict, color in VERDICT_COLORS.items():  # a legend of the verdict colours
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=verdict,
                                    marker={"size": 10, "color": color}))
    figure.update_annotations(font_size=12)
    figure.update_yaxes(autorange="reversed")  # the first pair on top, as in the tables
    figure.update_layout(height=32 * sum(heights) + 160, template="plotly_white", legend_title_text="pair verdict",
                         title=f"Every finding, pair by pair (size {size.name}): difference and 95% interval",
                         margin={"l": 20, "r": 20})
    return figure


if findings:
    forest_figure(findings).show()

# %% [markdown]
# The findings compare models with each other; a baseline keeps them honest. Which models fall below the hand-made
# mel-statistics baseline (per-band log-mel mean and standard deviation) on retrieval, tagging or complete-space
# triplet prediction?

# %%
print(report.below_baseline_text(results))

# %% [markdown]
# ## 2. Complete space vs disentangled space
#
# A disentangled model splits its 256-d embedding into four 64-d sub-spaces, one per category (genre, mood,
# instrument, era), and trains each on its own category's notion of similarity. The paper reads it two ways: in
# the **complete space** (all 256 dimensions, as every model) and in each category's **sub-space**. Three
# questions follow, each with its own finding:
#
# * inside its sub-space, is a category's similarity judged better than in the complete space
#   (`similarity-disentanglement`, one pair per disentangled model)?
# * in the sub-spaces, does the disentangled triplet model lead, as the paper's Table 3 has it (`subspace-lead`)?
# * in the complete space, do triplet models lead their like-for-like proxy and classification counterparts
#   (`complete-triplets`), and in which dimensions?
#
# First the overall triplet accuracy of each disentangled model in both spaces (mean ± 95% half-width (the
# paper)), then the three findings pair by pair.

# %%
table3 = report.table3(results)
overall = report.compact(table3[["overall", "overall ±", "overall paper"]], 3)["overall"].unstack("space")
order = dict.fromkeys([*report.DISENTANGLED, *report.TRIPLETS, *report.PROXY_LIKE, "classification-raw-full",
                       *report.BASELINE_ROWS])
overall = overall.reindex([c for c in order if c in overall.index])
display(overall.fillna("").rename(columns={"complete": "complete space, overall",
                                           "subspace": "own sub-spaces, overall"}))
for key in ("similarity-disentanglement", "subspace-lead", "complete-triplets"):
    if key in by_key:
        finding = by_key[key]
        print(f"[{finding['verdict']}] {finding['claim']} (paper: {finding['paper']})")
        print("\n".join(pair_line(pair, claims[key].digits) for pair in finding["pairs"]))

# %% [markdown]
# **What disentangling does to the complete space.** The paper's disentangled models lose little or nothing in the
# complete space (its Table 1: proxy R@1 44.7 disentangled vs 45.0 not). Here, per like-for-like pair, the
# disentangled model minus its complete-space counterpart on retrieval, tagging and complete-space triplet
# prediction, with the same two-level interval (`mdrbench.findings.pair_estimate`). These comparisons are
# descriptive: they are not claims stated before the data, so they are not part of the report's corrected family,
# and an interval clear of 0 here is weaker evidence than a verdict above.

# %%
DISENTANGLED_VS_FULL = (Pair("proxy-norm-dis", "proxy-norm-full"),
                        Pair("classification-norm-dis", "classification-norm-full"),
                        Pair("triplet-norm-dis", "triplet-norm-full"))
COLUMNS = {"R@1": ("r_at_1", 1), "AUC": ("auc", 3), "complete:overall": ("overall", 3)}
paper_results = report.paper_table("results").set_index("config")
paper_complete = report.paper_table("triplets").query("space == 'complete'").set_index("config")
have = set(results["config"])
cost_rows, cost_signs = {}, {}
for pair in DISENTANGLED_VS_FULL:
    if not {pair.first, pair.second} <= have:
        continue
    row = {}
    for column, (paper_column, digits) in COLUMNS.items():
        estimate, _, _ = pair_estimate(results, Claim("disentangled-vs-full", "", column, (pair,), "", 0.0), pair)
        paper = paper_results if column != "complete:overall" else paper_complete
        paper_difference = paper.loc[pair.first, paper_column] - paper.loc[pair.second, paper_column]
        if estimate is None or not estimate.variance > 0:
            row[column] = ""
            continue
        low, high = estimate.interval()
        row[column] = f"{interval_text(estimate.mean, low, high, digits)} (paper {paper_difference:+.{digits}f})"
        cost_signs[(pair.label, column)] = "above 0" if low > 0 else "below 0" if high < 0 else "contains 0"
    cost_rows[pair.label] = row
display(pd.DataFrame(cost_rows).T.rename_axis("disentangled - full"))

# %% [markdown]
# Where the complete-space triplet finding goes one way or the other, the per-dimension table says which dimensions
# carry it (triplet model minus its counterpart, per dimension, descriptive):

# %%
display(report.complete_space_by_dimension(results))

# %% [markdown]
# **Reading it.** The sentences below are built from the verdicts and intervals just printed, so they stay true
# at every size.

# %%
def verdict_of(key: str) -> str:
    return by_key[key]["verdict"] if key in by_key else "not run"


READING = {
    "similarity-disentanglement": {
        "holds": "every disentangled model predicts a category's triplets better in that category's own sub-space "
                 "than in its complete space: the sub-spaces are organized by their notion of similarity",
        "holds in part": "some disentangled models predict triplets better in the sub-spaces than in the complete "
                         "space, none worse beyond noise",
        "does not hold": "at least one disentangled model predicts triplets worse in its sub-spaces than in its "
                         "complete space",
        "undetermined": "this design cannot tell whether the sub-spaces judge similarity better than the complete "
                        "space"},
    "subspace-lead": {
        "holds": "the disentangled triplet model leads every other disentangled model in the sub-spaces, as in the "
                 "paper",
        "holds in part": "the disentangled triplet model leads some of the other disentangled models in the "
                         "sub-spaces",
        "does not hold": "another disentangled model beats the disentangled triplet model in the sub-spaces, unlike "
                         "the paper",
        "undetermined": "whether the disentangled triplet model leads in the sub-spaces (the paper's headline for "
                        "Table 3) is not decided by this design: the other objectives may do as well there"},
    "complete-triplets": {
        "holds": "triplet models also lead triplet prediction in the complete space, like for like",
        "holds in part": "triplet models lead some of their counterparts in the complete space",
        "does not hold": "in the complete space at least one proxy or classification counterpart beats its triplet "
                         "model on triplet prediction, the very task the triplet objective trains for",
        "undetermined": "whether triplet models lead in the complete space is not decided by this design"},
}
for key, sentences in READING.items():
    verdict = verdict_of(key)
    print(f"- {key} [{verdict}]: {sentences.get(verdict, 'not run at this size')}.")
for column in COLUMNS:
    below = [label for (label, c), sign in cost_signs.items() if c == column and sign == "below 0"]
    above = [label for (label, c), sign in cost_signs.items() if c == column and sign == "above 0"]
    inside = [label for (label, c), sign in cost_signs.items() if c == column and sign == "contains 0"]
    print(f"- disentangling, {column} in the complete space: costs in {', '.join(below) or 'no pair'}; gains in "
          f"{', '.join(above) or 'no pair'}; within noise in {', '.join(inside) or 'no pair'} (descriptive, "
          "uncorrected).")

# %% [markdown]
# ## 3. Similarity vs information
#
# The evaluations ask two different questions of an embedding.
#
# * **Similarity**: are tracks that share something *close*? Retrieval (R@K, notebook 06) and triplet prediction
#   (notebook 08) compare distances: only the geometry counts.
# * **Information**: can something be *read out*? Tag ROC-AUC (notebook 07) scores tags from the embedding (a
#   classifier's head, or the cosine to a tag's prototype), and a linear probe (notebook 05) predicts each clean
#   factor from each 64-d block. The probe selectivity is the own block minus the mean of the other three
#   (adjusted balanced accuracy, mean over the four factors): 0 when every block holds every factor alike, up to 1
#   when only the own block does.
#
# A space can be organized for one without the other: a sub-space can rank its own category's triplets well while
# the other blocks still hold that factor, linearly readable. The paper measured similarity only; the two findings
# `similarity-disentanglement` and `information-disentanglement` ask the same question of each disentangled model
# in both senses (the information claim asks for a practical margin, drawn as the dashed line).

# %%
similarity = {pair["first"]: pair for pair in by_key.get("similarity-disentanglement", {}).get("pairs", [])}
information = {pair["first"]: pair for pair in by_key.get("information-disentanglement", {}).get("pairs", [])}
both = [config for config in report.DISENTANGLED if config in similarity and config in information]
margin = claims["information-disentanglement"].margin
display(pd.DataFrame({config: {
    "similarity: sub-space - complete triplet accuracy": interval_text(
        similarity[config]["difference"], similarity[config]["low"], similarity[config]["high"], 3),
    "verdict (similarity)": similarity[config]["verdict"],
    "information: probe selectivity": interval_text(
        information[config]["difference"], information[config]["low"], information[config]["high"], 3),
    f"verdict (information, margin {margin:g})": information[config]["verdict"]} for config in both}).T)

figure = go.Figure()
for config in both:
    x, y = similarity[config], information[config]
    figure.add_trace(go.Scatter(
        x=[x["difference"]], y=[y["difference"]], mode="markers", name=config, marker={"size": 12},
        error_x={"type": "data", "symmetric": False, "array": [np.nan_to_num(x["high"] - x["difference"])],
                 "arrayminus": [np.nan_to_num(x["difference"] - x["low"])]},
        error_y={"type": "data", "symmetric": False, "array": [np.nan_to_num(y["high"] - y["difference"])],
                 "arrayminus": [np.nan_to_num(y["difference"] - y["low"])]}))
figure.add_hline(y=margin, line_dash="dash", line_color="#888", annotation_text="information margin")
figure.add_hline(y=0, line_color="#bbb")
figure.add_vline(x=0, line_color="#bbb")
figure.update_layout(template="plotly_white", title=f"Disentangled for similarity, for information? (size "
                     f"{size.name}, 95% intervals)", xaxis_title="sub-space minus complete-space triplet accuracy",
                     yaxis_title="probe selectivity (own block - other blocks)")
figure.show()

# %% [markdown]
# The probe matrix behind the selectivity, averaged over the seeds, for one model: rows are the blocks (and the
# complete space), columns the factors. A bright diagonal would mean each block holds its own factor only; bright
# rows across the board mean every block holds every factor.

# %%
matrices = [result["disentanglement"] for seed in seeds
            if (result := load_result(run_folder(workspace.results_folder, PROBED, seed))) is not None
            and result.get("disentanglement")]
if matrices:
    mean_matrix = sum(pd.DataFrame(matrix).T for matrix in matrices) / len(matrices)
    views.disentanglement_heatmap(mean_matrix, title=f"{PROBED}: probe accuracy (adjusted balanced accuracy), mean "
                                  f"over {len(matrices)} seeds").show()

# %% [markdown]
# **Across objectives.** The paper's comparison of metric learning with classification runs on both kinds of
# measure: retrieval and triplet prediction (similarity), tagging (information). One row per like-for-like pair,
# every column oriented the same way (proxy or classification model minus the triplet model, so positive means the
# classification-style side is ahead; the complete-space triplet finding is stated the other way round, so its sign
# is flipped here), with each pair's verdict on its own claim.

# %%
def oriented(key: str, classification_side: str, triplet_side: str) -> str:
    """A pair of finding ``key``, as classification side minus triplet side, with its verdict."""
    for pair in by_key.get(key, {}).get("pairs", []):
        if (pair["first"], pair["second"]) == (classification_side, triplet_side):
            difference, low, high = pair["difference"], pair["low"], pair["high"]
        elif (pair["first"], pair["second"]) == (triplet_side, classification_side):  # stated the other way round
            difference, low, high = -pair["difference"], -pair["high"], -pair["low"]
        else:
            continue
        return f"{interval_text(difference, low, high, claims[key].digits)}: {pair['verdict']}"
    return ""


like_for_like = [pair for pair in claims["retrieval"].pairs if {pair.first, pair.second} <= have]
display(pd.DataFrame({f"{pair.first} vs {pair.second}": {
    "retrieval R@1 (similarity)": oriented("retrieval", pair.first, pair.second),
    "complete-space triplets (similarity)": oriented("complete-triplets", pair.first, pair.second),
    "tagging AUC (information)": oriented("tagging", pair.first, pair.second)} for pair in like_for_like}).T)

table1 = report.table1(results)
models = [c for c in report.PAPER_ROWS if c in table1.index and c not in SAME_FUNCTION]
if len(models) > 2:
    rho = spearmanr(table1.loc[models, "R@1"], table1.loc[models, "AUC"]).statistic
    print(f"Across the {len(models)} trained configurations (mean over seeds), the rank correlation of R@1 "
          f"(similarity) with tag AUC (information) is {rho:+.2f}: "
          + ("the models that retrieve best also tag best." if rho > 0.7 else
             "the two kinds of measure rank the models differently." if rho < 0.3 else
             "the two kinds of measure rank the models only loosely alike.")
          + " (Descriptive: a handful of configurations, no interval.)")
figure = go.Figure()
for config in [*models, *[c for c in report.BASELINE_ROWS if c in table1.index]]:
    figure.add_trace(go.Scatter(
        x=[table1.loc[config, "R@1"]], y=[table1.loc[config, "AUC"]], mode="markers", name=config,
        marker={"size": 11, "symbol": "square" if config in report.BASELINE_ROWS else "circle"},
        error_x={"type": "data", "array": [np.nan_to_num(table1.loc[config, "R@1 ±"])]},
        error_y={"type": "data", "array": [np.nan_to_num(table1.loc[config, "AUC ±"])]}))
figure.update_layout(template="plotly_white", xaxis_title="R@1 (%), similarity", yaxis_title="tag ROC-AUC, information",
                     title=f"Similarity vs information per configuration (size {size.name}, 95% intervals; squares: "
                           "baselines)")
figure.show()

# %%
SIMILARITY_READING = {
    ("holds", "does not hold"): "the sub-spaces are disentangled for similarity but not for information by the "
                                "claim's margin: the other blocks still hold much of each factor",
    ("holds", "holds in part"): "the sub-spaces are disentangled for similarity, and for information in some "
                                "models only",
    ("holds", "holds"): "the sub-spaces are disentangled both for similarity and for information",
    ("holds", "undetermined"): "the sub-spaces are disentangled for similarity; whether they are for information "
                               "is not decided by this design",
}
pair_of_verdicts = (verdict_of("similarity-disentanglement"), verdict_of("information-disentanglement"))
print(f"similarity-disentanglement [{pair_of_verdicts[0]}], information-disentanglement [{pair_of_verdicts[1]}]: "
      + SIMILARITY_READING.get(pair_of_verdicts, "this design does not separate the two senses of "
                                                 "disentanglement; the intervals above say how far each is from "
                                                 "being decided") + ".")
print(f"retrieval [{verdict_of('retrieval')}], tagging [{verdict_of('tagging')}], complete-triplets "
      f"[{verdict_of('complete-triplets')}]: "
      + ("on similarity and on information alike, the classification-style side is ahead where anything is decided."
         if verdict_of("complete-triplets") == "does not hold" and verdict_of("retrieval") in ("holds", "holds in part")
         and verdict_of("tagging") in ("holds", "holds in part") else
         "the objectives do not rank the same way on every measure, or the design does not decide it: read the "
         "oriented table above pair by pair."))

# %% [markdown]
# ## 4. What more data would change
#
# *Undetermined* is not *no difference*: it means this design (these seeds, these test tracks) cannot tell the
# difference from noise. Every pair comes with a power sentence: the smallest true difference the design detects
# with 80% power at Holm's strictest level (5% divided by the number of tests), and how many seeds (at today's test
# tracks) or how many test tracks (at today's seeds) would detect the claim's *practical size* (stated with each
# claim in `mdrbench.findings.CLAIMS`, and printed in the table below). These are statements about the design, not
# predictions of the result. Where the seed part of the variance dominates, no number of test tracks suffices
# (docs/statistics.md). The undetermined pairs and their sentences:

# %%
undetermined = [(finding, pair) for finding in findings for pair in finding["pairs"] if pair["verdict"] ==
                "undetermined"]
print(f"{len(undetermined)} of {len(pair_table)} pairs are undetermined at size {size.name}:")
for finding, pair in undetermined:
    print(f"- [{finding['key']}] {pair['label']} ({pair['reason'] or 'no reason given'}):\n    this design "
          f"{pair['power'] or 'states no power (fewer than two seeds or no seed variance)'}")

# %% [markdown]
# The same, as numbers recomputed from each pair's variance components with `mdrbench.stats`. The last column
# applies today's variance components to the `full` size's number of test tracks, at today's seeds: a
# *projection* under the assumption that the per-track spread and the seed variance stay as measured, which a
# different size (more training data, the paper's front-end and backbone) need not keep. It is not a measurement.

# %%
corrected = stats.ALPHA / max(n_tests, 1)
full_test_tracks = split_counts(SIZES["full"])[2]
design_rows = []
for finding, pair in undetermined:
    claim = claims[finding["key"]]
    claim_pair = next(p for p in claim.pairs if p.label == pair["label"])
    estimate, _, _ = pair_estimate(results, claim, claim_pair)
    if estimate is None or estimate.n_seeds < 2 or not np.isfinite(estimate.seed_variance):
        continue
    two_level = estimate.n_queries > 0
    more_seeds = stats.seeds_needed(estimate, claim.practical, corrected)
    tracks = stats.queries_needed(estimate, claim.practical, corrected) if two_level else None
    design_rows.append({
        "finding": finding["key"], "pair": pair["label"], "|difference|": abs(estimate.mean),
        "detectable now": stats.minimum_detectable_effect(estimate, alpha=corrected), "practical size": claim.practical,
        "seed share": estimate.seed_share(),
        "seeds needed": more_seeds if more_seeds else f"> {stats.MAX_SEEDS}",
        "test tracks needed": (tracks if tracks else "none suffices") if two_level else "n/a (no test-track noise)",
        "detectable at full's test tracks (projection)": (stats.minimum_detectable_effect(
            estimate, queries=full_test_tracks, alpha=corrected) if two_level else np.nan)})
with pd.option_context("display.precision", 3, "display.max_colwidth", 80):
    display(pd.DataFrame(design_rows).set_index(["finding", "pair"]) if design_rows else "no undetermined pair")

# %% [markdown]
# **What the `full` size changes.** The sizes side by side (`mdrbench.sizes.SIZES`): `full` is the GPU size, with
# many times the tracks, longer tracks, the paper's front-end and Inception backbone, and the paper-like schedule
# (more patience, more learning-rate reductions). What it changes for the *findings* follows from the design alone,
# printed below; what it would change in the *numbers* is not known until it is run.

# %%
sizes = pd.DataFrame({name: {
    "tracks": s.n_tracks, "train / valid / test": " / ".join(str(n) for n in split_counts(s)),
    "track seconds": f"{s.min_duration:g}-{s.max_duration:g}", "sample rate": s.sample_rate, "front-end": s.frontend,
    "backbone": s.backbone, "batch": s.batch_size, "max epochs": s.max_epochs, "patience": s.patience,
    "lr reductions": s.max_lr_reductions, "seeds": s.seeds, "whole benchmark from nothing": FIRST_RUN_TIME.get(name)}
    for name, s in SIZES.items()})
display(sizes)

here_train, _, here_test = split_counts(size, len(workspace.corpus))
full = SIZES["full"]
full_train, _, full_test = split_counts(full)
print(f"From {size.name} to full: {full_train / here_train:.0f}x the training tracks, {full_test / here_test:.1f}x "
      f"the test tracks, " + (f"the same number of seeds ({full.seeds})." if full.seeds == len(seeds) else
                              f"{full.seeds} seeds instead of {len(seeds)}."))
print(f"- The query part of each pair's variance scales like 1 / test tracks: at the same per-track spread it "
      f"would shrink by {full_test / here_test:.1f}x; pairs limited by test-track noise (low seed share) gain most.")
print("- The seed part scales like 1 / seeds: " + (
    "full runs the same number of seeds, so pairs limited by seed noise (high seed share) stay as hard to decide "
    "unless the seed variance itself changes, which only running it shows; `mdrbench bench --seeds N` adds seeds."
    if full.seeds <= len(seeds) else
    f"full's {full.seeds} seeds shrink it by {full.seeds / len(seeds):.1f}x at the same seed variance."))
print("- More training data, the paper's front-end and backbone change the models themselves: every difference "
      "may move, and the paper (MSD, 201k training tracks) is no guarantee of where.")
full_runs = sorted((results_dir("full") / "runs").glob("*/seed*/result.json"))
print(f"- Stored results of the full size on this machine: {len(full_runs) or 'none'}"
      + (" (open them with MDRBENCH_SIZE=full)." if full_runs else "; nothing here is a result of full."))

# %% [markdown]
# ## 5. What to take away
#
# First what this benchmark, at this size, says about the paper's question, metric learning vs classification,
# built from the verdicts above:

# %%
MEANING = {"holds": "holds", "holds in part": "holds for some like-for-like pairs, none against",
           "does not hold": "does not hold: at least one pair is decided against it",
           "undetermined": "is not decided by this design", "not run": "was not run"}
print(f"At size {size.name}, on {len(seeds)} seeds and the same test tracks for every model:")
for source, who in (("paper", "the paper's claims"), ("data", "what the data shows beyond the paper")):
    print(f"\nOf {who}:")
    for verdict in VERDICTS:
        for finding in (f for f in findings if f["source"] == source and f["verdict"] == verdict):
            print(f"- [{verdict}] {finding['claim']}: {MEANING[verdict]}.")
HEADLINE = {"retrieval": "proxy and classification models retrieve better than triplet models",
            "tagging": "they tag better",
            "training-time": "they train faster",
            "step-cost": "a triplet step costs more",
            "subspace-lead": "the disentangled triplet model leads in the sub-spaces",
            "complete-triplets": "triplet models lead triplet prediction in the complete space",
            "similarity-disentanglement": "the sub-spaces are disentangled for similarity",
            "information-disentanglement": "they are disentangled for information"}
print("\nMetric learning vs classification, claim by claim:")
for key, claim in HEADLINE.items():
    print(f"- {claim}: {MEANING[verdict_of(key)]}.")
if size.name == "ci":
    print(f"\n{CI_CAVEAT}")

# %% [markdown]
# Then what carries over to any benchmark, whatever its verdicts:
#
# * **Like with like.** A claim about objectives is tested on pairs that differ in the objective only (same
#   normalization, same disentanglement, same data, same test tracks), never as the worst of one group against the
#   best of the other: one lucky configuration must not decide for all.
# * **State the claim before the data.** The claims, their pairs and their practical sizes are written in
#   `mdrbench.findings.CLAIMS`; a comparison chosen after looking (section 2's disentangled-vs-full table) is
#   descriptive, and says so.
# * **Two sources of noise.** A number rests on training seeds *and* on the test tracks it was scored on; an
#   interval over seeds alone is too narrow when the test set is small, and one over test tracks alone ignores that
#   another seed trains another model. The seed share says which one to buy more of.
# * **Many tests, one error rate.** Checking many pairs at once multiplies the chances of a lucky "holds"; Holm's
#   correction keeps the family-wise error at 5%, at the price of leaving some pairs undetermined that would pass
#   alone.
# * **Undetermined is an answer about the design.** The power sentence says what the design could have detected
#   and what it would take; it is not evidence of no effect.
# * **Baselines and chance.** Random embeddings and mel statistics on the same test set say what "good" means; a
#   learned model below the hand-made baseline is a finding too.
# * **Print results, never type them.** Every sentence above is built from the numbers, so it stays true when the
#   size, the seeds or the code change (`tests/test_notebook_prose.py` checks the prose of these notebooks).
#
# This is the last notebook. To go further: more seeds (`mdrbench bench --seeds 5`), the `full` size on a GPU, a
# real corpus (notebook 11, `mdrbench bench --corpus DIR`), or a claim of your own (exercise 3).

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/12_what_the_benchmark_says_solutions.ipynb`](solutions/12_what_the_benchmark_says_solutions.ipynb)
# (one section per exercise).
#
# 1. **One interval by hand.** Recompute the interval of the first pair of the `retrieval` finding from the per-seed
#    R@1 values in `results` and the per-query replicates (`mdrbench.findings.column_replicates`) with
#    `mdrbench.stats.two_level_estimate`; then drop the query part (seeds only) and compare the widths. Which part
#    dominates at this size? *(Solution: exercise 1.)*
# 2. **Another error rate: predict, then run.** `mdrbench.findings.findings(results, alpha=...)` decides at another
#    family-wise error rate. Before running it with 0.01 and 0.20, predict: which of the printed numbers change
#    (differences, intervals, Holm p-values, verdicts, power sentences), and can a pair go from *holds* to
#    *does not hold*? *(Solution: exercise 2.)*
# 3. **Open-ended: which finding is closest to being decided, and what would decide it?** Rank the undetermined
#    pairs by how close they are (for instance the Holm-adjusted p-value, or the observed difference over the
#    detectable one), then propose the cheapest design that would decide the closest one (more seeds, more test
#    tracks), using `mdrbench.stats.seeds_needed` and `queries_needed` and the cost of a seed. What can the
#    projection not tell you? *(Solution: exercise 3, a worked sketch.)*
