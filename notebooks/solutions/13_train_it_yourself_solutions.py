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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/solutions/13_train_it_yourself_solutions.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2Fsolutions%2F13_train_it_yourself_solutions.ipynb)
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
# # 13 · Solutions: train it yourself
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../../docs/glossary.md).
#
# Worked solutions to the exercises at the end of `13_train_it_yourself`: what the tag centres' initial norm does,
# how different two runs of one code are, and (open-ended) the triplet loss written by hand and checked against the
# library.
#
# Like the notebook, it reads `MDRBENCH_SIZE` (unset: `default` when the shipped reference results are usable, else
# `ci`), opens the corpus and log-mels with `open_workspace(runs=False)` and trains its own models; it repeats the
# notebook's model code (your code, not the library's), so that it runs on its own. Every number is printed, never
# written here; the `assert` lines check the answers against a second computation.
#
# **Time:** ci about 5 min, measured on 2 CPU cores shared with other jobs (about 2.5 min on quiet ones: four
# classifier runs and a short triplet run) · default about 20 min, estimated from the ci timings · full: not
# measured.

# %%
import dataclasses
import math
import time

import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()

import keras
import numpy as np
import pandas as pd
import torch
from keras import ops

from mdrbench import configs, evaluate, models, samplers, train, views
from mdrbench.workspace import open_workspace

SEED = 0
CONFIG_NAME = "classification-norm-full"
EPOCHS = 5  # the notebook's epoch cap, for every run here
CHANNELS = (16, 32, 64, 128, 128)  # the library's compact backbone's widths
CENTRE_NORMS = (8.0, 1.0)  # exercise 1: the library's initial norm of the tag centres, and about Glorot's
TRIPLET_EPOCHS = 2  # exercise 3: a short run (a triplet step embeds three excerpts per anchor)
BATCH = 256  # excerpts per prediction step (a memory knob only)

workspace = open_workspace(runs=False)
corpus, features, size = workspace.corpus, workspace.features, workspace.size
config = configs.get_config(CONFIG_NAME)
budget = dataclasses.replace(size, max_epochs=min(size.max_epochs, EPOCHS))
labels = np.asarray(corpus.tags) != 0
tag_categories = np.asarray(corpus.vocabulary.category_ids)
input_shape = (1, features.settings.n_mels, features.settings.excerpt_frames)
steps = train.steps_per_epoch(budget, len(workspace.train_tracks))
valid_tracks = corpus.split_indices("valid")
valid_rows, valid_starts = models.fixed_excerpts(features, valid_tracks, train.VALIDATION_EXCERPTS_PER_TRACK)
valid_x, valid_y = features.batch(valid_rows, valid_starts), labels[valid_rows].astype("float32")
sets = evaluate.make_evaluation_sets(corpus, features, seed=0)  # the benchmark's evaluation sets


# %% [markdown]
# The notebook's model and loss (sections 3 and 4), with the centres' initial norm as an argument, and the few
# lines that wrap a model for `mdrbench.evaluate` (section 7):

# %%
def unit_length(f):
    """f / ||f|| row by row; the clamp keeps an all-zero row finite."""
    return f * ops.rsqrt(ops.maximum(ops.sum(ops.square(f), axis=-1, keepdims=True), 1e-24))


class TagCentres(keras.layers.Layer):
    """One learned centre c_z per tag (n_tags, D); logits ℓ = f̂ · c_zᵀ, no bias."""

    def __init__(self, n_tags, initial_norm, **kwargs):
        super().__init__(**kwargs)
        self.n_tags, self.initial_norm = n_tags, initial_norm

    def build(self, input_shape):
        dim = input_shape[-1]
        self.centres = self.add_weight(shape=(self.n_tags, dim), name="centres", initializer=keras.initializers
                                       .RandomNormal(stddev=self.initial_norm / math.sqrt(dim)))

    def call(self, unit_embeddings):
        return ops.matmul(unit_embeddings, ops.transpose(self.centres))


def encoder_layers(x):
    """The notebook's encoder and embedding head on a (B, 1, M, F) tensor -> f̂ (B, D), layer by layer."""
    for block, filters in enumerate(CHANNELS, start=1):
        x = models.ChannelsLastConv2D(filters, 3, padding="same", use_bias=False, data_format="channels_first",
                                      name=f"block{block}_conv")(x)
        x = models.ChannelNormalization(momentum=0.9, name=f"block{block}_norm")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(2, data_format="channels_first", name=f"block{block}_pool")(x)
    x = keras.layers.Concatenate(name="pool_concat")([
        keras.layers.GlobalAveragePooling2D(data_format="channels_first", name="avg_pool")(x),
        keras.layers.GlobalMaxPooling2D(data_format="channels_first", name="max_pool")(x)])
    f = keras.layers.Dense(config.embedding_dim, name="embedding")(x)
    return keras.layers.Lambda(unit_length, name="l2_normalize")(f)


def build_student_model(seed, centre_norm):
    """mel excerpt (B, 1, M, F) -> tag logits (B, n_tags), the notebook's model."""
    keras.utils.set_random_seed(seed)
    mel = keras.Input(shape=input_shape, name="mel")
    logits = TagCentres(len(corpus.vocabulary), centre_norm, name="tag_centres")(encoder_layers(mel))
    return keras.Model(mel, logits, name="student_classifier")


def tag_bce(y_true, logits):
    """Per track: Σ_z softplus(ℓ_z) − y_z·ℓ_z."""
    y_true = ops.cast(y_true, logits.dtype)
    return ops.sum(ops.softplus(logits) - y_true * logits, axis=-1)


class StudentEmbedder:
    """A model of yours as mdrbench.evaluate sees a model. With a head: the classifier, whose 'l2_normalize' layer
    gives f̂; without (``has_head=False``): an encoder mel -> f̂, and evaluate scores tags by prototypes."""

    normalize, disentangled = True, False

    def __init__(self, name, model, has_head=True):
        self.name, self.has_head = name, has_head
        self.model = keras.Model(model.input, [model.get_layer("l2_normalize").output, model.output]) \
            if has_head else model

    def excerpts(self, features, tracks, starts):
        parts = [self.model.predict(features.batch(tracks[i:i + BATCH], starts[i:i + BATCH]), verbose=0)
                 for i in range(0, len(tracks), BATCH)]
        if not self.has_head:
            return np.concatenate(parts), None
        return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])

    def tracks(self, features, tracks):
        return None


def fit_student(centre_norm, seed=SEED):
    """The notebook's section 5: compile, fit with the library's sampler and schedule; (model, history, seconds)."""
    model = build_student_model(seed, centre_norm)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss=tag_bce)
    sampler = samplers.ExcerptBatches(features, workspace.train_tracks, labels, budget.batch_size,
                                      steps_per_epoch=steps, seed=seed)
    schedule = train.PaperSchedule(patience=budget.patience, factor=config.lr_factor,
                                   max_reductions=budget.max_lr_reductions, min_delta=budget.min_delta)
    started = time.perf_counter()
    history = model.fit(sampler, epochs=budget.max_epochs, validation_data=(valid_x, valid_y),
                        validation_batch_size=BATCH, callbacks=[schedule], verbose=0)
    return model, history.history, time.perf_counter() - started


def scores_of(embedder):
    """The library's evaluation of one embedder -> R@K (%), tag ROC-AUC, mean pairwise cosine of the test tracks."""
    record = evaluate.evaluate(embedder, corpus, features, sets, seed=SEED, probes=False).record
    return {**{f"R@{k} (%)": 100 * value for k, value in record["recall_at_k"].items()},
            "tag ROC-AUC": record["auc"]["roc_auc"], "mean pairwise cosine": record["embedding_spread"]["mean_cosine"]}


# %% [markdown]
# ## Exercise 1: the centres' norm (predict, then run)
#
# **Prediction.** With a unit-norm f̂, |ℓ_z| = |f̂ · c_z| ≤ ||c_z|| (Cauchy-Schwarz). At initialization f̂ points
# anywhere: in D dimensions the cosine of two random directions is about ±1/√D, so both starts give small logits
# (about ||c_z||/√D) and a loss near n_tags · log 2 minus a little, *about the same* for both norms. What differs is
# the **floor**: an absent tag costs at least softplus(−||c_z||), 0.31 at norm 1 and 0.0003 at norm 8, and a
# track lacks most tags. A model at norm 1 must first grow its centres (Adam moves each weight by about the learning
# rate per step) before its loss can fall far, so it should end higher. The AUC only ranks tracks, which a bounded
# logit can do, so its effect on the AUC is less certain; the library's docstring
# (`losses.default_tag_initializer`) reports that norm 8 raised both R@1 and AUC at the default size.

# %%
first_x, first_y = samplers.ExcerptBatches(features, workspace.train_tracks, labels, budget.batch_size,
                                           steps_per_epoch=steps, seed=SEED)[0]
start_rows = {}
for centre_norm in CENTRE_NORMS:
    model = build_student_model(SEED, centre_norm)
    with torch.no_grad():
        logits = ops.convert_to_numpy(model(ops.convert_to_tensor(first_x), training=False))
    centre_norms = np.linalg.norm(ops.convert_to_numpy(model.get_layer("tag_centres").centres), axis=1)
    floor = np.logaddexp(0, -centre_norms)  # softplus(−||c_z||): the least an absent tag can cost
    start_rows[centre_norm] = {"loss at start": float(ops.mean(tag_bce(first_y, ops.convert_to_tensor(logits)))),
                               "n_tags · log 2": len(corpus.vocabulary) * math.log(2),
                               "mean ||c_z||": centre_norms.mean(), "max |ℓ|": np.abs(logits).max(),
                               "max |ℓ_z| / ||c_z||": (np.abs(logits) / centre_norms).max(),
                               "floor of the loss (absent tags)": float(((1 - first_y) * floor).sum(axis=1).mean())}
start_table = pd.DataFrame(start_rows).T.rename_axis("CENTRE_NORM")
print(start_table.round(4).to_string())
assert (start_table["max |ℓ_z| / ||c_z||"] <= 1 + 1e-5).all()  # Cauchy-Schwarz: a logit never exceeds its centre
assert (start_table["loss at start"] >= start_table["floor of the loss (absent tags)"]).all()

# %% [markdown]
# Both trained with the notebook's budget, and scored by the library's evaluation:

# %%
runs = {centre_norm: fit_student(centre_norm) for centre_norm in CENTRE_NORMS}
trained_rows = {}
for centre_norm, (model, history, seconds) in runs.items():
    centres = ops.convert_to_numpy(model.get_layer("tag_centres").centres)
    trained_rows[centre_norm] = {"epochs": len(history["loss"]), "seconds": seconds,
                                 "last training loss": history["loss"][-1],
                                 "best validation loss": min(history["val_loss"]),
                                 "mean ||c_z|| after": np.linalg.norm(centres, axis=1).mean(),
                                 **scores_of(StudentEmbedder(f"centres at norm {centre_norm:g}", model))}
trained_table = pd.DataFrame(trained_rows).T.rename_axis("CENTRE_NORM")
print(trained_table.round(3).to_string())
print("training curves (validation loss per epoch):")
print(pd.DataFrame({f"norm {n:g}": pd.Series(run[1]["val_loss"]) for n, run in runs.items()}).round(3).T.to_string())
high, low = CENTRE_NORMS
higher = trained_table.loc[low, "best validation loss"] > trained_table.loc[high, "best validation loss"]
print(f"\nbest validation loss at norm {low:g} {'above' if higher else 'not above'} the one at norm {high:g}; "
      f"tag AUC: norm {low:g} {trained_table.loc[low, 'tag ROC-AUC']:.3f}, "
      f"norm {high:g} {trained_table.loc[high, 'tag ROC-AUC']:.3f}")
assert trained_table["epochs"].between(1, budget.max_epochs).all()
assert (trained_table["mean ||c_z|| after"] > 0).all()

# %% [markdown]
# **Reading it.** In the start table, compare each loss at start with n_tags · log 2, and the two floors: the
# prediction's first half is there. The trained table says how far training moved the centres' norms (a norm-1
# centre that stayed near 1 kept its floor), where each loss ended, and whether the bounded logits cost tag AUC or
# retrieval. With one seed at `ci`, read any difference in R@K or AUC against the seed-to-seed noise that exercise
# 2 measures before calling it an effect of the norm.
#
# ## Exercise 2: how different are two runs of one code?
#
# **Answer.** Train the library's model again at another seed: the same code, other initial weights and other
# batches. Its distance from the first seed's run is one draw of the run-to-run noise; a difference between your
# run and the library's that is of that size says nothing about your code. (One extra seed is one draw: the
# benchmark's rule, `mdrbench.report.compare`, puts an interval over seeds *and* test queries before it calls a
# difference real.)

# %%
yours = scores_of(StudentEmbedder("yours", runs[high][0]))
library_runs = {seed: train.train(config, corpus, features, size=budget, seed=seed, verbose=0, backbone="compact",
                                  precision="fp32") for seed in (SEED, SEED + 1)}
library_scores = {seed: scores_of(evaluate.ModelEmbedder(run.model)) for seed, run in library_runs.items()}
names = {"yours": f"yours (seed {SEED})", SEED: f"library (seed {SEED})", SEED + 1: f"library (seed {SEED + 1})"}
table = pd.DataFrame({names["yours"]: yours, **{names[seed]: values for seed, values in library_scores.items()}}).T
table.loc["yours − library, same seed"] = table.loc[names["yours"]] - table.loc[names[SEED]]
table.loc["library, one seed − the other"] = table.loc[names[SEED + 1]] - table.loc[names[SEED]]
print(table.round(3).to_string())
within = (table.loc["yours − library, same seed"].abs() <= table.loc["library, one seed − the other"].abs())
print("\n|yours − library| no larger than the seed-to-seed difference: "
      + ", ".join(f"{metric} {'yes' if ok else 'no'}" for metric, ok in within.items()))
for values in (yours, *library_scores.values()):  # R@K never falls as K grows
    assert np.all(np.diff([values[f"R@{k} (%)"] for k in (1, 2, 4, 8)]) >= 0)
assert library_runs[SEED + 1].seed == SEED + 1

# %% [markdown]
# **Reading it.** Where the seed-to-seed difference is at least as large as yours-minus-library, your run is one
# more run of the library's code as far as these numbers can tell. Where it is not, one extra seed is still one
# draw: train more seeds of both (a loop over `seed`) before calling it real.
#
# ## Exercise 3 (open-ended): write the triplet loss
#
# A worked sketch. `triplet-norm-full` with `triplet_mining="none"`: the sampler (`samplers.TagTripletBatches`, as
# `train.make_sampler` builds it) draws a category, a tag of it, an anchor and a positive that carry the tag and a
# negative that lacks it; x is (B, 3, 1, M, F), y the drawn tags' categories (unused by the complete-space loss).
# The model embeds all 3B excerpts in one pass (so the batch normalization sees anchors, positives and negatives
# alike, as the library's does) and reshapes back to (B, 3, D). The loss, per triplet, with unit-norm rows (so a
# cosine is a dot product): max(0, f̂_a · f̂_n − f̂_a · f̂_p + margin).

# %%
triplet_config = configs.get_config("triplet-norm-full", triplet_mining="none")


def build_triplet_model(seed):
    """(triplet model: (B, 3, 1, M, F) groups -> (B, 3, D) unit embeddings, its encoder: mel -> f̂)."""
    keras.utils.set_random_seed(seed)
    mel = keras.Input(shape=input_shape, name="mel")
    encoder = keras.Model(mel, encoder_layers(mel), name="encoder")  # the same layers, in the same order
    groups = keras.Input(shape=(3, *input_shape), name="triplets")
    flat = keras.layers.Lambda(lambda g: ops.reshape(g, (-1, *input_shape)), output_shape=input_shape,
                               name="flatten_groups")(groups)  # (3B, 1, M, F)
    unit = encoder(flat)  # one pass over the 3B excerpts
    dim = config.embedding_dim
    grouped = keras.layers.Lambda(lambda e: ops.reshape(e, (-1, 3, dim)), output_shape=(3, dim), name="regroup")(unit)
    return keras.Model(groups, grouped, name="student_triplet"), encoder


def triplet_hinge(y_true, embeddings):
    """Per triplet: max(0, cos(a, n) − cos(a, p) + margin) on unit rows (B, 3, D); y_true (categories) unused."""
    anchor, positive, negative = embeddings[:, 0], embeddings[:, 1], embeddings[:, 2]
    return ops.relu(ops.sum(anchor * negative, axis=-1) - ops.sum(anchor * positive, axis=-1) + triplet_config.margin)


triplet_sampler = train.make_sampler(triplet_config, features, corpus, workspace.train_tracks, budget.batch_size,
                                     steps, SEED)
triplet_x, triplet_y = triplet_sampler[0]
triplet_student, triplet_encoder = build_triplet_model(SEED)
keras.utils.set_random_seed(SEED)
library_triplet = models.build_model(triplet_config, tag_categories, input_shape=input_shape, backbone="compact")
weight_gap = max(float(np.abs(a - b).max())
                 for a, b in zip(triplet_student.get_weights(), library_triplet.get_weights(), strict=True))
with torch.no_grad():
    x, y = ops.convert_to_tensor(triplet_x), ops.convert_to_tensor(triplet_y)
    your_triplet_loss = float(ops.mean(triplet_hinge(y, triplet_student(x, training=False))))
    library_triplet_loss = float(library_triplet.compute_objective(x, y, training=False))
print(f"x {triplet_x.shape}, y {triplet_y.shape}; initial weights: largest |difference| {weight_gap:g}")
print(f"first batch, at initialization: your triplet loss {your_triplet_loss:.7f}, the library's "
      f"{library_triplet_loss:.7f} (|difference| {abs(your_triplet_loss - library_triplet_loss):.2g}); "
      f"margin {triplet_config.margin}")
np.testing.assert_allclose(your_triplet_loss, library_triplet_loss, rtol=1e-5)

# %% [markdown]
# A short training (`TRIPLET_EPOCHS`, a fixed learning rate, no schedule: the keras.io way), then the library's
# evaluation. **What replaces the tag head:** a triplet model has none, so `evaluate` scores a tag by the cosine of
# a test track to the tag's **prototype**, the mean training embedding of the tracks that carry it
# (`metrics.tag_prototypes`); our embedder says `has_head=False` and returns no logits.

# %%
triplet_student.compile(optimizer=keras.optimizers.Adam(learning_rate=triplet_config.learning_rate),
                        loss=triplet_hinge)
started = time.perf_counter()
triplet_history = triplet_student.fit(triplet_sampler, epochs=TRIPLET_EPOCHS, verbose=0).history
triplet_seconds = time.perf_counter() - started
triplet_scores = scores_of(StudentEmbedder("your triplet-norm-full", triplet_encoder, has_head=False))
comparison = pd.DataFrame({f"your triplet ({TRIPLET_EPOCHS} epochs)": triplet_scores,
                           f"your classifier ({len(runs[high][1]['loss'])} epochs)": yours}).T
print(f"triplet training loss per epoch {np.round(triplet_history['loss'], 4).tolist()} "
      f"(margin {triplet_config.margin}) in {triplet_seconds:.0f} s")
print(comparison.round(3).to_string())
views.metric_curves_figure(pd.DataFrame({"model": "your triplet", "epoch": np.arange(1, TRIPLET_EPOCHS + 1),
                                         "loss": triplet_history["loss"]}), columns=["loss"],
                           title="your triplet model's training loss (the margin is the loss of a collapsed space)"
                           ).show()
assert len(triplet_history["loss"]) == TRIPLET_EPOCHS and all(v >= 0 for v in triplet_history["loss"])
assert np.isfinite(list(triplet_scores.values())).all()

# %% [markdown]
# **What to look for.**
#
# * The check: the same initial weights and the same loss on the same batch, so your triplet loss is the library's
#   `losses.TripletLoss` on the complete space (the library normalizes again inside its cosine; on unit rows that
#   changes only rounding).
# * A loss that stays at the margin (every cosine equal: a collapsed space) and a mean pairwise cosine near 1 are
#   the failure notebook 04 describes; does yours leave the margin in these few epochs? The library's default,
#   `triplet_mining="all"`, compares each anchor with every positive and negative of its batch
#   (`losses.batch_all_triplet_loss`): write it in `keras.ops` next, and check it against
#   `models.build_model(configs.get_config("triplet-norm-full"), ...)` the same way, with the sampler's dict labels.
# * Training time: a triplet step embeds three excerpts per anchor, a classifier step one (notebook 09 turns that
#   into the paper's training-time ratio); compare the seconds printed here with exercise 1's.
