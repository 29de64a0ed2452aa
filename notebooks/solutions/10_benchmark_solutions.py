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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/solutions/10_benchmark_solutions.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2Fsolutions%2F10_benchmark_solutions.ipynb)
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
# # 10 · Solutions: the whole benchmark beside the paper's tables
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../../docs/glossary.md).
#
# Worked solutions to the exercises at the end of `10_benchmark`: one cell of Table 1 by hand, what a single seed
# does to the intervals and the findings, how much one more seed narrows an interval, and (open-ended) checking a
# finding of your own with the benchmark's one comparison rule.
#
# Like the notebook, it reads `MDRBENCH_SIZE` (unset: `default` from the shipped reference results, else `ci`) and
# reuses the benchmark's stored runs (`open_workspace`: it trains only what is missing). Every number is printed, never
# written here; the `assert` lines check the answers against a second computation.
#
# **Time:** ci about 15 s · default about 15 s · full: not measured — once the corpus and its log-mels are cached (a
# fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks). At default the
# runs are the reference results that ship with mdrbench, so nothing trains; your own runs, where you have any, replace
# them whole (and are trained first where missing: about 5 min at ci, about an hour at default).

# %%
import numpy as np
import pandas as pd
from scipy import stats

from mdrbench import report
from mdrbench.workspace import open_workspace

CONFIG = "proxy-norm-dis"

workspace = open_workspace()
results, seeds = workspace.results, workspace.result_seeds  # every seed in the table (the intervals use them all)
models = results[results["kind"] == "model"]
table1 = report.table1(results)
print(f"{len(models)} model rows")

# %% [markdown]
# ## Exercise 1: one cell of Table 1 by hand
#
# A cell reads mean ± half-width of the 95% interval over seeds *and* test tracks. Its seed part alone is the
# Student-t interval: with n seeds of standard deviation s (ddof 1), t(0.975, n − 1) · s / sqrt(n). The table adds
# the variance of the seed mean over resamples of the test tracks (`mdrbench.findings.estimate_column`), so its
# half-width is wider whenever the test draw adds noise.

# %%
from mdrbench.findings import estimate_column

values = models.loc[models["config"] == CONFIG, "R@1"].to_numpy(float)
n = len(values)
mean = values.mean()
seed_half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
estimate = estimate_column(results, CONFIG, "R@1")
low, high = estimate.interval()
print(f"{CONFIG} R@1 per seed: {np.round(values, 2).tolist()} -> {mean:.2f}; seeds alone ± {seed_half:.2f}; "
      f"seeds and test tracks ± {(high - low) / 2:.2f}; table1: "
      f"{table1.loc[CONFIG, 'R@1']:.2f} ± {table1.loc[CONFIG, 'R@1 ±']:.2f}")
assert np.isclose(mean, table1.loc[CONFIG, "R@1"])
assert np.isclose((high - low) / 2, table1.loc[CONFIG, "R@1 ±"], equal_nan=True)

# %% [markdown]
# ## Exercise 2: one seed only (predict, then run)
#
# **Prediction.** With one seed there is no standard deviation, so no interval: every `±` becomes empty (NaN), and
# the comparison rule refuses to decide: **every finding that rests on seeds is "undetermined"** (the step cost
# rests on the timing rounds instead), whatever the difference, because one
# run cannot tell a difference from noise. The means themselves are just seed 0's numbers.

# %%
one_seed = results[results["seed"] == seeds[0]]
one_seed_table = report.table1(one_seed)
one_seed_findings = report.findings(one_seed)
print(report.compact(one_seed_table.loc[[CONFIG, "random"], ["R@1", "R@1 ±", "AUC", "AUC ±", "seeds"]], 3).to_string())
for finding in one_seed_findings:
    print(f"[{finding['verdict']}] {finding['claim'][:90]}...")
assert one_seed_table["R@1 ±"].isna().all()
# every finding that rests on seeds is undetermined; the step cost rests on the timing rounds, not on seeds
assert one_seed_findings and all(finding["verdict"] == "undetermined" for finding in one_seed_findings
                                 if finding["key"] != "step-cost")
assert np.isclose(one_seed_table.loc[CONFIG, "R@1"], values[0])

# %% [markdown]
# ## Exercise 3: one more seed (predict, then run)
#
# **Prediction.** The seed part of the half-width is t(0.975, n − 1) · s / sqrt(n). Going from the size's n seeds
# to n + 1 with the same s, the sqrt(n) term gives a factor sqrt(n / (n + 1)), and the t quantile drops from its
# value at n − 1 degrees of freedom to its value at n. The quantile falls steeply at few degrees of freedom and
# flattens beyond a handful, so the fewer seeds a size has, the more one more seed is worth: from 2 to 3 the
# quantile is by far the bigger effect, from 10 to 11 the sqrt(n) term is most of what is left. The factor for this
# size's n is printed below, beside the formula's.

# %%
def same_mean_and_sd(center: float, sd: float, count: int) -> np.ndarray:
    """count values with exactly this mean and sample standard deviation (ddof 1)."""
    offsets = np.linspace(-1, 1, count)
    return center + offsets * sd / offsets.std(ddof=1)


def t_factor(count: int) -> float:
    """t(0.975, count - 1) / sqrt(count): the half-width per unit of standard deviation."""
    return stats.t.ppf(0.975, count - 1) / np.sqrt(count)


n_seeds = max(len(seeds), 2)  # an interval needs two seeds: with one, start from two
center, sd = mean, values.std(ddof=1) if n > 1 else 1.0
counts = sorted({n_seeds, n_seeds + 1, 5, 10})
halves = {count: report.t_interval(same_mean_and_sd(center, sd, count))[1] for count in counts}
print(pd.Series(halves, name=f"half-width of the 95% interval, sd {sd:.2f}").rename_axis("seeds").round(3).to_string())
expected_factor = t_factor(n_seeds) / t_factor(n_seeds + 1)
print(f"{len(seeds)} seed(s) here; {n_seeds} -> {n_seeds + 1} seeds narrows the interval by "
      f"{halves[n_seeds] / halves[n_seeds + 1]:.2f} (formula {expected_factor:.2f}; of which sqrt(n / (n + 1)) "
      f"gives {1 / np.sqrt(n_seeds / (n_seeds + 1)):.2f})")
assert np.isclose(halves[n_seeds] / halves[n_seeds + 1], expected_factor)
assert list(halves.values()) == sorted(halves.values(), reverse=True)

# %% [markdown]
# ## Exercise 4 (open-ended): a finding of your own
#
# A worked sketch. Claim: "a disentangled model beats its complete-space counterpart" (on tagging, then on
# retrieval), checked per seed with `report.paired` (the per-seed difference of one column between two groups of
# configurations) and `report.compare` (the verdict from its 95% interval), exactly as `report.findings` checks the
# paper's claims.

# %%
pairs = [("proxy-norm-dis", "proxy-norm-full"), ("classification-norm-dis", "classification-norm-full"),
         ("triplet-norm-dis", "triplet-norm-full")]
for column in ("AUC", "R@1"):
    for disentangled, full in pairs:
        differences, converged = report.paired(results, column, [disentangled], [full])
        comparison = report.compare(differences, converged)
        print(f"[{comparison.verdict}] {disentangled} beats {full} on {column}: {comparison.describe(3)}")
        assert len(differences) == len(seeds)

# %% [markdown]
# **What to look for.**
#
# * Decide the direction of the claim before looking at the numbers, and write it as "A beats B" so that a positive
#   difference supports it; `compare` then answers holds / does not hold / undetermined.
# * `classification-norm-full` is the same function as `proxy-norm-full` (trained once, `same_as` in the results):
#   its pair is the same evidence as the proxy pair, not a second confirmation.
# * Several claims checked at once multiply the chances of a lucky "holds": prefer one pre-registered claim, or
#   demand that it holds at `MDRBENCH_SIZE=default` too. At `ci` expect "undetermined" almost everywhere, for the
#   reason exercise 3 shows.
