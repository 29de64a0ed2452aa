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

# %% [markdown]
# # Quickstart: one embedding space, three ways to search music
#
# This notebook tells the whole story of mdrbench in a few minutes. We
#
# 1. make a small corpus of procedural music with known genre, mood, instrument and era, and listen to it;
# 2. train two models of the ISMIR 2020 study (Lee et al., *Metric learning vs classification for
#    disentangled music representation learning*): a **disentangled proxy model** (the classification-style
#    learner) and a **disentangled triplet model** (the metric learner);
# 3. use one embedding space for the paper's three retrieval modes: **by example** (nearest tracks),
#    **by tag** (auto-tagging) and **inside a sub-space** (only the instrument dimensions, say);
# 4. measure the two models on R@K, tag ROC-AUC and triplet prediction.
#
# Everything comes from the `mdrbench` package; the notebook only calls it. The size switch
# `MDRBENCH_SIZE` picks the corpus and the training budget: `ci` trains in seconds (numbers are noisy),
# `default` is the laptop benchmark (minutes per model), `full` is for a GPU.

# %%
import os

import numpy as np
import pandas as pd
from IPython.display import Audio, display

from mdrbench import metrics, views
from mdrbench.features import FRONTENDS, compute_features
from mdrbench.models import embed_tracks, model_tag_scores
from mdrbench.sizes import get_size
from mdrbench.subspaces import subspace_slices
from mdrbench.synth import ensure_corpus
from mdrbench.train import train

SIZE = os.environ.get("MDRBENCH_SIZE", "ci")
SEED = 0
MODELS = ["proxy-norm-dis", "triplet-norm-dis"]  # one classification-style learner, one metric learner
size = get_size(SIZE)
print(f"size {size.name}: {size.n_tracks} tracks, up to {size.max_epochs} epochs of {size.steps_per_epoch} "
      f"batches of {size.batch_size}")

# %% [markdown]
# ## 1. The music
# The corpus is generated (deterministically from the seed) and cached, so this is quick after the first
# time. Each track has clean factors (the ground truth) and Last.fm-like noisy tags: some true tags are
# missing, some synonyms ("hip hop" beside "hip-hop") appear, a few tags are wrong.

# %%
corpus = ensure_corpus(SIZE, seed=SEED)
print(corpus)
example = int(corpus.split_indices("test")[0])
print("clean factors:", dict(corpus.factors.iloc[example]))
print("observed tags:", corpus.tags_of(example))
display(Audio(corpus.audio(example)[: 6 * corpus.sample_rate], rate=corpus.sample_rate))

# %% [markdown]
# Models do not hear waveforms: they see log-mel spectrograms. mdrbench computes them with a Keras layer on
# the torch backend (the same numbers as librosa's `melspectrogram`) and caches them per corpus.

# %%
features = compute_features(corpus, FRONTENDS[size.frontend])
views.mel_figure(features.track(example), corpus.sample_rate, features.settings.hop_length,
                 title=f"{corpus.track_ids[example]}: " + ", ".join(corpus.factors.iloc[example])).show()

# %% [markdown]
# ## 2. Train two models
# Both learn a 256-d embedding from 3-second excerpts, split into four fixed 64-d sub-spaces (genre, mood,
# instrument, era). The **proxy** model learns one proxy vector per tag and a binary cross-entropy over
# all tags, each computed in its tag's sub-space; the **triplet** model pulls an anchor towards a positive
# that shares a tag and away from a negative that does not, again inside that tag's sub-space.
# Training follows the paper's schedule (Adam, learning rate divided by 5 on plateaus, early stopping).

# %%
trained = {name: train(name, corpus, features, size=size, seed=SEED, verbose=0) for name in MODELS}
for name, result in trained.items():
    print(f"{name:18s} {result.epochs_run} epochs, best at {result.best_epoch}, {result.total_seconds:.0f} s")

# %% [markdown]
# ## 3. One space, three retrieval modes
# A track's embedding is the mean over a few evenly spaced excerpts, normalized.

# %%
test = corpus.split_indices("test")
train_tracks = corpus.split_indices("train")
embeddings = {name: embed_tracks(result.model, features, test) for name, result in trained.items()}
slices = subspace_slices(256)
model = trained["proxy-norm-dis"].model
query = 0  # the first test track


def describe(position):
    index = test[position]
    return f"{corpus.track_ids[index]}  [{', '.join(corpus.factors.iloc[index])}]"


# %% [markdown]
# **By example**: the nearest test tracks to the query in the complete space (cosine similarity).

# %%
space = embeddings["proxy-norm-dis"]
neighbours = metrics.nearest_neighbors(space, k=5)[query]
print("query:   ", describe(query))
for position in neighbours:
    print("neighbour", describe(position))

# %% [markdown]
# **Inside a sub-space**: the same query, but only the 64 instrument dimensions count. The neighbours
# should now share the query's instrument more often, whatever their genre.

# %%
for category in ("instrument", "era"):
    neighbours = metrics.nearest_neighbors(space[:, slices[category]], k=5)[query]
    same = np.mean([corpus.factors[category].iloc[test[p]] == corpus.factors[category].iloc[test[query]]
                    for p in neighbours])
    print(f"{category} sub-space: {same:.0%} of the 5 neighbours share the query's {category}")
    for position in neighbours:
        print("   ", describe(position))

# %% [markdown]
# **By tag**: the proxy model scores every tag for every track (the sigmoid of the cosine to the tag's
# proxy), so a tag query is a sort.

# %%
scores = model_tag_scores(model, features, test)
tag = "jazz"
top = np.argsort(-scores[:, corpus.vocabulary.index(tag)])[:5]
print(f"top 5 test tracks for '{tag}':")
for position in top:
    print("   ", describe(position))

# %% [markdown]
# ## 4. Measure
# The paper's evaluations, on the test split:
# - **R@K**: the fraction of a query's tags found among its K nearest neighbours' tags;
# - **tag ROC-AUC** (macro over tags): the proxy model scores with its head, the triplet model by the
#   similarity to each tag's prototype (the mean training embedding of the tracks carrying it);
# - **triplet prediction** per category, in the complete space and in each category's own sub-space.

# %%
rows = []
triplets = metrics.sample_tag_triplets(corpus.tags[test], np.asarray(corpus.vocabulary.categories),
                                       n_per_category=500, seed=SEED)
for name, result in trained.items():
    recall = metrics.recall_at_k(embeddings[name], corpus.tags[test])
    scores = model_tag_scores(result.model, features, test)
    if scores is None:
        prototypes = metrics.tag_prototypes(embed_tracks(result.model, features, train_tracks),
                                            corpus.tags[train_tracks])
        scores = metrics.prototype_scores(embeddings[name], prototypes)
    auc = metrics.tag_auc(scores, corpus.tags[test], categories=np.asarray(corpus.vocabulary.categories))
    table = metrics.triplet_accuracy_table(embeddings[name], triplets, slices)
    rows.append({"model": name, **{f"R@{k}": 100 * v for k, v in recall.items()}, "ROC-AUC": auc["roc_auc"],
                 "triplets complete": table.loc["complete", "overall"],
                 "triplets sub-space": table.loc["subspace", "overall"]})
pd.DataFrame(rows).set_index("model").round(3)

# %% [markdown]
# The paper (on 201,680 MSD tracks) found the proxy/classification models ahead on R@K and tagging, and the
# disentangled triplet model ahead on triplet prediction inside the sub-spaces (0.792 vs 0.738). At the
# `ci` size the models see a few hundred excerpts, so read the table above as a smoke test, not a
# replication: run `mdrbench bench` (the `default` size) for the real comparison, and see
# `09_benchmark` for our tables beside the paper's.
#
# A last look: the instrument sub-space of the proxy model, coloured by instrument. With a front-end, the
# interactive explorer in `04_disentanglement` lets you switch sub-spaces, colour by any category and
# click a point to hear it.

# %%
views.embedding_scatter(space, corpus.factors["instrument"].iloc[test].to_numpy(), subspace=slices["instrument"],
                        title="proxy-norm-dis, instrument sub-space (PCA), coloured by instrument").show()

# %% [markdown]
# ## Where next
# `01_data` (listen and look at the corpus) · `02_metric_learning_vs_classification` · `03_proxy_losses` ·
# `04_disentanglement` · `05_similarity_retrieval` · `06_auto_tagging` · `07_triplet_prediction` ·
# `08_training_time` · `09_benchmark`.
