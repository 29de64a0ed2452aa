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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/10_benchmark.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F10_benchmark.ipynb)
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
# # The whole benchmark beside the paper's tables
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# The earlier notebooks took the study apart one evaluation at a time. Here we put it back together: all
# eight configurations, trained by the benchmark runner for several seeds, in the layout of the paper's Table 1
# (training time, similarity retrieval R@K, auto-tagging ROC-AUC) and Table 3 (triplet prediction per dimension,
# in the complete space and in each sub-space), with a 95% interval over seeds, the paper's numbers beside ours,
# two baselines scored on the same test set, and a check of the paper's headline findings on our corpus.
#
# The runner is the same code as the command line's `mdrbench bench`: it trains every configuration for every
# seed, writes each run's results atomically as soon as it finishes and skips finished runs when started again
# (so an interrupted benchmark resumes), then writes `report.md` and `report.html`. Run it at the `default`
# size from a terminal (`mdrbench bench`; the README gives its measured wall time) and this notebook shows those results
# with `MDRBENCH_SIZE=default`; at the `ci` size everything below is a quick smoke test with noisy numbers.
#
# **Objectives:**
#
# - Run or resume the whole benchmark (`mdrbench bench`), and read how every run stopped.
# - Read our Table 1 and Table 3 beside the paper's, with 95% intervals over seeds and two baselines.
# - Compare the epochs to convergence of the triplet models and the others with the one comparison rule.
# - Check the paper's headline findings on the benchmark's numbers, and render the report `mdrbench report` writes.
#
# **Prerequisites:** [06 · Similarity retrieval](06_similarity_retrieval.ipynb),
# [07 · Auto-tagging](07_auto_tagging.ipynb), [08 · Triplet prediction](08_triplet_prediction.ipynb),
# [09 · Training time](09_training_time.ipynb); background: Student-t intervals, paired differences.
#
# **Time:** ci about 20 s · default about 20 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you
# have any, replace them whole (and are trained first where missing: about 5 min at ci, about an hour at default).

# %% [markdown]
# ## Run (or resume) the benchmark
# `open_workspace` reads the size from `MDRBENCH_SIZE` and runs (or resumes) the benchmark of that size: finished
# runs are read back, not retrained, so after `mdrbench bench` has run at this size this cell takes seconds.
# `SEEDS` (None: the size's number of seeds) changes how many seeds it reads or trains. One row per
# (configuration, seed), then the baselines. `stopped_by` says what ended each run: `schedule` (the learning-rate
# schedule ran out of patience: converged, notebook 04), `cap` (the size's safety cap on epochs) or `nan`; a run
# not stopped by the schedule is flagged and feeds no finding. `mean_cosine` is the mean pairwise cosine of the
# test embeddings (near 1: a collapsed space).

# %%
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from mdrbench import report, views
from mdrbench.configs import SAME_FUNCTION
from mdrbench.workspace import open_workspace

SEEDS = None  # None: the size's number of seeds; an int or a list to change it

workspace = open_workspace(seeds=SEEDS)
RESULTS, results = workspace.results_folder, workspace.results
models = results[results["kind"] == "model"]
print(f"{len(models)} model rows ({models['same_as'].isna().sum()} trained runs; {', '.join(SAME_FUNCTION)} is "
      f"the same function as {', '.join(SAME_FUNCTION.values())}, trained once), "
      f"{len(results) - len(models)} baseline rows")
stragglers = report.not_converged(results)
if len(stragglers):
    print("runs that did not stop by the schedule (they feed no finding):")
    display(stragglers)
results[["config", "seed", "kind", "R@1", "AUC", "mean_cosine", "epochs_to_convergence", "stopped_by",
         "time_ratio"]].round(3)

# %% [markdown]
# ## Table 1: training time, similarity retrieval, auto-tagging
# Each cell reads *mean ± half-width of the 95% Student-t interval over seeds (the paper's value)*; `seeds` and
# `converged` count the runs behind it. The **random** row is chance (random embeddings), the **mel-statistics**
# row a hand-made baseline (per-band log-mel mean and standard deviation: cosine for retrieval, one logistic
# regression per tag for tagging): a learned model should beat both. The training-time ratio is epochs to
# convergence x steps per epoch x the median step time measured for every configuration in one process
# (`timing.json`), relative to the fastest configuration (notebook 09).

# %%
table1 = report.table1(results)
print(report.INTERVAL_NAME)
report.compact(table1, report.TABLE1_DIGITS)

# %%
ours = table1[report.RECALL_COLUMNS].assign(source="ours")
paper = table1[[f"{c} paper" for c in report.RECALL_COLUMNS]].set_axis(report.RECALL_COLUMNS, axis=1)
views.recall_at_k_figure(pd.concat([ours, paper.dropna(how="all").assign(source="paper")]),
                         title="R@K: ours (solid, baselines included) vs the paper (dashed)").show()
for column, title in (("R@1", "R@1 (%)"), ("AUC", "tag ROC-AUC")):
    views.interval_figure(table1, column, axis_title=title,
                          title=f"{title} over seeds, 95% interval; the paper as diamonds").show()

# %% [markdown]
# ## Training time: the ratio and the epochs behind it
# Notebook 09 takes the ratio apart (epochs to convergence x steps per epoch x the cost of a step) and recomputes
# it from its parts. Here it is over seeds, beside the paper's (diamonds), and next to it the part that comes from
# the schedule alone: epochs to convergence, with their own interval. A ratio rests on the fastest model's epochs
# too, so its interval can be wide even where the step costs are measured precisely.

# %%
model_rows = table1.index.isin(models["config"])
views.interval_figure(table1.loc[model_rows], "time_ratio", axis_title="training time / fastest",
                      title=f"training-time ratio over seeds ({workspace.size.name}), 95% interval; the paper as "
                            "diamonds").show()
epochs = models.groupby("config", sort=False)["epochs_to_convergence"].apply(report.t_interval)
display(pd.DataFrame({"epochs to convergence": [f"{mean:.1f} ± {half:.1f}" for mean, half, _ in epochs],
                      "seeds": [count for _, _, count in epochs]}, index=epochs.index))

# %% [markdown]
# Do triplet models need more epochs to converge? With the one comparison rule (`report.paired` and
# `report.compare`): per seed, the mean epochs of the triplet models minus the mean of the others, then the 95%
# interval of those differences; *holds* when it lies above 0.

# %%
triplet_models = [c for c in report.TRIPLETS if c in set(models["config"])]
other_models = [c for c in [*report.PROXY_LIKE, "classification-raw-full"] if c in set(models["config"])]
differences, converged = report.paired(results, "epochs_to_convergence", triplet_models, other_models,
                                       first_reduce=np.mean, second_reduce=np.mean)
comparison = report.compare(differences, converged)
print(f"[{comparison.verdict}] Triplet models need more epochs to converge (mean over the triplet models minus mean "
      f"over the others, per seed).\n    epochs: {comparison.describe(1)}")

# %% [markdown]
# ## Table 3: triplet prediction per dimension
# Triplets are drawn from the test split by tags (anchor and positive share a tag of the dimension, the
# negative lacks it); a triplet is right when the anchor is closer to the positive. Disentangled models are
# also scored inside each dimension's own 64-d sub-space (only they have one: a 64-d slice of an entangled
# embedding is arbitrary); the baselines appear in the complete space.

# %%
table3 = report.table3(results)
report.compact(table3, 3)

# %%
views.triplet_accuracy_figure(table3[report.TRIPLET_COLUMNS], title="Triplet accuracy per dimension").show()

# %% [markdown]
# ## Simulated raters and track triplets
# Simulated raters vote on (anchor, clip 1, clip 2) excerpts in Dim-Sim's schema; `human` is the accuracy on
# all decided triplets, `human_clean` on the ones where at least 90% of raters agree, `track` on two excerpts of
# one track against another track. The raters are simulated from the same clean factors the models learn, so
# these numbers are not comparable with the paper's Dim-Sim accuracies (real people, MSD clips).

# %%
report.compact(report.human_table(results), 3)

# %% [markdown]
# ## Beyond the paper: is each sub-space about its own category?
# A linear probe predicts each clean factor from each sub-space (adjusted balanced accuracy: 0 is chance,
# 1 is perfect), for the disentangled models, plus the complete space. If the masks did their job, each
# sub-space reads its own category best (a bright diagonal); notebook 05 compares this with a full model's
# arbitrary slices. Seed 0:

# %%
for config in ("proxy-norm-dis", "triplet-norm-dis"):
    matrix = workspace.run(config).result["disentanglement"]
    if matrix is not None:
        views.disentanglement_heatmap(pd.DataFrame(matrix).T, title=f"{config}: probe accuracy (seed 0)").show()

# %% [markdown]
# ## The paper's findings, checked on our numbers
# Each claim is a paired comparison across seeds (`report.compare`, the one rule): per seed the difference that
# the claim predicts to be positive, then its 95% interval. *holds* when the interval lies above 0, *does not
# hold* when it lies below, *undetermined* when it contains 0, when there is a single seed, or when a run
# behind it did not stop by the schedule. Nothing here is written by hand.

# %%
for finding in report.findings(results):
    print(f"[{finding['verdict']}] {finding['claim']}.\n    {finding['evidence']} (paper: {finding['paper']})")

# %% [markdown]
# The same report, as the command line writes it (`mdrbench report RESULTS_FOLDER --out DIR` writes `report.md`
# and `report.html`, which renders offline with its figures). Here it is only rendered, not written: the
# reference results that ship with mdrbench are read-only.

# %%
display(Markdown(report.markdown_report(report.report_sections(RESULTS, results))))

# %% [markdown]
# ## What we learned
# - The benchmark is one resumable command; its tables follow the paper's layout with a 95% interval over
#   seeds, the paper's numbers and two baselines beside ours, so every gap is visible and sized.
# - The training-time ratio comes with the epochs to convergence behind it; whether triplet models need more epochs
#   is a verdict of the same rule, not an assumption.
# - Which findings carry over to the synthetic corpus is printed above as holds / does not hold / undetermined,
#   with the paired difference and its interval; at the `ci` size treat them as a smoke test, and read the
#   README for the measured `default` benchmark.
# - To go further: more seeds (`mdrbench bench --seeds 5`), the `full` size on a GPU, or a real corpus
#   (`mdrbench bench --corpus DIR` with a folder made by `mdrbench.sources`).

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/10_benchmark_solutions.ipynb`](solutions/10_benchmark_solutions.ipynb) (one section per exercise).
#
# 1. **One cell by hand.** Recompute the R@1 cell of `proxy-norm-dis` in Table 1 (mean ± half-width of the 95%
#    Student-t interval) from its per-seed rows with `scipy.stats.t`. *(Solution: exercise 1.)*
# 2. **One seed only: predict, then run.** Keep only seed 0's rows of `results` (`run_benchmark` returns every run
#    stored in the folder, whatever `SEEDS` says) and rebuild Table 1 and the findings. Before running, predict what
#    happens to the `±` columns and to the verdicts of `report.findings`. *(Solution: exercise 2.)*
# 3. **One more seed: predict, then run.** The size decides how many seeds the benchmark runs (`workspace.result_seeds`
#    lists them). If one more seed gave the same mean and standard deviation, by what factor would the seed part of
#    the interval shrink? Predict from the formula, then check with `report.t_interval`, and extend to 5 and 10
#    seeds. *(Solution: exercise 3.)*
# 4. **Open-ended: a finding of your own.** State a claim the paper does not make (for instance "a disentangled model
#    tags better than its complete-space counterpart") and check it with `report.paired` and `report.compare`. What
#    should you decide before looking at the numbers? *(Solution: exercise 4, a worked sketch.)*
