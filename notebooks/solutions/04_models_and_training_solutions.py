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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/solutions/04_models_and_training_solutions.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2Fsolutions%2F04_models_and_training_solutions.ipynb)
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
# # 04 · Solutions: models and training
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../../docs/glossary.md).
#
# Worked solutions to the exercises at the end of `04_models_and_training`: which configuration names exist, what
# the schedule's patience does to a run, what the track weight asks of the space, and (open-ended) what one
# training batch of a triplet model teaches.
#
# Like the notebook, it reads `MDRBENCH_SIZE` (unset: `default` from the shipped reference results, else `ci`) and
# reuses the benchmark's stored runs (`open_workspace`); it trains nothing. Every number is printed, never written here;
# the `assert` lines check the answers against a second computation.
#
# **Time:** ci about 15 s · default about 20 s · full: not measured — once the corpus and its log-mels are cached (a
# fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks). At default the
# runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you have any, replace
# them whole (and are trained first where missing: about 5 min at ci, about an hour at default).

# %%
import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()

import keras
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from mdrbench import configs, losses, models, samplers, train
from mdrbench.corpus import CATEGORIES
from mdrbench.subspaces import subspace_masks
from mdrbench.workspace import open_workspace

SEED = 0
workspace = open_workspace()
size, corpus, features = workspace.size, workspace.corpus, workspace.features
labels, tag_categories = np.asarray(corpus.tags), np.asarray(corpus.vocabulary.category_ids)

# %% [markdown]
# ## Exercise 1: which names exist?
#
# **Answer.** A name is `{objective}-{norm|raw}-{dis|full}`, but not every combination makes sense:
#
# * `proxy-raw-full`: **no**. Proxies are compared by cosine, so the proxy loss needs a normalized embedding; only
#   classification has a raw form.
# * `classification-raw-dis`: **no**. A disentangled model normalizes each sub-space (its heads are cosines).
# * `triplet-track-norm-full`: **yes**, although the paper does not train it: track regularization on the complete
#   space only.
# * `proxy-norm-dis`: **yes**, one of the paper's eight.
#
# `configs.get_config` accepts any valid name and explains a refusal:

# %%
verdicts = {}
for name in ("proxy-raw-full", "classification-raw-dis", "triplet-track-norm-full", "proxy-norm-dis"):
    try:
        config = configs.get_config(name)
        verdicts[name] = f"valid{' (one of the paper’s eight)' if name in configs.PAPER_NAMES else ''}: {config}"
    except ValueError as error:
        verdicts[name] = f"refused: {error}"
for name, verdict in verdicts.items():
    print(f"{name}: {verdict}\n")
assert verdicts["proxy-raw-full"].startswith("refused") and verdicts["classification-raw-dis"].startswith("refused")
assert verdicts["triplet-track-norm-full"].startswith("valid") and "proxy-norm-dis" in configs.PAPER_NAMES

# %% [markdown]
# ## Exercise 2: patience (predict, then run)
#
# **Prediction.** The schedule divides the learning rate after `patience` stalled epochs and stops at the stall
# after the last reduction. More patience means waiting longer at every plateau: **longer runs** and a later best
# epoch, and usually a lower best loss (each learning rate gets more epochs to settle), though not always: the
# reductions fall at other epochs, so the noise they meet differs. Fewer allowed reductions means stopping earlier,
# at a higher learning rate, so a higher loss floor.
#
# The toy learner of the notebook, run to the end for several settings with the same noise:

# %%
def run_schedule(patience: int, max_reductions: int, max_epochs: int = 400) -> dict:
    """The notebook's toy learner (mdrbench.train.toy_schedule_run); the same noise for every setting."""
    history, schedule = train.toy_schedule_run(patience, max_reductions, min_delta=size.min_delta,
                                               max_epochs=max_epochs, seed=SEED)
    losses_per_epoch = [row["val_loss"] for row in history]
    return {"epochs run": len(losses_per_epoch), "best epoch": schedule.best_epoch,
            "best loss": min(losses_per_epoch), "reductions": schedule.reductions, "stopped by": schedule.stopped_by}


patience_table = pd.DataFrame({patience: run_schedule(patience, 5) for patience in (1, 2, 4, 8)}).T
patience_table.index.name = "patience (5 reductions)"
print(patience_table.to_string())
reductions_table = pd.DataFrame({reductions: run_schedule(4, reductions) for reductions in (0, 1, 3, 5)}).T
reductions_table.index.name = "reductions (patience 4)"
print(reductions_table.to_string())
assert patience_table["epochs run"].is_monotonic_increasing
assert reductions_table["epochs run"].is_monotonic_increasing
assert (patience_table["stopped by"] == "schedule").all()

# %% [markdown]
# **Reading it.** Each run ends `patience` stalled epochs after its last improvement, after its last allowed
# reduction, so patience multiplies the waiting at every plateau. The paper's 10 epochs and 5 reductions need at
# least 60 stalled epochs after the best one: this is why each size scales them down, and why "epochs to
# convergence" means the best epoch, not the last.
#
# ## Exercise 3: the track weight
#
# **Answer.** L = L_tag + w · L_track is linear in w. With w = 0 the model is a plain disentangled triplet model:
# only tags shape the space, and two excerpts of one track may land far apart if their tags say nothing about it.
# With w = 1 keeping a recording's excerpts together weighs as much as the tags, a pull towards a space organized
# by recording identity (in the complete space, where the track term lives). The paper's 0.5 sits between.
# The stored `triplet-track-norm-dis` model's embeddings of one batch, under the loss layer with each weight:

# %%
track_config = configs.get_config("triplet-track-norm-dis")
batch_x, batch_categories = samplers.TagAndTrackTripletBatches(features, workspace.train_tracks, labels,
                                                               tag_categories, size.batch_size, 1, seed=SEED)[0]
with torch.no_grad():
    embedded = workspace.run(track_config.name).model(keras.ops.convert_to_tensor(batch_x))  # (B, 6, D)
    by_weight = {}
    for weight in (0.0, track_config.track_weight, 1.0):
        loss_layer = losses.TrackRegularizedTripletLoss(tag_categories, track_config.embedding_dim, disentangled=True,
                                                        margin=track_config.margin, track_weight=weight)
        by_weight[weight] = float(keras.ops.convert_to_numpy(
            loss_layer(*[embedded[:, i] for i in range(3)], batch_categories, *[embedded[:, i] for i in range(3, 6)])))
print(pd.Series(by_weight, name="L on this batch").rename_axis("track_weight").to_string())
tag_part, track_part = by_weight[0.0], by_weight[1.0] - by_weight[0.0]
print(f"L_tag {tag_part:.4f}, L_track {track_part:.4f}")
assert np.isclose(by_weight[track_config.track_weight], tag_part + track_config.track_weight * track_part, atol=1e-5)
assert track_part >= 0  # a hinge loss is never negative

# %% [markdown]
# ## Exercise 4 (open-ended): what does one batch teach?
#
# A worked sketch. One training batch of `triplet-norm-dis`, drawn by its own sampler (`train.make_sampler`, the
# benchmark's, with in-batch mining), through the stored model (seed 0) and the same architecture freshly
# initialized. With the paper's sampling each anchor gives one comparison: the table shows the share of those B
# triplets that already satisfy the margin (loss exactly 0: no gradient at all) and their mean loss. With mining
# each anchor is compared with every positive and negative of the batch: the table counts those comparisons and
# gives the mined loss (the mean over the ones still violating the margin), by the model's own loss layer.

# %%
config = configs.get_config("triplet-norm-dis")
x, y = train.make_sampler(config, features, corpus, workspace.train_tracks, size.batch_size, 1, SEED + 1)[0]
keras.utils.set_random_seed(SEED)
fresh_model = models.build_model(config, tag_categories, input_shape=x.shape[2:], backbone=size.backbone)
masks = subspace_masks(config.embedding_dim)[y["categories"]]
carriers = y["labels"].reshape(-1, y["labels"].shape[-1])[:, y["tags"]].T.sum(axis=1)  # per anchor, itself included
batch_rows = {}
for name, model in (("freshly initialized", fresh_model), ("trained", workspace.run(config.name).model)):
    with torch.no_grad():
        embeddings = model(keras.ops.convert_to_tensor(x), training=False)  # (B, 3, D)
        hinge = keras.ops.convert_to_numpy(keras.ops.relu(
            losses.cosine_similarity(embeddings[:, 0], embeddings[:, 2], masks)
            - losses.cosine_similarity(embeddings[:, 0], embeddings[:, 1], masks) + config.margin))
        mined = float(keras.ops.convert_to_numpy(model.compute_objective(keras.ops.convert_to_tensor(x), y, False)))
    batch_rows[name] = {"one per anchor: share satisfied": np.mean(hinge == 0), "one per anchor: loss": hinge.mean(),
                        "mined: comparisons per anchor": np.mean((carriers - 1) * (3 * len(carriers) - carriers)),
                        "mined loss": mined}
display(pd.DataFrame(batch_rows).T)
assert (pd.DataFrame(batch_rows).T["mined: comparisons per anchor"] >= 1).all()

# %% [markdown]
# And the triplets no model can satisfy: the tags are noisy, so a negative that lacks the tag may still have the
# factor (its clean tag is set). Over many batches of the tag-triplet sampler, per category:

# %%
sampler = samplers.TagTripletBatches(features, workspace.train_tracks, labels, tag_categories, size.batch_size, 50,
                                     seed=SEED)
drawn = [sampler.sample_tags(index) for index in range(len(sampler))]
tags = np.concatenate([d[0] for d in drawn])
negatives = np.concatenate([d[3] for d in drawn])
positives = np.concatenate([d[2] for d in drawn])
noisy = pd.DataFrame({"category": [CATEGORIES[c] for c in tag_categories[tags]],
                      "negative truly has the factor": workspace.clean_tags[negatives, tags],
                      "positive truly lacks it": ~workspace.clean_tags[positives, tags]})
display(noisy.groupby("category").mean().assign(triplets=noisy.groupby("category").size()))
assert noisy["negative truly has the factor"].between(0, 1).all() and len(noisy) == len(sampler) * size.batch_size

# %% [markdown]
# **What to look for.**
#
# * A fresh model's loss sits near the margin with almost no satisfied triplet: every triplet teaches, weakly. If the
#   trained model satisfies more of them, sampling one triplet per anchor gives it fewer and fewer gradients; mining
#   keeps many comparisons per anchor and averages over the ones still violated.
# * The share of unsatisfiable triplets is the label noise of the corpus, per category. Sampling only clean
#   triplets would need the clean tags, which a real corpus does not have; a margin and averaging over many
#   comparisons let a model live with them. Would a larger margin help or hurt with noisy triplets? Try it with
#   `configs.get_config("triplet-norm-dis", margin=...)` and the hinge above.
