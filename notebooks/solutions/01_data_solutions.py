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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/solutions/01_data_solutions.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2Fsolutions%2F01_data_solutions.ipynb)
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
# # 01 · Solutions: the data
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../../docs/glossary.md).
#
# Worked solutions to the exercises at the end of `01_data`: how often a tag and its synonyms come together, what
# a ten times larger corpus does to the measured tag noise, what the number of raters does to the "clean" subset
# of the simulated raters, and (open-ended) what factors that are not independent would do.
#
# It reads `MDRBENCH_SIZE` (default `ci`) like the notebook and trains nothing. Every number is printed, never
# written here; the `assert` lines check the answers against a second computation.
#
# **Time:** about 10 s at `ci` once the corpus is cached.

# %%
import os

import numpy as np
import pandas as pd
from scipy import stats

import mdrbench.dimsim
import mdrbench.synth

SIZE = os.environ.get("MDRBENCH_SIZE", "ci")
SEED = 0
corpus = mdrbench.synth.ensure_corpus(SIZE, seed=SEED, progress=False)
tag_settings = corpus.info["generator"]["tags"]
print(corpus)

# %% [markdown]
# ## Exercise 1: a tag and its synonyms together
#
# A calm track keeps its tag `calm` with the tag's keep rate, and each synonym (`chill`, `mellow`) appears with
# probability 0.35, independently of the canonical tag (`mdrbench/synth/tags.py`). So among the calm tracks, the
# expected share carrying `calm` **and** at least one synonym is keep rate x (1 - 0.65²). The "at least one tag"
# rule cannot change this count: a track with a synonym already has a tag.

# %%
TAG = "calm"
synonyms = [alias for alias, value in mdrbench.synth.SYNONYMS.items() if value == TAG]
calm_tracks = corpus.factors["mood"].to_numpy() == TAG
tags = corpus.tags.astype(bool)
has_tag = tags[:, corpus.vocabulary.index(TAG)]
has_synonym = tags[:, [corpus.vocabulary.index(alias) for alias in synonyms]].any(axis=1)
observed = int((calm_tracks & has_tag & has_synonym).sum())

keep = tag_settings["keep_rates"][TAG]
p_both = keep * (1 - (1 - tag_settings["synonym_rate"]) ** len(synonyms))
expected = calm_tracks.sum() * p_both
spread = np.sqrt(calm_tracks.sum() * p_both * (1 - p_both))
print(f"{int(calm_tracks.sum())} calm tracks; tagged {TAG!r} and one of {synonyms}: {observed} "
      f"(independence predicts {expected:.1f} ± {spread:.1f})")
assert abs(observed - expected) <= 3 * spread  # the generator's documented rates, within 3 binomial errors

# %% [markdown]
# **Reading it.** The count matches independence within its binomial error: people "spell it either way", so a
# synonym says nothing about whether the canonical tag is there, and a model trained on the tags sees the same
# concept split over two or three columns.
#
# ## Exercise 2: a ten times larger corpus (predict, then run)
#
# **Prediction.** A measured keep rate is a binomial proportion over the tag's clean positives, so its standard
# error shrinks like 1/sqrt(n): ten times more tracks, about sqrt(10) ≈ 3.2 times smaller errors. The share of
# tags within 2 standard errors of the documented rate should *not* change much: if the generator behaves as
# documented, it stays near 95% whatever n (that is what "2 standard errors" means). A systematic bias (the "at
# least one tag" rule adds a few positives) would show up as that share falling at large n, where the errors
# become smaller than the bias.
#
# No audio is needed for the tags: `draw_factors` and `draw_tags` are what `synthesize` calls, so the same seed
# gives exactly the corpus's tags (checked first), and ten times as many tracks take a fraction of a second.

# %%
factors = mdrbench.synth.draw_factors(len(corpus), seed=SEED)
_, same_tags = mdrbench.synth.draw_tags(factors, seed=SEED)
assert np.array_equal(same_tags, corpus.tags)  # the cheap route reproduces the corpus's tags


def keep_rate_table(n_tracks: int) -> pd.DataFrame:
    """Measured vs documented keep rate of every canonical tag, on n_tracks drawn without audio."""
    drawn = mdrbench.synth.draw_factors(n_tracks, seed=SEED)
    vocabulary, drawn_tags = mdrbench.synth.draw_tags(drawn, seed=SEED)
    rows = []
    for column, tag in enumerate(vocabulary.tags):
        if tag not in tag_settings["keep_rates"]:
            continue  # a synonym: not a keep rate
        truth = drawn[vocabulary.categories[column]].to_numpy() == tag
        documented = tag_settings["keep_rates"][tag]
        measured = drawn_tags[truth, column].mean()
        error = np.sqrt(documented * (1 - documented) / truth.sum())
        rows.append({"tag": tag, "positives": int(truth.sum()), "documented": documented, "measured": measured,
                     "standard error": error, "z": (measured - documented) / error})
    return pd.DataFrame(rows).set_index("tag")


summary = {}
for n_tracks in (len(corpus), 10 * len(corpus)):
    table = keep_rate_table(n_tracks)
    summary[n_tracks] = {"median standard error": table["standard error"].median(),
                         "mean |measured - documented|": (table["measured"] - table["documented"]).abs().mean(),
                         "share within 2 standard errors": (table["z"].abs() <= 2).mean(),
                         "mean z (bias)": table["z"].mean()}
summary = pd.DataFrame(summary).T.rename_axis("tracks")
print(summary.round(4).to_string())
shrink = summary["median standard error"].iloc[0] / summary["median standard error"].iloc[1]
print(f"standard errors shrink by {shrink:.2f} (sqrt(10) = {np.sqrt(10):.2f})")
assert 2.5 < shrink < 4.0
assert summary["mean |measured - documented|"].iloc[1] < summary["mean |measured - documented|"].iloc[0]

# %% [markdown]
# **Reading it.** The errors shrink by about sqrt(10), the measured rates move towards the documented ones, and
# the share within 2 standard errors should stay in the neighbourhood of 95% (with only a few dozen canonical tags, one
# tag more or less moves it by a few percent). A positive mean z is the small upward push of the "at least one
# tag" rule; it would need far more tracks to dominate the noise.
#
# ## Exercise 3: fewer raters per triplet (predict, then run)
#
# **Prediction.** "Clean" means at least 90% of the raters agree. With 3 raters that means all 3 agree (2 of 3 is
# 67%); with 12 raters, at least 11 of 12 must agree. Each rater has private weights and noise, so unanimity is
# much easier among 3 than among 12: **fewer raters give a larger clean subset**, made of triplets that are
# less certain. Separately, raising the agreement threshold can only shrink the clean subset.

# %%
N_TRIPLETS = 400
clean_share = {}
for raters in (3, 12):
    simulated = mdrbench.dimsim.simulate_triplets(corpus, N_TRIPLETS, split="test", n_raters_range=(raters, raters),
                                                  seed=SEED)
    votes = simulated[["song1_vote", "song2_vote"]].to_numpy()
    agreement = votes.max(axis=1) / votes.sum(axis=1)
    assert np.allclose(agreement, mdrbench.dimsim.agreement_share(simulated))
    clean_share[raters] = len(mdrbench.dimsim.clean_subset(simulated)) / len(simulated)
    sizes = {threshold: len(mdrbench.dimsim.clean_subset(simulated, agreement=threshold))
             for threshold in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)}
    assert list(sizes.values()) == sorted(sizes.values(), reverse=True)  # a higher bar keeps fewer triplets
    print(f"{raters:2d} raters per triplet: clean share {clean_share[raters]:.2f}; clean subset size by threshold "
          f"{sizes}")
assert clean_share[3] > clean_share[12]

# %% [markdown]
# **Reading it.** With 3 raters most "clean" triplets are unanimous by luck; with 12 the bar is real. Dim-Sim had
# 5-12 raters per triplet, so its clean subset mixes both regimes: a clean triplet with 5 votes is weaker evidence
# than one with 12.
#
# ## Exercise 4 (open-ended): factors that are not independent
#
# A worked sketch. On Last.fm, genre and era are correlated (there is little 60s electronic music). Imitate that
# without rendering audio: draw the factors of many tracks, then drop most electronic and hip-hop tracks of the
# 60s and 70s, as a real catalogue would lack them. Measure Cramér's V between genre and era before and after,
# beside its typical value under independence (the notebook's formula; a few lines of glue around scipy).

# %%
def cramers_v(first: pd.Series, second: pd.Series) -> tuple[float, float]:
    """Cramér's V of two categorical columns, and its typical value under independence (as in notebook 01)."""
    table = pd.crosstab(first, second)
    chi2, _, dof, _ = stats.chi2_contingency(table, correction=False)
    scale = table.to_numpy().sum() * (min(table.shape) - 1)
    return float(np.sqrt(chi2 / scale)), float(np.sqrt(dof / scale))


DROP_SHARE = 0.9  # share of the 60s/70s electronic and hip-hop tracks a "real" catalogue lacks
drawn = mdrbench.synth.draw_factors(10 * len(corpus), seed=SEED)
rng = np.random.default_rng(SEED)
anachronistic = (drawn["genre"].isin(["electronic", "hip-hop"]) & drawn["era"].isin(["60s", "70s"])).to_numpy()
catalogue = drawn[~(anachronistic & (rng.random(len(drawn)) < DROP_SHARE))]
independent_v, typical_v = cramers_v(drawn["genre"], drawn["era"])
biased_v, biased_typical = cramers_v(catalogue["genre"], catalogue["era"])
print(f"genre x era, {len(drawn)} independent draws: V = {independent_v:.3f} (typical if independent "
      f"{typical_v:.3f})")
print(f"after dropping {DROP_SHARE:.0%} of the 60s/70s electronic and hip-hop tracks ({len(catalogue)} left): "
      f"V = {biased_v:.3f} (typical if independent {biased_typical:.3f})")
era_given_electronic = catalogue.loc[catalogue["genre"] == "electronic", "era"].value_counts(normalize=True)
print("era of the electronic tracks left:", era_given_electronic.round(2).to_dict())
assert biased_v > independent_v

# %% [markdown]
# **What to look for.**
#
# * The dependence shows as V well above its typical value under independence, and in the era distribution of
#   the electronic tracks: knowing the genre now tells you something about the era.
# * The consequence for disentanglement (notebook 05): a probe on the *genre* sub-space could read era
#   above chance simply because genre predicts era, without any era information leaking into that block. On
#   such data, off-diagonal probe scores are not evidence of leakage; compare them with what the factor
#   dependence alone allows (a probe that predicts era from the clean genre).
# * The synthetic corpus draws the factors independently precisely so that this confound cannot happen;
#   `mdrbench.synth.draw_factors` is the place to change if you want to study it.
