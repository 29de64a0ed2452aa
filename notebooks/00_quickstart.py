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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/00_quickstart.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F00_quickstart.ipynb)
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
# # Quickstart: one embedding space, three ways to search music
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# This notebook tells the whole story of mdrbench in a few minutes. We
#
# 1. open a small corpus of procedural music with known genre, mood, instrument and era, and listen to it;
# 2. load two models of the ISMIR 2020 study (Lee et al., *Metric learning vs classification for
#    disentangled music representation learning*) from the benchmark's stored runs: a **disentangled proxy
#    model** (the classification-style learner) and a **disentangled triplet model** (the metric learner);
# 3. use one embedding space for the paper's three retrieval modes: **by example** (nearest tracks),
#    **by tag** (auto-tagging) and **inside a sub-space** (only the instrument dimensions, say);
# 4. measure the two models on R@K, tag ROC-AUC and triplet prediction, beside two baselines, and read which
#    of the paper's findings the benchmark's seeds support.
#
# Everything comes from the `mdrbench` package; the notebook only calls it.
#
# **Objectives:**
#
# - Open a workspace and listen to its tracks beside their clean factors and noisy tags.
# - Use one embedding space for the paper's three retrieval modes: by example, by tag and inside a sub-space.
# - Read R@K, tag ROC-AUC and triplet accuracy of a proxy and a triplet model beside two baselines.
# - Interpret a finding's verdict (holds, does not hold, undetermined) from its 95% interval over seeds.
#
# **Prerequisites:** none beyond Python.
#
# **Time:** ci about 20 s · default about 20 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you
# have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at default).

# %% [markdown]
# ## Setup `open_workspace` opens the world every notebook works on: the size (the environment variable `MDRBENCH_SIZE`:
# unset, `default` when the reference results that ship with mdrbench are usable, else `ci`, a tiny corpus that runs in
# seconds; `default` is the laptop benchmark, `full` is for a GPU), the synthetic corpus of that size, its log-mel
# features, and the benchmark's stored runs (`mdrbench bench` trains each configuration and seed once; afterwards
# everyone reads them back). It prints what the numbers below rest on.

# %%
import numpy as np
from IPython.display import Audio, display

from mdrbench import metrics, report, views
from mdrbench.workspace import open_workspace

SEED = 0
MODELS = ["proxy-norm-dis", "triplet-norm-dis"]  # one classification-style learner, one metric learner
QUERY = 0  # the test track we search with
N_NEIGHBOURS = 5  # neighbours listed per search
TAG = "jazz"  # the tag we search by

workspace = open_workspace(runs=MODELS)
corpus, features, test = workspace.corpus, workspace.features, workspace.test_tracks

# %% [markdown]
# ## 1. The music
# The corpus is generated (deterministically from the seed) and cached. Each track has clean factors (the ground
# truth) and Last.fm-like noisy tags: some true tags are missing, some synonyms ("hip hop" beside "hip-hop")
# appear, a few tags are wrong.

# %%
example = int(test[QUERY])
print("clean factors:", dict(corpus.factors.iloc[example]))
print("observed tags:", corpus.tags_of(example))
display(Audio(corpus.audio(example)[: 6 * corpus.sample_rate], rate=corpus.sample_rate))

# %% [markdown]
# Models do not hear waveforms: they see log-mel spectrograms. mdrbench computes them with a Keras layer on
# the torch backend (the same numbers as librosa's `melspectrogram`) and caches them per corpus.

# %%
views.mel_figure(features.track(example), corpus.sample_rate, features.settings.hop_length,
                 title=f"{corpus.track_ids[example]}: " + ", ".join(corpus.factors.iloc[example])).show()

# %% [markdown]
# ## 2. Two trained models
# Both learn a 256-d embedding from 3-second excerpts, split into four fixed sub-spaces of equal size (genre,
# mood, instrument, era). The **proxy** model learns one proxy vector per tag and a binary cross-entropy over
# all tags, each computed in its tag's sub-space; the **triplet** model pulls an anchor towards positives that
# share a tag and away from negatives that do not, again inside that tag's sub-space. Training follows the
# paper's schedule (Adam, learning rate divided by 5 on plateaus, then a stop; the best epoch's weights are
# kept). `stopped_by` says what ended each run: `schedule` means the learning-rate schedule decided the model
# had converged.

# %%
runs = {name: workspace.run(name, SEED) for name in MODELS}
for name, run in runs.items():
    training = run.result["training"]
    print(f"{name:18s} {training['epochs_run']} epochs, best at {training['best_epoch']}, "
          f"stopped by {training['stopped_by']}")

# %% [markdown]
# ## 3. One space, three retrieval modes
# A track's embedding is the mean over a few evenly spaced excerpts, normalized. The benchmark stored every test
# track's embedding with the run, row i for test track i.
#
# **By example**: the nearest test tracks to the query in the complete space (cosine similarity).

# %%
space = runs["proxy-norm-dis"].test_embeddings
slices = workspace.subspaces(space.shape[1])


def describe(position):
    index = test[position]
    return f"{corpus.track_ids[index]}  [{', '.join(corpus.factors.iloc[index])}]"


neighbours = metrics.nearest_neighbors(space, k=N_NEIGHBOURS)[QUERY]
print("query:   ", describe(QUERY))
for position in neighbours:
    print("neighbour", describe(position))

# %% [markdown]
# Listen to the query, then its neighbours in order (4 s from the middle of each). Which of the query's
# factors do you hear again: the instrument, the tempo and feel of the genre, the mood? A neighbour that shares
# none of the printed factors but still sounds close tells you what the complete space picked up instead.

# %%
display(views.audio_table([(f"query: {describe(QUERY)}", corpus.audio(test[QUERY]))]
                          + [(f"neighbour {rank}: {describe(position)}", corpus.audio(test[position]))
                             for rank, position in enumerate(neighbours, start=1)],
                          corpus.sample_rate, title="proxy-norm-dis, complete space: the query and its neighbours"))

# %% [markdown]
# **Inside a sub-space**: the same query, but only the instrument block's dimensions count. If that block holds
# the instrument, the neighbours share the query's instrument more often, whatever their genre; the printed
# share says how often they do here.

# %%
for category in ("instrument", "era"):
    neighbours = metrics.nearest_neighbors(space[:, slices[category]], k=N_NEIGHBOURS)[QUERY]
    same = np.mean([workspace.test_factors[category].iloc[p] == workspace.test_factors[category].iloc[QUERY]
                    for p in neighbours])
    print(f"{category} sub-space: {same:.0%} of the {N_NEIGHBOURS} neighbours share the query's {category}")
    for position in neighbours:
        print("   ", describe(position))

# %% [markdown]
# **By tag**: the proxy model scores every tag for every track (the logit: the proxy's norm times the cosine
# to the tag's proxy, in the tag's sub-space), so a tag query is a sort. The benchmark stored these scores too.

# %%
scores = runs["proxy-norm-dis"].test_tag_scores  # (n_test, n_tags) logits
top = np.argsort(-scores[:, corpus.vocabulary.index(TAG)])[:N_NEIGHBOURS]
print(f"top {N_NEIGHBOURS} test tracks for '{TAG}':")
for position in top:
    print("   ", describe(position))

# %% [markdown]
# ## 4. Measure
# The paper's evaluations, on the test split, as the benchmark computed them when it stored each run:
# - **R@K**: the fraction of a query's tags found among its K nearest neighbours' tags (in percent);
# - **tag ROC-AUC** (macro over tags): the proxy model scores with its head, the triplet model by the
#   similarity to each tag's prototype (the mean training embedding of the tracks carrying it);
# - **triplet prediction** per category, in the complete space and in each category's own sub-space.
#
# Beside them, two baselines scored on the same test set: **random** embeddings (chance) and
# **mel-statistics** (each track's per-band log-mel mean and standard deviation: no learning at all). The mean
# cosine between test tracks says whether a space has spread the tracks out (near 0) or collapsed them (near 1).

# %%
columns = ["R@1", "R@2", "R@4", "R@8", "AUC", "complete:overall", "subspace:overall", "mean_cosine", "stopped_by"]
results = workspace.results
seed_rows = results[(results["seed"] == SEED) & results["config"].isin([*MODELS, "random", "mel-statistics"])]
seed_rows.set_index("config")[columns].round(3)

# %% [markdown]
# The table is one seed. Whether one model *beats* another is a claim about every seed, so mdrbench decides it
# with one rule (`mdrbench.report.findings`): the per-seed difference and its 95% interval; *holds* when the
# interval lies above 0, *does not hold* below it, *undetermined* when it contains 0. Each line names the
# paper's numbers (measured on 201,680 MSD tracks) beside ours.

# %%
for finding in report.findings(results):
    print(f"[{finding['verdict']}] {finding['claim']}\n    ours: {finding['evidence']}; paper: {finding['paper']}")

# %% [markdown]
# `10_benchmark` shows the benchmark's tables with intervals beside the paper's. A last look: the instrument
# sub-space of the proxy model, coloured by instrument. With a front-end, the interactive explorer in
# `05_disentanglement` lets you switch sub-spaces, colour by any category and click a point to hear it.

# %%
views.embedding_scatter(space, workspace.test_factors["instrument"].to_numpy(), subspace=slices["instrument"],
                        title="proxy-norm-dis, instrument sub-space (PCA), coloured by instrument").show()

# %% [markdown]
# ## Where next
# `01_data` (listen and look at the corpus) · `02_metric_learning_vs_classification` · `03_proxy_losses` ·
# `04_models_and_training` · `05_disentanglement` · `06_similarity_retrieval` · `07_auto_tagging` ·
# `08_triplet_prediction` · `09_training_time` · `10_benchmark` (our tables beside the paper's) · `11_real_music`
# (embed a folder of real recordings with a synthetic-trained model and listen to its nearest synthetic tracks per
# sub-space) · `12_what_the_benchmark_says` (the closing synthesis: what the benchmark concludes about the paper) ·
# `13_train_it_yourself` (write the model, the loss, the compile and the fit yourself).

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/00_quickstart_solutions.ipynb`](solutions/00_quickstart_solutions.ipynb) (one section per exercise).
#
# 1. **Another tag.** Search by tag for `"piano"` instead of `"jazz"` (section 3). How many of the top 5 test
#    tracks are piano tracks by their clean instrument, and how does that compare with the share of piano tracks in
#    the test split? Check your ranking against `mdrbench.search.by_tag`. *(Solution: exercise 1.)*
# 2. **More neighbours: predict, then run.** Section 3 counts how many of the query's 5 neighbours in the
#    instrument sub-space share its instrument. Before running anything, predict: averaged over all test queries,
#    does that share go up or down as k grows (1, 5, 20...), and what value must it reach when k covers every other
#    test track? Then compute it with `metrics.nearest_neighbors`, and check k = 1 against
#    `metrics.category_retrieval_scores`. *(Solution: exercise 2.)*
# 3. **Which model searches by instrument?** With `metrics.category_retrieval_scores`, compare the proxy and the
#    triplet model on instrument precision@1 and MAP@R, in the complete space and in the instrument sub-space, for
#    every seed the benchmark ran. Which combination is best, and does `mdrbench.report.compare` call the
#    difference beyond noise? *(Solution: exercise 3.)*
# 4. **Open-ended: "more 80s music", by tag or by example?** Compare two answers of the proxy model: the top tracks
#    for the tag `80s`, and the neighbours of an 80s track in the era sub-space. Which would you ship to a
#    listener, and what evidence would convince you? *(Solution: exercise 4, a worked sketch.)*
