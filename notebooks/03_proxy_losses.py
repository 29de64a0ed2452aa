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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/03_proxy_losses.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F03_proxy_losses.ipynb)
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
# # 03 · Proxy losses: one learned centre per tag
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# A triplet loss compares tracks with tracks. A **proxy loss** learns one vector p_z per tag, a *proxy* standing
# in for all the tracks that carry tag z, and compares each track with the proxies only. In the paper's multi-label
# form (Lee et al., ISMIR 2020) the score of tag z is σ(f(x)/‖f(x)‖ · p_z), trained with binary cross-entropy
# summed over **all** tags: every positive proxy pulls the track and every negative one pushes it. Only the
# embedding is normalized; the proxy's norm acts as a per-tag sharpness (notebook 02: this is a classifier on a
# normalized embedding). A sigmoid per tag, not the softmax of single-label proxy losses (ProxyNCA), lets several
# proxies claim a track at once (exercise 1 shows the softmax's floor). The **disentangled** proxy loss splits the
# embedding into four fixed blocks (genre, mood, instrument, era); a tag's proxy lives only in its category's block.
#
# We read the proxies of the stored `proxy-norm-full` and `proxy-norm-dis` runs (1), find the direction they all
# share (2), see them among the tracks (3), ask whether a track's nearest proxies are its tags and listen to the
# tracks nearest a proxy (4), compare proxies with each other (5), check the disentangled proxies (6), and read
# the verdicts over seeds (7).
#
# **Objectives:**
#
# - Explain a proxy as a learned tag centre: a tag's score is a sigmoid of the cosine to its proxy, scaled by its norm.
# - Split each proxy into the mean proxy (one offset per track) and a centred proxy, and explain why only the centred
#   part ranks a track's tags.
# - Measure against chance whether a track's nearest proxies are its tags, and listen to the tracks nearest a proxy.
# - Verify that a disentangled proxy is zero outside its category's block, and recompute its score by hand.
#
# **Prerequisites:** [01 · Data](01_data.ipynb),
# [02 · Metric learning vs classification](02_metric_learning_vs_classification.ipynb); background: sigmoid vs softmax,
# binary cross-entropy, PCA.
#
# **Time:** ci about 20 s · default about 20 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you
# have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at default).

# %% [markdown]
# ## Setup
#
# `open_workspace` reads the size from `MDRBENCH_SIZE` (unset: `default`, read from the reference results that ship with
# mdrbench, else `ci`; `ci`: seconds; `default`: a laptop benchmark; `full`: GPU-sized), opens its corpus, features and
# the benchmark's stored runs, and prints what they rest on. The proxies learn from the noisy, Last.fm-like tags;
# `workspace.clean_tags` holds the truth they were drawn from (a tag is true when it names the track's factor value or
# is a synonym of it).

# %%
import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()  # a no-op after the import above; it keeps that import first on purpose

import numpy as np
import pandas as pd
from IPython.display import display
from keras import ops

from mdrbench import metrics, report, views
from mdrbench.features import fixed_excerpt_starts
from mdrbench.metrics import unit_rows
from mdrbench.synth.tags import SYNONYMS
from mdrbench.workspace import open_workspace

SEED = 0
FULL, DISENTANGLED = "proxy-norm-full", "proxy-norm-dis"
N_EXAMPLE_TRACKS = 6  # test tracks listed with their nearest proxies
TOP_PROXIES = 3  # nearest proxies listed per track
SCATTER_CATEGORY = "genre"  # the category whose proxies are drawn among the tracks
LISTEN_TAGS, N_NEAREST = ["jazz", "calm", "piano", "80s"], 3  # one tag per category, tracks heard per tag

workspace = open_workspace(runs=[FULL, DISENTANGLED])
corpus, features, vocabulary = workspace.corpus, workspace.features, workspace.corpus.vocabulary
tag_names, tag_categories = np.array(workspace.tag_names), workspace.tag_categories
categories = list(mdrbench.CATEGORIES)
test_tracks, test_labels, test_factors = workspace.test_tracks, workspace.test_labels, workspace.test_factors
clean_labels = workspace.clean_tags[test_tracks]  # (n_test, n_tags) bool, the noise-free truth
print(f"observed tags per test track {test_labels.sum(axis=1).mean():.2f} of {len(tag_names)}, true tags (with "
      f"synonyms) {clean_labels.sum(axis=1).mean():.2f}, observed tags that are true "
      f"{(test_labels & clean_labels).sum() / test_labels.sum():.2f}")

# %% [markdown]
# ## 1. The proxies of the trained models
#
# The proxies are a weight of the loss layer, `model.objective.proxies`, shape (n_tags, D), stored with the
# benchmark's model. Since σ(f/‖f‖ · p_z) = σ(‖p_z‖ cos(f, p_z)), the direction of p_z is the tag's centre on the
# sphere and its norm how sharply the score rises around it.

# %%
full_run, dis_run = workspace.run(FULL, SEED), workspace.run(DISENTANGLED, SEED)
proxies = ops.convert_to_numpy(full_run.model.objective.proxies)  # (n_tags, D)
proxy_norms = pd.DataFrame({"category": tag_categories, "||p_z||": np.linalg.norm(proxies, axis=1)})
print(proxy_norms.groupby("category", sort=False)["||p_z||"].describe()[["mean", "min", "max"]].round(2))

# %% [markdown]
# ## 2. A shared offset, not a bias
#
# The loss has no bias term (a layer's bias is one constant per tag, the same for every track), and most tags are
# absent from most tracks (printed above). The quickest way to lower the BCE is to make *every* logit negative:
# turn all proxies towards one direction and all tracks away from it. We measure that shared direction with the
# mean proxy m. Write each proxy as p_z = m + q_z, the **centred proxy** q_z being the rest: then
# f̂ · p_z = f̂ · m + f̂ · q_z. The first term is the transpose of a bias: an **offset per track**, the same for all
# of a track's tags and different from track to track, which lowers a track's logits together (in the tracks x
# tags matrix of logits, a bias would add one constant to each column, this term adds one to each row). It cannot
# tell tags apart, so a track ranks the tags by f̂ · q_z alone. From here on proxies are compared through their
# centred version.

# %%
full_embeddings = full_run.test_embeddings  # (n_test, D), unit norm
shared_direction = unit_rows(proxies.mean(axis=0, keepdims=True))[0]
proxy_alignment = unit_rows(proxies) @ shared_direction
track_alignment = full_embeddings @ shared_direction
print(f"cos(proxy, mean proxy): mean {proxy_alignment.mean():.2f} (min {proxy_alignment.min():.2f}); share of the "
      f"proxies' energy along it {((proxies @ shared_direction) ** 2).sum() / (proxies ** 2).sum():.2f}")
print(f"cos(test track, mean proxy): mean {track_alignment.mean():.2f} (min {track_alignment.min():.2f}, "
      f"max {track_alignment.max():.2f})")
centred_proxies = proxies - proxies.mean(axis=0, keepdims=True)

# %% [markdown]
# ## 3. Proxies among the tracks
#
# The test tracks and the proxies of one category, normalized (the loss only sees directions) and projected
# together with PCA; tracks coloured by their clean value, proxies as black diamonds. The first figure uses the
# proxies as learned: where the shared direction dominates, tracks sit on one side and proxies on the other. The
# second removes the shared direction from both; if proxies are tag centres, each should sit towards its tracks.

# %%
def tracks_and_proxies(track_vectors, track_values, proxy_vectors, proxy_names, title):
    """One PCA of tracks and proxies together; proxies as large labelled diamonds."""
    stacked = np.vstack([unit_rows(track_vectors), unit_rows(proxy_vectors)])
    labels = np.concatenate([track_values, np.full(len(proxy_vectors), "proxy")])
    hover = [f"{corpus.track_ids[i]}: {', '.join(corpus.tags_of(i))}" for i in test_tracks] + list(proxy_names)
    figure = views.embedding_scatter(stacked, labels, hover=hover, title=title)
    figure.update_traces(selector={"name": "proxy"}, mode="markers+text", textposition="top center",
                         texttemplate="%{text}", marker={"size": 14, "symbol": "diamond", "color": "black"})
    return figure


def without_direction(vectors, direction):
    """Remove each row's component along a unit ``direction`` (here: the mean proxy's)."""
    return vectors - np.outer(vectors @ direction, direction)


in_category = tag_categories == SCATTER_CATEGORY
track_values = test_factors[SCATTER_CATEGORY].to_numpy()
tracks_and_proxies(full_embeddings, track_values, proxies[in_category], tag_names[in_category],
                   f"{FULL}: test tracks and the {SCATTER_CATEGORY} proxies, as learned (PCA)").show()
tracks_and_proxies(without_direction(full_embeddings, shared_direction), track_values,
                   without_direction(proxies[in_category], shared_direction), tag_names[in_category],
                   f"{FULL}: the same, shared direction removed (PCA)").show()

# %% [markdown]
# ## 4. Are a track's nearest proxies its tags?
#
# The cosine between each test track and each centred proxy: for a few tracks, the top proxies beside their tags
# and clean factors; over all test tracks, how many of the top proxies are observed or true tags, against chance.

# %%
track_to_proxy = metrics.prototype_scores(full_embeddings, centred_proxies)  # cos(f, q_z), (n_test, n_tags)
nearest = np.argsort(-track_to_proxy, axis=1, kind="stable")[:, :TOP_PROXIES]
with pd.option_context("display.max_colwidth", 80, "display.width", 200):
    display(pd.DataFrame([{"track": corpus.track_ids[test_tracks[row]],
                           "clean factors": ", ".join(test_factors.loc[row, categories]),
                           "observed tags": ", ".join(corpus.tags_of(test_tracks[row])),
                           f"top-{TOP_PROXIES} proxies (cosine)": ", ".join(
                               f"{tag_names[z]} ({track_to_proxy[row, z]:.2f})" for z in nearest[row])}
                          for row in range(N_EXAMPLE_TRACKS)]))
for name, labels in (("observed", test_labels), ("true", clean_labels)):
    print(f"precision of the top-{TOP_PROXIES} proxies against the {name} tags: "
          f"{np.take_along_axis(labels, nearest, axis=1).mean():.2f} (chance {labels.mean():.2f})")

# %% [markdown]
# Per category: is the highest-scoring proxy *of that category* a true tag of the track? Within a category the
# shared part is the same for every proxy, so the model's own stored tag scores (logits) rank them; the
# disentangled model computes them inside the category's block only. Chance: a random tag of the category.


# %%
def top_proxy_accuracy(scores):
    """Per category: the share of test tracks whose top-scoring tag of that category is true, and chance."""
    rows = {}
    for category in categories:
        columns = np.flatnonzero(tag_categories == category)
        top = columns[scores[:, columns].argmax(axis=1)]
        rows[category] = {"accuracy": clean_labels[np.arange(len(top)), top].mean(),
                          "chance": clean_labels[:, columns].mean()}
    return pd.DataFrame(rows).T


accuracy = {name: top_proxy_accuracy(run.test_tag_scores) for name, run in ((FULL, full_run),
                                                                              (DISENTANGLED, dis_run))}
print(pd.concat({name: table["accuracy"] for name, table in accuracy.items()}
                | {"chance": accuracy[FULL]["chance"]}, axis=1).round(2))

# %% [markdown]
# **Listen: the tracks nearest a proxy.** For one tag per category, the test tracks nearest its learned proxy p_z
# (for one tag, the order of the model's own score). If a proxy is a centre for its tag, its nearest tracks should
# all sound like the tag, however much else differs. Each label gives the clean factors and whether the observed
# tags include the tag; how many of them truly have it is printed below.

# %%
listen_columns = [vocabulary.index(tag) for tag in LISTEN_TAGS]
nearest_tracks = metrics.nearest_neighbors(full_embeddings, k=N_NEAREST, queries=proxies[listen_columns])
for tag, z, rows in zip(LISTEN_TAGS, listen_columns, nearest_tracks, strict=True):
    display(views.audio_table(
        [(f"{rank}: {corpus.track_ids[test_tracks[row]]} [{', '.join(test_factors.loc[row, categories])}], "
          f"tagged '{tag}': {'yes' if test_labels[row, z] else 'no'}", corpus.audio(test_tracks[row]))
         for rank, row in enumerate(rows, start=1)],
        corpus.sample_rate, title=f"{FULL}: the {N_NEAREST} test tracks nearest the proxy of '{tag}'"))
print(f"of the {N_NEAREST} tracks nearest each proxy, truly the tag's value: " + ", ".join(
    f"{tag} {clean_labels[rows, z].sum()}" for tag, z, rows in zip(LISTEN_TAGS, listen_columns, nearest_tracks,
                                                                   strict=True)))

# %% [markdown]
# ## 5. Proxies compared with each other
#
# The cosine between every pair of centred proxies, tags grouped by category (black lines). Tags that describe
# the same tracks should have similar proxies: above all the synonyms, which the generator attaches to the same
# tracks as their canonical tag. The table ranks each synonym among its canonical tag's category.

# %%
views.cosine_heatmaps({f"{FULL}: centred proxies": centred_proxies}, labels=tag_names, groups=tag_categories,
                      title="cosine between centred proxies, grouped by category", height=650).show()
proxy_cosine = metrics.cosine_matrix(centred_proxies)
off_diagonal = ~np.eye(len(tag_names), dtype=bool)
print(f"mean cosine between distinct proxies: raw {metrics.cosine_matrix(proxies)[off_diagonal].mean():.2f}, "
      f"centred {proxy_cosine[off_diagonal].mean():.2f}")
synonym_rows = []
for synonym, tag in SYNONYMS.items():
    z, s = vocabulary.index(tag), vocabulary.index(synonym)
    others = np.flatnonzero((tag_categories == tag_categories[z]) & (np.arange(len(tag_names)) != z))
    ranking = others[np.argsort(-proxy_cosine[z, others], kind="stable")]
    synonym_rows.append({"tag": tag, "synonym": synonym, "cosine": proxy_cosine[z, s],
                         "rank in category": int(np.flatnonzero(ranking == s)[0]) + 1, "of": len(others)})
synonyms = pd.DataFrame(synonym_rows)
print(synonyms.round(2).to_string(index=False))

# %% [markdown]
# ## 6. The disentangled proxy lives in its category's block
#
# `ProxyLoss(disentangled=True)` keeps a full (n_tags, D) weight but multiplies it by the mask of each tag's
# category before use, so the **effective proxy** p_z∘m_s is zero outside its block. Two checks: the effective
# proxies are exactly zero outside their block (so proxies of different categories are orthogonal), and the
# layer's score equals σ((f∘m_s)/‖f∘m_s‖ · (p_z∘m_s)) computed by hand on a few test excerpts.

# %%
dis_model = dis_run.model
dis_proxies = ops.convert_to_numpy(dis_model.objective.proxies)  # (n_tags, D), as stored
tag_masks = dis_model.objective.tag_masks()  # (n_tags, D) 0/1: each row is its tag's category block
effective, outside = dis_proxies * tag_masks, (1 - tag_masks).astype(bool)
across = tag_categories[:, None] != tag_categories[None, :]
assert np.abs(effective[outside]).max() == 0.0
print(f"max |cosine| between proxies of different categories: {DISENTANGLED} "
      f"{np.abs(metrics.cosine_matrix(effective)[across]).max():.1e}, {FULL} {np.abs(proxy_cosine[across]).max():.2f}")

few = test_tracks[:4]
n_frames = features.settings.excerpt_frames
mel = features.batch(few, fixed_excerpt_starts(features.lengths[few], n_frames).reshape(-1))
raw_f = ops.convert_to_numpy(dis_model.backbone(ops.convert_to_tensor(mel), training=False))  # (4, D)
by_hand = np.stack([1 / (1 + np.exp(-(unit_rows(raw_f * mask) @ (dis_proxies[z] * mask))))
                    for z, mask in enumerate(tag_masks)], axis=1)
by_layer = dis_model.tag_scores(mel)
print(f"largest difference, hand vs ProxyLoss(disentangled=True): {np.abs(by_hand - by_layer).max():.1e}")
assert np.allclose(by_hand, by_layer, atol=1e-4)

# %% [markdown]
# Inside the genre block, the disentangled model's tracks and its genre proxies, projected together (the block's
# own shared direction, the mean of its proxies, removed as before):

# %%
block = workspace.subspaces(dis_run.test_embeddings.shape[1])[SCATTER_CATEGORY]
block_tracks, block_proxies = dis_run.test_embeddings[:, block], effective[in_category][:, block]
block_direction = unit_rows(block_proxies.mean(axis=0, keepdims=True))[0]
tracks_and_proxies(without_direction(block_tracks, block_direction), track_values,
                   without_direction(block_proxies, block_direction), tag_names[in_category],
                   f"{DISENTANGLED}: the {SCATTER_CATEGORY} block, tracks and proxies (PCA)").show()

# %% [markdown]
# ## 7. Reading the results
#
# Sections 4 and 5 measured one seed. Checked on every seed of the benchmark with mdrbench's one comparison rule
# (`mdrbench.report.compare`): one difference per seed, *holds* when its 95% interval lies above 0, *does not
# hold* below, *undetermined* when it contains 0, with a single seed, or when a run did not converge.

# %%
def seed_measures(seed):
    """One seed: top-k proxy precision minus chance, and each model's top-proxy accuracy minus chance."""
    run = workspace.run(FULL, seed)
    seed_proxies = ops.convert_to_numpy(run.model.objective.proxies)
    centred = seed_proxies - seed_proxies.mean(axis=0, keepdims=True)
    top = np.argsort(-metrics.prototype_scores(run.test_embeddings, centred), axis=1, kind="stable")[:, :TOP_PROXIES]
    measures = {"top-k precision - chance": np.take_along_axis(test_labels, top, axis=1).mean() - test_labels.mean()}
    for name in (FULL, DISENTANGLED):
        table = top_proxy_accuracy(workspace.run(name, seed).test_tag_scores)
        measures[f"{name}: top proxy is a true tag - chance"] = float((table["accuracy"] - table["chance"]).mean())
    return measures


per_seed = pd.DataFrame({seed: seed_measures(seed) for seed in workspace.seeds}).T
converged = bool(workspace.results.loc[workspace.results["config"].isin([FULL, DISENTANGLED]), "converged"].all())
for measure in per_seed.columns:
    comparison = report.compare(per_seed[measure], converged=converged)
    print(f"[{comparison.verdict}] {measure} > 0: {comparison.describe(3)}")
print(f"seed {SEED}: synonyms ranked first among their category's proxies: "
      f"{(synonyms['rank in category'] == 1).sum()} of {len(synonyms)}")

# %% [markdown]
# ## What we learned
#
# * A proxy is a learned tag centre: a track's score for a tag is a sigmoid of its cosine to the tag's proxy,
#   scaled by the proxy's norm. Without a bias term the proxies share a direction, the mean proxy, which adds one
#   offset per track to all of its logits (section 2 prints how much of their energy it holds); what tells tags
#   apart is the centred proxy.
# * Whether a track's nearest proxies are its tags, and whether synonyms' proxies point the same way, is measured
#   against chance, with a verdict over seeds (section 7) rather than read off one seed.
# * The disentangled proxy is the same loss with each proxy masked to its category's block: the effective proxies
#   are exactly zero elsewhere, and each category is scored inside its own block.
#
# Next: `04_models_and_training` looks at the models and their training; `05_disentanglement` asks whether the
# blocks really hold one factor each.
# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/03_proxy_losses_solutions.ipynb`](solutions/03_proxy_losses_solutions.ipynb) (one section per
# exercise).
#
# 1. **The softmax floor for k tags.** Give a track with k = 1, ..., 5 true tags logits of +s on its tags and −s
#    elsewhere, at a large sharpness s. Predict the floor of a softmax cross-entropy over the proxies (target spread
#    evenly over the k tags) and of the BCE before running, then check with `losses.multilabel_bce_from_logits`.
#    *(Solution: exercise 1.)*
# 2. **How many nearest proxies? Predict, then run.** Section 4 uses `TOP_PROXIES = 3`. Before running, predict how
#    the precision of a track's top-k centred proxies (against its observed tags) changes for k = 1, 2, 3, 5, 8, and
#    what it must be when k is the whole vocabulary. *(Solution: exercise 2.)*
# 3. **Centred or not.** Show that a track ranks the tags identically by f̂ · p_z (its logits) and by f̂ · q_z (the
#    centred proxies), and explain why ranking by the *cosine* to q_z, as section 4 does, can differ.
#    *(Solution: exercise 3.)*
# 4. **Open-ended: synonyms across seeds.** For every seed of the benchmark, rank each synonym among its canonical
#    tag's category by the cosine of their centred proxies (section 5). Which pairs are stable, which are not, and
#    what about the data explains it? *(Solution: exercise 4, a worked sketch.)*
