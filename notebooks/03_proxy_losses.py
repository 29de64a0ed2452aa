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
# A triplet loss compares tracks with tracks, so it needs many triplets to see how the whole collection
# is arranged. A **proxy loss** learns one vector p_z per tag, a *proxy* standing in for all the tracks
# that carry tag z, and compares each track with the proxies only. In the paper's multi-label form
# (Lee et al., ISMIR 2020), the score of tag z for excerpt x is
#
# $$\hat y_z = \sigma\!\left(\frac{f(x)}{\lVert f(x)\rVert}\cdot p_z\right),$$
#
# trained with binary cross-entropy summed over **all** tags, so every positive proxy pulls the track and
# every negative one pushes it, at once. Only the embedding is normalized: the proxy's norm is free and
# acts as a per-tag sharpness. Notebook 02 showed that this is exactly a classifier on a normalized
# embedding.
#
# The **disentangled** proxy loss splits the 256-d embedding into four fixed 64-d blocks (genre, mood,
# instrument, era); the proxy of a tag only lives in its category's block:
# $\hat y_z = \sigma\big((f\circ m_s)/\lVert f\circ m_s\rVert \cdot (p_z\circ m_s)\big)$ with s the category of z.
#
# In this notebook you will:
#
# 1. load `proxy-norm-full` and `proxy-norm-dis` from the benchmark's runs and read their proxies out of the
#    loss layer;
# 2. see the proxies among the tracks they stand for (a joint projection);
# 3. check whether a track's nearest proxies are its tags;
# 4. compare proxies with each other: synonyms ("hip hop" / "hip-hop") should sit close;
# 5. see why a multi-label problem wants a sigmoid per tag rather than a softmax over proxies;
# 6. verify that each disentangled proxy lives only in its category's 64-d block.
#
# **Time:** under a minute at `ci` once the benchmark's runs exist (`mdrbench bench`; otherwise the benchmark
# cell trains them first, about 5 minutes at `ci`).

# %% [markdown]
# ## Setup
#
# `SIZE` picks the corpus and training budget: `ci` runs in seconds (a tiny synthetic corpus and few seeds, both
# printed below: every number is noisy), `default` is a laptop benchmark, `full` is GPU-sized.

# %%
import os

import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()  # a no-op after the import above; it keeps that import first on purpose

import keras
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display
from keras import ops

import mdrbench.bench
import mdrbench.features
import mdrbench.losses as losses
import mdrbench.metrics as metrics
import mdrbench.models
import mdrbench.paths
import mdrbench.report
import mdrbench.sizes
import mdrbench.subspaces
import mdrbench.synth
import mdrbench.synth.tags
import mdrbench.views as views

SIZE = os.environ.get("MDRBENCH_SIZE", "ci")
SEED = 0
FULL, DISENTANGLED = "proxy-norm-full", "proxy-norm-dis"
N_EXAMPLE_TRACKS = 6  # test tracks listed with their nearest proxies
TOP_PROXIES = 3  # nearest proxies listed per track
SCATTER_CATEGORY = "genre"  # the category whose proxies are drawn among the tracks

size = mdrbench.sizes.get_size(SIZE)
print(size)

# %% [markdown]
# ## Data
#
# The synthetic corpus has clean factors per track and noisy Last.fm-like tags: a true tag is missing with
# some probability, synonyms appear ("hip hop" for "hip-hop", "mellow" or "chill" for "calm"), and a few
# false tags sneak in. The proxies learn from the noisy tags only.

# %%
corpus = mdrbench.synth.ensure_corpus(SIZE)
features = mdrbench.features.compute_features(corpus, mdrbench.features.FRONTENDS[size.frontend], progress=False)
vocabulary = corpus.vocabulary
tag_names = np.array(vocabulary.tags)
tag_categories = np.array(vocabulary.categories)
categories = list(mdrbench.CATEGORIES)
test_indices = corpus.split_indices("test")
test_labels = corpus.tags[test_indices].astype(bool)
test_factors = corpus.factors.iloc[test_indices].reset_index(drop=True)
print(corpus)
print(pd.Series(tag_categories).value_counts().reindex(categories).rename("tags per category").to_string())

# %% [markdown]
# The clean truth of every tag, for later: a tag is *true* for a track when it names the track's factor
# value or one of its synonyms. The observed tags miss some true ones and add a few false ones.

# %%
synonym_of = mdrbench.synth.tags.SYNONYMS  # synonym -> canonical tag
canonical = np.array([synonym_of.get(tag, tag) for tag in tag_names])
clean_labels = np.stack([test_factors[category].to_numpy() == value
                         for category, value in zip(tag_categories, canonical, strict=True)], axis=1)
print(f"observed tags per test track {test_labels.sum(axis=1).mean():.2f}, "
      f"true tags (with synonyms) {clean_labels.sum(axis=1).mean():.2f}, "
      f"observed tags that are true {(test_labels & clean_labels).sum() / test_labels.sum():.2f}")

# %% [markdown]
# ## 1. The trained proxy models
#
# Both configurations train with the paper's schedule scaled to the size's budget (`mdrbench.train.train`:
# Adam, the learning rate divided by 5 on validation plateaus, then a stop, the best epoch's weights kept).
# The benchmark runner (`run_benchmark`, the code behind `mdrbench bench`) trains each configuration once per
# seed with that call and stores it; here it only reads the runs back (it trains only what is missing).

# %%
results_dir = mdrbench.paths.results_dir(SIZE)
results = mdrbench.bench.run_benchmark(size=SIZE, out_dir=results_dir, verbose=0, progress=False)
seeds = sorted(results.loc[results["kind"] == "model", "seed"].unique())
print(f"{len(seeds)} seeds per configuration; {len(corpus.split_indices('train'))} training and "
      f"{len(test_indices)} test tracks")
if SIZE == "ci":
    print("ci: a tiny corpus and few seeds; the numbers below are noisy, and the verdicts of section 8 need "
          "MDRBENCH_SIZE=default before they say anything.")
full_run = mdrbench.bench.load_run(results_dir, FULL, SEED)
dis_run = mdrbench.bench.load_run(results_dir, DISENTANGLED, SEED)
full_model, dis_model = full_run.model, dis_run.model
for name, run in ((FULL, full_run), (DISENTANGLED, dis_run)):
    training = run.result["training"]
    print(f"{name}: {training['epochs_run']} epochs, best epoch {training['best_epoch']}, "
          f"stopped by {training['stopped_by']}; validation loss per epoch:",
          np.round(run.history["history"]["val_loss"], 2))

# %% [markdown]
# ## 2. Read the proxies
#
# The proxies are a weight of the loss layer, `model.objective.proxies`, shape (n_tags, 256), saved with
# the model. The embedding is normalized but the proxy is not: σ(f/||f|| · p_z) = σ(||p_z|| cos(f, p_z)), so
# the direction of p_z is the tag's centre on the sphere and its norm how sharply the score rises
# around it.

# %%
proxies = ops.convert_to_numpy(full_model.objective.proxies)  # (n_tags, D)
train_counts = corpus.tags[corpus.split_indices("train")].sum(axis=0)
proxy_table = pd.DataFrame({"category": tag_categories, "training tracks": train_counts,
                            "||p_z||": np.linalg.norm(proxies, axis=1)}, index=tag_names)
print(f"proxies: {proxies.shape}")
print(proxy_table.groupby("category", sort=False)["||p_z||"].describe()[["mean", "min", "max"]].round(2))

# %% [markdown]
# ### A bias in disguise
#
# Before reading the proxies tag by tag, one prediction. The loss has no bias term, and most tags are
# absent from most tracks (the counts are printed below). The quickest way to lower the BCE is to make
# *every* logit negative: turn all proxies towards one direction and all tracks away from it. That shared
# direction acts as a bias, the same for every tag, and says nothing about which tag is which. We measure
# it with the mean proxy: how aligned each proxy is with it, and how the tracks sit relative to it.

# %%
def unit_rows(vectors):
    """Each row divided by its L2 norm (zero rows stay zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


print(f"tags per test track: {test_labels.sum(axis=1).mean():.1f} of {len(tag_names)}")
full_embeddings = full_run.test_embeddings  # (n_test, D), unit norm, stored by the benchmark
shared_direction = unit_rows(proxies.mean(axis=0, keepdims=True))[0]
proxy_alignment = unit_rows(proxies) @ shared_direction
track_alignment = full_embeddings @ shared_direction
print(f"cos(proxy, mean proxy): mean {proxy_alignment.mean():.2f} (min {proxy_alignment.min():.2f}); "
      f"share of the proxies' energy along it {((proxies @ shared_direction) ** 2).sum() / (proxies ** 2).sum():.2f}")
print(f"cos(test track, mean proxy): mean {track_alignment.mean():.2f} (min {track_alignment.min():.2f}, "
      f"max {track_alignment.max():.2f})")

# %% [markdown]
# What tells tags apart is the rest, the **centred proxy** q_z = p_z − mean proxy. Since
# f̂ · p_z = f̂ · (mean proxy) + f̂ · q_z and the first term is the same for every tag, a track ranks the tags
# by f̂ · q_z alone. From here on, proxies are compared through their centred version. (The better
# trained the model, the more of each proxy is its own part rather than the shared one: compare with
# `MDRBENCH_SIZE=default`.)

# %%
centred_proxies = proxies - proxies.mean(axis=0, keepdims=True)

# %% [markdown]
# ## 3. Proxies among the tracks
#
# The test tracks of the full model and the proxies of one category, projected together with PCA, the
# tracks coloured by their clean value, the proxies drawn as large diamonds. Everything is normalized first,
# since the loss only sees directions. The first figure uses the proxies as they are: where the shared
# direction dominates, the tracks sit on one side and the proxies on the other. The second removes the shared direction
# from tracks and proxies alike; if proxies are tag centres, each should now sit towards the tracks of its
# value, and a synonym near its canonical tag.

# %%
def tracks_and_proxies(track_vectors, track_values, proxy_vectors, proxy_names, title):
    """One PCA of tracks and proxies together; proxies as large labelled diamonds."""
    stacked = np.vstack([unit_rows(track_vectors), unit_rows(proxy_vectors)])
    labels = np.concatenate([track_values, np.full(len(proxy_vectors), "proxy")])
    hover = [f"{corpus.track_ids[i]}: {', '.join(corpus.tags_of(i))}" for i in test_indices] + list(proxy_names)
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
# The cosine between each test track and each centred proxy, and for a few tracks the top proxies next to
# the tags the track carries and its clean factors.

# %%
track_to_proxy = metrics.prototype_scores(full_embeddings, centred_proxies)  # cos(f, q_z), (n_test, n_tags)
nearest = np.argsort(-track_to_proxy, axis=1, kind="stable")[:, :TOP_PROXIES]
example_rows = []
for row in range(N_EXAMPLE_TRACKS):
    example_rows.append({
        "track": corpus.track_ids[test_indices[row]],
        "clean factors": ", ".join(test_factors.loc[row, categories]),
        "observed tags": ", ".join(corpus.tags_of(test_indices[row])),
        f"top-{TOP_PROXIES} proxies (cosine)": ", ".join(f"{tag_names[z]} ({track_to_proxy[row, z]:.2f})"
                                                         for z in nearest[row]),
    })
with pd.option_context("display.max_colwidth", 80, "display.width", 200):
    display(pd.DataFrame(example_rows))

# %% [markdown]
# Over all test tracks: how many of the top proxies are observed tags, how many are true tags (clean
# factor or synonym), against chance (the share of tags a random pick would hit).

# %%
def top_k_precision(labels):
    return np.take_along_axis(labels, nearest, axis=1).mean()


print(f"precision of the top-{TOP_PROXIES} proxies: observed tags {top_k_precision(test_labels):.2f} "
      f"(chance {test_labels.mean():.2f}), true tags {top_k_precision(clean_labels):.2f} "
      f"(chance {clean_labels.mean():.2f})")

# %% [markdown]
# Per category: does the highest-scoring proxy *of that category* name the track's clean value (or a
# synonym of it)? Within one category the shared part is the same for every proxy, so the model's own tag
# scores rank them (the logits the benchmark stored); for the disentangled model those scores are computed
# inside the category's block only.

# %%
full_scores = full_run.test_tag_scores  # (n_test, n_tags) logits
dis_scores = dis_run.test_tag_scores
accuracy_rows = {}
for category in categories:
    columns = np.flatnonzero(tag_categories == category)
    values = test_factors[category].to_numpy()
    accuracy_rows[category] = {
        FULL: (canonical[columns][full_scores[:, columns].argmax(axis=1)] == values).mean(),
        DISENTANGLED: (canonical[columns][dis_scores[:, columns].argmax(axis=1)] == values).mean(),
        "chance": 1 / len(set(canonical[columns])),
    }
print("the top proxy of each category names the clean value:")
print(pd.DataFrame(accuracy_rows).T.round(2))

# %% [markdown]
# ### Listen: the tracks nearest a proxy
#
# The other direction: for one tag per category, the test tracks nearest its learned proxy p_z (cosine; for one
# tag this is the order of the model's own tag score). If a proxy is a centre for its tag, its nearest tracks
# should all sound like the tag, the same genre, mood, instrument or era, however much else differs between
# them. Each label gives the track's clean factors and whether its observed tags include the tag; how many of
# the nearest tracks truly have it is printed below.

# %%
LISTEN_TAGS, N_NEAREST = ["jazz", "calm", "piano", "80s"], 3  # one tag per category
listen_columns = [vocabulary.index(tag) for tag in LISTEN_TAGS]
nearest_tracks = metrics.nearest_neighbors(full_embeddings, k=N_NEAREST, queries=proxies[listen_columns])
for tag, z, rows in zip(LISTEN_TAGS, listen_columns, nearest_tracks, strict=True):
    display(views.audio_table(
        [(f"{rank}: {corpus.track_ids[test_indices[row]]} [{', '.join(test_factors.loc[row, categories])}], "
          f"tagged '{tag}': {'yes' if test_labels[row, z] else 'no'}", corpus.audio(test_indices[row]))
         for rank, row in enumerate(rows, start=1)],
        corpus.sample_rate, title=f"{FULL}: the {N_NEAREST} test tracks nearest the proxy of '{tag}'"))
print(f"of the {N_NEAREST} tracks nearest each proxy, truly the tag's value (clean factor or synonym): "
      + ", ".join(f"{tag} {clean_labels[rows, z].sum()}"
                  for tag, z, rows in zip(LISTEN_TAGS, listen_columns, nearest_tracks, strict=True)))

# %% [markdown]
# ## 5. Proxies compared with each other
#
# The cosine between every pair of centred proxies, tags grouped by category. Tags that describe the same
# tracks should have similar proxies: above all the synonyms, which the generator attaches to the same
# tracks as their canonical tag. (The raw proxies would all look alike: their mean pairwise cosine is
# printed for comparison.)

# %%
proxy_cosine = unit_rows(centred_proxies) @ unit_rows(centred_proxies).T
raw_proxy_cosine = unit_rows(proxies) @ unit_rows(proxies).T
off_diagonal = ~np.eye(len(tag_names), dtype=bool)
print(f"mean cosine between distinct proxies: raw {raw_proxy_cosine[off_diagonal].mean():.2f}, "
      f"centred {proxy_cosine[off_diagonal].mean():.2f}")
figure = go.Figure(go.Heatmap(z=proxy_cosine, x=list(tag_names), y=list(tag_names), zmin=-1, zmax=1,
                              colorscale="RdBu_r", hovertemplate="%{y} · %{x}: %{z:.2f}<extra></extra>"))
for boundary in np.flatnonzero(tag_categories[1:] != tag_categories[:-1]) + 0.5:  # category group lines
    figure.add_hline(y=boundary, line_color="black", line_width=1)
    figure.add_vline(x=boundary, line_color="black", line_width=1)
figure.update_layout(title=f"{FULL}: cosine between centred proxies (grouped by category)",
                     template="plotly_white", height=650, width=700, yaxis={"autorange": "reversed"})
figure.show()

synonym_rows = []
for synonym, tag in synonym_of.items():
    if synonym not in tag_names or tag not in tag_names:
        continue
    z = vocabulary.index(tag)
    others = np.flatnonzero((tag_categories == tag_categories[z]) & (np.arange(len(tag_names)) != z))
    ranking = others[np.argsort(-proxy_cosine[z, others], kind="stable")]
    synonym_rows.append({"tag": tag, "synonym": synonym, "cosine": proxy_cosine[z, vocabulary.index(synonym)],
                         "rank in category": int(np.flatnonzero(tag_names[ranking] == synonym)[0]) + 1,
                         "of": len(others), "mean cosine to the others": proxy_cosine[z, others].mean()})
print(pd.DataFrame(synonym_rows).round(2).to_string(index=False))

# %% [markdown]
# ## 6. Why a sigmoid per tag, not a softmax over proxies
#
# Single-label proxy losses (ProxyNCA, normalized softmax) put a **softmax** over the proxies: the
# probabilities sum to one, so the proxies compete for each track. A track tagged "jazz", "calm" and
# "piano" cannot have all three near probability one: with a multi-hot target spread evenly over its k tags,
# the softmax cross-entropy can never go below log k, and pushing one true tag up pulls the others down.
# The multi-label BCE treats each tag as its own yes/no question, so all true tags can win at once.
#
# Below, logits of ±s for one track with three true tags out of the vocabulary: as s grows the BCE goes to
# zero, the softmax loss stalls at log 3 with each true tag stuck at probability 1/3.

# %%
example_tags = ["jazz", "calm", "piano"]
target = np.zeros((1, len(tag_names)), dtype="float32")
target[0, [vocabulary.index(tag) for tag in example_tags]] = 1.0
rows = []
for sharpness in (1.0, 3.0, 10.0, 30.0):
    logits = ops.convert_to_tensor(sharpness * (2 * target - 1))  # +s on the true tags, -s elsewhere
    softmax = ops.softmax(logits, axis=-1)
    target_distribution = ops.convert_to_tensor(target / target.sum())  # the k true tags share the target
    softmax_cross_entropy = -ops.sum(target_distribution * ops.log_softmax(logits, axis=-1))
    rows.append({"s": sharpness,
                 "BCE (sum over tags)": float(ops.convert_to_numpy(losses.multilabel_bce_from_logits(target, logits))),
                 "softmax cross-entropy": float(ops.convert_to_numpy(softmax_cross_entropy)),
                 "softmax p(jazz)": float(ops.convert_to_numpy(softmax[0, vocabulary.index("jazz")])),
                 "sigmoid p(jazz)": float(ops.convert_to_numpy(ops.sigmoid(logits)[0, vocabulary.index("jazz")]))})
print(pd.DataFrame(rows).round(4).to_string(index=False))
print(f"log 3 = {np.log(3):.4f}")

# %% [markdown]
# On the trained model, the BCE's sigmoid scores are free to add up to more than one: their sum over tags
# can follow how many tags a track carries, which a softmax cannot express. (The benchmark stores logits; the
# sigmoid turns them into the probabilities the loss was trained on.)

# %%
tag_scores = 1 / (1 + np.exp(-full_run.test_tag_scores.astype(np.float64)))  # (n_test, n_tags) probabilities
score_sums = tag_scores.sum(axis=1)
print(f"sum of sigmoid scores per track: mean {score_sums.mean():.2f} (min {score_sums.min():.2f}, "
      f"max {score_sums.max():.2f}); observed tags per track: mean {test_labels.sum(axis=1).mean():.2f}; "
      f"correlation {np.corrcoef(score_sums, test_labels.sum(axis=1))[0, 1]:.2f}")
print(f"tag AUC of the proxy scores: {metrics.tag_auc(tag_scores, test_labels, tag_categories)['roc_auc']:.3f}")

# %% [markdown]
# ## 7. The disentangled proxy lives in its category's block
#
# `ProxyLoss(disentangled=True)` keeps a full (n_tags, 256) weight but multiplies it by the mask of each
# tag's category before use, so the **effective proxy** p_z∘m_s(z) is zero outside its 64-d block.
# Three checks:
#
# 1. the effective proxies are exactly zero outside their block;
# 2. the stored weights outside the block never received a gradient: they still equal their initial
#    values (we rebuild the model with the same seed to see them);
# 3. the layer's tag score equals the formula σ((f∘m_s)/||f∘m_s|| · (p_z∘m_s)) computed by hand.

# %%
dis_proxies = ops.convert_to_numpy(dis_model.objective.proxies)  # (n_tags, D), as stored
tag_masks = dis_model.objective.tag_masks()  # (n_tags, D) 0/1: each row is its tag's category block
effective = dis_proxies * tag_masks
outside = 1 - tag_masks
print(f"largest |effective proxy| outside its block: {np.abs(effective * outside).max():.1e}")
print(f"share of the stored weights' energy outside the block: "
      f"{(dis_proxies**2 * outside).sum() / (dis_proxies**2).sum():.2f} (kept from initialization, never used)")
assert np.abs(effective * outside).max() == 0.0

keras.utils.set_random_seed(SEED)  # as mdrbench.train.train does before building the model
input_shape = (1, features.settings.n_mels, features.settings.excerpt_frames)
initial_model = mdrbench.models.build_model(DISENTANGLED, vocabulary.category_ids, input_shape=input_shape,
                                            backbone=size.backbone)
initial_proxies = ops.convert_to_numpy(initial_model.objective.proxies)
outside_mask, inside_mask = outside.astype(bool), tag_masks.astype(bool)
unchanged_outside = np.array_equal(dis_proxies[outside_mask], initial_proxies[outside_mask])
print(f"weights outside the blocks unchanged by training: {unchanged_outside}; "
      f"inside the blocks, mean |change| {np.abs(dis_proxies - initial_proxies)[inside_mask].mean():.3f}")

# %% [markdown]
# The cross-category cosines of the effective proxies are exactly zero (their blocks do not overlap), while
# the full model's proxies of different categories share one space:

# %%
effective_cosine = unit_rows(effective) @ unit_rows(effective).T
across = tag_categories[:, None] != tag_categories[None, :]
print(f"max |cosine| between proxies of different categories: {DISENTANGLED} "
      f"{np.abs(effective_cosine[across]).max():.1e}, {FULL} {np.abs(proxy_cosine[across]).max():.2f}")

# %% [markdown]
# Now the formula by hand on a few test excerpts: the backbone's raw f(x), masked and normalized per
# block, dotted with the masked proxy, through a sigmoid.

# %%
n_frames = features.settings.excerpt_frames
few = test_indices[:4]
mel = features.batch(few, mdrbench.features.fixed_excerpt_starts(features.lengths[few], n_frames).reshape(-1))
raw_f = ops.convert_to_numpy(dis_model.backbone(ops.convert_to_tensor(mel), training=False))  # (4, D)
by_hand = np.empty((len(few), len(tag_names)))
for z in range(len(tag_names)):
    mask = tag_masks[z]
    block_unit = raw_f * mask / np.linalg.norm(raw_f * mask, axis=1, keepdims=True)
    by_hand[:, z] = 1 / (1 + np.exp(-(block_unit @ (dis_proxies[z] * mask))))
by_layer = dis_model.tag_scores(mel)
print(f"largest difference, hand vs ProxyLoss(disentangled=True): {np.abs(by_hand - by_layer).max():.1e}")
assert np.allclose(by_hand, by_layer, atol=1e-4)

# %% [markdown]
# Inside the genre block, the disentangled model's tracks and its genre proxies, projected together (the
# block's own shared direction, the mean of its proxies, removed as before):

# %%
dis_embeddings = dis_run.test_embeddings  # (n_test, D)
block = mdrbench.subspaces.subspace_slices(dis_embeddings.shape[1])[SCATTER_CATEGORY]
block_tracks, block_proxies = dis_embeddings[:, block], effective[in_category][:, block]
block_direction = unit_rows(block_proxies.mean(axis=0, keepdims=True))[0]
tracks_and_proxies(without_direction(block_tracks, block_direction), track_values,
                   without_direction(block_proxies, block_direction), tag_names[in_category],
                   f"{DISENTANGLED}: the {SCATTER_CATEGORY} block, tracks and proxies (PCA)").show()

# %% [markdown]
# ## 8. Reading the results
#
# What the printed numbers say, computed rather than assumed, and checked on every seed of the benchmark with
# the one comparison rule of mdrbench (`mdrbench.report.compare`): one difference per seed, *holds* when its 95%
# interval lies above 0, *does not hold* below, *undetermined* when it contains 0 or with a single seed.

# %%
def seed_measures(seed):
    """For one seed of both proxy models: top-k proxy precision minus chance, and the category accuracy of the
    top proxy minus chance (mean over categories), from the stored runs."""
    run = mdrbench.bench.load_run(results_dir, FULL, seed)
    centred = ops.convert_to_numpy(run.model.objective.proxies)
    centred = centred - centred.mean(axis=0, keepdims=True)
    top = np.argsort(-metrics.prototype_scores(run.test_embeddings, centred), axis=1, kind="stable")[:, :TOP_PROXIES]
    measures = {"top-k precision - chance": np.take_along_axis(test_labels, top, axis=1).mean() - test_labels.mean()}
    for name in (FULL, DISENTANGLED):
        scores = mdrbench.bench.load_run(results_dir, name, seed).test_tag_scores
        gains = []
        for category in categories:
            columns = np.flatnonzero(tag_categories == category)
            correct = canonical[columns][scores[:, columns].argmax(axis=1)] == test_factors[category].to_numpy()
            gains.append(correct.mean() - 1 / len(set(canonical[columns])))
        measures[f"{name}: top proxy names the clean value - chance"] = float(np.mean(gains))
    return measures


per_seed = pd.DataFrame({seed: seed_measures(seed) for seed in seeds}).T
converged = bool(results.loc[results["config"].isin([FULL, DISENTANGLED]), "converged"].all())
for measure in per_seed.columns:
    comparison = mdrbench.report.compare(per_seed[measure], converged=converged)
    print(f"[{comparison.verdict}] {measure} > 0: {comparison.describe(3)}")
synonyms = pd.DataFrame(synonym_rows)
print(f"seed {SEED}: synonyms ranked first among their category's proxies: "
      f"{(synonyms['rank in category'] == 1).sum()} of {len(synonyms)}")

# %% [markdown]
# ## What we learned
#
# * A proxy is a learned tag centre: the loss layer holds one vector per tag (`model.objective.proxies`), and
#   a track's score for a tag is a sigmoid of its cosine to that vector, scaled by the proxy's norm.
# * Without a bias term, the proxies share a common direction that plays the bias: it encodes "most tags
#   are absent" and is the same for every tag (section 2 prints how much of the proxies' energy it holds);
#   what tells tags apart is the centred proxy.
# * Whether a track's nearest proxies are its tags, and whether synonyms' proxies point the same way, is
#   measured above against chance, with a verdict over seeds; the proxies summarise the tag structure without a
#   single track-to-track comparison, as well as the training budget allows.
# * The multi-label BCE lets several proxies claim a track at once; a softmax over proxies makes them
#   compete and cannot reach zero loss for a track with k tags (floor log k).
# * The disentangled proxy is the same loss with each proxy masked to its category's block: the effective
#   proxies are exactly zero elsewhere, the masked-out weights never move, and each category is scored
#   inside its own 64 dimensions.
#
# Next: `05_disentanglement` asks whether those blocks really hold one factor each.

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/03_proxy_losses_solutions.ipynb`](solutions/03_proxy_losses_solutions.ipynb) (one section per
# exercise).
#
# 1. **The softmax floor for k tags.** Repeat section 6 for a track with k = 1, ..., 5 true tags at a large
#    sharpness s. Predict the floor of the softmax cross-entropy and of the BCE before running, then check with
#    `losses.multilabel_bce_from_logits`. *(Solution: exercise 1.)*
# 2. **How many nearest proxies? Predict, then run.** Section 4 uses `TOP_PROXIES = 3`. Before running, predict how
#    the precision of a track's top-k centred proxies (against its observed tags) changes for k = 1, 2, 3, 5, 8, and
#    what it must be when k is the whole vocabulary. *(Solution: exercise 2.)*
# 3. **Centred or not.** Show that a track ranks the tags identically by f̂ · p_z (its logits) and by f̂ · q_z (the
#    centred proxies), and explain why ranking by the *cosine* to q_z, as section 4 does, can differ.
#    *(Solution: exercise 3.)*
# 4. **Open-ended: synonyms across seeds.** For every seed of the benchmark, rank each synonym among its canonical
#    tag's category by the cosine of their centred proxies (section 5). Which pairs are stable, which are not, and
#    what about the data explains it? *(Solution: exercise 4, a worked sketch.)*
