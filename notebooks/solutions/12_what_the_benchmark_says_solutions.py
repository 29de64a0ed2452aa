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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/solutions/12_what_the_benchmark_says_solutions.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2Fsolutions%2F12_what_the_benchmark_says_solutions.ipynb)
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
# # 12 · Solutions: what the benchmark says about the paper
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../../docs/glossary.md).
#
# Worked solutions to the exercises at the end of `12_what_the_benchmark_says`: one pair's interval by hand from its
# seed and test-track parts, what another family-wise error rate changes (and what it cannot), and (open-ended)
# which undetermined finding is closest to being decided and what design would decide it.
#
# Like the notebook, it opens the size named by `MDRBENCH_SIZE` (unset: `default` when its reference results are
# usable, else `ci`) and reuses the benchmark's stored runs (`open_workspace`: it trains only what is missing). Every
# number is printed, never written here; the `assert` lines check the answers against a second computation.
#
# **Time:** ci about 25 s · default about 75 s · full: not measured — once the corpus and its log-mels are cached (a
# fresh machine makes them first, once for all notebooks). At default the runs are the reference results that ship
# with mdrbench, so nothing trains; your own runs, where you have any, replace them whole (and are trained first
# where missing: about 5 min at ci, about an hour at default).

# %%
import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from mdrbench import report, stats
from mdrbench.findings import CLAIMS, column_replicates, n_queries, pair_estimate
from mdrbench.findings import findings as family_findings
from mdrbench.workspace import FIRST_RUN_TIME, open_workspace

workspace = open_workspace()
results, size = workspace.results, workspace.size
folder = results.attrs["folder"]
findings = report.findings(results)
by_key = {finding["key"]: finding for finding in findings}
claims = {claim.key: claim for claim in CLAIMS}
print(f"{len(findings)} findings, {findings[0]['n_tests'] if findings else 0} tests")

# %% [markdown]
# ## Exercise 1: one interval by hand
#
# A pair's difference has two sources of noise (docs/statistics.md). With S seeds, per-seed differences d_s (each
# on the whole test set) and B resamples of the test tracks on which the seed-mean difference is recomputed:
#
#     V = var(d_s, ddof 1) / S  +  var over the B resamples,     interval = mean ± t(0.975, df) · sqrt(V)
#
# with Welch-Satterthwaite degrees of freedom df (S − 1 for the seed part, Q − 1 for the query part, Q test tracks).
# The per-seed values are the `R@1` column of `results`; the replicates come from each run's stored per-query
# evidence (`column_replicates`: the same resamples for every model and seed, so the difference is paired on the
# test tracks too).

# %%
finding = by_key["retrieval"]
stored = finding["pairs"][0]
pair = next(p for p in claims["retrieval"].pairs if p.label == stored["label"])
models = results[results["kind"] == "model"]
first = models[models["config"] == pair.first].set_index("seed")["R@1"]
second = models[models["config"] == pair.second].set_index("seed")["R@1"]
seeds = [int(seed) for seed in first.index.intersection(second.index)]
per_seed = (first.loc[seeds] - second.loc[seeds]).to_numpy(float)
replicates = np.mean([column_replicates(folder, pair.first, seed, "R@1")
                      - column_replicates(folder, pair.second, seed, "R@1") for seed in seeds], axis=0)
n_test = n_queries(folder, pair.first, seeds[0])

# by hand, with numpy and scipy only
seed_part = per_seed.var(ddof=1) / len(seeds)
query_part = replicates.var(ddof=1)
df = (seed_part + query_part) ** 2 / (seed_part ** 2 / (len(seeds) - 1) + query_part ** 2 / (n_test - 1))
half = scipy_stats.t.ppf(0.975, df) * np.sqrt(seed_part + query_part)
by_hand = (per_seed.mean() - half, per_seed.mean() + half)

# with mdrbench.stats, both parts and then the seeds alone
estimate = stats.two_level_estimate(per_seed, replicates, n_test)
seeds_only = stats.two_level_estimate(per_seed)
both_interval, seed_interval = estimate.interval(), seeds_only.interval()
print(f"{pair.label}, R@1 per seed: {np.round(per_seed, 2).tolist()} over {n_test} test tracks")
print(f"  seed part {seed_part:.3f}, query part {query_part:.3f} (seed share {estimate.seed_share():.0%}), "
      f"df {df:.1f}")
print(f"  by hand        [{by_hand[0]:+.2f}, {by_hand[1]:+.2f}]")
print(f"  stats, both    [{both_interval[0]:+.2f}, {both_interval[1]:+.2f}]   (the report: [{stored['low']:+.2f}, "
      f"{stored['high']:+.2f}])")
print(f"  stats, seeds   [{seed_interval[0]:+.2f}, {seed_interval[1]:+.2f}]   ({len(seeds) - 1} degree(s) of freedom)")
assert np.allclose(by_hand, both_interval) and np.allclose(both_interval, (stored["low"], stored["high"]))
assert np.isclose(estimate.mean, stored["difference"])

# %% [markdown]
# **Reading it.** The seed share says which part dominates. Two things are worth noticing:
#
# * adding the query part makes the variance *larger* but can make the interval *narrower* than the seeds-only one:
#   with few seeds the seed part has very few degrees of freedom (a 95% t quantile of 12.7 with one), and the
#   query part's many degrees of freedom pull the Welch-Satterthwaite df up. Compare the last two lines above;
# * when the seed share is near 1, more test tracks would not narrow the interval, only more seeds would; near 0,
#   the other way round. That is the design question of exercise 3.
#
# ## Exercise 2: another error rate (predict, then run)
#
# **Prediction.** `alpha` is the family-wise error rate of the verdicts only. The differences, the 95% intervals
# (their level is fixed at 95%) and the Holm-adjusted p-values do not depend on it, so they do not change. A pair is
# decided when its adjusted p-value is below `alpha`, and its direction comes from the sign of the difference: a
# larger `alpha` can only decide more pairs, a smaller one fewer, and no pair can go from *holds* to *does not hold*
# (only from either of them to *undetermined* and back). The power sentences change too: they are computed at
# Holm's strictest level, `alpha` divided by the number of tests.

# %%
ALPHAS = (0.01, stats.ALPHA, 0.20)
runs = {alpha: family_findings(results, alpha=alpha) for alpha in ALPHAS}
pairs = {alpha: {(f["key"], p["label"]): p for f in out for p in f["pairs"]} for alpha, out in runs.items()}
verdicts = pd.DataFrame({f"alpha {alpha:g}": {key: p["verdict"] for key, p in pairs[alpha].items()}
                         for alpha in ALPHAS})
verdicts.index.names = ["finding", "pair"]
changed = verdicts[verdicts.nunique(axis=1) > 1]
print(f"{len(changed)} of {len(verdicts)} pair verdicts change between alpha {ALPHAS[0]:g} and {ALPHAS[-1]:g}:")
print(changed.to_string() if len(changed) else "(none at this size)")
finding_verdicts = pd.DataFrame({f"alpha {alpha:g}": {f["key"]: f["verdict"] for f in out}
                                 for alpha, out in runs.items()})
print("\nfinding verdicts:\n" + finding_verdicts.to_string())

reference = pairs[stats.ALPHA]
for alpha in ALPHAS:
    for key, p in pairs[alpha].items():
        assert np.allclose([p["difference"], p["low"], p["high"], p["p_holm"]],
                           [reference[key][c] for c in ("difference", "low", "high", "p_holm")], equal_nan=True)
decided = {alpha: {key for key, p in pairs[alpha].items() if p["verdict"] != "undetermined"} for alpha in ALPHAS}
assert decided[ALPHAS[0]] <= decided[ALPHAS[1]] <= decided[ALPHAS[2]]  # a larger alpha decides more, never fewer
for key in decided[ALPHAS[0]]:
    assert len({pairs[alpha][key]["verdict"] for alpha in ALPHAS}) == 1  # decided pairs keep their direction

# %% [markdown]
# **Reading it.** A verdict that changes with `alpha` was decided by a p-value near the threshold: report it with
# its p-value, not as a bare verdict. Choosing `alpha` *after* seeing which verdicts it changes would defeat the
# point of an error rate: like the claims, it is fixed before the data (`mdrbench.stats.ALPHA`).
#
# ## Exercise 3 (open-ended): which finding is closest to being decided?
#
# A worked sketch. Two ways to rank the undetermined pairs: by their Holm-adjusted p-value (how far from the
# threshold), and by the observed difference over the difference the design detects with 80% power (how much the
# design would have to improve if the observed difference were the true one). "Decided" can go either way: the
# `would be decided` column says whether the observed difference lies on the claim's side of its margin. Then, for
# the closest pair, the seeds or test tracks that would detect (a) the claim's practical size and (b) the observed
# difference, at the corrected level the power sentences use.

# %%
n_tests = findings[0]["n_tests"] if findings else 0
corrected = stats.ALPHA / max(n_tests, 1)
rows = []
for finding in findings:
    claim = claims[finding["key"]]
    for stored in finding["pairs"]:
        if stored["verdict"] != "undetermined":
            continue
        claim_pair = next(p for p in claim.pairs if p.label == stored["label"])
        estimate, _, _ = pair_estimate(results, claim, claim_pair)
        if estimate is None or estimate.n_seeds < 2 or not np.isfinite(estimate.seed_variance):
            continue
        detectable = stats.minimum_detectable_effect(estimate, alpha=corrected)
        rows.append({"finding": finding["key"], "pair": stored["label"], "Holm p": stored["p_holm"],
                     "would be decided": "for the claim" if estimate.mean > claim.margin else "against it",
                     "|difference| / detectable": abs(estimate.mean - claim.margin) / detectable,
                     "seed share": estimate.seed_share(), "estimate": estimate, "claim": claim})
closeness = pd.DataFrame(rows)
if len(closeness):
    closeness = closeness.sort_values("Holm p").reset_index(drop=True)
    print(closeness.drop(columns=["estimate", "claim"]).round(3).to_string())
    assert closeness["Holm p"].is_monotonic_increasing
else:
    print("no undetermined pair with an estimate at this size")

# %%
if len(closeness):
    closest = closeness.iloc[0]
    estimate, claim = closest["estimate"], closest["claim"]
    observed = abs(estimate.mean - claim.margin)
    print(f"closest by Holm p: [{closest['finding']}] {closest['pair']}, difference {estimate.mean:+.3f} "
          f"(claim's margin {claim.margin:g}), {estimate.n_seeds} seeds x {estimate.n_queries} test tracks, seed "
          f"share {estimate.seed_share():.0%}")
    for target, name in ((claim.practical, "the practical size"), (observed, "the observed difference")):
        seeds = stats.seeds_needed(estimate, target, corrected)
        tracks = stats.queries_needed(estimate, target, corrected) if estimate.n_queries else None
        print(f"  to detect {name} ({target:.3f}): "
              f"{seeds if seeds else f'more than {stats.MAX_SEEDS}'} seeds at today's test tracks; "
              + (f"{tracks if tracks else 'no number of'} test tracks at today's seeds" if estimate.n_queries
                 else "test tracks do not enter (no test-track noise)"))
        if seeds and seeds > 2:  # the fewest: one seed fewer would not do
            assert stats.minimum_detectable_effect(estimate, seeds=seeds, alpha=corrected) <= target
            assert stats.minimum_detectable_effect(estimate, seeds=seeds - 1, alpha=corrected) > target

# %% [markdown]
# One lever alone may not be enough: where the query part dominates, more seeds leave it untouched, and more test
# tracks at few seeds leave the seed part's few degrees of freedom. Both together, on a small grid (seeds, and
# multiples of today's test tracks): for each number of seeds, the fewest test tracks whose design detects the
# observed difference.

# %%
if len(closeness):
    designs = {}
    for seeds in sorted({estimate.n_seeds, estimate.n_seeds + 1, 5, 10, 20}):
        factors = (1, 2, 4, 8, 16, 32, 64) if estimate.n_queries else (1,)
        designs[seeds] = next((factor * estimate.n_queries for factor in factors if stats.minimum_detectable_effect(
            estimate, seeds=seeds, queries=factor * estimate.n_queries or None, alpha=corrected) <= observed), None)
    for seeds, tracks in designs.items():
        found = ("no grid point" if tracks is None else
                 f"{tracks} test tracks" if estimate.n_queries else "yes (no test-track noise)")
        print(f"  {seeds:>2} seeds: {found}")
        if tracks is not None:
            assert stats.minimum_detectable_effect(estimate, seeds=seeds, queries=tracks or None,
                                                   alpha=corrected) <= observed
    cheapest = min((seeds for seeds, tracks in designs.items() if tracks is not None), default=None)
    print(f"  fewest seeds on the grid that decide it: {cheapest or 'none'}; every seed retrains every "
          f"configuration (the whole benchmark at {size.name}: {FIRST_RUN_TIME.get(size.name)}), while a test track "
          "costs seconds to render and score")

# %% [markdown]
# **What to look for.**
#
# * The two rankings need not agree: a pair can have a small p-value because its noise is small even though its
#   difference is far below the claim's practical size. Which one to chase depends on whether the practical size or
#   the observed difference is the target, and that choice belongs before the data.
# * The power for the *observed* difference is optimistic: among undetermined pairs, the ones that look closest are
#   partly the lucky ones (a winner's curse), so a new run will often show a smaller difference.
# * The projection keeps today's variance components: another size (more training data, another front-end) changes
#   the models and their seed variance, and more tests in the report make Holm's strictest level stricter. The
#   only way to know is to run it, with the claim and its design written down first.
# * At `ci`, with so few seeds, a single extra seed moves the seed part's degrees of freedom most; at `default`,
#   look at the seed share first (docs/statistics.md explains why the default design added test tracks rather than
#   seeds).
