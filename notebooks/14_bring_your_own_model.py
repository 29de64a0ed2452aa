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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/14_bring_your_own_model.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F14_bring_your_own_model.ipynb)
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
# # 14 · Bring your own model: any audio embedding, scored on the study's axes
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# **Description:** write a tiny audio embedding model as a [HEAR 2021](https://hearbenchmark.com) module (the
# plug-in contract the audio community already writes to), score it with `mdrbench.scoring` on the benchmark's
# corpus and fixed evaluation sets, and place it in the tables and the sub-space picture beside the study's
# models and the two baselines. A model without sub-spaces gets them learned: one linear map per category,
# fitted on its frozen training embeddings with the paper's disentangled triplet loss.
#
# Every other notebook scores models that mdrbench trained. The question here is the one a researcher brings:
# *where does my representation stand?* How much genre, mood, instrument and era structure does it hold, and
# can that structure be separated into sub-spaces?
#
# **Objectives:**
#
# - Write a HEAR module (`load_model`, `get_scene_embeddings`, `get_timestamp_embeddings`) and load it with
#   `mdrbench.plugins.load_hear_module`, which checks every batch it returns.
# - Score it on the study's tasks from frozen embeddings: R@K, tag ROC-AUC from a logistic probe and from
#   prototypes, triplet prediction per dimension in the complete space and in learned sub-spaces.
# - Read its rows beside the study's models and the baselines, like with like, with their intervals.
# - Tell what the learned sub-spaces add, and what the probe matrix says about their separation.
#
# **Time:** ci under 1 min, measured on 2 CPU cores from an empty embedding cache (one embedding pass over the
# corpus's fixed excerpts, then the probes and the learned sub-spaces of both seeds) · default about 3 min (160 s
# measured: 12,800 excerpts embedded, the two baselines and three seeds scored), plus about 6 min once on a fresh
# machine for the corpus and its log-mels · full: not measured.
#
# **Prerequisites:** [05 · Disentanglement](05_disentanglement.ipynb) (sub-spaces and the probe matrix),
# [08 · Triplet prediction](08_triplet_prediction.ipynb) (triplets per dimension) and
# [10 · The benchmark](10_benchmark.ipynb) (the tables and their intervals); background: PyTorch tensors, the
# short-time Fourier transform.

# %% [markdown]
# ## Setup
#
# `open_workspace()` reads the size from `MDRBENCH_SIZE` (unset: `default` when the reference results that ship
# with mdrbench are usable, else `ci`) and opens the corpus, its log-mels and the study's stored runs. Our model's
# scores go to a folder of their own (`SCORES`), never into the study's results: the reference results are
# read-only, and a results folder holds one benchmark's runs.

# %%
import textwrap

import mdrbench  # first: it sets KERAS_BACKEND=torch, which Keras reads once, at its first import

mdrbench.ensure_torch_backend()

import numpy as np
import pandas as pd
from IPython.display import display

from mdrbench import paths, plugins, report, scoring, views
from mdrbench.results import RunFolder, external_folder
from mdrbench.workspace import open_workspace

SEED = 0
MODULE_NAME = "band_energies"  # the module we write: its file name, and its row in the tables
N_BANDS = 32  # log-spaced frequency bands of our model: its embedding is their mean and spread, 2 x N_BANDS
SAMPLE_RATE = 16000  # the module's rate; mdrbench resamples the corpus to it (soxr)
STUDY_MODEL = "triplet-norm-dis"  # the study's model shown beside ours in the sub-space picture
N_LISTEN = 3  # excerpts we listen to, as the module receives them
PROJECTION = "pca"  # 2-d projection of the sub-space picture

workspace = open_workspace()
corpus, features, size = workspace.corpus, workspace.features, workspace.size
SCORES = paths.home() / "notebooks" / "14_bring_your_own_model" / f"{size.name}-{corpus.fingerprint()}"
SCORES.mkdir(parents=True, exist_ok=True)
print(f"our model's scores go to {SCORES}")

# %% [markdown]
# ## 1. Listen: what a plug-in model receives
#
# A plug-in sees exactly what the study's models see: each of the benchmark's fixed 3-s excerpts of a track
# (`mdrbench.evaluate` takes the same excerpts for every model), as float32 audio at the module's own rate,
# down-mixed to mono. A track's embedding is the mean of its excerpts' embeddings. Here are the first excerpts of
# a few test tracks, resampled to `SAMPLE_RATE` as our module will get them (the corpus's own rate is printed:
# a module hears nothing above half the lower of the two rates).

# %%
listen_tracks = workspace.test_tracks[:N_LISTEN]
reader = plugins.AudioExcerptEmbedder(plugins.function_model(np.zeros_like, SAMPLE_RATE, name="reader"),
                                      corpus, features, cache=False)
excerpts = reader.excerpt_audio(features, listen_tracks, np.zeros(N_LISTEN, dtype=int))
print(f"corpus at {corpus.sample_rate} Hz, module at {SAMPLE_RATE} Hz: the module hears up to "
      f"{min(corpus.sample_rate, SAMPLE_RATE) / 2:.0f} Hz; one excerpt is {excerpts.shape[1]} samples")
display(views.audio_table(
    [(f"{corpus.track_ids[track]}: {', '.join(corpus.factors.iloc[track])}", clip)
     for track, clip in zip(listen_tracks, excerpts, strict=True)], SAMPLE_RATE, seconds=None,
    title="what the module receives: the first fixed excerpt of three test tracks"))

# %% [markdown]
# ## 2. Write a model: a HEAR module in a few lines
#
# The HEAR 2021 API asks a module for three functions. `load_model(model_file_path)` returns a `torch.nn.Module`
# with `sample_rate`, `scene_embedding_size` and `timestamp_embedding_size`; `get_scene_embeddings(audio, model)`
# takes a float32 tensor `[n_sounds, n_samples]` and returns one float32 row `[n_sounds, D]` per sound;
# `get_timestamp_embeddings` returns frame-level embeddings and their times in milliseconds.
#
# Our model has no training at all, on purpose: it is the kind of hand-made descriptor a study's learned models
# should beat. Each excerpt becomes a short-time power spectrum, pooled into `N_BANDS` log-spaced bands; the
# embedding is the mean and the standard deviation over time of the bands' log energies (the timbre, and how much
# it moves). It resembles the mel-statistics baseline, but with its own bands and no probe of its own: mdrbench
# fits the probes.
#
# The module is plain source, written to a file, so that anything that loads HEAR modules could load it too
# (`mdrbench score --hear-module band_energies.py` from a terminal does what section 3 does).

# %%
MODULE_SOURCE = textwrap.dedent(f'''
    """A hand-made HEAR module: log energies in {N_BANDS} log-spaced bands, their mean and spread over time."""
    import math

    import torch

    N_BANDS = {N_BANDS}
    N_FFT, HOP = 512, 256


    class BandEnergies(torch.nn.Module):
        sample_rate = {SAMPLE_RATE}
        scene_embedding_size = timestamp_embedding_size = 2 * N_BANDS

        def __init__(self):
            super().__init__()
            edges = torch.logspace(math.log10(60.0), math.log10(self.sample_rate / 2), N_BANDS + 1)
            bins = torch.fft.rfftfreq(N_FFT, 1.0 / self.sample_rate)
            # (N_BANDS, n_bins): which FFT bins each band sums (every band holds at least its nearest bin)
            bands = (bins >= edges[:-1, None]) & (bins < edges[1:, None])
            nearest = (bins[None, :] - (edges[:-1, None] + edges[1:, None]) / 2).abs().argmin(dim=1)
            bands[torch.arange(N_BANDS), nearest] = True
            self.register_buffer("bands", bands.float())
            self.register_buffer("window", torch.hann_window(N_FFT))

        def frames(self, audio):
            """(n, samples) -> (n, N_BANDS, frames): log band energies."""
            spectrum = torch.stft(audio, N_FFT, HOP, window=self.window, return_complex=True).abs() ** 2
            return torch.log(torch.einsum("bf,nft->nbt", self.bands, spectrum) + 1e-6)


    def load_model(model_file_path=""):
        return BandEnergies()


    def get_scene_embeddings(audio, model):
        with torch.no_grad():
            frames = model.frames(audio)
        return torch.cat([frames.mean(dim=2), frames.std(dim=2)], dim=1)


    def get_timestamp_embeddings(audio, model):
        with torch.no_grad():
            frames = model.frames(audio).transpose(1, 2)  # (n, frames, N_BANDS)
        embeddings = torch.cat([frames, torch.zeros_like(frames)], dim=2)  # no spread within one frame
        times = torch.arange(frames.shape[1], dtype=torch.float32) * HOP / model.sample_rate * 1000.0
        return embeddings, times.expand(audio.shape[0], -1)
''')
module_path = SCORES / f"{MODULE_NAME}.py"
module_path.write_text(MODULE_SOURCE)
model = plugins.load_hear_module(module_path)
print(model, "\n", model.info)

# %% [markdown]
# `load_hear_module` imports the file, calls `load_model`, checks the attributes, and wraps the module so that
# every batch it returns is checked (float32, two-dimensional, one row per sound, the declared width, finite).
# What goes wrong gets one line naming the module, the problem and the fix. A module that returns float64, say:

# %%
broken_path = SCORES / "band_energies_float64.py"
broken_path.write_text(MODULE_SOURCE.replace("return torch.cat([frames.mean(dim=2), frames.std(dim=2)], dim=1)",
                                             "return torch.cat([frames.mean(dim=2), frames.std(dim=2)], dim=1)"
                                             ".double()"))
try:
    plugins.load_hear_module(broken_path).embed(excerpts)
except plugins.PluginError as error:
    print(f"PluginError: {error}")

# %% [markdown]
# ## 3. Score it: the study's tasks on frozen embeddings
#
# `scoring.score_on_benchmark` embeds every fixed excerpt of the corpus once (cached under `MDRBENCH_HOME`, keyed
# by the module's source, its weights, the corpus and the excerpt windows, so a second scoring costs no
# embedding pass and a changed module is never served stale), then, for every seed of the size:
#
# - **similarity retrieval**: R@K with cosine similarity between track embeddings (the paper's Eq. 12);
# - **tag ROC-AUC** from a logistic regression per tag fitted on the training split (as the mel-statistics
#   baseline is scored), and from prototypes (cosine to each tag's mean training embedding);
# - **triplet prediction per dimension** in the complete space;
# - **learned sub-spaces**: a linear map to four 64-d blocks, fitted on the frozen training embeddings with the
#   paper's disentangled triplet loss (each block trained on the triplets of its own category), stopped on the
#   validation split's triplet accuracy; then triplets and R@K inside each block, and the probe matrix.
#
# Why a triplet loss and not a probe per category? A linear probe of one category has rank at most that
# category's number of tags, a handful of directions, where the study's sub-spaces are 64-d; the triplet loss
# gives a block of the same shape as the study's disentangled models, judged by the same triplets. The seeds are
# the seeds of the sub-space fit (and of the probes); the embeddings themselves are deterministic. The baselines
# are scored into the same folder, as the yardstick.

# %%
scores_table, records = scoring.score_on_benchmark(model, size=size, out_dir=SCORES, seeds=workspace.result_seeds)
ours = scores_table[scores_table["config"] == MODULE_NAME]
print(f"{len(ours)} seed(s) scored; when seed {records[0]['seed']} was scored, "
      f"{records[0]['scoring_seconds']['excerpts_embedded']} excerpts were embedded (0: all read from the cache)")

# %% [markdown]
# ## 4. Place it beside the study's models
#
# The same corpus, the same test tracks, the same fixed excerpts and the same triplets (`make_evaluation_sets` is
# drawn once, from seed 0) as the study's runs: like with like. Each table below is computed from its own results
# folder (the study's runs, then ours) and stacked; the intervals cover the seeds and the test queries, as in the
# report. The baselines come from the study's folder.

# %%
study = workspace.results
recall_columns = ["R@1", "R@1 ±", "AUC", "AUC ±", "seeds"]
retrieval = pd.concat([report.table1(study)[recall_columns],
                       report.table1(ours)[recall_columns]])
report.compact(retrieval, {"R@1": 1, "AUC": 3})

# %% [markdown]
# The external models' own table (`mdrbench report` prints it as "External models"): what the module is, its
# tag AUC from the probe and from prototypes, and triplet accuracy in the complete space and inside the learned
# sub-spaces, beside the baselines.

# %%
report.compact(report.external_table(scores_table), report.EXTERNAL_DIGITS)

# %% [markdown]
# Triplet accuracy per dimension: the complete space of every model, then the sub-spaces (the study's
# disentangled models' own 64-d slices, and the blocks learned on our frozen embeddings).

# %%
triplets = pd.concat([report.table3(study), report.table3(ours)]).sort_index(level="space", sort_remaining=False)
display(report.compact(triplets[[c for c in triplets.columns if not c.endswith("paper")]], 3))
views.triplet_accuracy_figure(triplets.loc[["subspace"], list(views.TRIPLET_COLUMNS)],
                              title="triplet accuracy inside each dimension's sub-space").show()

# %% [markdown]
# ## 5. Look: the learned sub-spaces beside a disentangled study model
#
# Each panel projects one 64-d block of the test tracks to 2-d, coloured by one clean factor. In a separated
# space the colours split best in the panel of the matching category. On the left of each pair, our module's
# learned blocks (`test_subspace_embeddings.npy` in its result folder); then the study's disentangled model.

# %%
slices = workspace.subspaces(4 * scoring.SUBSPACE_WIDTH)  # {category: slice}: the study's layout, ours too
labels_by_category = {category: workspace.test_factors[category].to_numpy() for category in slices}
our_blocks = RunFolder(external_folder(SCORES, MODULE_NAME, workspace.result_seeds[0])).array(
    scoring.SUBSPACE_EMBEDDINGS)
for color_by in ("genre", "instrument"):
    views.subspace_grid(our_blocks, labels_by_category, slices, color_by=color_by, method=PROJECTION, seed=SEED,
                        title=f"{MODULE_NAME}, learned sub-spaces: coloured by {color_by}").show()
    views.subspace_grid(workspace.run(STUDY_MODEL).test_embeddings, labels_by_category, slices, color_by=color_by,
                        method=PROJECTION, seed=SEED, title=f"{STUDY_MODEL}: coloured by {color_by}").show()

# %% [markdown]
# The probe matrix says the same in numbers: a linear probe per (block, category) on the test tracks, its
# adjusted balanced accuracy (0: chance). A separated space has its largest value of every column on the
# diagonal; the "complete" row is the whole embedding.

# %%
matrix = pd.DataFrame(records[0]["disentanglement"]).T
views.disentanglement_heatmap(matrix, title=f"{MODULE_NAME}: probe accuracy per learned block and category",
                              value_name="adjusted balanced accuracy").show()

# %% [markdown]
# ## 6. Conclude: what the numbers say
#
# Read from the tables above, not typed: how our module stands against the simple baseline and the study's
# best model on retrieval, and what learning sub-spaces did to its triplet accuracy. A difference counts only
# when it is larger than both intervals (a rough rule; `report.compare` is the benchmark's paired test, which
# needs the same seeds on both sides).

# %%
def interval_text(table, row, column, digits=3):
    half = table.loc[row, f"{column} ±"]
    spread = "(one run: no interval)" if np.isnan(half) else f"± {half:.{digits}f}"
    return f"{table.loc[row, column]:.{digits}f} {spread}"


def standing(value, half, other, other_half):
    # a row scored once (the mel-statistics baseline at ci) has no interval: it counts as exact here
    half, other_half = np.nan_to_num(half), np.nan_to_num(other_half)
    if value - half > other + other_half:
        return "above"
    if value + half < other - other_half:
        return "below"
    return "not separable from"


best = report.table1(study[study["kind"] == "model"])["R@1"].idxmax()
for other in ("mel-statistics", best):
    print(f"R@1: {MODULE_NAME} {interval_text(retrieval, MODULE_NAME, 'R@1', 1)} is "
          f"{standing(*retrieval.loc[MODULE_NAME, ['R@1', 'R@1 ±']], *retrieval.loc[other, ['R@1', 'R@1 ±']])} "
          f"{other} {interval_text(retrieval, other, 'R@1', 1)}")
mine = triplets.xs(MODULE_NAME, level="config")
print(f"overall triplet accuracy of {MODULE_NAME}: complete space {interval_text(mine, 'complete', 'overall')}, "
      f"learned sub-spaces {interval_text(mine, 'subspace', 'overall')}")
for notion in report.TRIPLET_COLUMNS:
    gain = mine.loc["subspace", notion] - mine.loc["complete", notion]
    print(f"  {notion:>10}: learned sub-space minus complete space {gain:+.3f}")

# %% [markdown]
# **Take-aways.**
#
# - Any audio embedding model can be scored on the study's axes through the HEAR module API, with no training of
#   the model and the same evaluation sets as the study's runs.
# - A frozen space may hold a category's structure without separating it; the learned sub-spaces measure how much
#   of it a linear map can pull into its own block, and the probe matrix whether the blocks stay apart.
# - A number is read beside the baselines and with its interval: a hand-made descriptor can come close to a
#   learned model on one axis and far from it on another.

# %% [markdown]
# ## Exercises
#
# Worked solutions, with checks, one section per exercise:
# [`solutions/14_bring_your_own_model_solutions.ipynb`](solutions/14_bring_your_own_model_solutions.ipynb).
#
# 1. **Fewer bands: predict, then run.** Set `N_BANDS = 8` (write the module again under another name) and score
#    it. Predict first: which of R@1, the tag AUC and the per-dimension triplets drop most, and does the learned
#    sub-space help more or less than with 32 bands? *(Solution: exercise 1.)*
# 2. **A function is a model too.** `plugins.function_model(fn, sample_rate)` turns a plain function from a
#    float32 `(n, samples)` NumPy array to `(n, D)` embeddings into a model. Write our band energies as a NumPy
#    function and score it without the learned sub-spaces (`subspaces=False`, faster): does it give the module's
#    complete-space numbers back? *(Solution: exercise 2.)*
# 3. **Break it on purpose.** Make the module return one row too few, a NaN for silent audio, or declare a sample
#    rate of 8000. Read each error: does it name the module, the problem and the fix? *(Solution: exercise 3.)*
# 4. **The other way out (open-ended).** `mdrbench.export.export_hear(run_folder, out)` turns a study run into a
#    HEAR module. Export the seed-0 run of `STUDY_MODEL`, score it like ours, and compare its R@1 with the run's own.
#    Why is the prototype AUC the right one to compare, and not the logistic one? *(Solution: exercise 4.)*
