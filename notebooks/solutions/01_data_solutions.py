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
# a ten times larger corpus does to the measured tag noise, which factor makes the mix brighter, and (open-ended)
# what factors that are not independent would do.
#
# Like the notebook, it opens the corpus of `MDRBENCH_SIZE` (unset: `default` from the shipped reference results, else
# `ci`) with `open_workspace(runs=False)` and trains nothing. Every number is printed, never written here; the `assert`
# lines check the answers against a second computation.
#
# **Time:** ci about 20 s · default about 20 s · full: not measured — once the size's corpus is cached.

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go

import mdrbench.synth
import mdrbench.views as views
from mdrbench.audio import window_bounds
from mdrbench.corpus import CATEGORIES
from mdrbench.metrics import cramers_v, cramers_v_if_independent
from mdrbench.workspace import open_workspace

MAX_ANALYSIS_TRACKS = 400  # as in the notebook
ANALYSIS_SECONDS = 3.0
HIGH_FREQUENCY_HZ = 5000.0  # "high band" for the era bandwidth share

workspace = open_workspace(runs=False)
corpus = workspace.corpus
SEED = corpus.info["generator"]["seed"]  # the corpus's own seed, so draw_factors/draw_tags reproduce it
tag_settings = corpus.info["generator"]["tags"]

# %% [markdown]
# ## Exercise 1: a tag and its synonyms together
#
# A calm track keeps its tag `calm` with the tag's keep rate, and each synonym (`chill`, `mellow`) appears with
# the synonym rate s, independently of the canonical tag (`mdrbench/synth/tags.py`). So among the calm tracks, the
# expected share carrying `calm` **and** at least one of its two synonyms is keep rate x (1 - (1 - s)²). The "at
# least one tag" rule cannot change this count: a track with a synonym already has a tag.

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

# %% [markdown]
# ## Exercise 3: brightness and the instrument (predict, then run)
#
# **Prediction.** The lead instrument is one voice in a mix that also has drums, bass and (often) an
# accompaniment, so its timbre moves the centroid of the whole mix only partly. Era changes the bandwidth of the
# whole mix (a low-pass on everything), and mood shifts the register and the drums. A reasonable guess: era moves
# brightness at least as much as the instrument, so one brightness number cannot tell instruments apart, and a model
# has to learn timbre from spectro-temporal patterns.
#
# The centroid of a clip is the magnitude-weighted mean frequency of its average spectrum (`views.average_spectrum`),
# and the high-band share its power above `HIGH_FREQUENCY_HZ`, from the same clips as the notebook's era figure.

# %%
analysis_tracks = np.arange(min(len(corpus), MAX_ANALYSIS_TRACKS))
brightness_rows = []
for index in analysis_tracks:
    audio = corpus.audio(int(index))
    start, stop = window_bounds(len(audio), corpus.sample_rate, ANALYSIS_SECONDS)  # the centred window
    frequencies, decibels = views.average_spectrum(audio[start:stop], corpus.sample_rate)
    magnitude = 10 ** (decibels / 20)
    power = magnitude**2
    brightness_rows.append({"centroid_hz": float((frequencies * magnitude).sum() / magnitude.sum()),
                            "high_band_share": float(power[frequencies > HIGH_FREQUENCY_HZ].sum() / power.sum())})
brightness = pd.concat([corpus.factors.iloc[analysis_tracks].reset_index(drop=True), pd.DataFrame(brightness_rows)],
                       axis=1)
median_centroids = {category: brightness.groupby(category)["centroid_hz"].median() for category in CATEGORIES}
spread = pd.Series({category: medians.max() - medians.min() for category, medians in median_centroids.items()},
                   name="range of the median centroids (Hz)")
print(spread.round(0).to_string())
era_high_band = brightness.groupby("era")["high_band_share"].median().loc[list(mdrbench.synth.FACTORS["era"])]
print(f"median power share above {HIGH_FREQUENCY_HZ:.0f} Hz per era:", era_high_band.round(4).to_dict())
assert np.all(brightness["centroid_hz"].between(0, corpus.sample_rate / 2))  # a centroid lies inside the band
assert era_high_band[["90s", "00s"]].mean() > era_high_band[["60s", "70s"]].mean()  # the old eras' low-pass

instrument_figure = go.Figure()
colors = views.label_colors(mdrbench.synth.FACTORS["instrument"])
for instrument in mdrbench.synth.FACTORS["instrument"]:
    rows = brightness[brightness["instrument"] == instrument]
    instrument_figure.add_trace(go.Box(y=rows["centroid_hz"], name=instrument, boxpoints="all",
                                       marker_color=colors[instrument]))
instrument_figure.update_layout(title="spectral centroid of the mix, per lead instrument", yaxis_title="Hz",
                                template="plotly_white", showlegend=False)
instrument_figure.show()

# %% [markdown]
# **Reading it.** Compare the instrument's range with era's and mood's in the printed table, and in the box plot
# how far the medians move against how much the boxes overlap. Where another factor moves the centroid as much as
# the instrument does, brightness alone cannot name the instrument. The high-band shares show the era's low-pass
# directly (the 60s also add a floor of tape hiss, which lifts their high band a little).
#
# ## Exercise 4 (open-ended): factors that are not independent
#
# A worked sketch. On Last.fm, genre and era are correlated (there is little 60s electronic music). Imitate that
# without rendering audio: draw the factors of many tracks, then drop most electronic and hip-hop tracks of the
# 60s and 70s, as a real catalogue would lack them. Measure Cramér's V between genre and era before and after,
# beside its typical value under independence (`mdrbench.metrics.cramers_v`, `cramers_v_if_independent`).

# %%
DROP_SHARE = 0.9  # share of the 60s/70s electronic and hip-hop tracks a "real" catalogue lacks
drawn = mdrbench.synth.draw_factors(10 * len(corpus), seed=SEED)
rng = np.random.default_rng(SEED)
anachronistic = (drawn["genre"].isin(["electronic", "hip-hop"]) & drawn["era"].isin(["60s", "70s"])).to_numpy()
catalogue = drawn[~(anachronistic & (rng.random(len(drawn)) < DROP_SHARE))]
independent_v = cramers_v(drawn["genre"], drawn["era"])
biased_v = cramers_v(catalogue["genre"], catalogue["era"])
print(f"genre x era, {len(drawn)} independent draws: V = {independent_v:.3f} (typical if independent "
      f"{cramers_v_if_independent(drawn['genre'], drawn['era']):.3f})")
print(f"after dropping {DROP_SHARE:.0%} of the 60s/70s electronic and hip-hop tracks ({len(catalogue)} left): "
      f"V = {biased_v:.3f} (typical if independent "
      f"{cramers_v_if_independent(catalogue['genre'], catalogue['era']):.3f})")
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
