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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/solutions/09_training_time_solutions.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2Fsolutions%2F09_training_time_solutions.ipynb)
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
# # 09 · Solutions: training time
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../../docs/glossary.md).
#
# Worked solutions to the exercises at the end of `09_training_time`: how a third model changes the training-time
# ratios, the data budget of an epoch at the `default` size computed without running it, and (open-ended)
# measuring the cost of a training step yourself. (What the schedule's patience does to a run is exercise 2 of
# notebook 04.)
#
# Like the notebook, it reads `MDRBENCH_SIZE` (unset: `default` from the shipped reference results, else `ci`) and
# reuses the benchmark's stored runs (`open_workspace`). Every number is printed, never written here; the `assert` lines
# check the answers against a second computation.
#
# **Time:** ci about 20 s · default not measured — once the corpus and its log-mels are cached (a fresh machine makes
# them first: about 6 min at default on 2 CPU cores, once for all notebooks). At default the runs are the
# reference results that ship with mdrbench, so nothing trains; your own runs, where you have any, replace them whole
# (and are trained first where missing: about 5 min at ci, about an hour at default).

# %%
import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()

import json

import numpy as np
import pandas as pd

import mdrbench.bench
import mdrbench.metrics as metrics
import mdrbench.sizes
import mdrbench.synth
import mdrbench.train
from mdrbench.workspace import open_workspace

SEED = 0
workspace = open_workspace()
size, corpus, features, results_folder = workspace.size, workspace.corpus, workspace.features, workspace.results_folder
models = workspace.results[workspace.results["kind"] == "model"]
trained = models[models["same_as"].isna()]
print(f"size {size.name}: batch {size.batch_size}, {len(workspace.train_tracks)} training tracks")

# %% [markdown]
# ## Exercise 1: a third model (predict, then run)
#
# **Prediction.** The ratio is each model's epochs to convergence x seconds per epoch, divided by the **fastest**
# model's. Model C (20 epochs of 60 s) costs 1,200 s against A's 400 s: C's ratio is 3, and A and B keep theirs,
# because A is still the fastest. If C instead converged in 5 epochs (300 s), C would become the fastest, and
# **every** ratio would change, A's included: a ratio says nothing without its reference.

# %%
epochs = {"A": 40, "B": 60, "C": 20}
seconds = {"A": 10.0, "B": 25.0, "C": 60.0}
ratios = metrics.training_time_ratio(epochs_to_convergence=epochs, seconds_per_epoch=seconds)
faster_c = metrics.training_time_ratio(epochs_to_convergence={**epochs, "C": 5}, seconds_per_epoch=seconds)
print(pd.DataFrame({"C: 20 epochs": ratios, "C: 5 epochs": faster_c}).round(3).to_string())
for table in (ratios, faster_c):
    assert min(table.values()) == 1.0
totals = {name: epochs[name] * seconds[name] for name in epochs}
assert all(np.isclose(ratios[name], totals[name] / min(totals.values())) for name in epochs)
assert np.isclose(faster_c["A"], totals["A"] / (5 * seconds["C"]))

# %% [markdown]
# ## Exercise 2: the data budget of an epoch at `default`, without running it
#
# **Prediction.** An epoch draws one anchor per training track for every objective, so every configuration takes
# ceil(training tracks / batch size) steps; what differs is the excerpts per step (1, 3 or 6 per anchor). The
# `default` size's numbers follow from its `Size` and the corpus's 70/10/20 split, with no corpus rendered and no
# model trained: `mdrbench.synth.draw_splits` gives the split.

# %%
rows = []
for name in dict.fromkeys(("ci", "default", size.name)):
    other = mdrbench.sizes.get_size(name)
    n_train = int((mdrbench.synth.draw_splits(other.n_tracks, seed=SEED) == "train").sum())
    steps = mdrbench.train.steps_per_epoch(other, n_train)
    assert steps == int(np.ceil(n_train / other.batch_size))
    for config in ("proxy-norm-full", "triplet-norm-full", "triplet-track-norm-dis"):
        per_step = mdrbench.train.excerpts_per_step(config, other.batch_size)
        rows.append({"size": name, "config": config, "training tracks": n_train, "batch": other.batch_size,
                     "steps per epoch": steps, "excerpts per step": per_step, "excerpts per epoch": steps * per_step})
budget = pd.DataFrame(rows).set_index(["size", "config"])
print(budget.to_string())
stored = trained.groupby("config")[["steps_per_epoch", "excerpts_per_step"]].first()  # this size's benchmark
for config in ("proxy-norm-full", "triplet-norm-full", "triplet-track-norm-dis"):
    assert budget.loc[(size.name, config), "steps per epoch"] == stored.loc[config, "steps_per_epoch"]
    assert budget.loc[(size.name, config), "excerpts per step"] == stored.loc[config, "excerpts_per_step"]

# %% [markdown]
# ## Exercise 3 (open-ended): measure the cost of a step yourself
#
# A worked sketch. `mdrbench.bench.measure_step_costs` is how the benchmark timed every configuration: a few steps
# of each in turn, round-robin, in one process, and the median. Run it for one proxy and one triplet model with a
# small budget and compare the ratio with the benchmark's `timing.json` and with the excerpt ratio (3).

# %%
PAIR = ["proxy-norm-full", "triplet-norm-full"]
mine = mdrbench.bench.measure_step_costs(PAIR, corpus, features, size, rounds=2, steps=2, verbose=0)
stored_timing = json.loads((results_folder / "timing.json").read_text())
comparison = pd.DataFrame({
    "my median step (s)": {c: mine[c]["median_step_seconds"] for c in PAIR},
    "timing.json median step (s)": {c: stored_timing[c]["median_step_seconds"] for c in PAIR},
    "excerpts per step": {c: mine[c]["excerpts_per_step"] for c in PAIR},
})
print(comparison.round(4).to_string())
my_ratio = comparison["my median step (s)"].iloc[1] / comparison["my median step (s)"].iloc[0]
stored_ratio = comparison["timing.json median step (s)"].iloc[1] / comparison["timing.json median step (s)"].iloc[0]
print(f"triplet / proxy step cost: mine {my_ratio:.2f}, timing.json {stored_ratio:.2f}, excerpts "
      f"{comparison['excerpts per step'].iloc[1] / comparison['excerpts per step'].iloc[0]:.0f}")
assert all(value > 0 for value in comparison["my median step (s)"])

# %% [markdown]
# **What to look for.**
#
# * The absolute step times depend on the machine and on what else runs on it; the ratio much less, because the two
#   configurations were timed interleaved. Two rounds of two steps are a small sample: rerun it and see how much the
#   ratio moves, then raise `rounds`.
# * A ratio below the excerpt ratio means fixed costs per step (the optimizer update, data loading, Python) weigh
#   more than the extra excerpts; above it, the larger batch of excerpts fits the processor's caches less well.
# * The time ratio of the paper multiplies this by steps per epoch (equal for all, exercise 2) and by epochs to
#   convergence (the schedule, notebook 04): a cheap step does not make a fast model if it needs many more epochs.
