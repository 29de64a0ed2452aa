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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/06_similarity_retrieval.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F06_similarity_retrieval.ipynb)
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
# # 06 · Similarity retrieval: query by example and R@K
#
# The everyday use of a music embedding is **query by example**: "more songs like this one". We embed every
# track, and the answer to a query is its nearest neighbours by cosine similarity. How do we score that when
# every track carries several tags? The paper (Lee et al., ISMIR 2020, Eq. 12) uses a multi-label **recall at
# K**: for a query with tag set y_q and its K nearest neighbours with tag sets y_1, ..., y_K,
#
# $$R@K = \frac{1}{|Q|}\sum_{q\in Q} \frac{|\,y_q \cap (y_1 \cup \dots \cup y_K)\,|}{|y_q|},$$
#
# the fraction of the query's tags found among its K neighbours: it rewards neighbours that *together* cover
# what the query is, and only grows with K. We compute it by hand, put it in context (chance, a perfect code, the
# paper's eight models), ask it per category and per sub-space, then query and listen. Words with a precise
# meaning here (complete space, sub-space, the sizes `ci`, `default`, `full`) are in the
# [glossary](../docs/glossary.md).
#
# **Objectives:**
#
# - Compute the multi-label R@K by hand from a cosine ranking and check it against `metrics.recall_at_k`.
# - Place R@K between reference points: random embeddings, mel statistics and a one-hot code of the clean factors.
# - Compare the eight configurations with the paper's Table 1 through 95% intervals over seeds.
# - Measure precision@1 and MAP@R per category in the complete space and in each sub-space, and query by example.
#
# **Prerequisites:** [02 · Metric learning vs classification](02_metric_learning_vs_classification.ipynb),
# [05 · Disentanglement](05_disentanglement.ipynb); background: cosine similarity, nearest-neighbour search, precision
# and recall.
#
# **Time:** ci about 20 s · default about 20 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you
# have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at default).

# %% [markdown]
# ## Setup
#
# `open_workspace` opens the size named by `MDRBENCH_SIZE` (unset: `default`, whose runs ship with mdrbench as reference
# results, else `ci`, a tiny corpus of seconds), its corpus and the benchmark's stored runs (trained once per seed,
# shared by every notebook), and prints what the numbers below rest on.

# %%
import ipywidgets
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import mdrbench.configs
import mdrbench.metrics as metrics
import mdrbench.report as report
import mdrbench.views as views
from mdrbench.workspace import open_workspace

KS = (1, 2, 4, 8)  # the paper's K values
EXAMPLE_CONFIG = "proxy-norm-dis"  # the model we take apart (disentangled, so it has sub-spaces)
FULL_CONFIG = "proxy-norm-full"  # the same loss without sub-spaces, as a control
N_HAND_QUERIES = 2  # queries worked through by hand
N_NEIGHBOURS = 4  # neighbours listed and played in the query-by-example section
CLIP_SECONDS = 5.0  # audio played per track (keeps the notebook light)

workspace = open_workspace()
corpus, results, test_factors = workspace.corpus, workspace.results, workspace.test_factors
models = results[results["kind"] == "model"]
run = workspace.run(EXAMPLE_CONFIG)
embeddings = run.test_embeddings  # (n_test, 256), row i = test track i
labels = workspace.test_labels  # (n_test, n_tags) multi-hot, the noisy Last.fm-like tags
tag_names = np.array(workspace.tag_names)
test_track_ids = corpus.track_ids[workspace.test_tracks]
print(f"{EXAMPLE_CONFIG}: embeddings {embeddings.shape}, {labels.sum(axis=1).mean():.2f} tags per test track")

# %% [markdown]
# ## 1. R@K by hand
#
# cos(a, b) = (a · b) / (|a| |b|), computed the way `mdrbench.metrics` does (float32,
# the dot product then the inverse norms), so that near-ties rank identically in both computations. A query must
# not retrieve itself (the diagonal is set to minus infinity), and a stable sort breaks ties by the lower index.
# If every cosine is close to 1 the space is collapsed: only the order matters, but small perturbations reorder
# neighbours. Then, for a few queries: the neighbours in order, the query tags each newly covers, and the running
# coverage; R@K of that query is the coverage after K neighbours.

# %%
embeddings32 = embeddings.astype(np.float32)
inverse_norms = (1.0 / np.linalg.norm(embeddings32, axis=1)).astype(np.float32)
similarity = (embeddings32 @ embeddings32.T) * (inverse_norms[:, None] * inverse_norms[None, :])
np.fill_diagonal(similarity, -np.inf)
off_diagonal = similarity[~np.eye(len(similarity), dtype=bool)]
print(f"cosines between different tracks: min {off_diagonal.min():.4f}, median {np.median(off_diagonal):.4f}, "
      f"max {off_diagonal.max():.4f}")
ranking = np.argsort(-similarity, axis=1, kind="stable")

queries_with_tags = np.flatnonzero(labels.any(axis=1))
for query in queries_with_tags[:N_HAND_QUERIES]:
    query_tags, covered, rows = set(tag_names[labels[query]]), set(), []
    for rank, neighbour in enumerate(ranking[query, : max(KS)], start=1):
        neighbour_tags = set(tag_names[labels[neighbour]])
        newly_covered = (neighbour_tags & query_tags) - covered
        covered |= newly_covered
        rows.append({"K": rank, "neighbour": test_track_ids[neighbour], "cosine": similarity[query, neighbour],
                     "neighbour tags": ", ".join(sorted(neighbour_tags)),
                     "newly covered": ", ".join(sorted(newly_covered)), "coverage R@K": len(covered) / len(query_tags)})
    display(Markdown(f"**Query {test_track_ids[query]}**, tags: {', '.join(sorted(query_tags))}"))
    display(pd.DataFrame(rows).set_index("K").round(4))

# %% [markdown]
# **Average over queries**, for every query at once: `labels[ranking[:, :K]]` gathers the K neighbours' tag rows,
# `any` is the union, `&` the intersection. Queries without a tag are left out of the mean (0/0) but stay possible
# neighbours. The library (chunked, top-k selection, so it scales to the paper's 28,435 test tracks) must agree.

# %%
tag_counts = labels.sum(axis=1)
by_hand = {k: ((labels[ranking[:, :k]].any(axis=1) & labels).sum(axis=1)[queries_with_tags]
               / tag_counts[queries_with_tags]).mean() for k in KS}
library = metrics.recall_at_k(embeddings, labels, ks=KS)
print(pd.DataFrame({"by hand": by_hand, "metrics.recall_at_k": library}).T.round(4))
np.testing.assert_allclose([by_hand[k] for k in KS], [library[k] for k in KS], atol=1e-9)

# %% [markdown]
# ## 2. What is a good R@K here?
#
# R@K depends as much on the data as on the model (tags per track, tracks per tag, missing tags). Three reference
# points on the same test set: **random**, the benchmark's chance baseline (a random vector per excerpt);
# **mel-statistics**, its hand-made baseline (each track's per-band log-mel mean and standard deviation, by
# cosine: a network that does not beat it has learned little about music); and **clean factors**, the one-hot
# code of each track's true genre, mood, instrument and era, which is hard to beat but not 1, since the observed
# tags are noisy and identical codes tie.

# %%
recall_columns = [f"R@{k}" for k in KS]
clean_factors = metrics.recall_at_k(pd.get_dummies(test_factors).to_numpy(dtype=np.float32), labels, ks=KS)
baselines = results[results["kind"] == "baseline"].groupby("config", sort=False)[recall_columns].mean()
references = pd.concat([baselines / 100, pd.DataFrame([library, clean_factors], index=[
    f"{EXAMPLE_CONFIG} (seed {run.result['seed']})", "clean factors (one-hot)"]).set_axis(recall_columns, axis=1)])
(100 * references).round(1)

# %% [markdown]
# ## 3. All eight configurations against the paper
#
# `report.table1` lays the runs out like the paper's Table 1: per configuration the **mean over seeds**, `±` the
# half-width of a **95% Student-t interval** over seeds, the paper's value, the seeds and how many converged, then
# the baselines. R@K is in percent; `mean_cosine` near 1 means a collapsed space. Do not compare absolute levels
# with the paper's (28,435 MSD tracks, another vocabulary): compare the **ordering**, the **gaps**, and each model
# against the baselines.

# %%
table = report.table1(results)
print(report.INTERVAL_NAME)
display(report.compact(table[[*recall_columns, *[f"{c} {s}" for c in recall_columns for s in ("±", "paper")],
                              "mean_cosine", "mean_cosine ±", "seeds", "converged"]], report.TABLE1_DIGITS))
views.interval_figure(table, "R@1", title=f"R@1 over seeds ({workspace.size.name}), 95% interval; the paper as "
                      "diamonds", axis_title="R@1 (%)").show()
ours = table[recall_columns]
paper = table[[f"{c} paper" for c in recall_columns]].set_axis(recall_columns, axis=1).dropna(how="all")
views.recall_at_k_figure(pd.concat([ours.assign(source="ours"), paper.assign(source="paper")]),
                         title=f"R@K: ours ({workspace.size.name}, solid, baselines included) vs the paper "
                               "(dashed)").show()

# %% [markdown]
# Each model against the hand-made baseline, and the paper's retrieval findings as `report.findings` checks them,
# all with mdrbench's one comparison rule (`report.compare`): per-seed differences, *holds* when their 95%
# interval lies above 0, *does not hold* below, *undetermined* otherwise (within noise, one seed, or a run that
# did not converge). `proxy-norm-full` and `classification-norm-full` are *the same function* (the paper notes
# it), trained once and reported under both names (`same_as`): one piece of evidence, not two.

# %%
baseline_r1 = results.loc[results["config"] == "mel-statistics", "R@1"].mean()  # deterministic: one value
print(f"each configuration's R@1 minus mel-statistics' ({baseline_r1:.1f}), seed by seed:")
for config, group in models.groupby("config", sort=False):
    comparison = report.compare(group["R@1"] - baseline_r1, converged=bool(group["converged"].all()))
    print(f"  [{comparison.verdict}] {config} beats mel-statistics ({comparison.describe(1)})")
paper_r1 = table["R@1 paper"].dropna()
print(f"Spearman rank correlation of R@1, ours vs paper: "
      f"{ours['R@1'].reindex(paper_r1.index).corr(paper_r1, method='spearman'):+.2f}")
for finding in report.findings(results):
    if finding["evidence"].startswith("R@1"):
        print(f"[{finding['verdict']}] {finding['claim']}.\n    {finding['evidence']} (paper: {finding['paper']})")
print("same function, trained once:", mdrbench.configs.SAME_FUNCTION)

# %% [markdown]
# ## 4. Multidimensional retrieval: per category, complete space vs sub-space
#
# R@K mixes all categories. With the clean factors we can ask per category: "is my nearest neighbour of the same
# genre?" (**precision@1**) and "are the tracks of my genre ranked first?" (**MAP@R**, mean average precision over
# the first R neighbours, R = the number of other tracks with the same value; Musgrave et al. 2020). A disentangled
# model can be searched in the complete space or only in the category's own sub-space: the promise of
# disentanglement is that "same genre" works best in the genre sub-space. The full model is the control.

# %%
slices = workspace.subspaces(embeddings.shape[1])
chance_precision = {category: float((test_factors[category].value_counts(normalize=True) ** 2).sum())
                    for category in test_factors.columns}  # the same value drawn twice at random
tables, gain_rows = {}, []
for config in (EXAMPLE_CONFIG, FULL_CONFIG):
    per_seed = []
    for seed_run in workspace.runs(config):
        complete = metrics.category_retrieval_scores(seed_run.test_embeddings, test_factors)
        subspace = metrics.category_retrieval_scores(seed_run.test_embeddings, test_factors, subspace_slices=slices)
        per_seed.append(pd.DataFrame({"P@1 complete": complete["precision_at_1"],
                                      "P@1 sub-space": subspace["precision_at_1"],
                                      "MAP@R complete": complete["map_at_r"], "MAP@R sub-space": subspace["map_at_r"]}))
        gain_rows.append({"kind": "model", "config": config, "seed": seed_run.result["seed"],
                          "converged": bool(models.loc[models["config"] == config, "converged"].all()),
                          **per_seed[-1][["P@1 sub-space", "P@1 complete"]].mean().to_dict()})
    tables[config] = (sum(per_seed) / len(per_seed)).assign(**{"P@1 chance (approx.)": pd.Series(chance_precision)})
display(pd.concat(tables, names=["config", "category"]).round(3))
gains = pd.DataFrame(gain_rows)
for config in tables:  # one number per seed: sub-space minus complete P@1, averaged over the categories
    comparison = report.compare(*report.paired_columns(gains, config, "P@1 sub-space", "P@1 complete"))
    print(f"[{comparison.verdict}] {config}: searching the category's sub-space beats the complete space (mean P@1 "
          f"over categories): {comparison.describe(3)}")
print(f"one query changes a P@1 by 1/{len(embeddings)} = {1 / len(embeddings):.3f}")

# %% [markdown]
# **Reading the table.** A category at its chance P@1 has not been learned at this size, whatever the space. Where
# the disentangled model's sub-space beats its complete space, the category is concentrated in its block; where the
# complete space wins, other blocks still carry cues for it (leakage, notebook 05). For the full model a sub-space
# is an arbitrary slice: a gain there would not come from disentanglement.
#
# ## 5. Query by example
#
# Pick a test track and a space; the table lists its nearest neighbours (the *shared_tags* column is what R@K
# counts) and the players let you hear the query and each neighbour. Searching inside a sub-space answers "more
# songs *with this instrument*" rather than "more songs like this". First one query in the complete space and in
# the instrument sub-space, then a picker (it needs a running kernel).

# %%
test_tags = [corpus.tags_of(index) for index in workspace.test_tracks]


def show_query(query=0, space="complete", n_neighbours=N_NEIGHBOURS):
    """Neighbours of test track ``query`` in one space (complete or a sub-space), with audio players."""
    space_embeddings = embeddings[:, slice(None) if space == "complete" else slices[space]]
    neighbours = metrics.nearest_neighbors(space_embeddings, n_neighbours)[query]
    similarities = metrics.unit_rows(space_embeddings[neighbours]) @ metrics.unit_rows(space_embeddings[[query]])[0]
    display(Markdown(f"**Query {test_track_ids[query]}** ({space} space): "
                     + ", ".join(f"{c} = {test_factors.loc[query, c]}" for c in test_factors.columns)))
    display(views.neighbors_table(query, neighbours, test_track_ids, test_tags, similarities))
    display(views.audio_table([(f"{role}: {test_track_ids[index]} ({', '.join(test_tags[index])})",
                                corpus.audio(workspace.test_tracks[index])) for role, index in
                               [("query", query), *[(f"neighbour {r}", n) for r, n in enumerate(neighbours, 1)]]],
                              corpus.sample_rate, seconds=CLIP_SECONDS))


for space in ("complete", "instrument"):
    show_query(query=int(queries_with_tags[0]), space=space)

# %%
query_picker = ipywidgets.Dropdown(
    options=[(f"{track_id}: {', '.join(tags)}", position) for position, (track_id, tags)
             in enumerate(zip(test_track_ids, test_tags, strict=True))],
    value=int(queries_with_tags[0]), description="query", layout={"width": "600px"})
space_picker = ipywidgets.Dropdown(options=["complete", *slices], value="complete", description="space")
neighbour_slider = ipywidgets.IntSlider(value=N_NEIGHBOURS, min=1, max=8, description="neighbours")
answer = ipywidgets.Output()


def update_answer(_change=None):
    # filled only when a picker changes: headless runs (CI) never render into an Output widget
    answer.clear_output(wait=True)
    with answer:
        show_query(query_picker.value, space_picker.value, neighbour_slider.value)


for picker in (query_picker, space_picker, neighbour_slider):
    picker.observe(update_answer, names="value")
display(ipywidgets.VBox([ipywidgets.HBox([space_picker, neighbour_slider]), query_picker, answer]))

# %% [markdown]
# ## What we learned
#
# R@K is the share of a query's tags covered by its K neighbours; chance and the clean-factor code bracket it.
# Models are compared over seeds with one rule, and per-category precision@1 in each sub-space tells whether a
# disentangled model answers "more like this, *in genre*" better there. **Next:** notebook 07, auto-tagging.

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/06_similarity_retrieval_solutions.ipynb`](solutions/06_similarity_retrieval_solutions.ipynb) (one
# section per exercise).
#
# 1. **Every track a neighbour: predict, then run.** Add K = 16 and K = n − 1 (every other test track) to `KS`.
#    Before running, predict what R@(n − 1) measures, whether it depends on the model, and when it is below 1. Then
#    compute it by hand and with `mdrbench.metrics.recall_at_k`. *(Solution: exercise 1.)*
# 2. **Shuffled tags: predict, then run.** Keep the embeddings and shuffle which track carries which tag row
#    (`labels[rng.permutation(n)]`). Predict R@1 before running, and derive its exact expected value under random
#    permutations. How does it compare with the benchmark's random baseline? *(Solution: exercise 2.)*
# 3. **Multidimensional retrieval for the triplet model.** Repeat section 4 for `triplet-norm-dis`: precision@1 and
#    MAP@R per category, complete space vs sub-space, every seed, and the verdict on the sub-space gain. Check one
#    precision@1 by hand with `mdrbench.metrics.nearest_neighbors`. *(Solution: exercise 3.)*
# 4. **Open-ended: where the instrument sub-space changes the answer.** For every query, compare its 5 neighbours in
#    the complete space with its 5 neighbours in the instrument sub-space. Find the query whose answer changes most,
#    list both answers with their instruments and listen. What does one query tell you, and what does not?
#    *(Solution: exercise 4, a worked sketch.)*
