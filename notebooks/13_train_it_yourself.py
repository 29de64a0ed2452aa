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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/13_train_it_yourself.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F13_train_it_yourself.ipynb)
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
# # 13 · Train it yourself: a normalized tag classifier in plain Keras, checked against the library
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# **Description:** write `classification-norm-full` yourself, the way a keras.io example does: a small
# convolutional encoder on mdrbench's log-mel excerpts, an embedding head, its L2 normalization, one learned
# centre per tag, and the multi-label loss in `keras.ops`; then `model.compile(...)` and `model.fit(...)` on the
# package's own sampler. Two checks tie your code to the library's: **the same loss on the same batch**, number for
# number, and **the same evaluation** (`mdrbench.evaluate`: R@K, tag ROC-AUC) side by side with the library's own
# training of the configuration (`mdrbench.train.train`), at the same seed and budget.
#
# Every other notebook works with models that mdrbench's own code trained. Here nothing between the log-mel and
# the loss is hidden: when your loss matches the library's number for number, you know what the library computes.
#
# **Objectives:**
#
# - Write the normalized tag classifier (encoder, embedding head, L2 normalization, tag centres) and its multi-label
#   loss in `keras.ops`.
# - Check your loss against the library's on the same batch, at initialization and after training.
# - Train it with `model.compile` and `model.fit` on the library's sampler and schedule, logging the space's spread.
# - Evaluate both runs with `mdrbench.evaluate`, and judge their difference against run-to-run noise.
#
# **Time:** ci about 2 min, measured on 2 CPU cores shared with other jobs (about 1.5 min on quiet ones), most of
# it the two training runs of `EPOCHS` epochs · default about 8 min, estimated from the ci timings (an epoch there
# holds about seven times the excerpts, an evaluation about fourteen times) · full: GPU sizes, not measured here.
# Nothing here needs the benchmark's stored runs.
#
# **Prerequisites:** [02 · Metric learning vs classification](02_metric_learning_vs_classification.ipynb) (why a
# normalized classifier is a proxy-based metric learner) and [04 · Models and training](04_models_and_training.ipynb)
# (the samplers, the backbone and the schedule); background: Keras layers, models and callbacks, convolutional networks,
# binary cross-entropy.

# %% [markdown]
# ## Setup
#
# `open_workspace(runs=False)` reads the size from `MDRBENCH_SIZE` (unset: `default` when the reference results that
# ship with mdrbench are usable, else `ci`; at `default` the two trainings take minutes, see Time), opens its corpus and
# log-mels, and reads no stored run: both models of this notebook are trained below. The hyperparameters are the knobs
# of this notebook; the configuration's own settings (learning rate, schedule factor) come from `mdrbench.configs`, the
# budget (batch size, patience, learning-rate reductions) from the size, its epoch cap lowered to `EPOCHS` for both
# runs.

# %%
import dataclasses
import math
import time

import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()  # a no-op after the import above; it keeps that import first on purpose

import keras
import numpy as np
import pandas as pd
import torch
from IPython.display import display
from keras import ops

from mdrbench import configs, evaluate, losses, models, samplers, train, views
from mdrbench.workspace import open_workspace

SEED = 0
CONFIG_NAME = "classification-norm-full"  # the normalized classifier; the library trains it as proxy-norm-full
EPOCHS = 5  # epoch cap of both training runs, at every size (the size's own cap is size.max_epochs)
CHANNELS = (16, 32, 64, 128, 128)  # filters of the encoder's conv blocks: those of the library's compact backbone
CENTRE_NORM = 8.0  # initial norm of every tag centre c_z: the logits' range (the library's losses.INITIAL_PROXY_NORM)
PLAIN_KERAS_LAYERS = False  # True: keras.layers.Conv2D + BatchNormalization, the same maths, slower on torch's CPU
N_LISTEN = 3  # training tracks we listen to, and excerpts of the first batch we look at
VALIDATION_BATCH = 256  # excerpts per validation step (a memory knob only)

workspace = open_workspace(runs=False)
corpus, features, size = workspace.corpus, workspace.features, workspace.size
config = configs.get_config(CONFIG_NAME)
budget = dataclasses.replace(size, max_epochs=min(size.max_epochs, EPOCHS))
labels = np.asarray(corpus.tags) != 0  # (n_tracks, n_tags): the observed tags, multi-hot
tag_categories = np.asarray(corpus.vocabulary.category_ids)  # the category of every tag (an index)
input_shape = (1, features.settings.n_mels, features.settings.excerpt_frames)  # one log-mel excerpt, channels-first
print(f"{config}\ntrained by the library as {configs.trained_as(CONFIG_NAME)!r} (the same function, notebook 02)")
print(f"budget: batch {budget.batch_size}, at most {budget.max_epochs} epochs, patience {budget.patience}, "
      f"at most {budget.max_lr_reductions} learning-rate reductions; excerpts {input_shape}, "
      f"{len(corpus.vocabulary)} tags")

# %% [markdown]
# ## 1. Listen: what the model will learn from
#
# A few training tracks, with the tags the model is trained on (the *observed* tags: noisy, Last.fm-like, with
# missing and wrong ones) beside the clean factors the synthesizer rendered. The loss only ever sees the first
# column; retrieval is judged on it too.

# %%
listen_tracks = workspace.train_tracks[:N_LISTEN]
display(views.audio_table(
    [(f"{corpus.track_ids[track]} | observed tags: {', '.join(corpus.tags_of(int(track))) or '(none)'} | "
      f"clean factors: {', '.join(corpus.factors.iloc[track])}", corpus.audio(track)) for track in listen_tracks],
    corpus.sample_rate, title="training tracks (the middle 4 s of each)"))

# %% [markdown]
# ## 2. Look: one batch of the library's sampler
#
# `mdrbench.train` feeds a classifier `samplers.ExcerptBatches`: each step, B training tracks (a shuffled pass
# over the split per epoch) and one random excerpt of each, with the track's multi-hot tags. It is a Keras
# `PyDataset`, so `model.fit(sampler)` takes it as it is. We build it with the arguments `train.train` uses
# (`train.steps_per_epoch`: one anchor per training track per epoch) and check that its first batch is the
# library's (`train.make_sampler`). A track without any tag gets an all-zero row: every tag absent.

# %%
steps = train.steps_per_epoch(budget, len(workspace.train_tracks))
sampler = samplers.ExcerptBatches(features, workspace.train_tracks, labels, budget.batch_size,
                                  steps_per_epoch=steps, seed=SEED)
first_x, first_y = sampler[0]
library_first = train.make_sampler(config, features, corpus, workspace.train_tracks, budget.batch_size, steps, SEED)[0]
assert all(np.array_equal(mine, theirs) for mine, theirs in zip((first_x, first_y), library_first, strict=True))
print(f"{steps} steps per epoch; x {first_x.shape} {first_x.dtype}, y {first_y.shape} {first_y.dtype}; "
      f"tags per excerpt: mean {first_y.sum(axis=1).mean():.2f}; excerpts without any tag: "
      f"{int((first_y.sum(axis=1) == 0).sum())} of {len(first_y)}")
settings = features.settings
views.mel_grid({f"excerpt {i}: {', '.join(corpus.vocabulary.decode(first_y[i])[:3]) or '(no tag)'}": first_x[i, 0]
                for i in range(N_LISTEN)}, settings.sample_rate, settings.hop_length, columns=N_LISTEN,
               title="the first excerpts of the first batch, with (up to three of) their tags").show()

# %% [markdown]
# ## 3. Write the model: encoder, embedding head, L2 normalization, tag centres
#
# **Encoder.** Five blocks of 3x3 convolution (no bias: the normalization after it has one), batch normalization,
# ReLU and 2x2 max-pooling, each halving the time-frequency map and widening the channels; then the mean *and* the
# maximum over what is left of time and frequency (a texture and its strongest event), concatenated. **Embedding
# head:** one `Dense` layer to f(x), linear, so the embedding can point anywhere on the sphere. **L2
# normalization:** f̂ = f / ||f||, the switch that makes this classifier a proxy-based metric learner (notebook 02).
# **Tag centres:** one learned vector c_z per tag, and the tag's logit ℓ_z = f̂ · c_z, without bias.
#
# This is the library's compact backbone (`models.build_backbone`) written out: the same widths (`CHANNELS`), the
# same layers in the same order, so that section 4 can compare like with like. By default the conv and norm layers
# are the library's `models.ChannelsLastConv2D` and `models.ChannelNormalization`: `keras.layers.Conv2D` and
# `BatchNormalization(axis=1)` with the same weights and maths, computed with torch's faster CPU kernels
# (`PLAIN_KERAS_LAYERS = True` swaps the Keras ones in).
#
# **Why the centres start at norm `CENTRE_NORM`.** |ℓ_z| = |f̂ · c_z| ≤ ||c_z||: with unit-norm f̂ the centre's
# norm is the logits' only scale (a *temperature*, learned). Centres of norm about 1 keep every sigmoid near 0.5 at
# first, unable to say that a tag is rare; the library starts them at norm 8 (`losses.default_tag_initializer`),
# normal with standard deviation 8/√D.

# %%
def conv_layer(filters, name):
    """A 3x3 'same' convolution without bias, channels-first (the log-mels are (batch, 1, mels, frames))."""
    layer = keras.layers.Conv2D if PLAIN_KERAS_LAYERS else models.ChannelsLastConv2D
    return layer(filters, 3, padding="same", use_bias=False, data_format="channels_first", name=name)


def norm_layer(name):
    """Batch normalization over the channels (axis 1); momentum 0.9, as the library's."""
    if PLAIN_KERAS_LAYERS:
        return keras.layers.BatchNormalization(axis=1, momentum=0.9, name=name)
    return models.ChannelNormalization(momentum=0.9, name=name)


def unit_length(f):
    """f / ||f|| row by row; the clamp keeps an all-zero row finite (value and gradient)."""
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


def build_student_model(seed):
    """mel excerpt (B, 1, M, F) -> tag logits (B, n_tags); the layers 'embedding' (f) and 'l2_normalize' (f̂)."""
    keras.utils.set_random_seed(seed)  # Python, NumPy and torch: the initial weights, as train.train does
    mel = keras.Input(shape=input_shape, name="mel")
    x = mel
    for block, filters in enumerate(CHANNELS, start=1):
        x = conv_layer(filters, f"block{block}_conv")(x)
        x = norm_layer(f"block{block}_norm")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(2, data_format="channels_first", name=f"block{block}_pool")(x)
    x = keras.layers.Concatenate(name="pool_concat")([
        keras.layers.GlobalAveragePooling2D(data_format="channels_first", name="avg_pool")(x),
        keras.layers.GlobalMaxPooling2D(data_format="channels_first", name="max_pool")(x)])
    f = keras.layers.Dense(config.embedding_dim, name="embedding")(x)  # the embedding head: f(x), linear
    unit = keras.layers.Lambda(unit_length, name="l2_normalize")(f)  # f̂ = f / ||f||
    logits = TagCentres(len(corpus.vocabulary), CENTRE_NORM, name="tag_centres")(unit)
    return keras.Model(mel, logits, name="student_classifier")


student = build_student_model(SEED)
encoder = keras.Model(student.input, student.get_layer("l2_normalize").output, name="student_encoder")  # -> f̂
print(f"your model: {student.count_params():,} parameters, of which the tag centres "
      f"{student.get_layer('tag_centres').count_params():,}; output {tuple(student.output.shape)}")

# %% [markdown]
# ## 4. Write the loss, and check it against the library on one batch
#
# A track carries several tags at once, so this is not a softmax over tags (which would make them compete for one
# unit of probability) but one binary decision per tag: σ(ℓ_z) = P(tag z | track), and the binary cross-entropy
# −[y log σ(ℓ) + (1 − y) log(1 − σ(ℓ))] **summed over all tags**, a missing tag counting as a negative (the weak
# labels of the paper). With log σ(ℓ) = −softplus(−ℓ) and softplus(−ℓ) = softplus(ℓ) − ℓ, the term is
# softplus(ℓ) − y·ℓ: one stable expression, no log of a rounded-off probability. There is no temperature to set:
# the centres' norms are the scale, and they are learned.
#
# Keras calls a loss with `(y_true, y_pred)` and averages what it returns over the batch, so the function returns
# one value per track.

# %%
def tag_bce(y_true, logits):
    """Per track: Σ_z softplus(ℓ_z) − y_z·ℓ_z, the binary cross-entropy of sigmoid(ℓ_z) summed over the tags."""
    y_true = ops.cast(y_true, logits.dtype)
    return ops.sum(ops.softplus(logits) - y_true * logits, axis=-1)


# %% [markdown]
# **Checked against the library, at the start.** `train.train` seeds Keras (`keras.utils.set_random_seed`) and
# builds its model with `models.build_model`; we do the same. Keras draws each initializer's seed when the layer
# is created, so the same layers created in the same order start from **the same weights**, and on the first batch
# the library's own loss (`compute_objective`, inference mode) must equal yours. A second check takes the library's
# loss layer alone (`losses.ClassificationLoss`, `normalize=True`), gives it your centres and your raw f (it
# normalizes f itself): that compares your normalization, head and loss with the library's, nothing else.

# %%
keras.utils.set_random_seed(SEED)  # what train.train does before it builds its model
library_start = models.build_model(config, tag_categories, input_shape=input_shape, backbone="compact")
yours_start, library_weights = student.get_weights(), library_start.get_weights()
assert [w.shape for w in yours_start] == [w.shape for w in library_weights], "not the library's architecture"
start_gap = max(float(np.abs(mine - theirs).max()) for mine, theirs in zip(yours_start, library_weights, strict=True))

loss_layer = losses.ClassificationLoss(tag_categories, config.embedding_dim, normalize=True)
batch_x, batch_y = ops.convert_to_tensor(first_x), ops.convert_to_tensor(first_y)


def first_batch_loss(model_of_yours):
    """Your loss on the first batch: your model (inference mode), then tag_bce averaged over the batch."""
    with torch.no_grad():
        return float(ops.mean(tag_bce(batch_y, model_of_yours(batch_x, training=False))))


def library_losses(model_of_yours, library_model):
    """On the first batch: the library model's own loss, and the library's loss layer given your f and centres."""
    loss_layer.tag_weights.assign(model_of_yours.get_layer("tag_centres").centres)
    raw = keras.Model(model_of_yours.input, model_of_yours.get_layer("embedding").output)  # x -> f, before f / ||f||
    with torch.no_grad():
        return (float(library_model.compute_objective(batch_x, batch_y, training=False)),
                float(loss_layer(raw(batch_x, training=False), batch_y)))


def check_table(rows):
    """(check, your loss, the library's) rows -> a table with their absolute difference."""
    return pd.DataFrame([{"check": check, "yours": yours, "library's": theirs, "|difference|": abs(yours - theirs)}
                         for check, yours, theirs in rows]).set_index("check")


yours = first_batch_loss(student)
library_model_loss, library_layer_loss = library_losses(student, library_start)
checks = check_table([("start: the library's model (compute_objective)", yours, library_model_loss),
                      ("start: losses.ClassificationLoss on your f and centres", yours, library_layer_loss)])
print(f"initial weights: largest |yours − library's| = {start_gap:g} over {len(yours_start)} arrays")
print(checks.to_string(float_format=lambda v: f"{v:.7g}"))
np.testing.assert_allclose(checks["yours"], checks["library's"], rtol=1e-5)

# %% [markdown]
# ## 5. Train: `compile` and `fit`
#
# Adam at the configuration's learning rate, your loss, the library's sampler. Two callbacks:
#
# * the **schedule** is the library's `train.PaperSchedule` (notebook 04 opens it): divide the learning rate by 5
#   after `patience` epochs without a better validation loss, stop at the stall after the last reduction, keep the
#   best epoch's weights. Reusing it gives your run the library's budget exactly; it monitors `val_loss`, which
#   `fit` computes from `validation_data`: two fixed excerpts of every validation track (`models.fixed_excerpts`,
#   the ones the library validates on), with their tags;
# * `ValidationSpread`, ours, logs the **mean pairwise cosine** of the validation tracks' embeddings after each
#   epoch (mean over distinct pairs: about 0 for a spread space, near 1 when every track points the same way, a
#   collapse), the figure the library logs beside its validation loss.

# %%
valid_tracks = corpus.split_indices("valid")
valid_rows, valid_starts = models.fixed_excerpts(features, valid_tracks, train.VALIDATION_EXCERPTS_PER_TRACK)
valid_x, valid_y = features.batch(valid_rows, valid_starts), labels[valid_rows].astype("float32")


class ValidationSpread(keras.callbacks.Callback):
    """Adds val_mean_cosine to the epoch logs: the spread of the validation tracks' embeddings (mean of excerpts)."""

    def on_epoch_end(self, epoch, logs=None):
        excerpts = encoder.predict(valid_x, batch_size=VALIDATION_BATCH, verbose=0)
        tracks = excerpts.reshape(len(valid_tracks), train.VALIDATION_EXCERPTS_PER_TRACK, -1).mean(axis=1)
        logs["val_mean_cosine"] = train.mean_pairwise_cosine(tracks)


student.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss=tag_bce)
schedule = train.PaperSchedule(patience=budget.patience, factor=config.lr_factor,
                               max_reductions=budget.max_lr_reductions, min_delta=budget.min_delta)
started = time.perf_counter()
history = student.fit(sampler, epochs=budget.max_epochs, validation_data=(valid_x, valid_y),
                      validation_batch_size=VALIDATION_BATCH, callbacks=[ValidationSpread(), schedule], verbose=0)
student_seconds = time.perf_counter() - started
print(f"yours: {len(history.history['loss'])} epochs in {student_seconds:.0f} s, best epoch {schedule.best_epoch}, "
      f"{schedule.reductions} learning-rate reductions, stopped by {schedule.stopped_by!r}")

# %% [markdown]
# The library trains the same configuration with the same seed, size and epoch cap. `backbone="compact"` and
# `precision="fp32"` pin what the size could otherwise change (the Inception network at `full`, bfloat16 on
# hardware that computes it natively), so the two runs differ only in who wrote the code. Not in every random
# draw, though: Keras shuffles the order of a `PyDataset`'s batches within each epoch from Python's random state,
# which the two programs do not leave in the same place, so the runs see batches drawn by the same rules in
# different orders. Their difference is the kind two runs of one code show.

# %%
library = train.train(config, corpus, features, size=budget, seed=SEED, verbose=0, backbone="compact",
                      precision="fp32")
print(f"library: {library.epochs_run} epochs in {library.total_seconds:.0f} s, best epoch {library.best_epoch}, "
      f"{library.lr_reductions} learning-rate reductions, stopped by {library.stopped_by!r}")

# %% [markdown]
# ## 6. Look inside: the loss curves and the spread of the space
#
# Training loss (mean over the epoch's steps, as the weights moved), validation loss (after the epoch, inference
# mode) and the validation tracks' mean pairwise cosine, for both runs. Curves that lie on each other say the two
# codes learn alike; a validation loss that stops falling is where the schedule steps in.

# %%
curves = pd.concat([pd.DataFrame({"model": name, "epoch": np.arange(1, len(log["loss"]) + 1), "loss": log["loss"],
                                  "val_loss": log["val_loss"], "val_mean_cosine": log["val_mean_cosine"]})
                    for name, log in (("yours", history.history), ("library", library.history))])
views.metric_curves_figure(curves, columns=["loss", "val_loss", "val_mean_cosine"],
                           title=f"{CONFIG_NAME}: your training and the library's ({size.name}, seed {SEED})").show()
print(curves.groupby("model", sort=False).nth([0, -1]).set_index(["model", "epoch"]).round(4).to_string())

# %% [markdown]
# ## 7. Measure: the library's evaluation, on both
#
# `mdrbench.evaluate.evaluate` scores anything that looks like an *embedder*: a `name`, whether its embeddings are
# `normalize`d and `disentangled`, whether it `has_head`, and `excerpts(features, tracks, starts)` returning the
# excerpts' embeddings and tag logits. A handful of lines wrap your model; the library's goes through
# `evaluate.ModelEmbedder`, the random baseline through `evaluate.baseline_embedder`. All three are scored on the
# same evaluation sets, drawn once as the benchmark draws them: each test track is the mean of its fixed, evenly
# spaced excerpts; **R@K** is the fraction of a query's tags found among its K nearest tracks (cosine); the **tag
# ROC-AUC** ranks the test tracks by each tag's logit, macro over tags; the **mean pairwise cosine** of the test
# tracks says how spread the space is (near 1: collapsed).

# %%
class StudentEmbedder:
    """Your model as mdrbench.evaluate sees a model: unit-norm embeddings and tag logits of given excerpts."""

    name, normalize, disentangled, has_head = f"your {CONFIG_NAME}", True, False, True

    def __init__(self, classifier, batch_size=VALIDATION_BATCH):
        unit = classifier.get_layer("l2_normalize").output
        self.both = keras.Model(classifier.input, [unit, classifier.output])  # one pass: f̂ and the logits
        self.batch_size = batch_size

    def excerpts(self, features, tracks, starts):
        parts = [self.both.predict(features.batch(tracks[i:i + self.batch_size], starts[i:i + self.batch_size]),
                                   verbose=0) for i in range(0, len(tracks), self.batch_size)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def tracks(self, features, tracks):
        return None  # a track is the mean of its fixed excerpts, as for the library's models


sets = evaluate.make_evaluation_sets(corpus, features, seed=0)  # the benchmark's: drawn once, with the corpus seed
embedders = {"yours": StudentEmbedder(student), "library": evaluate.ModelEmbedder(library.model),
             "random": evaluate.baseline_embedder("random", corpus, features, SEED)}
evaluations = {name: evaluate.evaluate(embedder, corpus, features, sets, seed=SEED, probes=False)
               for name, embedder in embedders.items()}
scores = pd.DataFrame({name: {**{f"R@{k} (%)": 100 * value for k, value in e.record["recall_at_k"].items()},
                              "tag ROC-AUC": e.record["auc"]["roc_auc"],
                              "mean pairwise cosine": e.record["embedding_spread"]["mean_cosine"]}
                       for name, e in evaluations.items()}).T
scores.loc["yours − library"] = scores.loc["yours"] - scores.loc["library"]
print(f"{CONFIG_NAME} on the {size.name} test split, seed {SEED}, at most {budget.max_epochs} epochs "
      f"(the tag AUC of 'random': its embedder has no tag head, so the evaluation scores tags by prototypes)")
print(scores.round(3).to_string())

# %% [markdown]
# The test tracks' cosine similarities in both spaces, sorted by clean genre (black lines where it changes):
# bright blocks on the diagonal are genres that the space keeps together; a uniformly bright square is a space
# where every track points the same way.

# %%
genres = workspace.test_factors["genre"].to_numpy()
views.cosine_heatmaps({name: evaluations[name].test_embeddings for name in ("yours", "library")},
                      order=np.argsort(genres, kind="stable"), groups=genres,
                      title="cosine similarity of the test tracks, sorted by genre").show()

# %% [markdown]
# **Checked against the library, after training.** The library's trained weights go into your architecture
# (`set_weights`: the same arrays in the same order), and your code must compute the library's loss on the first
# batch; your trained centres and f go through the library's loss layer, which must compute yours.

# %%
twin = build_student_model(SEED)
twin.set_weights(library.model.get_weights())
library_trained_loss, _ = library_losses(twin, library.model)
_, library_layer_on_yours = library_losses(student, library.model)
checks = pd.concat([checks, check_table([
    ("trained: the library's weights in your code", first_batch_loss(twin), library_trained_loss),
    ("trained: your weights in losses.ClassificationLoss", first_batch_loss(student), library_layer_on_yours)])])
print(checks.to_string(float_format=lambda v: f"{v:.7g}"))
np.testing.assert_allclose(checks["yours"], checks["library's"], rtol=1e-5)
relative = (checks["|difference|"] / checks["library's"].abs()).max()
print(f"largest |your loss − the library's|: {checks['|difference|'].max():.3g}, relative {relative:.2g} "
      "(float32 rounding: about 1e-7 relative)")

# %% [markdown]
# ## What we learned
#
# * The normalized classifier is short to write: an encoder, a linear head, f / ||f||, a matrix of tag centres and
#   softplus(ℓ) − y·ℓ summed over tags. The checks above print how far your loss is from the library's on the same
#   batch, at the start and after training, from your weights and from the library's.
# * A model that computes the same loss need not give the same numbers after training: the batches come in
#   another order. Read section 7's difference row against that noise, not against zero (exercise 2 measures it),
#   and read both against the random row: that is what no learning reaches.
# * The mean pairwise cosine is cheap to log and says early whether a space is collapsing; section 6 shows where it
#   went in both runs, section 7 where it ended on the test tracks.
#
# Next: notebook 02 takes the normalization out (`classification-raw-full`), notebook 04 opens the schedule and the
# triplet samplers, and exercise 3 below writes the triplet loss the same way.

# %% [markdown]
# ## Exercises
#
# Worked solutions, with checks, one section per exercise:
# [`solutions/13_train_it_yourself_solutions.ipynb`](solutions/13_train_it_yourself_solutions.ipynb).
#
# 1. **The centres' norm: predict, then run.** Rebuild your model with `CENTRE_NORM = 1` (about what Glorot gives
#    a 256-d vector) and compute the first batch's loss and the range of its logits at initialization; then train
#    it with the same budget. Predict first whether the loss starts higher or lower than at norm 8, and which model
#    ends with the better tag AUC. *(Solution: exercise 1.)*
# 2. **How different are two runs of one code?** Train the library's model again with another seed and compare
#    the difference of its metrics from the first seed's with the difference between your run and the library's in
#    section 7. Which differences would you call real? *(Solution: exercise 2.)*
# 3. **Open-ended: write the triplet loss.** For `triplet-norm-full` with `triplet_mining="none"` (the paper's one
#    triplet per anchor, `configs.get_config(..., triplet_mining="none")`), write the cosine triplet loss
#    max(0, cos(a, n) − cos(a, p) + margin) in `keras.ops`, an encoder that embeds the sampler's (anchor, positive,
#    negative) groups, and check your loss against the library's model on one batch of `samplers.TagTripletBatches`
#    at initialization. Then train it briefly and evaluate it: what replaces the tag head for the AUC?
#    *(Solution: exercise 3, a worked sketch.)*
