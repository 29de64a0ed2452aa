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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mdrbench/mdrbench/blob/main/notebooks/11_real_music.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/mdrbench/mdrbench/HEAD?labpath=notebooks%2F11_real_music.ipynb)
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
# # 11 · Your music in the space
#
# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes `ci`,
# `default` and `full`, the `-full` suffix...) are defined in the [glossary](../docs/glossary.md).
#
# Every model in this suite learned from procedural music. Where does a real recording land in its space? You
# **bring a folder** of real recordings (the shipped ones here, your own at home), **look** at what the model sees
# of it, **embed** it with a synthetic-trained model, and **listen** to its nearest synthetic tracks in the
# complete space and in each sub-space; then see which evaluations run on real collections such as MTG-Jamendo.
#
# **Objectives:**
#
# - Import a folder of real recordings in mixed formats as a checked corpus (`mdrbench corpus import`, `corpus check`).
# - Compare what the model's front-end sees of real recordings with the log-mels of a synthetic track.
# - Embed real recordings with a synthetic-trained model and find their nearest synthetic tracks in each sub-space.
# - Diagnose a domain gap from the recordings' spread and from hubs, and name the evaluations a real corpus allows.
#
# **Prerequisites:** [00 · Quickstart](00_quickstart.ipynb), [01 · Data](01_data.ipynb),
# [05 · Disentanglement](05_disentanglement.ipynb), [06 · Similarity retrieval](06_similarity_retrieval.ipynb);
# background: audio files, sample rates and resampling.
#
# **Time:** ci about 20 s · default about 20 s · full: GPU sizes, not measured here — once the corpus and its log-mels
# are cached (a fresh machine makes them first: about 6 min at default on 2 CPU cores, once for all notebooks).
# At default the model is the one in the reference results that ship with mdrbench, so nothing trains; your own
# runs, where you have any, replace it whole (and are trained first where missing: about 5 min at ci, about an hour
# at default). A folder of your own adds the feature extraction of its tracks (cached for the next run).

# %% [markdown]
# ## Setup
#
# `MDRBENCH_SIZE` (unset: `default` from the shipped reference results, else `ci`) picks the synthetic corpus the model
# learned from; `open_workspace` loads it and the model's stored run. `MUSIC_DIR` switches to your own music: a folder
# of audio files (any format, rate and channel count) with a tag table (`track_id,tags[,split]`, tags joined by `;`,
# `track_id` the file name without extension) and a vocabulary (a `tag,category` CSV, or `"msd50"`). Nothing is copied
# from your folder.

# %%
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
from IPython.display import Markdown, display

import mdrbench.audio
import mdrbench.cli
import mdrbench.features
import mdrbench.search
import mdrbench.similarity
import mdrbench.sources
import mdrbench.views as views
from mdrbench.corpus import CATEGORIES, Corpus
from mdrbench.workspace import open_workspace

MODEL = "proxy-norm-dis"  # disentangled (so it has sub-spaces) and with a tag head (so it can tag your music)
MUSIC_DIR = None  # None: the shipped recordings; else e.g. Path.home() / "Music" / "mine"
TAGS_CSV = None  # None: MUSIC_DIR / "tags.csv"
VOCABULARY = None  # None: MUSIC_DIR / "vocabulary.csv"; or "msd50", or another tag,category CSV
CORPUS_DIR = None  # where the corpus manifest goes (None: a temporary folder); reused when it exists
MIXED_DEMO_TRACK = "macleod_vibe_ace"  # shipped recording re-written as 44.1 kHz stereo FLAC (shipped folder only)
QUERY = None  # the real recording listened to in section 4 (a track id; None: the first one)
K = 3  # neighbours listed per space
CLIP_SECONDS = 5.0  # seconds played per track (from the middle of the track)
MAX_LISTED = 10  # recordings played and tabulated at most (your folder may hold thousands)

workspace = open_workspace(runs=[MODEL])
corpus, run = workspace.corpus, workspace.run(MODEL)

# %% [markdown]
# ## 1. Bring a folder
#
# The shipped recordings are short excerpts of real pieces under free licences (public domain or CC BY: credited):

# %%
shipped = mdrbench.sources.real_music_dir()
display(Markdown((shipped / "CREDITS.md").read_text()))

# %% [markdown]
# A real collection is rarely uniform: 44.1 kHz stereo here, 22.05 kHz mono there, FLAC, OGG or MP3. To show that
# this does not matter, we copy the shipped folder to a temporary folder and re-write one recording as a 44.1 kHz
# **stereo FLAC** (left louder than right, so the down-mix has work to do). Your own folder is left untouched.

# %%
scratch = tempfile.TemporaryDirectory(prefix="mdrbench-11-")  # removed when the kernel stops
work = Path(scratch.name)
if MUSIC_DIR is None:
    music_dir = work / "music"
    shutil.copytree(shipped, music_dir)
    original = music_dir / f"{MIXED_DEMO_TRACK}.ogg"
    mono, rate = soundfile.read(original, dtype="float32")
    at_44k = mdrbench.audio.resample(mono, rate, 44100)  # soxr, the resampler mdrbench uses on load
    soundfile.write(music_dir / f"{MIXED_DEMO_TRACK}.flac", np.stack([at_44k, 0.6 * at_44k], axis=1), 44100)
    original.unlink()
else:
    music_dir = Path(MUSIC_DIR).expanduser()
tags_csv = Path(TAGS_CSV) if TAGS_CSV else music_dir / "tags.csv"
vocabulary = VOCABULARY or music_dir / "vocabulary.csv"
corpus_dir = Path(CORPUS_DIR).expanduser() if CORPUS_DIR else work / "corpus"

audio_files = [path for path in sorted(music_dir.iterdir()) if path.suffix.lower() not in (".csv", ".md")]
display(pd.DataFrame([{"file": path.name, "format": (info := soundfile.info(path)).format, "Hz": info.samplerate,
                       "channels": info.channels, "seconds": round(info.duration, 1)}
                      for path in audio_files[:MAX_LISTED]]))
print(f"the tag table ({tags_csv.name}):")
print(pd.read_csv(tags_csv, dtype=str, keep_default_na=False).head(MAX_LISTED).to_string(index=False))

# %% [markdown]
# **Import and check.** `mdrbench corpus import` (`mdrbench.sources.import_folder`) writes a small corpus folder
# that references the audio where it is. `mdrbench corpus check` (`mdrbench.sources.check_corpus`) lists *problems*
# (a missing file, a tag outside the vocabulary) and *notes* (e.g. a test split too small to rank, which does not
# stop embedding and searching, all this notebook does).

# %%
if (corpus_dir / "corpus.json").is_file():
    print(f"{corpus_dir} holds a corpus already: reused (delete it to import again)")
else:
    command = ["corpus", "import", str(music_dir), "--tags", str(tags_csv), "--vocabulary", str(vocabulary),
               "--out", str(corpus_dir)]
    print("$ mdrbench " + " ".join(command))
    assert mdrbench.cli.main(command) == 0
print(mdrbench.sources.check_corpus(corpus_dir).text())
real = Corpus.load(corpus_dir)
print(real)

# %% [markdown]
# **Listen.** `real.audio(i)` reads a track at the corpus rate, down-mixed to mono and resampled where needed (the
# FLAC included).

# %%
listed = np.arange(min(len(real), MAX_LISTED))
display(views.audio_table([(f"{real.track_ids[i]} ({real.splits[i]}): {', '.join(real.tags_of(int(i)))}",
                            real.audio(int(i), max_seconds=CLIP_SECONDS)) for i in listed],
                          real.sample_rate, seconds=CLIP_SECONDS, title="your folder"))

# %% [markdown]
# ## 2. What the model sees of your music
#
# The model (the benchmark's stored run) learned from the synthetic corpus only. Feature extraction brings each
# track to its front-end: down-mixed, resampled, cut to a centred window (`mdrbench.features.DEFAULT_MAX_SECONDS`)
# and cached in the corpus folder. The table shows each kept window, the figure a few recordings' log-mels beside
# one synthetic track's, on one colour scale.

# %%
training = run.result["training"]
frontend = mdrbench.search.run_frontend(run.folder)
print(f"{MODEL} seed 0: {training['epochs_run']} epochs on {corpus.name}, stopped by {training['stopped_by']}; "
      f"front-end {frontend.sample_rate} Hz, {frontend.n_mels} mels, hop {frontend.hop_length}")
features = mdrbench.features.compute_features(real, frontend, progress=False)
frames_per_second = frontend.sample_rate / frontend.hop_length
display(pd.DataFrame({"track_id": real.track_ids, "duration (s)": real.durations.round(1),
                      "window start (s)": np.round(features.window_starts, 1),
                      "window (s)": np.round(features.lengths / frames_per_second, 1)}).head(MAX_LISTED))

synthetic_example = int(workspace.test_tracks[0])
mels = {str(real.track_ids[i]): features.track(int(i)) for i in listed[:3]}
mels[f"synthetic: {', '.join(corpus.factors.iloc[synthetic_example])}"] = workspace.features.track(synthetic_example)
views.mel_grid(mels, frontend.sample_rate, frontend.hop_length, columns=2,
               title="log-mels at the model's front-end: real recordings and one synthetic track").show()

# %% [markdown]
# ## 3. Embed your music
#
# `mdrbench.search.embed_corpus` embeds every track of any corpus exactly as the benchmark embeds its test tracks
# (the mean of a few fixed excerpts), so the real recordings land in the same space as the run's stored synthetic
# test embeddings, our database (the model never trained on them). From the shell: `mdrbench embed RUN_DIR
# --corpus DIR --out mine.npz`.
#
# **Where does it land?** A PCA of the synthetic test tracks, coloured by genre, with the real recordings added.
# Then the mean cosine between tracks: if the real recordings sit much closer to one another than synthetic tracks
# do, the model sees them as "one kind of sound" it has not learned to tell apart (a domain gap).

# %%
embedded = mdrbench.search.embed_corpus(run, real, features)
test_factors, test_ids = workspace.test_factors, run.test_track_ids
both = np.concatenate([run.test_embeddings, embedded.embeddings])
labels = [f"synthetic: {genre}" for genre in test_factors["genre"]] + ["real recording"] * len(embedded.track_ids)
hover = [f"{t}: {', '.join(test_factors.iloc[i])}" for i, t in enumerate(test_ids)]
hover += [f"{t}: {', '.join(real.tags_of(i))}" for i, t in enumerate(embedded.track_ids)]
views.embedding_scatter(both, labels, hover=hover,
                        title=f"{MODEL}: synthetic test tracks (by genre) and the real recordings (PCA)").show()
spread = pd.DataFrame({"synthetic test tracks": mdrbench.similarity.cosine_spread(run.test_embeddings),
                       "real recordings": mdrbench.similarity.cosine_spread(embedded.embeddings)}).T
spread["tracks"] = [len(test_ids), len(embedded.track_ids)]
display(spread.round(3))

# %% [markdown]
# **Auto-tagging your music.** The proxy model has a tag head: one score per tag of the *synthetic* vocabulary, so
# it answers only in its own words. Its top tag per category for each recording, beside the folder's tags:

# %%
model_vocabulary = corpus.vocabulary
print(f"tags of your folder the model knows: {sorted(set(real.vocabulary.tags) & set(model_vocabulary.tags))}")
if np.isnan(embedded.tag_scores).all():
    print(f"{MODEL} has no tag head, and your folder has no training tracks in its vocabulary: no auto-tags.")
else:
    predicted = {category: [model_vocabulary.tags_in(category)[int(np.argmax(row))] for row in
                            embedded.tag_scores[:, model_vocabulary.tag_indices(category)]] for category in CATEGORIES}
    display(pd.DataFrame({"your tags": [", ".join(real.tags_of(i)) for i in range(len(real))], **predicted},
                         index=embedded.track_ids).head(MAX_LISTED))

# %% [markdown]
# ## 4. The nearest synthetic tracks of each real recording
#
# `mdrbench.search.nearest_across` ranks a database from one corpus for every query from another, by cosine, in
# the complete space or one sub-space (`subspace="genre"`; from the shell, `mdrbench search`). Per recording and
# space: the nearest synthetic test track, its clean value, the cosine. Then a check: where a recording has tags of
# a category, is its sub-space neighbour's clean value among them? And if one synthetic track is the nearest of most
# recordings, it is a *hub*, a common symptom of a domain gap.

# %%
spaces = ["complete", *CATEGORIES]
nearest = {space: mdrbench.search.nearest_across(embedded.embeddings, run.test_embeddings, k=K,
                                                 subspace=None if space == "complete" else space)
           for space in spaces}
table, matches, checked = {}, 0, 0
for query, track_id in enumerate(embedded.track_ids):
    row = {}
    for space in spaces:
        best, cosine = int(nearest[space][0][query, 0]), float(nearest[space][1][query, 0])
        value = ", ".join(test_factors.iloc[best]) if space == "complete" else test_factors.loc[best, space]
        row[space] = f"{test_ids[best]} ({value}) {cosine:.2f}"
        wanted = set(real.tags_of(query)) & set(real.vocabulary.tags_in(space)) if space != "complete" else set()
        checked += bool(wanted)
        matches += bool(wanted) and test_factors.loc[best, space] in wanted
    table[track_id] = row
display(pd.DataFrame.from_dict(table, orient="index").head(MAX_LISTED))
print(f"nearest neighbour in the category's sub-space carries one of the recording's tags of that category: "
      f"{matches} of {checked} (recording, category) pairs with tags")
print("distinct nearest synthetic tracks per space, over", len(embedded.track_ids), "recordings:",
      {space: len(np.unique(nearest[space][0][:, 0])) for space in spaces})

# %% [markdown]
# Listening says more than the numbers. Here is one real recording (`QUERY`) and its nearest synthetic track in
# each space; set `QUERY` to another track id, or call `neighbours_table(row, ("genre",), n_listen=3)`, to hear more.


# %%
def neighbours_table(row: int, space_names=tuple(spaces), n_listen: int = 1):
    """A real recording and its nearest synthetic test tracks in each space, as a table of audio players."""
    clips = [(f"{embedded.track_ids[row]} (real; tags: {', '.join(real.tags_of(row))})",
              real.audio(row, max_seconds=CLIP_SECONDS))]
    for space in space_names:
        for rank in range(n_listen):
            position, cosine = int(nearest[space][0][row, rank]), float(nearest[space][1][row, rank])
            clips.append((f"{space} space, neighbour {rank + 1}: {test_ids[position]} (cosine {cosine:.2f}): "
                          f"{', '.join(test_factors.iloc[position])}",
                          corpus.audio(int(workspace.test_tracks[position]), max_seconds=CLIP_SECONDS)))
    return views.audio_table(clips, corpus.sample_rate, seconds=CLIP_SECONDS)


query_row = 0 if QUERY is None else mdrbench.search.find_track(embedded.track_ids, QUERY, "your folder")
display(neighbours_table(query_row))

# %% [markdown]
# ## 5. Beyond this folder: real collections and the benchmark
#
# A real collection has the tags people gave it, not clean factors. **R@K**, **tag ROC-AUC** (for the tags the
# model knows) and **triplet prediction per category** need only tags, and the **track** notion not even those, so
# they run on any tagged collection: `mdrbench bench --corpus DIR` trains and scores every model on it. The **probe
# matrix** (notebook 05) and the **simulated raters** (notebook 08) need clean factors, which only the synthetic
# corpus has; **real Dim-Sim** needs its CSV (Zenodo record 3889149) and the MSD clips it names
# (`mdrbench bench --corpus MSD_CLIPS --dimsim dimsim.csv`).
#
# **MTG-Jamendo** (Bogdanov et al., 2019) is the real tagged corpus you can download (Creative Commons tracks,
# official splits, decade tags such as `genre---60s` for the era). After cloning `MTG/mtg-jamendo-dataset` and
# downloading its audio with its own script, `mdrbench.sources.load_jamendo(AUDIO_DIR, splits_dir=..., split=0)`
# reads one split as a corpus, `mdrbench.sources.write_corpus_manifest(jamendo, DIR)` writes it, and
# `mdrbench bench --corpus DIR --size default` runs the whole benchmark on it (resumable).

# %% [markdown]
# ## What we learned
#
# - A folder of real recordings in mixed formats becomes a checked corpus in two commands; `embed_corpus` puts it in
#   a synthetic-trained space and `nearest_across` searches across the two corpora, in any space or sub-space.
# - How close the recordings sit to each other, and whether one synthetic track is everyone's neighbour, says how
#   far real audio lies from what the model learned.

# %% [markdown]
# ## Exercises
#
# From quick to open-ended. Worked solutions, with checks, are in
# [`solutions/11_real_music_solutions.ipynb`](solutions/11_real_music_solutions.ipynb) (one section per exercise;
# they run on the shipped recordings).
#
# 1. **The tags the model knows.** Which of the folder's tags are in the synthetic vocabulary? For every recording
#    and category where it has such a tag, is the model's top tag of that category (section 3) one of them?
#    *(Solution: exercise 1.)*
# 2. **The window: predict, then run.** Embed the same folder with
#    `mdrbench.search.embed_corpus(run, real, max_seconds=10, cache_dir=False)` (features recomputed for a
#    10-second centred window). Before running, predict which recordings cannot change at all, and which may change
#    most; then compare each recording's embedding and nearest synthetic tracks with those above. Why might the
#    middle of a piece not represent it? *(Solution: exercise 2.)*
# 3. **The model or the domain? Predict, then run.** Embed the folder with `workspace.run("triplet-norm-dis")` too, and
#    compare, for both models, the mean cosine among the real recordings with the one among the synthetic test
#    tracks, and the number of distinct nearest synthetic tracks (hubs). Before running, predict what a domain gap
#    and a model-specific collapse would each look like. *(Solution: exercise 3.)*
# 4. **Open-ended: your own folder.** Put a dozen tracks you know well in a folder, write `tags.csv` with a genre and
#    an instrument for each (tags of the synthetic vocabulary where you can: `corpus.vocabulary.tags`), set
#    `MUSIC_DIR` and run the notebook again. Does the auto-tagging get your genres right? In which sub-space do the
#    nearest synthetic tracks carry your tags most often, against chance? What would you change in the synthetic
#    corpus to bring it closer to your music? *(Solution: exercise 4, a worked sketch on the shipped recordings.)*
