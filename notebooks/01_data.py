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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/01_data.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F01_data.ipynb)
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
# # 01 · The data: listen, look, count
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# Every result in mdrbench is measured on a corpus of music with tags. Before training anything, this notebook
# gets to know that corpus the way you would get to know a real data set: **listen** to one track per genre, mood,
# instrument and era, **look** at the log-mel spectrograms the models see, and **count** the tags: how noisy they
# are, how many a track carries, and whether the four factors behind them are independent. Nothing here trains a
# model.
#
# **Objectives:**
#
# - Listen to one track per genre, mood, instrument and era, and name what each factor changes in the sound.
# - Read log-mel spectrograms and average spectra for the cues of genre (drums, bass) and of era (bandwidth).
# - Measure the tag noise (keep, synonym and false-positive rates) against the generator's documented rates.
# - Check the independence of the four factors with Cramér's V beside its typical value under independence.
#
# **Prerequisites:** [00 · Quickstart](00_quickstart.ipynb); background: what a spectrogram shows, and the standard
# error of a proportion.
#
# **Time:** ci about 20 s · default about 25 s · full: GPU sizes, not measured here — once the size's corpus is cached
# (the first open generates it and its log-mels: about a minute at ci, about 6 min at default on 2 CPU cores).

# %% [markdown]
# ## Setup
#
# The environment variable `MDRBENCH_SIZE` picks the size: `ci` (a few hundred short tracks; CI and the notebook
# default), `default` (a laptop benchmark) or `full` (the largest size mdrbench ships, with the paper's front-end
# and backbone, meant for a GPU, yet far below the paper's Million Song Dataset scale: section 1 prints the three
# sizes from `mdrbench.sizes` beside the paper's split). `open_workspace(runs=False)` generates or loads that corpus
# and its log-mels (no trained model needed). The constants only change the display.

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display

import mdrbench.sizes
import mdrbench.synth
import mdrbench.views as views
from mdrbench.audio import window_bounds
from mdrbench.corpus import CATEGORIES, TagVocabulary
from mdrbench.metrics import cramers_v, cramers_v_if_independent
from mdrbench.sources.msd import PAPER_SPLIT_SIZES
from mdrbench.workspace import open_workspace

LISTEN_SECONDS = 5.0  # length of each listening example, from the middle of the track
MAX_ANALYSIS_TRACKS = 400  # the average spectra use at most this many tracks (keeps default/full quick)
ANALYSIS_SECONDS = 3.0  # one clip of this length from the middle of each analysed track

workspace = open_workspace(runs=False)
corpus, features = workspace.corpus, workspace.features
FACTORS = mdrbench.synth.FACTORS  # the values of each clean factor, in the generator's order

# %% [markdown]
# ## 1. A synthetic corpus, and why
#
# The paper trains on the Million Song Dataset with the 50 most frequent Last.fm tags, grouped into genre, mood,
# instrument and era. MSD ships no audio and its previews are gone, so mdrbench generates its own music with the
# same tag structure. That buys **ground truth** (every track is made from four independent *clean* factors: one
# genre, mood, instrument and era, so disentanglement is measurable), **controlled noise** (the observed tags are
# drawn from the factors at known Last.fm-like rates) and **any size** with no download. Real corpora load into
# the same `Corpus` object (notebook 11). The vocabulary is smaller than the paper's:

# %%
paper_vocabulary = TagVocabulary.msd50()
vocabulary_sizes = pd.DataFrame({"paper (MSD Last.fm top 50)": [len(paper_vocabulary.tags_in(c)) for c in CATEGORIES],
                                 "mdrbench synthetic": [len(corpus.vocabulary.tags_in(c)) for c in CATEGORIES]},
                                index=list(CATEGORIES))
vocabulary_sizes.loc["total"] = vocabulary_sizes.sum()
display(vocabulary_sizes)

# %% [markdown]
# So is the corpus. The three sizes mdrbench ships (`mdrbench.sizes.SIZES`, each with its train / valid / test
# split) beside the paper's MSD split (`mdrbench.sources.msd.PAPER_SPLIT_SIZES`): even `full`, the largest, meant
# for a GPU with the paper's front-end and backbone, trains on a fraction of the paper's training tracks (the last
# line prints which fraction).

# %%
size_rows = {}
for name, design in mdrbench.sizes.SIZES.items():
    n_train, n_valid, n_test = mdrbench.sizes.split_counts(design)
    size_rows[f"mdrbench {name}"] = {"tracks": design.n_tracks, "train": n_train, "valid": n_valid, "test": n_test,
                                     "seconds per track": f"{design.min_duration:g}-{design.max_duration:g}",
                                     "sample rate": design.sample_rate, "front-end": design.frontend,
                                     "backbone": design.backbone, "seeds": design.seeds}
size_rows["paper (MSD)"] = {**dict.fromkeys(size_rows[f"mdrbench {name}"], ""),  # only its split is compared
                            "tracks": sum(PAPER_SPLIT_SIZES.values()), **PAPER_SPLIT_SIZES}
display(pd.DataFrame.from_dict(size_rows, orient="index"))
largest = max(mdrbench.sizes.SIZES.values(), key=lambda design: design.n_tracks)
largest_train = mdrbench.sizes.split_counts(largest)[0]
print(f"the largest size, {largest.name}, trains on {largest_train:,} tracks: "
      f"{largest_train / PAPER_SPLIT_SIZES['train']:.0%} of the paper's {PAPER_SPLIT_SIZES['train']:,} training tracks")

# %% [markdown]
# The clean factors (`corpus.factors`) and the observed tags (`corpus.tags`, a multi-hot matrix) side by side for
# a few tracks. The tags are not the factors: some factors have no tag, some are spelled differently, a few tags
# are simply wrong.

# %%
track_table = corpus.factors.copy()
track_table.insert(0, "track_id", corpus.track_ids)
track_table.insert(1, "split", corpus.splits)
track_table.insert(2, "seconds", corpus.durations.round(1))
track_table["observed tags"] = [", ".join(corpus.tags_of(i)) for i in range(len(corpus))]
display(track_table.head(8))

# %% [markdown]
# ## 2. Listen
#
# One example per value of each factor: the first training track that has it. What to listen for, from the
# generator (`mdrbench/synth/`):
#
# * **genre**: tempo, drum pattern and feel, chord progression, bass line (walking in jazz, sub bass in hip-hop,
#   off-beat in electronic). Listen to the drums and the bass first.
# * **mood**: the scale (major, minor, Lydian for calm, Phrygian for dark), tempo, loudness, register, staccato
#   or legato.
# * **instrument**: the timbre of the lead melody: struck piano, plucked guitar, bowed strings, synth saw, organ,
#   brass, flute, and sung vowels for the two voices.
# * **era**: production only: the 60s narrow-band, hissy and wobbly with a spring reverb, the 70s a little wider,
#   the 80s bright with a gated reverb, the 90s full-band, the 00s clipped and heavily compressed.

# %%
train_factors = corpus.factors.iloc[workspace.train_tracks]
for category in CATEGORIES:
    clips = []
    for value in FACTORS[category]:
        index = int(train_factors.index[train_factors[category] == value][0])
        others = ", ".join(f"{c}: {corpus.factors[c].iloc[index]}" for c in CATEGORIES if c != category)
        clips.append((f"{value} ({others}; tags: {', '.join(corpus.tags_of(index))})", corpus.audio(index)))
    display(views.audio_table(clips, corpus.sample_rate, seconds=LISTEN_SECONDS, title=f"one track per {category}"))

# %% [markdown]
# ## 3. Look
#
# The models never hear audio: they see log-mel spectrograms, computed once for the corpus and cached next to it
# (`features.track(i)` is one track's `(n_mels, n_frames)` array). Genre is largely rhythm: look for the vertical
# stripes of the drums (dense, four-on-the-floor, or absent) and the low bands of the bass.

# %%
frontend = features.settings
listen_frames = frontend.n_frames(int(LISTEN_SECONDS * frontend.sample_rate))
print(features)
genre_mels = {}
for genre in FACTORS["genre"]:
    index = int(train_factors.index[train_factors["genre"] == genre][0])
    genre_mels[genre] = features.track(index)[:, :listen_frames]
views.mel_grid(genre_mels, frontend.sample_rate, frontend.hop_length, columns=5,
               title=f"log-mel spectrograms, first {LISTEN_SECONDS:g} s, one track per genre").show()

# %% [markdown]
# ### Era is bandwidth
#
# An era is a production chain, so it shows in the *average* spectrum rather than in any one note. We take one
# clip from the middle of each analysed track, join the clips of one era and draw their average magnitude
# spectrum (`views.average_spectrum`). Look for what `mdrbench/synth/production.py` promises: low-passes that
# cut the highs of the older eras (the 60s add a floor of tape hiss), and the full band for the newer ones.

# %%
analysis_tracks = np.arange(min(len(corpus), MAX_ANALYSIS_TRACKS))
analysis_clips = []
for index in analysis_tracks:
    audio = corpus.audio(int(index))
    start, stop = window_bounds(len(audio), corpus.sample_rate, ANALYSIS_SECONDS)  # the centred window
    analysis_clips.append(audio[start:stop])
analysis_eras = corpus.factors["era"].to_numpy()[analysis_tracks]
era_audio = {era: np.concatenate([analysis_clips[i] for i in np.flatnonzero(analysis_eras == era)])
             for era in FACTORS["era"] if (analysis_eras == era).any()}
views.waveform_spectrum_figure(era_audio, corpus.sample_rate,
                               title=f"average spectrum per era ({len(analysis_tracks)} tracks)").show()

# %% [markdown]
# ## 4. Tags and their noise
#
# On Last.fm, a missing tag means "nobody bothered", not "no". The generator (`mdrbench/synth/tags.py`) imitates
# that: the true factor's tag is **kept** with a per-tag keep rate (`keep_rates()`), each **synonym** of the true
# value ("hip hop" for "hip-hop") appears at its own rate, every other tag is a rare **false positive**, and a
# track left without any tag gets one of its factors' tags. The rates are printed below, from the corpus's own
# record. In the figure the coloured bars are the observed tags and the outlines the clean positives
# (`workspace.clean_tags`, where a synonym counts wherever its canonical tag is true).

# %%
tag_settings = corpus.info["generator"]["tags"]
print({name: tag_settings[name] for name in ("synonym_rate", "false_positive_rate")},
      f"keep rates {min(tag_settings['keep_rates'].values()):.2f}-{max(tag_settings['keep_rates'].values()):.2f}")
clean_tags = workspace.clean_tags  # (n_tracks, n_tags) bool
observed_tags = corpus.tags.astype(bool)
synonyms = mdrbench.synth.SYNONYMS
tag_counts = pd.DataFrame({
    "tag": corpus.vocabulary.tags, "category": corpus.vocabulary.categories,
    "count": observed_tags.sum(axis=0),
    "clean_count": [np.nan if tag in synonyms else count for tag, count in
                    zip(corpus.vocabulary.tags, clean_tags.sum(axis=0), strict=True)],
})
views.tag_frequency_figure(tag_counts, title="observed tag counts (bars) vs clean positives (outlines)").show()

# %% [markdown]
# ### Measured noise rates vs the documented ones
#
# For each tag, the probability that it is observed on a track whose clean factor has that value (the keep rate,
# or the synonym rate), with its binomial standard error. A tag has only its clean positives to measure on, so at
# `ci` the error bars are wide; the "at least one tag" rule also nudges the rarest tags up. If the generator
# behaves as documented, about 95% of the tags should lie within 2 standard errors of their documented rate.

# %%
documented_keep_rates = mdrbench.synth.keep_rates()
positives = clean_tags.sum(axis=0)
measured = (observed_tags & clean_tags).sum(axis=0) / np.maximum(positives, 1)
noise = pd.DataFrame({
    "tag": corpus.vocabulary.tags, "category": corpus.vocabulary.categories,
    "kind": ["synonym" if tag in synonyms else "canonical" for tag in corpus.vocabulary.tags],
    "clean positives": positives,
    "documented": [tag_settings["synonym_rate"] if tag in synonyms else documented_keep_rates[tag]
                   for tag in corpus.vocabulary.tags],
    "measured": measured, "standard error": np.sqrt(measured * (1 - measured) / np.maximum(positives, 1)),
})
# The test uses the spread expected if the documented rate were true (binomial with n = clean positives).
expected_error = np.sqrt(noise["documented"] * (1 - noise["documented"]) / np.maximum(positives, 1))
within = float(((noise["measured"] - noise["documented"]).abs() <= 2 * expected_error).mean())
false_positive_rate = observed_tags[~clean_tags].mean()
print(f"tags whose measured rate is within 2 standard errors of the documented one: {within:.0%}")
print(f"false-positive rate pooled over all tags: {false_positive_rate:.4f} ± "
      f"{np.sqrt(false_positive_rate * (1 - false_positive_rate) / (~clean_tags).sum()):.4f} "
      f"(documented {tag_settings['false_positive_rate']})")

noise_figure = go.Figure()
for category in CATEGORIES:
    rows = noise[noise["category"] == category]
    noise_figure.add_trace(go.Scatter(
        x=rows["documented"], y=rows["measured"], mode="markers", name=category, text=rows["tag"],
        marker={"color": views.CATEGORY_COLORS[category], "size": 9,
                "symbol": ["diamond" if kind == "synonym" else "circle" for kind in rows["kind"]]},
        error_y={"type": "data", "array": rows["standard error"], "thickness": 1},
        hovertemplate="%{text}: documented %{x:.2f}, measured %{y:.2f}<extra></extra>"))
noise_figure.add_trace(go.Scatter(x=[0.3, 1.0], y=[0.3, 1.0], mode="lines", name="measured = documented",
                                  line={"color": "#888", "dash": "dash"}))
noise_figure.update_layout(title="keep rate per tag (circles) and synonym rate (diamonds)",
                           xaxis_title="documented rate", yaxis_title="measured rate", template="plotly_white")
noise_figure.show()

# %% [markdown]
# ### Tags per track, and what a track is missing
#
# Every track has exactly four clean factors; the observed tags scatter around that. The table is the weak-label
# problem in one line: the share of tracks with *no* tag of a category, although every track has a value in every
# category. A model trained on these tags is told "not rock" for those rock tracks.

# %%
tags_per_track = observed_tags.sum(axis=1)
tags_figure = go.Figure(go.Histogram(x=tags_per_track, xbins={"start": -0.5, "size": 1}, marker_color="#555"))
tags_figure.add_vline(x=len(CATEGORIES), line_dash="dash", annotation_text="clean factors per track")
tags_figure.update_layout(title="observed tags per track", xaxis_title="tags", yaxis_title="tracks",
                          template="plotly_white", bargap=0.1)
tags_figure.show()
untagged = {category: float((~observed_tags[:, corpus.vocabulary.tag_indices(category)].any(axis=1)).mean())
            for category in CATEGORIES}
display(pd.Series(untagged, name="share of tracks with no tag").to_frame().T.round(2))

# %% [markdown]
# ### The factors are independent
#
# Each factor is drawn uniformly and independently. On real Last.fm data genre and era are correlated (little 60s
# electronic music), so a "genre" sub-space could score well on era by accident; here it cannot, by construction.
# Let us check the draw with Cramér's V (`mdrbench.metrics.cramers_v`: 0 for independent factors, 1 when one
# determines the other). On a finite corpus V is never exactly 0, so each pair is printed beside its typical value
# under independence (`cramers_v_if_independent`); at `ci` that floor is high.

# %%
association = pd.DataFrame(1.0, index=list(CATEGORIES), columns=list(CATEGORIES))
association_rows = []
for position, first in enumerate(CATEGORIES):
    for second in CATEGORIES[position + 1:]:
        measured_v = cramers_v(corpus.factors[first], corpus.factors[second])
        association.loc[first, second] = association.loc[second, first] = measured_v
        association_rows.append({"pair": f"{first} x {second}", "Cramér's V": measured_v,
                                 "typical if independent": cramers_v_if_independent(corpus.factors[first],
                                                                                     corpus.factors[second])})
display(pd.DataFrame(association_rows).set_index("pair").round(2))
views.disentanglement_heatmap(association, title="Cramér's V between the clean factors",
                              value_name="Cramér's V").show()

# %% [markdown]
# ## What we learned
#
# * The corpus is procedural music made from four independent clean factors, with noisy Last.fm-like tags. You
#   can hear the factors (drums and bass, scale, lead timbre, production), and era shows in the average spectrum.
# * The tags are weak labels: compare the share of tags within 2 standard errors of their documented rate with
#   the 95% expected. Synonyms split one concept, and the untagged shares show that absent tags are not negatives.
# * Read each Cramér's V beside its floor under independence: if they are close, a sub-space cannot look good on
#   one category by predicting another.
#
# **Next: [notebook 02](02_metric_learning_vs_classification.ipynb)** trains on these tags. The simulated raters
# that vote on triplets of these tracks are met in [notebook 08](08_triplet_prediction.ipynb).

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/01_data_solutions.ipynb`](solutions/01_data_solutions.ipynb) (one section per exercise).
#
# 1. **A tag and its synonyms.** How many calm tracks carry both `calm` and at least one of its synonyms (`chill`,
#    `mellow`)? Work out what the documented rates (`corpus.info["generator"]["tags"]`) predict if the synonyms
#    appear independently of the canonical tag, and compare. *(Solution: exercise 1.)*
# 2. **A ten times larger corpus: predict, then run.** `mdrbench.synth.draw_factors` and `mdrbench.synth.draw_tags`
#    draw the factors and noisy tags of any number of tracks without rendering audio. Before running, predict: with
#    ten times the tracks, how much smaller are the standard errors of the measured keep rates, and does the share
#    of tags within 2 standard errors of the documented rate (section 4) go up, down, or stay? Then measure both.
#    *(Solution: exercise 2.)*
# 3. **Brightness and the instrument: predict, then run.** The spectral centroid (the "centre of mass" of the
#    average magnitude spectrum, `views.average_spectrum`) is a rough measure of brightness. Before running,
#    predict which factor moves the median centroid of the mix most: instrument, mood or era? Then compute each
#    analysed clip's centroid and compare the range of the per-value medians for every factor.
#    *(Solution: exercise 3.)*
# 4. **Open-ended: factors that are not independent.** On Last.fm, genre and era are correlated. Build such a
#    catalogue from `draw_factors` by dropping most 60s/70s electronic and hip-hop tracks, and measure Cramér's V as
#    in section 4. What would this dependence do to the linear probes of notebook 05, and how would you tell
#    leakage from confounding? *(Solution: exercise 4, a worked sketch.)*
