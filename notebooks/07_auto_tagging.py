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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/07_auto_tagging.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F07_auto_tagging.ipynb)
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
# # 07 · Auto-tagging: ROC-AUC and PR-AUC over tags
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# The paper's third task asks a representation to *tag* music: given a track, how likely is each tag? It is
# measured by the area under the ROC curve (ROC-AUC), averaged over tags. This notebook:
#
# 1. explains ROC-AUC as a **ranking** score (the probability that a random positive track scores above a
#    random negative one) and computes it **by hand** for one tag, then checks it against scikit-learn and
#    `mdrbench.metrics.tag_auc`;
# 2. averages over tags (macro ROC-AUC) and adds PR-AUC (average precision), which cares about the top of
#    the ranking;
# 3. shows the two ways the paper gets tag scores: the **tag head** (proxies, classifier) and, for triplet
#    models that have no head, the **similarity to a tag prototype** (the mean training embedding of the
#    tag's tracks), both on the same model;
# 4. compares the eight configurations per category, next to the paper's AUC column and two baselines scored on
#    the same test set (random embeddings; a logistic regression per tag on log-mel statistics), with a 95%
#    interval over seeds, and reads the paper's tagging finding from `mdrbench.report.findings`;
# 5. measures how much **noisy tags** (missing positives) cap the AUC we can observe, by scoring against the
#    synthetic corpus's clean factors;
# 6. uses tagging as **tag-based retrieval**: the top tracks for a tag, with their tags, and listen to them.
#
# It reuses the benchmark's trained models: the first notebook that needs them trains them once (about 5
# minutes at the ci size), later ones load them instantly.
#
# **Time:** under a minute at `ci`, a few minutes at `default`, once the benchmark's runs exist.

# %% [markdown]
# ## Setup
#
# `MDRBENCH_SIZE` picks the size of everything: `ci` (a few hundred short tracks, seconds; what CI runs),
# `default` (a few thousand tracks, a laptop benchmark) or `full` (tens of thousands of tracks at the paper's
# front-end settings, for a GPU).
# At the ci size the corpus is tiny and only a few seeds run (both counts are printed below), so every number
# below is noisy: read them as a demonstration of the method, not as a replication.

# %%
import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

import mdrbench
import mdrbench.bench
import mdrbench.configs
import mdrbench.features
import mdrbench.metrics as metrics
import mdrbench.models
import mdrbench.paths
import mdrbench.report
import mdrbench.results
import mdrbench.sizes
import mdrbench.synth
import mdrbench.views as views
from mdrbench.corpus import CATEGORIES
from mdrbench.subspaces import subspace_slices

SIZE = os.environ.get("MDRBENCH_SIZE", "ci")
size = mdrbench.sizes.get_size(SIZE)

HEAD_CONFIG = "proxy-norm-dis"  # a model with a tag head (one proxy per tag)
TRIPLET_CONFIG = "triplet-norm-dis"  # a model without one: tags are scored against prototypes
DEMO_TAG = "male vocalists"  # the tag we take apart by hand and retrieve with
TOP_TRACKS = 5  # tracks shown in the tag-based retrieval demo
LISTEN_TRACKS = 3  # of which we listen to the first few
LISTEN_SECONDS = 5.0
pd.set_option("display.precision", 3)
pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 160)
print(f"size {size.name}: {size.n_tracks} tracks, {size.seeds} seeds per configuration")

# %% [markdown]
# ## 1. ROC-AUC is a ranking score
#
# A tagger outputs a score per (track, tag). For one tag, sort the tracks by score: a perfect tagger puts
# every track that carries the tag (a *positive*) above every track that does not (a *negative*). ROC-AUC
# counts how close we get:
#
# $$\text{AUC} = \frac{\#\{(p, n): s_p > s_n\} + \tfrac12\,\#\{(p, n): s_p = s_n\}}{P \cdot N}$$
#
# over all P x N (positive, negative) pairs: the probability that a random positive outscores a random
# negative, ties counting half. Random scores give 0.5, a perfect ranking 1.0. Only the *order* matters, so a
# logit, a sigmoid output and a cosine similarity are equally good scores, and the threshold never has to be
# chosen. (The benchmark ranks a head's **logits**, not its probabilities: in float32, sigmoid(17) is exactly
# 1.0, so the most confident tracks of a tag would tie.)
# It is also the area under the ROC curve (true-positive rate against false-positive rate as the threshold
# sweeps down the ranking), hence the name.
#
# A toy example with 3 positives and 4 negatives, one tie:

# %%
toy_scores = np.array([0.9, 0.7, 0.4, 0.8, 0.4, 0.3, 0.1])
toy_labels = np.array([1, 1, 1, 0, 0, 0, 0])
toy_pairs = pd.DataFrame([(p, n, toy_scores[p], toy_scores[n]) for p in np.flatnonzero(toy_labels == 1)
                          for n in np.flatnonzero(toy_labels == 0)],
                         columns=["positive", "negative", "positive score", "negative score"])
toy_pairs["credit"] = np.where(toy_pairs["positive score"] > toy_pairs["negative score"], 1.0,
                               np.where(toy_pairs["positive score"] == toy_pairs["negative score"], 0.5, 0.0))
display(toy_pairs.T)
print(f"{toy_pairs['credit'].sum():.1f} credits over {len(toy_pairs)} pairs = {toy_pairs['credit'].mean():.4f}; "
      f"sklearn roc_auc_score: {roc_auc_score(toy_labels, toy_scores):.4f}")

# %% [markdown]
# ## 2. The corpus and the trained models
#
# `run_benchmark` trains and evaluates every configuration once per seed and caches them; here it only loads
# them (it resumes, training only what is missing). `load_run` gives one run's stored test-set arrays: its
# track embeddings and the tag scores the benchmark computed (the head's logits, or prototype cosines for
# triplet models). The first lines say how many seeds and test tracks the numbers rest on, and how the runs
# stopped (a run that did not stop by its learning-rate schedule feeds no finding).

# %%
corpus = mdrbench.synth.ensure_corpus(SIZE, progress=False)
features = mdrbench.features.compute_features(corpus, mdrbench.features.FRONTENDS[size.frontend], progress=False)
results_folder = mdrbench.paths.results_dir(SIZE)
results = mdrbench.bench.run_benchmark(size=SIZE, out_dir=results_folder, verbose=0, progress=False)
models = results[results["kind"] == "model"]
seeds = sorted(models["seed"].unique())

train_tracks, test_tracks = corpus.split_indices("train"), corpus.split_indices("test")
tag_names = list(corpus.vocabulary.tags)
tag_categories = np.asarray(corpus.vocabulary.categories)
test_labels = corpus.tags[test_tracks].astype(bool)  # (n_test, n_tags), the observed (noisy) tags

head_run = mdrbench.bench.load_run(results_folder, HEAD_CONFIG)
triplet_run = mdrbench.bench.load_run(results_folder, TRIPLET_CONFIG)
for run in (head_run, triplet_run):  # the stored arrays follow the corpus's test split, row for row
    assert (run.test_track_ids == corpus.track_ids[test_tracks]).all()
print(corpus)
print(f"{len(seeds)} seeds per configuration, {len(test_tracks)} test tracks, {len(tag_names)} tags; runs by how "
      f"they stopped: {models.drop_duplicates(['config', 'seed'])['stopped_by'].value_counts().to_dict()}")
print(f"{HEAD_CONFIG} tag scores: {head_run.result['auc']['scores']}; "
      f"{TRIPLET_CONFIG} tag scores: {triplet_run.result['auc']['scores']}")
if SIZE == "ci":
    print(f"ci: {len(seeds)} seeds on a tiny corpus. The numbers are noisy; a comparison left 'undetermined' below "
          "needs MDRBENCH_SIZE=default (more tracks, 3 seeds).")

# %% [markdown]
# ## 3. One tag, by hand
#
# Take the tag scores (logits) of the proxy model for one tag, split the test tracks into positives and negatives by
# their observed tags, and count the winning pairs. The same number must come out of scikit-learn's
# `roc_auc_score` and out of `mdrbench.metrics.tag_auc`, which the benchmark uses.

# %%
tag_index = corpus.vocabulary.index(DEMO_TAG)
demo_scores = head_run.test_tag_scores[:, tag_index]
demo_labels = test_labels[:, tag_index]
positive_scores, negative_scores = demo_scores[demo_labels], demo_scores[~demo_labels]
wins = int((positive_scores[:, None] > negative_scores[None, :]).sum())
ties = int((positive_scores[:, None] == negative_scores[None, :]).sum())
n_pairs = len(positive_scores) * len(negative_scores)
auc_by_hand = (wins + 0.5 * ties) / n_pairs
auc_sklearn = roc_auc_score(demo_labels, demo_scores)
head_auc = metrics.tag_auc(head_run.test_tag_scores, test_labels, categories=tag_categories, tag_names=tag_names)
auc_library = head_auc["per_tag"].loc[DEMO_TAG, "roc_auc"]
print(f"tag {DEMO_TAG!r}: {len(positive_scores)} positives x {len(negative_scores)} negatives = {n_pairs} pairs, "
      f"{wins} won, {ties} tied")
print(f"ROC-AUC by hand {auc_by_hand:.6f} | sklearn {auc_sklearn:.6f} | mdrbench.metrics.tag_auc {auc_library:.6f}")
assert np.isclose(auc_by_hand, auc_sklearn) and np.isclose(auc_by_hand, auc_library)

# %% [markdown]
# The two pictures of the same number: on the left every test track's score, positives and negatives apart
# (the AUC is the chance that a random red point lies above a random grey one); on the right the ROC curve,
# whose area is the AUC.

# %%
false_positive_rate, true_positive_rate, _ = roc_curve(demo_labels, demo_scores)
auc_figure = go.Figure()
for name, values, color in (("negatives", negative_scores, "#999999"), ("positives", positive_scores, "#d62728")):
    auc_figure.add_trace(go.Box(y=values, name=name, boxpoints="all", jitter=0.4, pointpos=0, marker_color=color,
                                xaxis="x", yaxis="y"))
auc_figure.add_trace(go.Scatter(x=false_positive_rate, y=true_positive_rate, mode="lines", fill="tozeroy",
                                name=f"ROC (area {auc_sklearn:.3f})", line={"shape": "hv", "color": "#1f77b4"},
                                xaxis="x2", yaxis="y2"))
auc_figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash",
                                "color": "#888"}, xaxis="x2", yaxis="y2"))
auc_figure.update_layout(
    title=f"{HEAD_CONFIG}: tag {DEMO_TAG!r} on the test split", template="plotly_white", height=380,
    xaxis={"domain": [0, 0.4]}, yaxis={"title": "tag score"},
    xaxis2={"domain": [0.55, 1], "title": "false-positive rate"},
    yaxis2={"anchor": "x2", "title": "true-positive rate", "range": [0, 1.02]})
auc_figure.show()

# %% [markdown]
# ## 4. Macro averages: ROC-AUC and PR-AUC over tags
#
# The paper reports the *macro* ROC-AUC: one AUC per tag, then the plain mean over tags, so a rare era tag
# weighs as much as a frequent genre tag. A tag without a positive (or without a negative) in the test split
# has no AUC and is left out (`skipped_tags`).
#
# ROC-AUC treats every pair equally, including the many easy negatives at the bottom of the ranking. PR-AUC
# (average precision: the precision at each positive's rank, averaged over the positives) weighs the top of
# the ranking instead, which is what someone browsing by tag sees. Its chance level is not 0.5 but the tag's
# frequency, so we print that baseline beside it.

# %%
per_tag = head_auc["per_tag"].copy()
per_tag["frequency"] = per_tag["n_positives"] / (per_tag["n_positives"] + per_tag["n_negatives"])
display(per_tag.sort_values("roc_auc", ascending=False))
evaluated = per_tag.dropna(subset=["roc_auc"])
print(f"macro ROC-AUC {evaluated['roc_auc'].mean():.4f} (benchmark result: {head_run.result['auc']['roc_auc']:.4f}), "
      f"macro PR-AUC {evaluated['pr_auc'].mean():.4f} (chance level: mean tag frequency "
      f"{evaluated['frequency'].mean():.4f}); skipped tags: {head_auc['skipped_tags'] or 'none'}")
assert np.isclose(evaluated["roc_auc"].mean(), head_run.result["auc"]["roc_auc"])
print(f"average precision of {DEMO_TAG!r} by sklearn: {average_precision_score(demo_labels, demo_scores):.4f}")

# %% [markdown]
# ## 5. Two ways to score a tag: the head, or a prototype
#
# Proxy and classification models learn one vector per tag and output `sigmoid(w_z · f(x))`: their **head**
# scores every tag directly (the benchmark ranks the logit `w_z · f(x)`). Triplet models learn only an
# embedding, so the paper scores tag z by the cosine similarity between a track's embedding and the tag's
# **prototype**, the mean (normalized) embedding of the training tracks that carry z (`metrics.tag_prototypes`,
# `metrics.prototype_scores`). For a disentangled model the prototype can also be compared inside the tag's own
# 64-d sub-space only, where the model learned that tag: the benchmark scores disentangled triplet models that
# way.
#
# A proxy model can be scored both ways, which tells us whether the head or the geometry of the embedding does
# the work. We need the training tracks' embeddings for the prototypes (a few seconds per run at the ci size),
# and we do it for every seed, so that each comparison below has one difference per seed.

# %%
embedding_dim = head_run.test_embeddings.shape[1]
slices = subspace_slices(embedding_dim)
STORED_READING = {"head logits": "head (logits)", "prototype": "prototype, complete space",
                  "prototype in the tag's sub-space": "prototype, tag's sub-space"}
scoring_rows = []
for config in (HEAD_CONFIG, TRIPLET_CONFIG):
    for seed in seeds:
        run = mdrbench.bench.load_run(results_folder, config, seed)
        train_embeddings = mdrbench.models.embed_tracks(run.model, features, train_tracks)
        prototypes = metrics.tag_prototypes(train_embeddings, corpus.tags[train_tracks])
        readings = {
            "prototype, complete space": metrics.prototype_scores(run.test_embeddings, prototypes),
            "prototype, tag's sub-space": metrics.prototype_scores(run.test_embeddings, prototypes,
                                                                   tag_categories=tag_categories,
                                                                   subspace_slices=slices),
        }
        stored = STORED_READING[run.result["auc"]["scores"]]
        if stored == "head (logits)":
            readings = {stored: run.test_tag_scores, **readings}
        else:  # the benchmark's stored scores are one of the prototype readings: check we rebuilt them
            assert np.allclose(readings[stored], run.test_tag_scores, atol=1e-4)
        for reading, scores in readings.items():
            auc = metrics.tag_auc(scores, test_labels, categories=tag_categories)
            scoring_rows.append({"config": config, "seed": seed, "tag scores": reading,
                                 "benchmark's reading": reading == stored, "ROC-AUC": auc["roc_auc"],
                                 "PR-AUC": auc["pr_auc"], **auc["per_category"]["roc_auc"].to_dict()})
scoring_seeds = pd.DataFrame(scoring_rows)
scoring = scoring_seeds.groupby(["config", "tag scores"], sort=False).agg(
    {"benchmark's reading": "first", **{c: "mean" for c in ["ROC-AUC", "PR-AUC", *CATEGORIES]}})
print(f"mean over {len(seeds)} seeds")
display(scoring)

# %% [markdown]
# Read the table row by row: if the proxy model's prototype scores come close to its head scores, the
# proxies sit near the mean embedding of their tags and the embedding itself carries the tag information. The
# two comparisons, seed by seed, through `mdrbench.report.compare` (the one rule of every comparison here:
# *holds* when the 95% interval of the per-seed differences lies above 0, *does not hold* below, *undetermined*
# otherwise):

# %%
by_seed = scoring_seeds.pivot_table(index="seed", columns=["config", "tag scores"], values="ROC-AUC")


def reading_comparison(config, first, second):
    converged = bool(models.loc[models["config"] == config, "converged"].all())
    comparison = mdrbench.report.compare(by_seed[(config, first)] - by_seed[(config, second)], converged=converged)
    print(f"{config}: '{first}' scores tags better than '{second}': {comparison.verdict} ({comparison.describe(3)})")


reading_comparison(HEAD_CONFIG, "head (logits)", "prototype, complete space")
reading_comparison(TRIPLET_CONFIG, "prototype, tag's sub-space", "prototype, complete space")

# %% [markdown]
# ## 6. All eight configurations, per category, beside the paper
#
# The benchmark stored each run's macro ROC-AUC per category. The paper reports only one AUC per configuration,
# measured on 28,435 MSD test tracks after full training; its finding is that proxy and normalized
# classification models tag better (0.887-0.890) than triplet models (0.813-0.825). Ours come from the test
# split of the chosen size. First the overall AUC as `mdrbench.report.table1` summarizes it: the mean over
# seeds, `±` the half-width of a 95% Student-t interval over seeds, the paper's value in brackets, the seeds and
# how many converged, and the two baselines: **random** embeddings scored against prototypes (chance), and
# **mel-statistics**, one logistic regression per tag on each track's per-band log-mel mean and standard
# deviation (a hand-made tagger that learns nothing about music beyond the spectrum's average shape).

# %%
table = mdrbench.report.table1(results)
print(mdrbench.report.INTERVAL_NAME)
display(mdrbench.report.compact(table[["AUC", "AUC ±", "AUC paper", "mean_cosine", "mean_cosine ±", "seeds",
                                       "converged"]], mdrbench.report.TABLE1_DIGITS))
views.interval_figure(table, "AUC", title=f"tag ROC-AUC over seeds ({SIZE}), 95% interval; the paper as diamonds",
                      axis_title="macro ROC-AUC").show()

# %% [markdown]
# Per category, mean over seeds (the baselines' per-category AUC comes from their own result files):

# %%
category_rows = []
for config, seed, kind in zip(results["config"], results["seed"], results["kind"], strict=True):
    folder = (mdrbench.bench.run_folder(results_folder, mdrbench.configs.trained_as(config), seed) if kind == "model"
              else mdrbench.bench.baseline_folder(results_folder, config, seed))
    auc_result = mdrbench.results.read_result(folder)["auc"]
    category_rows.append({"config": config, "seed": seed, **auc_result["per_category"]["roc_auc"],
                          "ROC-AUC": auc_result["roc_auc"], "PR-AUC": auc_result["pr_auc"],
                          "scores": auc_result["scores"]})
by_category = pd.DataFrame(category_rows).groupby("config", sort=False).agg(
    {**{c: "mean" for c in [*CATEGORIES, "ROC-AUC", "PR-AUC"]}, "scores": "first"})
by_category["paper ROC-AUC"] = table["AUC paper"].reindex(by_category.index)
display(by_category)

# %% [markdown]
# Two rows coincide on purpose: in the paper's formulation, proxy-norm-full and classification-norm-full are the
# same function (a sigmoid of the dot product between the L2-normalized embedding and one learned vector per
# tag, no bias), so the benchmark trains it once and reports it under both names
# (`mdrbench.configs.SAME_FUNCTION`); they are one piece of evidence, not two. The paper's values differ
# slightly (0.890 and 0.887), presumably through initialization or training noise.

# %%
category_figure = go.Figure()
for category in CATEGORIES:
    category_figure.add_trace(go.Bar(x=by_category.index, y=by_category[category], name=category,
                                     marker_color=views.CATEGORY_COLORS[category]))
category_figure.add_trace(go.Scatter(x=by_category.index, y=by_category["ROC-AUC"], mode="markers",
                                     name="ours, all tags", marker={"symbol": "diamond", "size": 11, "color": "black"}))
category_figure.add_trace(go.Scatter(x=by_category.index, y=by_category["paper ROC-AUC"], mode="markers",
                                     name="paper, all tags", marker={"symbol": "star", "size": 13, "color": "#ff7f0e"}))
category_figure.add_hline(y=0.5, line_dash="dash", line_color="#888", annotation_text="0.5")
category_figure.update_layout(title="macro ROC-AUC per tag category", barmode="group", template="plotly_white",
                              yaxis={"title": "ROC-AUC", "range": [0, 1.02]}, legend_title_text="")
category_figure.show()

# %% [markdown]
# The paper's finding, as `mdrbench.report.findings` checks it on these runs (per seed: the worst of the proxy
# and normalized classification models minus the best triplet model; the verdict from the interval of those
# differences), and each configuration against the mel-statistics baseline with the same rule:

# %%
for finding in mdrbench.report.findings(results):
    if finding["evidence"].startswith("AUC"):
        print(f"[{finding['verdict']}] {finding['claim']}.\n    {finding['evidence']} (paper: {finding['paper']})")
baseline_auc = results.loc[results["config"] == "mel-statistics", "AUC"].mean()  # deterministic: one value
print(f"each configuration's ROC-AUC minus mel-statistics' ({baseline_auc:.3f}), seed by seed:")
for config, group in models.groupby("config", sort=False):
    comparison = mdrbench.report.compare(group["AUC"] - baseline_auc, converged=bool(group["converged"].all()))
    print(f"  {config:25s} beats mel-statistics: {comparison.verdict:13s} ({comparison.describe(3)})")

# %% [markdown]
# ## 7. Noisy tags cap the AUC we can measure
#
# Last.fm tags are *weak labels*: a missing tag means "nobody bothered", not "no". The synthetic corpus imitates
# this (each true tag is kept with probability 0.4-0.9, synonyms appear at random, 1% false positives). A test
# track that truly has a piano but was not tagged "piano" counts as a *negative*; a model that rightly scores it
# high is *penalized*. So even a perfect model gets an observed AUC below 1.
#
# The synthetic corpus also stores the clean factors, from which we build the clean tag matrix (a synonym is
# true when its canonical tag is) and measure two things:
#
# * the **ceiling**: an oracle that scores each tag with the clean truth (1 or 0), evaluated against the
#   noisy tags;
# * every model's AUC against the **clean** tags instead of the noisy ones.

# %%
if corpus.factors is None:
    print("this corpus has no clean factors (a real corpus): the comparison below needs a synthetic corpus")
else:
    canonical = [mdrbench.synth.SYNONYMS.get(tag, tag) for tag in tag_names]
    clean_labels = np.stack([corpus.factors[category].to_numpy() == value
                             for value, category in zip(canonical, tag_categories, strict=True)], axis=1)
    clean_test = clean_labels[test_tracks]
    missing = (clean_test & ~test_labels).sum() / clean_test.sum()
    spurious = (~clean_test & test_labels).sum() / test_labels.sum()
    oracle = metrics.tag_auc(clean_test.astype(float), test_labels, categories=tag_categories)
    print(f"test split: {missing:.0%} of the true (track, tag) pairs are missing from the observed tags, "
          f"{spurious:.0%} of the observed ones are false")
    print(f"an oracle that knows the clean truth scores ROC-AUC {oracle['roc_auc']:.3f} against the noisy tags "
          f"(1.000 against the clean ones): the noise alone caps the observed AUC there")

    noise_rows = []
    trained = models[models["same_as"].isna()]  # each trained run once
    for config, seed in zip(trained["config"], trained["seed"], strict=True):
        run = mdrbench.bench.load_run(results_folder, config, seed)
        noise_rows.append({"config": config, "seed": seed,
                           "AUC vs noisy tags": metrics.tag_auc(run.test_tag_scores, test_labels)["roc_auc"],
                           "AUC vs clean tags": metrics.tag_auc(run.test_tag_scores, clean_test)["roc_auc"]})
    noise_seeds = pd.DataFrame(noise_rows)
    noise_seeds["clean - noisy"] = noise_seeds["AUC vs clean tags"] - noise_seeds["AUC vs noisy tags"]
    noise_table = noise_seeds.groupby("config", sort=False)[["AUC vs noisy tags", "AUC vs clean tags",
                                                             "clean - noisy"]].mean()
    display(noise_table.round(3))
    # one difference per seed (mean over the trained configurations), through the one comparison rule
    comparison = mdrbench.report.compare(noise_seeds.groupby("seed")["clean - noisy"].mean(),
                                         converged=bool(trained["converged"].all()))
    print(f"the models score higher against the clean tags than against the noisy ones: {comparison.verdict} "
          f"({comparison.describe(3)})")

# %% [markdown]
# If the models score higher against the clean tags, part of what looked like tagging errors were the
# labels' errors: the model recovered missing tags. That is also why the paper's AUCs (0.81-0.89 on MSD, whose
# Last.fm tags are weak labels too) should not be read as "the models order 11-19% of the pairs wrongly".

# %% [markdown]
# ## 8. Tag-based retrieval: the top tracks for a tag
#
# An auto-tagger is also a search engine: sort the tracks by one tag's score and you get "music that sounds like
# male vocals". Here are the top test tracks for the demo tag from the configuration with the best macro ROC-AUC,
# with their observed tags and their true instrument, and the first few to listen to.

# %%
best_config = table.loc[table.index.isin(models["config"]), "AUC"].idxmax()
best_run = mdrbench.bench.load_run(results_folder, best_config)
ranking = np.argsort(-best_run.test_tag_scores[:, tag_index], kind="stable")[:TOP_TRACKS]
demo_category = corpus.vocabulary.category_of(DEMO_TAG)
top_tracks = pd.DataFrame({
    "rank": np.arange(1, len(ranking) + 1),
    "track_id": corpus.track_ids[test_tracks[ranking]],
    "score": best_run.test_tag_scores[ranking, tag_index],
    f"tagged {DEMO_TAG!r}": test_labels[ranking, tag_index],
    "observed tags": [", ".join(corpus.tags_of(i)) for i in test_tracks[ranking]],
})
if corpus.factors is not None:
    top_tracks[f"true {demo_category}"] = corpus.factors[demo_category].to_numpy()[test_tracks[ranking]]
print(f"top {TOP_TRACKS} test tracks for {DEMO_TAG!r} by {best_config} "
      f"(scores from its {best_run.result['auc']['scores']})")
display(top_tracks)
precision_noisy = top_tracks[f"tagged {DEMO_TAG!r}"].mean()
print(f"precision@{TOP_TRACKS}: {precision_noisy:.2f} by the observed tags"
      + (f", {np.mean(top_tracks[f'true {demo_category}'] == mdrbench.synth.SYNONYMS.get(DEMO_TAG, DEMO_TAG)):.2f} "
         f"by the clean factor" if corpus.factors is not None else ""))

# %%
listen_samples = int(LISTEN_SECONDS * corpus.sample_rate)
for rank, track in enumerate(test_tracks[ranking[:LISTEN_TRACKS]], start=1):
    print(f"#{rank} {corpus.track_ids[track]}: {', '.join(corpus.tags_of(track))}")
    display(views.audio_player(corpus.audio(track)[:listen_samples], corpus.sample_rate))

# %% [markdown]
# ## What we learned
#
# * ROC-AUC is the probability that a random positive track outscores a random negative one, ties counting
#   half: a pure ranking score. Counting pairs by hand, scikit-learn and `mdrbench.metrics.tag_auc` agree.
# * The paper's number is the macro mean over tags; PR-AUC (average precision) looks at the top of each
#   ranking and has the tag frequency, not 0.5, as its chance level.
# * Models with a tag head score tags directly; triplet models need prototypes (mean training embeddings per
#   tag). Scoring the same proxy model both ways shows how much of its tagging lives in the embedding.
# * Weak labels cap the measurable AUC: an oracle gets less than 1 against noisy tags, and models can score
#   higher against the clean truth than against the tags they were evaluated on.
# * Every comparison above is a verdict of `mdrbench.report.compare` over seeds (holds / does not hold /
#   undetermined), and the paper's tagging finding is read from `mdrbench.report.findings`. At the ci size they
#   rest on the few seeds and test tracks printed at the top: rerun with `MDRBENCH_SIZE=default` before drawing
#   conclusions about which model tags best.
#
# Next: **08 · triplet prediction**, the task where the paper finds that disentangled triplet models win.

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/07_auto_tagging_solutions.ipynb`](solutions/07_auto_tagging_solutions.ipynb) (one section per
# exercise).
#
# 1. **Reverse the scores: predict, then run.** Negate the proxy model's tag scores. Before running, predict the new
#    macro ROC-AUC exactly, and whether PR-AUC follows the same rule. *(Solution: exercise 1.)*
# 2. **Transforms of the scores: predict, then run.** Score the tags with sigmoid(0.1 x logit + 5) in float64, then
#    with sigmoid(10 x logit) in float32. Predict which of ROC-AUC and PR-AUC change in each case, and why the
#    benchmark ranks logits rather than probabilities (section 1). *(Solution: exercise 2.)*
# 3. **Prototypes from a few tracks: predict, then run.** Rebuild `triplet-norm-dis`'s stored tag scores from its
#    prototypes (section 5), then build each prototype from only 3 random training carriers of its tag. Predict the
#    effect on the macro ROC-AUC before running, and measure it over a few draws. *(Solution: exercise 3.)*
# 4. **Open-ended: which tags are hard?** Per tag, put the proxy model's AUC against the observed tags beside its AUC
#    against the clean tags (section 7), the tag's documented keep rate and its number of test positives. What makes
#    a tag hard to tag, and what makes it hard to *evaluate*? *(Solution: exercise 4, a worked sketch.)*
