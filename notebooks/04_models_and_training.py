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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/04_models_and_training.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F04_models_and_training.ipynb)
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
# # 04 · Models and training
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# Every table from notebook 05 on compares eight trained models. This notebook opens them up: their **names**, the
# **backbone** they share, the **batches** each objective learns from, the **losses** those batches feed, the
# **schedule** that decides when a model has converged, and why the triplet models at first did not learn at all.
# Nothing is trained here: every model is the benchmark's stored run.
#
# **Objectives:**
#
# - Read a configuration's name, `{objective}-{norm|raw}-{dis|full}`, and tell the `-full` suffix from the size `full`.
# - Describe the batches of the three samplers, and check the track-regularized triplet loss by hand.
# - Explain how the paper's learning-rate schedule decides that a run has converged, and read `stopped_by`.
# - Compare the paper's triplet setting with a lower learning rate and in-batch mining, with a verdict over seeds.
#
# **Prerequisites:** [02 · Metric learning vs classification](02_metric_learning_vs_classification.ipynb),
# [03 · Proxy losses](03_proxy_losses.ipynb); background: convolutional networks, Adam and learning-rate schedules, the
# triplet loss.
#
# **Time:** ci about 20 s · default about 30 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you
# have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at default).
#
# **Setup.** `MDRBENCH_SIZE` picks the size (unset: `default`, read from the reference results that ship with mdrbench,
# else `ci`; `default` is the benchmark the conclusions need); `open_workspace` loads its corpus, log-mels and stored
# runs. `TRIPLET_CURVES` is the CSV that `benchmarks/triplet_learning.py` writes (`MDRBENCH_TRIPLET_CURVES`, else
# `docs/triplet_learning.csv`).

# %%
import os
from pathlib import Path

import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()

import keras
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from mdrbench import configs, losses, report, samplers, train, views
from mdrbench.corpus import CATEGORIES
from mdrbench.workspace import open_workspace

SHOWN = 6  # rows of each batch shown
SCHEDULE_PATIENCE, SCHEDULE_REDUCTIONS = 4, 5  # the schedule demo (the paper: 10 epochs, 5 reductions)
SCHEDULE_EPOCHS = 150  # longest toy run
SEED = 0
TRIPLET_CURVES = Path(os.environ.get("MDRBENCH_TRIPLET_CURVES") or next(
    (folder / "docs" / "triplet_learning.csv" for folder in (Path.cwd(), *Path.cwd().parents)
     if (folder / "pyproject.toml").exists()), Path("docs/triplet_learning.csv")))
pd.set_option("display.precision", 3)

workspace = open_workspace()
size, corpus, features = workspace.size, workspace.corpus, workspace.features
tag_categories = np.asarray(corpus.vocabulary.category_ids)

# %% [markdown]
# ## 1. Eight configurations, one naming rule
#
# A name reads `{objective}-{norm|raw}-{dis|full}`: the training objective; whether the embedding is L2-normalized
# before the loss; and whether it is split into four fixed 64-d **sub-spaces**, one per category (`dis`), or
# trained whole (`full`). Careful: this `-full` suffix means "the complete space, not disentangled". It is not the
# size `full` (`MDRBENCH_SIZE=full`, the GPU-sized benchmark), and "the full space" of older texts is what the
# glossary calls the **complete space** ([glossary: "full" vs "-full"](../docs/glossary.md#full-vs--full)).
# The table is printed from `mdrbench.configs`, with each stored model's parameter count:

# %%
names = pd.DataFrame([config.to_dict() for config in configs.CONFIGS.values()]).set_index("name")
shared = [column for column in names.columns if names[column].nunique() == 1]
print("the same for all eight:", names[shared].iloc[0].to_dict())
names = names.drop(columns=shared)
names["excerpts per anchor"] = [train.EXCERPTS_PER_ITEM[objective] for objective in names["objective"]]
names["trained as"] = [configs.trained_as(name) for name in names.index]
names["parameters"] = [workspace.run(name).model.count_params() for name in names.index]
display(names)

# %% [markdown]
# Of the settings shared by all eight, `margin` and `triplet_mining` matter to the triplet objectives only,
# `track_weight` to `triplet-track` only, `lr_factor` is the schedule's (section 6).
# `classification-norm-full` is trained as `proxy-norm-full`: the two are one function (a normalized embedding
# dotted with one learned vector per tag), so the benchmark trains it once (`configs.SAME_FUNCTION`).
#
# ## 2. The backbone
#
# All eight share one backbone, a log-mel excerpt in, a 256-d embedding f(x) out; the size picks which
# (`size.backbone`: the paper's Inception network at `full`, a compact CNN on CPUs). One row per block of the
# stored `proxy-norm-dis` model's backbone (`model.backbone.summary()` prints every layer):

# %%
backbone = workspace.run("proxy-norm-dis").model.backbone
layers = pd.DataFrame([{"block": layer.name.split("_")[0], "layer": type(layer).__name__,
                        "output shape": tuple(layer.output.shape[1:]), "parameters": layer.count_params()}
                       for layer in backbone.layers])
blocks = layers.groupby("block", sort=False).agg(layers=("layer", ", ".join), output=("output shape", "last"),
                                                 parameters=("parameters", "sum"))
display(blocks)
print(f"backbone {size.backbone!r}: {backbone.count_params():,} parameters")

# %% [markdown]
# ## 3. What each objective learns from: three samplers
#
# An epoch draws one **anchor excerpt per training track** for every objective (notebook 09 counts what that
# costs). What an anchor comes with differs (`mdrbench.samplers`):
#
# * proxy and classification: `ExcerptBatches`, one random excerpt per track with its observed tags;
# * triplet: `TagTripletBatches`, a category drawn uniformly, then one of its tags, then an anchor and a positive
#   that carry the tag and a negative that lacks it;
# * triplet-track: the same, plus a `TrackTripletBatches` triplet: two excerpts of one track (overlapping at most
#   half an excerpt) against an excerpt of another track.

# %%
labels = np.asarray(corpus.tags)
train_tracks = workspace.train_tracks
excerpt_x, excerpt_y = samplers.ExcerptBatches(features, train_tracks, labels, size.batch_size, seed=SEED)[0]
tag_sampler = samplers.TagTripletBatches(features, train_tracks, labels, tag_categories, size.batch_size, 1,
                                         seed=SEED, with_labels=True)
triplet_x, triplet_y = tag_sampler[0]
track_sampler = samplers.TrackTripletBatches(features, train_tracks, size.batch_size, 1, seed=SEED)
track_x, _ = track_sampler[0]
print(f"excerpts: x {excerpt_x.shape}, y {excerpt_y.shape} (multi-hot tags)\n"
      f"tag triplets: x {triplet_x.shape} (anchor, positive, negative), categories {triplet_y['categories'].shape}\n"
      f"track triplets: x {track_x.shape}")

tags, anchors, positives, negatives = tag_sampler.sample_tags(0)
triplets = pd.DataFrame({"category": [CATEGORIES[c] for c in triplet_y["categories"]],
                         "tag": [workspace.tag_names[t] for t in tags], "anchor": corpus.track_ids[anchors],
                         "positive": corpus.track_ids[positives], "negative": corpus.track_ids[negatives],
                         "negative truly has it (clean tags)": workspace.clean_tags[negatives, tags]})
display(triplets.head(SHOWN))
print("tag triplets per category in this batch:", triplets["category"].value_counts().to_dict())
tracks, anchor_starts, positive_starts, negative_tracks, _ = track_sampler.sample_tracks(0)
overlap = np.clip(1 - abs(anchor_starts - positive_starts) / features.settings.excerpt_frames, 0, 1)
display(pd.DataFrame({"track": corpus.track_ids[tracks], "anchor start": anchor_starts, "positive start":
                      positive_starts, "overlap": overlap, "negative": corpus.track_ids[negative_tracks]}).head(SHOWN))

# %% [markdown]
# The last column of the tag-triplet table matters later: the tags are noisy (Last.fm-like), so a negative can
# lack the tag and still have the factor, a triplet no model can satisfy.
#
# ## 4. Track regularization: L = L_tag + w · L_track
#
# `triplet-track-norm-dis` adds the track triplet's loss, in the complete space, to the tag triplet's loss (in
# the tag's sub-space) with the weight `track_weight` (the paper's 0.5). Its loss layer
# (`losses.TrackRegularizedTripletLoss`) on one batch of six excerpts per item, against the two terms computed
# apart (one triplet per anchor, the paper's form; the benchmark's in-batch mining weights its terms the same):

# %%
track_config = configs.get_config("triplet-track-norm-dis")
batch_x, batch_categories = samplers.TagAndTrackTripletBatches(features, train_tracks, labels, tag_categories,
                                                               size.batch_size, 1, seed=SEED)[0]
track_model = workspace.run(track_config.name).model
with torch.no_grad():
    embedded = track_model(keras.ops.convert_to_tensor(batch_x))  # (B, 6, D)
    tag_triplet, track_triplet = [embedded[:, i] for i in range(3)], [embedded[:, i] for i in range(3, 6)]
    tag_part = losses.TripletLoss(tag_categories, disentangled=True, margin=track_config.margin)(*tag_triplet,
                                                                                                 batch_categories)
    track_part = losses.triplet_margin_loss(*track_triplet, margin=track_config.margin)
    total = track_model.objective(*tag_triplet, batch_categories, *track_triplet)
tag_part, track_part, total = (float(keras.ops.convert_to_numpy(v)) for v in (tag_part, track_part, total))
print(f"L_tag {tag_part:.4f} + {track_config.track_weight} x L_track {track_part:.4f} = "
      f"{tag_part + track_config.track_weight * track_part:.4f}; the loss layer: {total:.4f}")
assert np.isclose(total, tag_part + track_config.track_weight * track_part, atol=1e-5)

# %% [markdown]
# ## 5. The disentangled classifier's four heads
#
# `classification-norm-dis` is the one model whose sub-spaces are not slices of f(x): four `Dense` heads of 64
# units sit on f(x), one per category, each normalized on its own and classifying only its category's tags. The
# stored model's heads, and the norm of each 64-d block of its embedding of the excerpt batch above:

# %%
classifier = workspace.run("classification-norm-dis").model
display(pd.DataFrame([{"head": head.name, "units": head.units, "kernel": tuple(head.kernel.shape)}
                      for head in classifier.heads]))
with torch.no_grad():
    head_embeddings = keras.ops.convert_to_numpy(classifier(keras.ops.convert_to_tensor(excerpt_x)))
norms = [np.linalg.norm(head_embeddings[:, block], axis=1) for block in workspace.subspaces().values()]
print(f"norm of each 64-d block, over the batch: {np.min(norms):.4f} to {np.max(norms):.4f}")

# %% [markdown]
# ## 6. When has a model converged? The paper's schedule
#
# The paper trains with Adam and divides the learning rate by 5 whenever the validation loss has not improved
# for 10 epochs; after 5 reductions the next stall stops training, and the best epoch's weights are kept.
# `train.PaperSchedule` is that rule as one Keras callback (an improvement is a fall by more than a relative
# `min_delta`). It records why a run ended in `stopped_by`: `"schedule"` (converged), `"cap"` (the size's safety
# cap on epochs came first) or `"nan"`; only runs stopped by the schedule feed a finding.
# `train.toy_schedule_run` drives it with a **toy learner**: each epoch its loss moves 20% of the way towards a
# floor that is higher when the learning rate is large, plus noise, so it drops again after every reduction.

# %%
toy_history, schedule = train.toy_schedule_run(SCHEDULE_PATIENCE, SCHEDULE_REDUCTIONS, min_delta=size.min_delta,
                                               max_epochs=SCHEDULE_EPOCHS, seed=SEED)
toy_history = pd.DataFrame(toy_history)
print(f"ran {len(toy_history)} epochs, {schedule.reductions} reductions; best epoch (= epochs to convergence) "
      f"{schedule.best_epoch}; stopped_by: {schedule.stopped_by!r}")
schedule_figure = views.metric_curves_figure(toy_history.assign(run="toy learner"), by="run",
                                             columns=["val_loss", "lr"], title="PaperSchedule on a toy learner")
schedule_figure.add_vline(x=schedule.best_epoch, line_dash="dash", line_color="#888", annotation_text="best epoch")
schedule_figure.update_yaxes(type="log", row=1, col=2).show()

# %% [markdown]
# "Epochs to convergence" is the best epoch, before the run ends. The paper's patience needs at least 60 stalled
# epochs after it, more than a CPU affords, so each size scales it. How every stored run stopped, then the
# validation curves of the first seed: each loss divided by its first epoch's (the objectives' losses have different
# scales), and the **mean pairwise cosine** of the validation embeddings (near 1: a collapsed space).

# %%
print(f"size {size.name}: patience {size.patience}, at most {size.max_lr_reductions} reductions, relative "
      f"min_delta {size.min_delta}, safety cap {size.max_epochs} epochs")
trained = workspace.results.query("kind == 'model' and same_as.isna()", engine="python")
display(trained.set_index(["config", "seed"])[["epochs_run", "epochs_to_convergence", "lr_reductions",
                                               "stopped_by"]])
curves = pd.concat([pd.DataFrame({"model": config, "epoch": np.arange(1, len(h["val_loss"]) + 1),
                                  "validation loss / epoch 1": np.asarray(h["val_loss"]) / h["val_loss"][0],
                                  "validation mean cosine": h["val_mean_cosine"]})
                    for config in trained["config"].unique()
                    for h in [workspace.run(config, workspace.seeds[0]).history["history"]]])
views.metric_curves_figure(curves, title=f"stored runs, seed {workspace.seeds[0]} ({size.name})").show()

# %% [markdown]
# ## 7. Why the triplet models sat at the margin, and what made them learn
#
# With the paper's learning rate (0.005) and one triplet per drawn tag, the triplet models of an earlier version
# of this benchmark never left the margin (a loss at the margin means cos(a, n) ≈ cos(a, p): nothing separated)
# and their embeddings collapsed. Two changes are now the triplet defaults (section 1's table): **learning rate
# 0.001**, and **in-batch mining** (`triplet_mining="all"`, Hermans et al., 2017): each anchor is compared with
# *every* excerpt of its batch that carries its tag and every one that does not, and the loss averages over the
# comparisons still violating the margin. The stored triplet runs, at epoch 1 and at their best epoch:

# %%
margin = configs.get_config("triplet-norm-dis").margin
display(pd.DataFrame([{"config": run.result["config"], "seed": seed, "margin": margin,
                       "val loss, epoch 1": h["val_loss"][0], "val loss, best": h["val_loss"][best],
                       "mean cosine, epoch 1": h["val_mean_cosine"][0], "mean cosine, best": h["val_mean_cosine"][best]}
                      for config in report.TRIPLETS if config in set(trained["config"]) for seed in workspace.seeds
                      for run in [workspace.run(config, seed)] for h in [run.history["history"]]
                      for best in [run.history["best_epoch"] - 1]]).set_index(["config", "seed"]))

# %% [markdown]
# `benchmarks/triplet_learning.py` trains `triplet-norm-full` at `default` with a constant learning rate under
# four settings: "paper" (lr 0.005, one triplet per anchor), "lower lr", "mining", "lower lr + mining" (the default).

# %%
if TRIPLET_CURVES.exists():
    learning = pd.read_csv(TRIPLET_CURVES)
    print(f"{TRIPLET_CURVES.name}: size {', '.join(map(str, learning['size'].unique()))}")
    seeds = sorted(learning["seed"].unique().tolist())
    over_seeds = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean over {len(seeds)} seeds"
    mean_curves = learning.groupby(["setting", "epoch"], sort=False).mean(numeric_only=True).reset_index()
    # the validation loss (the paper's loss on fixed triplets), not the mined training loss, which averages over
    # its non-zero terms only and so stays near the margin even while the model learns
    learning_figure = views.metric_curves_figure(
        mean_curves, by="setting", columns=["val_loss", "val_mean_cosine", "val_R@1", "val_triplet_accuracy"],
        title=f"triplet-norm-full: what made the triplet models learn ({over_seeds})")
    learning_figure.add_hline(y=margin, line_dash="dash", line_color="#888", annotation_text="margin", row=1, col=1)
    learning_figure.show()
    best_r1 = learning.groupby(["seed", "setting"])["val_R@1"].max().unstack("setting")
    display(best_r1.mean().rename(f"best validation R@1, {over_seeds}").to_frame())
    if {"paper", "lower lr + mining"} <= set(best_r1.columns):
        comparison = report.compare(best_r1["lower lr + mining"] - best_r1["paper"])
        print(f"[{comparison.verdict}] 'lower lr + mining' reaches a higher best validation R@1 than 'paper' "
              f"(per seed): {comparison.describe(3)}")
else:  # about 15 minutes on 2 CPU cores
    print(f"{TRIPLET_CURVES} is missing: python benchmarks/triplet_learning.py --size default --out {TRIPLET_CURVES}")

# %% [markdown]
# A loss that stays at the dashed margin with a mean cosine near 1 is the collapse; a setting that learns pulls
# its loss below the margin, spreads the embeddings and raises R@1. The verdict uses the one comparison rule
# (`report.compare`): with a single seed it stays undetermined.
#
# ## What we learned
#
# * Eight configurations, `{objective}-{norm|raw}-{dis|full}`, one backbone; `-full` is the complete space.
#   Proxy and classification models learn from one excerpt per anchor, triplet models from three (six with the
#   track triplet, weighted by `track_weight`); `classification-norm-dis` adds four normalized heads.
# * A run converged when the schedule stopped it; its best epoch is its epochs to convergence (notebook 09 turns
#   them into the training-time ratio). Whether mining and a lower learning rate beat the paper's setting is a
#   printed verdict, not a given.

# %% [markdown]
# ## Exercises
#
# Worked solutions, with checks:
# [`solutions/04_models_and_training_solutions.ipynb`](solutions/04_models_and_training_solutions.ipynb).
#
# 1. **Which names exist?** Which of `proxy-raw-full`, `classification-raw-dis`, `triplet-track-norm-full` and
#    `proxy-norm-dis` are valid configurations, and why? Check with `configs.get_config`. *(Solution: exercise 1.)*
# 2. **Patience: predict, then run.** Run the toy learner of section 6 with `SCHEDULE_PATIENCE` = 1, 2, 4, 8, then
#    `SCHEDULE_REDUCTIONS` = 0, 1, 3, 5. Predict first how the epochs run, the best epoch and the best loss change.
#    *(Solution: exercise 2.)*
# 3. **The track weight.** Recompute the loss of section 4 with `track_weight` 0 and 1: what does each extreme
#    ask of the space? *(Solution: exercise 3.)*
# 4. **Open-ended: what does one batch teach?** Put one training batch of `triplet-norm-dis` through the trained
#    and a freshly initialized model: how many triplets are already satisfied, how many comparisons does mining add,
#    and how many triplets can no model satisfy (the negative truly has the factor, `workspace.clean_tags`)?
#    *(Solution: exercise 4, a worked sketch.)*
