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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/09_training_time.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F09_training_time.ipynb)
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
# # 09 · Training time: epochs to convergence x the cost of an epoch, measured fairly
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# The first column of the paper's Table 1 is not an accuracy but a cost: how long each model takes to train,
# relative to the fastest. In the paper the two complete-space (`-full`) classification models set the pace (1.00);
# the proxy models and the disentangled classifier follow (1.11-1.29); triplet models take 1.87-3.05 times as long.
# This notebook takes that number apart and shows how mdrbench measures it so that the machine's load cannot decide
# it:
#
# 1. the definition: **epochs to convergence x steps per epoch x the cost of one step**, as a ratio to the
#    fastest configuration;
# 2. the **data budget** of an epoch (one anchor excerpt per training track, for every objective) and the
#    excerpts each objective embeds per step;
# 3. the **cost of a step**, measured for every configuration in one process, interleaved (`timing.json`);
# 4. the ratio of every stored run, recomputed by hand from those parts.
#
# Epochs to convergence come from the paper's learning-rate schedule, which notebook 04 explains; the ratios with
# their interval over seeds beside the paper's, and the finding they test, are in notebook 10.
#
# **Objectives:**
#
# - Define the paper's training time as epochs to convergence x steps per epoch x the cost of a step, relative to the
#   fastest model.
# - Explain the data budget of an epoch and count the excerpts each objective embeds per step.
# - Explain why the cost of a step is timed for every configuration in one process, interleaved.
# - Recompute every stored run's training-time ratio from its parts.
#
# **Prerequisites:** [04 · Models and training](04_models_and_training.ipynb); background: what an epoch, a batch and a
# training step are.
#
# **Time:** ci about 15 s · default about 15 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you
# have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at default).
#
# **Setup.** `MDRBENCH_SIZE` picks the size (unset: `default`, read from the reference results that ship with mdrbench,
# else `ci`; `default` is the benchmark the conclusions need); `open_workspace` loads its corpus and the benchmark's
# stored runs, and prints what they rest on.

# %%
import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()

import json

import numpy as np
import pandas as pd
from IPython.display import display

import mdrbench.metrics as metrics
import mdrbench.train
import mdrbench.views as views
from mdrbench.workspace import open_workspace

pd.set_option("display.precision", 3)
pd.set_option("display.width", 160)

workspace = open_workspace()
size, results = workspace.size, workspace.results
models = results[results["kind"] == "model"]
trained = models[models["same_as"].isna()]  # each trained run once
print(f"size {size.name}: batch {size.batch_size}, patience {size.patience}, at most {size.max_lr_reductions} "
      f"learning-rate reductions, safety cap {size.max_epochs} epochs")

# %% [markdown]
# ## 1. The definition, and why a ratio
#
# The paper defines training time as the number of epochs until the model converged (its best validation
# epoch) times the time of one epoch, and reports it relative to the fastest model. Dividing by the fastest
# model removes the machine's speed, as long as all models were timed on the same machine *under the same
# load*. That last condition is where wall clocks fail: runs trained one after another, for an hour, on a
# shared machine (a laptop, a CI runner) each see a different load: in an earlier version of this benchmark,
# which timed epochs by the wall clock, one function trained twice on a loaded machine got ratios an order of
# magnitude apart.
#
# mdrbench therefore splits the epoch's time into two parts that a passing load cannot inflate:
#
# $$\text{time} = \underbrace{\text{epochs to convergence}}_{\text{the schedule}} \times
# \underbrace{\text{steps per epoch}}_{\text{the data budget}} \times
# \underbrace{\text{median seconds of one step}}_{\text{measured interleaved, in one process}}$$
#
# When a model has converged is decided by the paper's learning-rate schedule, and each run records how it
# stopped: [notebook 04](04_models_and_training.ipynb) shows the schedule at work and why the triplet models
# first sat at the margin. A toy example of the ratio: model A converges after 40 epochs of 10 s, model B after
# 60 epochs of 25 s.

# %%
print(metrics.training_time_ratio(epochs_to_convergence={"A": 40, "B": 60}, seconds_per_epoch={"A": 10.0, "B": 25.0}))
print(f"B: (60 x 25 s) / (40 x 10 s) = {60 * 25 / (40 * 10):.2f}")

# %% [markdown]
# ## 2. The data budget of an epoch
#
# What is an epoch, when the objectives consume different things? mdrbench fixes its **size** the same way for
# every objective: **an epoch draws as many anchors as there are training tracks**, in the same number of steps,
# `mdrbench.train.steps_per_epoch(size, n_train)` = ceil(training tracks / batch size). *Which* anchors differs:
# the proxy and classification batches visit every training track once per epoch, while the triplet samplers
# draw a category, then a tag, then two of its carriers (balanced over categories, `mdrbench.samplers`), so in a
# triplet epoch some tracks are anchors several times and others not at all. What differs too is what one
# item costs: a proxy or classification item is **one** excerpt with its tags, a triplet item **three**
# (anchor, positive, negative), a triplet + track item **six** (a tag triplet and a track triplet). That is the
# paper's point about cost: metric learning embeds more excerpts for the same anchors. The result files record
# both numbers for every run:

# %%
budget = trained.groupby("config", sort=False)[["steps_per_epoch", "excerpts_per_step"]].first()
budget["excerpts per epoch"] = budget["steps_per_epoch"] * budget["excerpts_per_step"]
budget["excerpts per anchor"] = budget["excerpts_per_step"] / size.batch_size
display(budget)
expected_steps = mdrbench.train.steps_per_epoch(size, len(workspace.train_tracks))
assert (budget["steps_per_epoch"] == expected_steps).all()
assert all(mdrbench.train.excerpts_per_step(c, size.batch_size) == budget.loc[c, "excerpts_per_step"]
           for c in budget.index)
print(f"{len(workspace.train_tracks)} training tracks / batch {size.batch_size} -> {expected_steps} steps per epoch "
      f"for every configuration")

# %% [markdown]
# ## 3. The cost of a step, measured fairly
#
# After training, the benchmark times one training step of every configuration **in one process, round-robin**
# (`mdrbench.bench.measure_step_costs`): a few steps of each configuration in turn, over several rounds, and the
# median of each. A job that shares the machine for a while then slows every configuration alike, unlike epochs
# timed hours apart. The figures are in `timing.json` beside the results. Beside them, each run's own median step
# time, measured during its training (at whatever load the machine had then).

# %%
timing = json.loads((workspace.results_folder / "timing.json").read_text())
cost = pd.DataFrame(timing).T[["median_step_seconds", "excerpts_per_step", "rounds", "steps_per_round"]]
cost["ms per excerpt"] = 1000 * cost["median_step_seconds"] / cost["excerpts_per_step"]
cost["step relative to cheapest"] = cost["median_step_seconds"] / cost["median_step_seconds"].min()
own = trained.groupby("config", sort=False)["run_step_seconds"].agg(["min", "max"])
cost["run's own median step s (min-max over seeds)"] = [f"{own.loc[c, 'min']:.3f}-{own.loc[c, 'max']:.3f}"
                                                         if c in own.index else "" for c in cost.index]
display(cost)
print(f"cost per excerpt, interleaved: {cost['ms per excerpt'].min():.2f}-{cost['ms per excerpt'].max():.2f} ms "
      f"(a factor {cost['ms per excerpt'].max() / cost['ms per excerpt'].min():.2f} across configurations)")

# %% [markdown]
# If the step cost followed the excerpt count exactly, the last two numbers would coincide (equal ms per
# excerpt). Fixed costs per step (data loading, the optimizer update, Python) make a small batch cost more per
# excerpt; larger tensors fitting the processor's caches less well can make a large one cost more. Either way it
# is a property of the machine and the backbone, not of the loss functions: on a GPU the answer can differ.
#
# ## 4. The ratio, by hand from its parts
#
# The three parts multiplied, per run, relative to the fastest configuration's mean over seeds. We recompute the
# report's `time_ratio` column of this size from the parts, and check it:

# %%
parts = models[["config", "seed", "epochs_to_convergence", "steps_per_epoch", "step_seconds"]].copy()
parts["time_seconds"] = parts["epochs_to_convergence"] * parts["steps_per_epoch"] * parts["step_seconds"]
fastest = parts.groupby("config")["time_seconds"].mean().idxmin()
parts["time_ratio"] = parts["time_seconds"] / parts.groupby("config")["time_seconds"].mean()[fastest]
assert np.allclose(parts["time_ratio"], models["time_ratio"])
display(parts.set_index(["config", "seed"]))
print(f"the fastest configuration on average: {fastest}; the per-configuration means of time_ratio:")
display(parts.groupby("config", sort=False)[["epochs_to_convergence", "time_ratio"]].mean())

# %% [markdown]
# The same parts as a picture: each trained run of one seed, its validation loss epoch by epoch against training
# time counted the fair way (each epoch costs steps per epoch x the interleaved step cost, so the x of a run's best
# epoch is its `time_seconds` above). The objectives' losses have different scales, so each curve is divided by its
# first epoch's loss. Look along the x axis, not up the y axis: which runs reach their best epoch furthest to the
# left, and whether a run that needs more epochs can still get there first because its steps are cheaper, or a run
# with few epochs arrives late because each one costs more.

# %%
FIGURE_SEED = workspace.seeds[0]
curves = {}
for config in trained["config"].unique():
    run = workspace.run(config, FIGURE_SEED)
    row = parts.set_index(["config", "seed"]).loc[(config, FIGURE_SEED)]
    losses = np.asarray(run.history["history"]["val_loss"], dtype=float)
    curves[config] = {"epoch_seconds": np.full(len(losses), row["steps_per_epoch"] * row["step_seconds"]),
                      "val_loss": losses / losses[0]}
    best = int(row["epochs_to_convergence"])
    assert np.isclose(np.cumsum(curves[config]["epoch_seconds"])[best - 1], row["time_seconds"])
figure = views.training_time_figure(curves, title=f"validation loss against fair training time, seed {FIGURE_SEED} "
                                    f"({size.name})")
figure.update_layout(xaxis_title="epochs x steps per epoch x interleaved step seconds",
                     yaxis_title="validation loss / epoch 1").show()

# %% [markdown]
# A ratio rests on epochs to convergence, and those vary from seed to seed (the table above): one seed's ratio
# says little. [Notebook 10](10_benchmark.ipynb) puts these ratios beside the paper's with a 95% interval over
# seeds, and checks the paper's finding (triplet models train longer) and its schedule-only part (do triplet
# models need more epochs?) with the one comparison rule.
#
# ## What we learned
#
# * The paper's training time is epochs to convergence x the time of an epoch, relative to the fastest model.
#   mdrbench makes each part fair: epochs to convergence from the schedule (notebook 04; only runs the schedule
#   stopped count), the same data budget per epoch for every objective (one anchor per training track), and the
#   cost of a step measured for every configuration in one process, interleaved, so that a passing load hits all
#   alike.
# * A triplet step embeds 3 excerpts per anchor (6 with track regularization): section 3 prints what that costs on
#   this machine. Whether triplet models also need more epochs, and whether they train longer overall, are
#   verdicts with intervals in notebook 10, not assumptions. At `ci` they rest on few seeds: rerun with
#   `MDRBENCH_SIZE=default`.
#
# Next: **10 · the whole benchmark vs the paper's tables**, every number of this series in one report.

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/09_training_time_solutions.ipynb`](solutions/09_training_time_solutions.ipynb) (one section per
# exercise).
#
# 1. **A third model: predict, then run.** Add a model C that converges after 20 epochs of 60 s to the toy example of
#    section 1. Predict the three ratios, then what happens to all of them if C converged in 5 epochs instead; check
#    with `metrics.training_time_ratio`. *(Solution: exercise 1.)*
# 2. **The data budget at `default`, without running it.** With `mdrbench.train.steps_per_epoch`,
#    `mdrbench.train.excerpts_per_step` and the split of `mdrbench.synth.draw_splits`, compute the steps and
#    excerpts per epoch of a proxy, a triplet and a triplet + track model at the `ci` and `default` sizes, and check
#    the numbers of this size against the stored runs. *(Solution: exercise 2.)*
# 3. **Open-ended: measure a step yourself.** Time `proxy-norm-full` and `triplet-norm-full` with
#    `mdrbench.bench.measure_step_costs` (a couple of rounds) and compare the ratio with `timing.json` and with the
#    ratio of excerpts per step. What explains the differences, and how much would you trust two rounds?
#    *(Solution: exercise 3, a worked sketch.)*
