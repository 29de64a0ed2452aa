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
# # 07 · Auto-tagging: ROC-AUC over tags, from a head or a prototype
#
# Tag-based retrieval (auto-tagging), one of the paper's retrieval modes, asks a representation to *tag* music:
# given a track, how likely is each tag? The paper's tag ROC-AUC evaluation measures it by the area under the ROC
# curve, averaged over tags (triplet prediction, the paper's third evaluation, is notebook 08's). We compute it by
# hand for one tag, average it over tags (with PR-AUC beside it), compare the two ways the paper gets tag scores (a
# model's **tag head**, or the similarity to a tag **prototype** for triplet models, which have no head), set the
# eight configurations beside the paper, measure how much **noisy tags** cap the AUC, and finally search by tag and
# listen. Words with a precise meaning here (complete space, sub-space, prototype, tag ROC-AUC, the sizes `ci`,
# `default`, `full`) are in the [glossary](../docs/glossary.md).
#
# **Objectives:**
#
# - Compute a tag's ROC-AUC by counting (positive, negative) pairs, and check it against scikit-learn.
# - Explain macro ROC-AUC and PR-AUC over tags, and why the benchmark ranks logits rather than probabilities.
# - Compare scoring tags with a model's head and with prototypes, the only way for a triplet model.
# - Estimate with the clean tags the ceiling that noisy tags put on the measured AUC, and retrieve tracks by tag.
#
# **Prerequisites:** [01 · Data](01_data.ipynb), [03 · Proxy losses](03_proxy_losses.ipynb),
# [06 · Similarity retrieval](06_similarity_retrieval.ipynb); background: ROC curves and their area, precision-recall,
# logits and the sigmoid.
#
# **Time:** ci about 35 s · default about 1.5 min · full: GPU sizes, not measured here — once the corpus and its
# log-mels are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all
# notebooks). At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs,
# where you have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at
# default).

# %% [markdown]
# ## Setup
#
# `open_workspace` opens the size named by `MDRBENCH_SIZE` (unset: `default`, whose runs ship with mdrbench as reference
# results, else `ci`, a tiny corpus of seconds), its corpus, features and the benchmark's stored runs (shared by every
# notebook), and prints what the numbers rest on.

# %%
import numpy as np
import pandas as pd
import plotly.express as px
from IPython.display import display
from sklearn.metrics import roc_auc_score

import mdrbench.bench
import mdrbench.configs
import mdrbench.metrics as metrics
import mdrbench.models
import mdrbench.report as report
import mdrbench.results
import mdrbench.views as views
from mdrbench.corpus import CATEGORIES
from mdrbench.workspace import open_workspace

HEAD_CONFIG = "proxy-norm-dis"  # a model with a tag head (one proxy per tag)
TRIPLET_CONFIG = "triplet-norm-dis"  # a model without one: tags are scored against prototypes
DEMO_TAG = "male vocalists"  # the tag we take apart by hand and retrieve with
TOP_TRACKS = 5  # tracks shown (and played) in the tag-based retrieval demo
LISTEN_SECONDS = 5.0

workspace = open_workspace()
corpus, results, seeds = workspace.corpus, workspace.results, workspace.seeds
models = results[results["kind"] == "model"]
tag_names, tag_categories, test_labels = workspace.tag_names, workspace.tag_categories, workspace.test_labels
head_run = workspace.run(HEAD_CONFIG)

# %% [markdown]
# ## 1. ROC-AUC is a ranking score, by hand for one tag
#
# A tagger outputs a score per (track, tag). For one tag, a perfect tagger ranks every track that carries it (a
# *positive*) above every track that does not (a *negative*). ROC-AUC counts how close we get, over all P × N
# (positive, negative) pairs:
#
# $$\text{AUC} = \frac{\#\{(p, n): s_p > s_n\} + \tfrac12\,\#\{(p, n): s_p = s_n\}}{P \cdot N},$$
#
# the probability that a random positive outscores a random negative (ties count half): 0.5 for random scores, 1
# for a perfect ranking. Only the *order* matters, so a logit, a probability and a cosine are equally good scores,
# and no threshold is ever chosen. (The benchmark ranks a head's **logits**: in float32 sigmoid(17) is exactly 1.0,
# so the most confident tracks would tie.) Counting pairs for the demo tag must give the same number as
# scikit-learn and `metrics.tag_auc`, which the benchmark uses.

# %%
tag_index = corpus.vocabulary.index(DEMO_TAG)
demo_scores, demo_labels = head_run.test_tag_scores[:, tag_index], test_labels[:, tag_index]
positive_scores, negative_scores = demo_scores[demo_labels], demo_scores[~demo_labels]
wins = int((positive_scores[:, None] > negative_scores[None, :]).sum())
ties = int((positive_scores[:, None] == negative_scores[None, :]).sum())
n_pairs = len(positive_scores) * len(negative_scores)
auc_by_hand = (wins + 0.5 * ties) / n_pairs
head_auc = metrics.tag_auc(head_run.test_tag_scores, test_labels, categories=tag_categories, tag_names=tag_names)
auc_library = head_auc["per_tag"].loc[DEMO_TAG, "roc_auc"]
print(f"tag {DEMO_TAG!r}: {len(positive_scores)} positives x {len(negative_scores)} negatives = {n_pairs} pairs, "
      f"{wins} won, {ties} tied")
print(f"ROC-AUC by hand {auc_by_hand:.6f} | sklearn {roc_auc_score(demo_labels, demo_scores):.6f} | "
      f"metrics.tag_auc {auc_library:.6f}")
assert np.isclose(auc_by_hand, roc_auc_score(demo_labels, demo_scores)) and np.isclose(auc_by_hand, auc_library)
# two pictures of one number: a random red point lies above a random grey one with probability AUC (left), and the
# ROC curve's area is the AUC (right)
views.roc_figure(demo_labels, demo_scores, title=f"{HEAD_CONFIG}: tag {DEMO_TAG!r} on the test split").show()

# %% [markdown]
# ## 2. Macro averages: ROC-AUC and PR-AUC over tags
#
# The paper reports the *macro* ROC-AUC: one AUC per tag, then the plain mean, so a rare era tag weighs as much as
# a frequent genre tag (a tag without a positive or a negative in the test split has no AUC: `skipped_tags`).
# PR-AUC (average precision) weighs the top of each ranking instead, which is what someone browsing by tag sees;
# its chance level is the tag's frequency, not 0.5.

# %%
per_tag = head_auc["per_tag"].copy()
per_tag["frequency"] = per_tag["n_positives"] / (per_tag["n_positives"] + per_tag["n_negatives"])
display(per_tag.sort_values("roc_auc", ascending=False).round(3))
evaluated = per_tag.dropna(subset=["roc_auc"])
print(f"macro ROC-AUC {evaluated['roc_auc'].mean():.4f} (benchmark result: {head_run.result['auc']['roc_auc']:.4f}), "
      f"macro PR-AUC {evaluated['pr_auc'].mean():.4f} (chance: mean tag frequency {evaluated['frequency'].mean():.4f});"
      f" skipped tags: {head_auc['skipped_tags'] or 'none'}")
assert np.isclose(evaluated["roc_auc"].mean(), head_run.result["auc"]["roc_auc"])

# %% [markdown]
# ## 3. Two ways to score a tag: the head, or a prototype
#
# Proxy and classification models learn one vector per tag: their **head** scores every tag (the logit
# `w_z · f(x)`). Triplet models learn only an embedding, so the paper scores tag z by the cosine to its
# **prototype**, the mean normalized training embedding of z's tracks (`metrics.tag_prototypes`,
# `metrics.prototype_scores`), for a disentangled model inside the tag's own sub-space. Scoring a proxy model both
# ways tells whether the head or the embedding's geometry does the work (every seed: a few seconds per run at
# `ci`, to embed the training tracks).

# %%
slices = workspace.subspaces(head_run.test_embeddings.shape[1])
STORED_READING = {"head logits": "head (logits)", "prototype": "prototype, complete space",
                  "prototype in the tag's sub-space": "prototype, tag's sub-space"}
scoring_rows = []
for config in (HEAD_CONFIG, TRIPLET_CONFIG):
    converged = bool(models.loc[models["config"] == config, "converged"].all())
    for run in workspace.runs(config):
        train_embeddings = mdrbench.models.embed_tracks(run.model, workspace.features, workspace.train_tracks)
        prototypes = metrics.tag_prototypes(train_embeddings, corpus.tags[workspace.train_tracks])
        readings = {"prototype, complete space": metrics.prototype_scores(run.test_embeddings, prototypes),
                    "prototype, tag's sub-space": metrics.prototype_scores(
                        run.test_embeddings, prototypes, tag_categories=tag_categories, subspace_slices=slices)}
        stored = STORED_READING[run.result["auc"]["scores"]]
        if stored == "head (logits)":
            readings = {stored: run.test_tag_scores, **readings}
        else:  # the benchmark's stored scores are one of the prototype readings: check we rebuilt them
            assert np.allclose(readings[stored], run.test_tag_scores, atol=1e-4)
        for reading, scores in readings.items():
            auc = metrics.tag_auc(scores, test_labels, categories=tag_categories)
            scoring_rows.append({"kind": "model", "config": f"{config}: {reading}", "seed": run.result["seed"],
                                 "converged": converged, "benchmark's reading": reading == stored,
                                 "ROC-AUC": auc["roc_auc"], "PR-AUC": auc["pr_auc"],
                                 **auc["per_category"]["roc_auc"].to_dict()})
scoring = pd.DataFrame(scoring_rows)
display(scoring.groupby("config", sort=False).agg({"benchmark's reading": "first", **{
    column: "mean" for column in ["ROC-AUC", "PR-AUC", *CATEGORIES]}}).round(3))

# %% [markdown]
# If the proxy model's prototype scores come close to its head scores, its proxies sit near the mean embedding of
# their tags and the embedding itself carries the tag information. The two comparisons, seed by seed, with
# mdrbench's one rule (`report.paired`, `report.compare`: *holds* when the 95% interval of the per-seed differences
# lies above 0, *does not hold* below, *undetermined* otherwise):

# %%
for config, first, second in ((HEAD_CONFIG, "head (logits)", "prototype, complete space"),
                               (TRIPLET_CONFIG, "prototype, tag's sub-space", "prototype, complete space")):
    comparison = report.compare(*report.paired(scoring, "ROC-AUC", [f"{config}: {first}"], [f"{config}: {second}"]))
    print(f"[{comparison.verdict}] {config}: '{first}' scores tags better than '{second}': {comparison.describe(3)}")

# %% [markdown]
# ## 4. All eight configurations, per category, beside the paper
#
# The paper reports one AUC per configuration, on 28,435 MSD test tracks; its finding is that proxy and normalized
# classification models tag better (0.887-0.890) than triplet models (0.813-0.825). `report.table1` summarizes
# ours: the mean over seeds, `±` the half-width of a 95% Student-t interval, the paper's value, and two baselines:
# **random** embeddings scored against prototypes (chance), and **mel-statistics**, one logistic regression per
# tag on each track's per-band log-mel mean and standard deviation (a tagger that knows only the spectrum's
# average shape). `proxy-norm-full` and `classification-norm-full` are the same function (`same_as`), trained once:
# one piece of evidence, not two.

# %%
table = report.table1(results)
print(report.INTERVAL_NAME)
display(report.compact(table[["AUC", "AUC ±", "AUC paper", "mean_cosine", "mean_cosine ±", "seeds", "converged"]],
                       report.TABLE1_DIGITS))
views.interval_figure(table, "AUC", title=f"tag ROC-AUC over seeds ({workspace.size.name}), 95% interval; the "
                      "paper as diamonds", axis_title="macro ROC-AUC").show()

category_rows = []
for config, seed, kind in zip(results["config"], results["seed"], results["kind"], strict=True):
    folder = (mdrbench.bench.run_folder(workspace.results_folder, mdrbench.configs.trained_as(config), seed)
              if kind == "model" else mdrbench.bench.baseline_folder(workspace.results_folder, config, seed))
    auc_result = mdrbench.results.read_result(folder)["auc"]
    category_rows.append({"config": config, **auc_result["per_category"]["roc_auc"], "ROC-AUC": auc_result["roc_auc"]})
by_category = pd.DataFrame(category_rows).groupby("config", sort=False).mean()
by_category["paper ROC-AUC"] = table["AUC paper"].reindex(by_category.index)
category_figure = px.bar(by_category[list(CATEGORIES)], barmode="group", color_discrete_map=views.CATEGORY_COLORS,
                         title="macro ROC-AUC per tag category, mean over seeds (diamonds: all tags, stars: paper)",
                         labels={"value": "ROC-AUC", "variable": "category"}, template="plotly_white")
category_figure.add_scatter(x=by_category.index, y=by_category["ROC-AUC"], mode="markers", name="ours, all tags",
                            marker={"symbol": "diamond", "size": 11, "color": "black"})
category_figure.add_scatter(x=by_category.index, y=by_category["paper ROC-AUC"], mode="markers", name="paper",
                            marker={"symbol": "star", "size": 13, "color": "#ff7f0e"})
category_figure.add_hline(y=0.5, line_dash="dash", line_color="#888").show()

# %% [markdown]
# The paper's tagging finding as `report.findings` checks it (per seed, the worst proxy or normalized
# classification model minus the best triplet model). Notebook 06 shows how to hold each model against the
# mel-statistics baseline with the same rule.

# %%
for finding in report.findings(results):
    if finding["evidence"].startswith("AUC"):
        print(f"[{finding['verdict']}] {finding['claim']}.\n    {finding['evidence']} (paper: {finding['paper']})")

# %% [markdown]
# ## 5. Noisy tags cap the AUC we can measure
#
# Last.fm tags are *weak labels*: a missing tag means "nobody bothered", not "no", and the synthetic corpus
# imitates this. A track that truly has a piano but was not tagged "piano" counts as a *negative*, so a model that
# rightly scores it high is penalized. The clean tags (`workspace.clean_tags`) give the **ceiling** (an oracle
# scoring each tag with the clean truth, against the noisy tags) and every model's AUC against the clean tags.

# %%
clean_test = workspace.clean_tags[workspace.test_tracks]
missing = (clean_test & ~test_labels).sum() / clean_test.sum()
spurious = (~clean_test & test_labels).sum() / test_labels.sum()
oracle = metrics.tag_auc(clean_test.astype(float), test_labels, categories=tag_categories)
print(f"test split: {missing:.0%} of the true (track, tag) pairs are missing from the observed tags, {spurious:.0%} "
      f"of the observed ones are false; an oracle that knows the clean truth scores ROC-AUC {oracle['roc_auc']:.3f} "
      "against the noisy tags")
trained = models[models["same_as"].isna()]  # each trained run once
noise = pd.DataFrame([{"kind": "model", "config": config, "seed": seed, "converged": converged,
                       "AUC vs noisy tags": metrics.tag_auc(run.test_tag_scores, test_labels)["roc_auc"],
                       "AUC vs clean tags": metrics.tag_auc(run.test_tag_scores, clean_test)["roc_auc"]}
                      for config, seed, converged in zip(trained["config"], trained["seed"], trained["converged"],
                                                         strict=True) for run in [workspace.run(config, seed)]])
display(noise.groupby("config", sort=False)[["AUC vs noisy tags", "AUC vs clean tags"]].mean().round(3))
per_seed = noise.assign(gain=noise["AUC vs clean tags"] - noise["AUC vs noisy tags"]).groupby("seed")["gain"].mean()
comparison = report.compare(per_seed, converged=bool(trained["converged"].all()))  # one difference per seed
print(f"[{comparison.verdict}] the models (mean over the trained configurations) score higher against the clean "
      f"tags: {comparison.describe(3)}")

# %% [markdown]
# Where a model scores higher against the clean tags, part of what looked like tagging errors were the labels'
# errors: the model recovered missing tags. That is also why the paper's AUCs (MSD's Last.fm tags are weak labels
# too) should not be read as the share of pairs the models order wrongly.
#
# ## 6. Tag-based retrieval: the top tracks for a tag
#
# An auto-tagger is also a search engine: sort the tracks by one tag's score. The top test tracks for the demo tag,
# from the configuration with the best mean macro ROC-AUC, with their observed tags and their true value of the
# tag's category, then listen to them.

# %%
best_config = table.loc[table.index.isin(models["config"]), "AUC"].idxmax()
best_run = workspace.run(best_config)
ranking = np.argsort(-best_run.test_tag_scores[:, tag_index], kind="stable")[:TOP_TRACKS]
demo_category = corpus.vocabulary.category_of(DEMO_TAG)
top_tracks = pd.DataFrame({
    "track_id": corpus.track_ids[workspace.test_tracks[ranking]], "score": best_run.test_tag_scores[ranking, tag_index],
    f"tagged {DEMO_TAG!r}": test_labels[ranking, tag_index], f"clean {DEMO_TAG!r}": clean_test[ranking, tag_index],
    "observed tags": [", ".join(corpus.tags_of(i)) for i in workspace.test_tracks[ranking]],
    f"true {demo_category}": workspace.test_factors[demo_category].to_numpy()[ranking]},
    index=pd.RangeIndex(1, len(ranking) + 1, name="rank"))
print(f"top {TOP_TRACKS} test tracks for {DEMO_TAG!r} by {best_config} (scores: {best_run.result['auc']['scores']}); "
      f"precision@{TOP_TRACKS} {top_tracks[f'tagged {DEMO_TAG!r}'].mean():.2f} by the observed tags, "
      f"{top_tracks[f'clean {DEMO_TAG!r}'].mean():.2f} by the clean ones")
display(top_tracks)
display(views.audio_table([(f"#{rank} {row['track_id']}: {row['observed tags']}",
                            corpus.audio(workspace.test_tracks[ranking[rank - 1]]))
                           for rank, row in top_tracks.iterrows()], corpus.sample_rate, seconds=LISTEN_SECONDS))

# %% [markdown]
# ## What we learned
#
# ROC-AUC is a pure ranking score, averaged over tags; a head scores tags directly, a triplet model through
# prototypes; weak labels cap what we can measure. Every comparison is a verdict of `report.compare` over seeds.
# Next: **08 · triplet prediction**, similarity judged one comparison at a time, per dimension.

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
#    prototypes (section 3), then build each prototype from only 3 random training carriers of its tag. Predict the
#    effect on the macro ROC-AUC before running, and measure it over a few draws. *(Solution: exercise 3.)*
# 4. **Open-ended: which tags are hard?** Per tag, put the proxy model's AUC against the observed tags beside its AUC
#    against the clean tags (section 5), the tag's documented keep rate and its number of test positives. What makes
#    a tag hard to tag, and what makes it hard to *evaluate*? *(Solution: exercise 4, a worked sketch.)*
