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
# Every model in this suite learned from procedural music. Does its space say anything about a real
# recording? And which of the paper's evaluations can you run on a real collection at all, where nobody
# knows the "true" genre, mood, instrument and era of a track, only the tags people gave it?
#
# In this notebook you will:
#
# 1. **bring a folder** of real recordings (the ones shipped with mdrbench here; your own at home): a tag table,
#    mixed sample rates and channel counts, imported with `mdrbench corpus import` and checked with
#    `mdrbench corpus check`; then listen to it;
# 2. **look** at what the model sees of it: log-mels at the model's own rate, from a bounded window per track;
# 3. **embed** it with a model trained on the synthetic corpus, and see where it lands;
# 4. **listen** to the synthetic tracks nearest each real recording, in the complete space and inside each
#    sub-space (genre, mood, instrument, era), and the reverse: the real recordings nearest a synthetic track;
# 5. sort the evaluations into those that need only **tags** (they run on any tagged collection) and those
#    that need **clean factors** (synthetic data only), with a table computed on both corpora;
# 6. see how to run the whole benchmark on **MTG-Jamendo**, the real corpus you can download.
#
# **Time:** under a minute at `ci` once the benchmark's runs exist (`mdrbench bench`); otherwise the benchmark
# cell trains the one model it needs first (about a minute at `ci`, several minutes at `default`). A folder of
# your own adds the feature extraction of its tracks (a bounded window of each, cached for the next run).

# %% [markdown]
# ## Setup
#
# `SIZE` picks the synthetic corpus and the model's training budget (`ci`: a tiny corpus, noisy results, what CI
# runs; `default`: the laptop benchmark). `MUSIC_DIR` is the switch for your own music: leave it at `None` for
# the recordings shipped with mdrbench, or point it at a folder of audio files (any format soundfile reads, any
# rate, mono or stereo) with a tag table (`track_id,tags[,split]`, tags joined by `;`, `track_id` the file name
# without its extension) and a vocabulary (a `tag,category` CSV, or `"msd50"`). Nothing is copied from your
# folder: the corpus written here only references the files.

# %%
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import ipywidgets
import numpy as np
import pandas as pd
import soundfile
from IPython.display import Markdown, display

import mdrbench
import mdrbench.audio
import mdrbench.bench
import mdrbench.cli
import mdrbench.dimsim
import mdrbench.evaluate
import mdrbench.features
import mdrbench.metrics
import mdrbench.models
import mdrbench.paths
import mdrbench.search
import mdrbench.sizes
import mdrbench.sources
import mdrbench.subspaces
import mdrbench.synth
import mdrbench.views as views
from mdrbench.corpus import CATEGORIES, Corpus

SIZE = os.environ.get("MDRBENCH_SIZE", "ci")
MODEL = "proxy-norm-dis"  # disentangled (so it has sub-spaces) and with a tag head (so it can tag your music)
SEED = 0

MUSIC_DIR = None  # None: the shipped recordings; else e.g. Path.home() / "Music" / "mine"
TAGS_CSV = None  # None: MUSIC_DIR / "tags.csv"
VOCABULARY = None  # None: MUSIC_DIR / "vocabulary.csv"; or "msd50", or another tag,category CSV
CORPUS_DIR = None  # where the corpus manifest goes (None: a temporary folder); reused when it exists
MIXED_DEMO_TRACK = "macleod_vibe_ace"  # shipped recording re-written as 44.1 kHz stereo FLAC (shipped folder only)

QUERY = None  # the real recording queried in section 4 (a track id; None: the first one)
K = 3  # neighbours listed per space
N_LISTEN = 1  # neighbours played per space
CLIP_SECONDS = 5.0  # seconds played per track (from the middle of the track)
MAX_LISTED = 10  # recordings played and tabulated at most (your folder may hold thousands)
JAMENDO_SPLITS = None  # mtg-jamendo-dataset's data/splits; None: the excerpt of split-0 in tests/fixtures

size = mdrbench.sizes.get_size(SIZE)
print(size)

# %% [markdown]
# ## 1. Bring a folder
#
# The shipped recordings are short excerpts of real pieces under free licences (public domain or CC BY).
# CC BY means we may redistribute them, and must credit their authors wherever they go; this is the credits
# file that travels with them:

# %%
shipped = mdrbench.sources.real_music_dir()
display(Markdown((shipped / "CREDITS.md").read_text()))

# %% [markdown]
# A real collection is rarely uniform: some files are 44.1 kHz stereo, others 22.05 kHz mono, some FLAC, some
# OGG or MP3. To show that this does not matter, we copy the shipped folder (with its credits) to a temporary
# folder (deleted when the kernel stops) and re-write one recording as a 44.1 kHz **stereo FLAC** (the left
# channel louder than the right, so that the down-mix has work to do). With your own folder, nothing is copied
# or changed.

# %%
scratch = tempfile.TemporaryDirectory(prefix="mdrbench-10-")  # removed when the kernel stops
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

print(f"{music_dir}:")
for path in sorted(music_dir.iterdir())[:MAX_LISTED + 3]:
    if path.suffix.lower() in (".csv", ".md"):
        print(f"   {path.name}")
    else:
        info = soundfile.info(path)
        print(f"   {path.name:32s} {info.format:5s} {info.samplerate} Hz, {info.channels} channel(s), "
              f"{info.duration:.1f} s")
print(f"the tag table ({tags_csv.name}):")
print(pd.read_csv(tags_csv, dtype=str, keep_default_na=False).head(MAX_LISTED).to_string(index=False))

# %% [markdown]
# **Import.** `mdrbench corpus import` reads the tag table, finds each track's file, opens every header (rate,
# channels, duration) and writes a small corpus folder (`corpus.json`, `vocabulary.csv`, `tracks.csv`, `tags.csv`)
# that references the audio where it is. We call the command line from Python (`mdrbench.cli.main` takes the same
# arguments as the shell command); `mdrbench.sources.import_folder` is the same thing as a function. A folder
# imported earlier (when you set `CORPUS_DIR`) is reused, with its feature cache.

# %%
if (corpus_dir / "corpus.json").is_file():
    print(f"{corpus_dir} holds a corpus already: reused (delete it to import again)")
else:
    command = ["corpus", "import", str(music_dir), "--tags", str(tags_csv), "--vocabulary", str(vocabulary),
               "--out", str(corpus_dir)]
    print("$ mdrbench " + " ".join(command))
    assert mdrbench.cli.main(command) == 0

# %% [markdown]
# **Check.** `mdrbench corpus check` (here `mdrbench.sources.check_corpus`) re-reads the corpus folder without
# stopping at the first problem. *Problems* make a corpus unusable (a missing file, a tag outside the
# vocabulary, an empty split), each with its fix; *notes* say what works but deserves a look, for example a
# test split too small for the benchmark: such a corpus can still be embedded and searched, which is all
# this notebook does with it.

# %%
check = mdrbench.sources.check_corpus(corpus_dir)
print(check.text())
real = Corpus.load(corpus_dir)
print(real)

# %% [markdown]
# **Listen.** `real.audio(i)` reads a track at the corpus rate (the most common rate of its files), down-mixed
# to mono and resampled where needed (the FLAC included); `max_seconds` reads only a centred window of that length.

# %%
listed = np.arange(min(len(real), MAX_LISTED))
for index in listed:
    display(Markdown(f"**{real.track_ids[index]}** ({real.splits[index]}): {', '.join(real.tags_of(index))}"))
    display(views.audio_player(real.audio(int(index), max_seconds=CLIP_SECONDS), real.sample_rate))

# %% [markdown]
# ## 2. The synthetic-trained model, and what it sees of your music
#
# The model comes from the benchmark's stored runs: `run_benchmark` resumes, so it only trains a
# (configuration, seed) that is not stored yet, and `load_run` reads it back. It learned from the synthetic
# corpus of this size only; it has never heard a real instrument.

# %%
corpus = mdrbench.synth.ensure_corpus(SIZE, progress=False)
results_dir = mdrbench.paths.results_dir(SIZE)
mdrbench.bench.run_benchmark(size=SIZE, configs=[MODEL], seeds=[SEED], out_dir=results_dir, verbose=0,
                             progress=False)
run = mdrbench.bench.load_run(results_dir, MODEL, SEED)
training = run.result["training"]
frontend = mdrbench.search.run_frontend(run.folder)
print(f"{MODEL} seed {SEED}: trained on {corpus.name} ({len(corpus.split_indices('train'))} training tracks), "
      f"{training['epochs_run']} epochs, stopped by {training['stopped_by']}")
print(f"its front-end: {frontend.sample_rate} Hz, {frontend.n_mels} mels, hop {frontend.hop_length} samples, "
      f"excerpts of {frontend.excerpt_frames} frames")

# %% [markdown]
# Feature extraction brings every track to the model's front-end: down-mixed, resampled (soxr) to its rate, and
# cut to a bounded window, centred (`mdrbench.features.DEFAULT_MAX_SECONDS`), so that a corpus of long tracks has
# a bounded cache. The log-mels are cached in the corpus folder (`features/`), never in your music folder.
# The table shows where each kept window starts in its track and how long it is; the figure shows the log-mels of
# a few recordings beside one synthetic track (same colour scale).

# %%
features = mdrbench.features.compute_features(real, frontend, progress=False)
frames_per_second = frontend.sample_rate / frontend.hop_length
display(pd.DataFrame({"track_id": real.track_ids, "duration (s)": real.durations.round(1),
                      "window start (s)": np.round(features.window_starts, 1),
                      "window (s)": np.round(features.lengths / frames_per_second, 1)}).head(MAX_LISTED))

synthetic_example = int(corpus.split_indices("test")[0])
synthetic_features = mdrbench.features.compute_features(corpus, frontend, progress=False)
mels = {str(real.track_ids[i]): features.track(int(i)) for i in listed[:3]}
mels[f"synthetic: {', '.join(corpus.factors.iloc[synthetic_example])}"] = synthetic_features.track(synthetic_example)
views.mel_grid(mels, frontend.sample_rate, frontend.hop_length, columns=2,
               title="log-mels at the model's front-end: real recordings and one synthetic track").show()

# %% [markdown]
# ## 3. Embed your music
#
# `mdrbench.search.embed_corpus` embeds every track of any corpus with a trained run, exactly as the benchmark
# embeds its test tracks (the mean of a few fixed excerpts), so the real recordings land in the same space as the
# run's stored synthetic test embeddings (`run_test_set`). The synthetic test tracks are our database: the model
# never trained on them. (`mdrbench embed RUN_DIR --corpus DIR --out mine.npz` does the same from the shell.)

# %%
embedded = mdrbench.search.embed_corpus(run, real, features)
synthetic = mdrbench.search.run_test_set(run)
test_indices = corpus.split_indices("test")
assert (synthetic.track_ids == corpus.track_ids[test_indices]).all()  # row i = test track i, in corpus order
test_factors = corpus.factors.iloc[test_indices].reset_index(drop=True)
slices = mdrbench.subspaces.subspace_slices(embedded.embeddings.shape[1])
print(f"real: {embedded.embeddings.shape}, synthetic test tracks: {synthetic.embeddings.shape}")

# %% [markdown]
# **Where does it land?** One projection (PCA) of the synthetic test tracks, coloured by their genre, with the
# real recordings added as their own points. Then a number that says more than the picture: the mean cosine
# between tracks. Synthetic tracks of different genres, moods, instruments and eras spread out; if the real
# recordings sit much closer to one another than synthetic tracks do, the model sees them as "one kind of
# sound" it has not learned to tell apart (a domain gap), and their neighbours below should be read with that in mind.

# %%
both = np.concatenate([synthetic.embeddings, embedded.embeddings])
labels = [f"synthetic: {genre}" for genre in test_factors["genre"]] + ["real recording"] * len(embedded.track_ids)
hover = [f"{t}: {', '.join(test_factors.iloc[i])}" for i, t in enumerate(synthetic.track_ids)]
hover += [f"{t}: {', '.join(real.tags_of(i))}" for i, t in enumerate(embedded.track_ids)]
views.embedding_scatter(both, labels, hover=hover,
                        title=f"{MODEL}: synthetic test tracks (by genre) and the real recordings (complete space, "
                              f"PCA)").show()

spread = pd.DataFrame({"synthetic test tracks": mdrbench.evaluate.spread(synthetic.embeddings),
                       "real recordings": mdrbench.evaluate.spread(embedded.embeddings)}).T
spread["tracks"] = [len(synthetic.track_ids), len(embedded.track_ids)]
spread.round(3)

# %% [markdown]
# **Auto-tagging your music.** The proxy model has a tag head: one score per tag of the *synthetic* vocabulary, so
# it can only answer in its own words. Its top tag per category for each recording, beside the tags the folder
# gives (tags the model does not know, such as an instrument it never heard, cannot come out):

# %%
model_vocabulary = corpus.vocabulary
known = sorted(set(real.vocabulary.tags) & set(model_vocabulary.tags))
print(f"tags of your folder the model knows: {known or 'none'}")
if np.isnan(embedded.tag_scores).all():
    print(f"{MODEL} has no tag head, and scores tags by prototypes of tagged training tracks, which your folder "
          f"does not have in the model's vocabulary: no auto-tags.")
else:
    predicted = {category: [model_vocabulary.tags_in(category)[int(np.argmax(row))] for row in
                            embedded.tag_scores[:, model_vocabulary.tag_indices(category)]] for category in CATEGORIES}
    your_tags = [", ".join(real.tags_of(int(np.flatnonzero(real.track_ids == t)[0]))) for t in embedded.track_ids]
    display(pd.DataFrame({"your tags": your_tags, **predicted}, index=embedded.track_ids).head(MAX_LISTED))

# %% [markdown]
# ## 4. The nearest synthetic tracks of each real recording
#
# `mdrbench.search.nearest_across` ranks a database from one corpus for every query from another, by cosine,
# in the complete space or inside one sub-space (`subspace="genre"` keeps only the genre block of dimensions).
# The table lists, for every real recording and every space, its nearest synthetic test track with that track's
# clean value of the category (the whole factor set in the complete space) and the cosine.
#
# The synthetic tracks have clean factors, so one check is possible: where a recording carries tags of a
# category, is the clean value of its nearest synthetic track in that category's sub-space among those tags?
# Read the count with the corpus sizes printed beside it.

# %%
spaces = ["complete", *CATEGORIES]
nearest, rows = {}, {}
for space in spaces:
    nearest[space] = mdrbench.search.nearest_across(embedded.embeddings, synthetic.embeddings, k=K,
                                                    subspace=None if space == "complete" else space)
for query in range(len(embedded.track_ids)):
    row = {}
    for space in spaces:
        best, cosine = int(nearest[space][0][query, 0]), float(nearest[space][1][query, 0])
        value = ", ".join(test_factors.iloc[best]) if space == "complete" else test_factors.loc[best, space]
        row[space] = f"{synthetic.track_ids[best]} ({value}) {cosine:.2f}"
    rows[embedded.track_ids[query]] = row
display(pd.DataFrame.from_dict(rows, orient="index").head(MAX_LISTED))

tags_by_category = {category: set(real.vocabulary.tags_in(category)) for category in CATEGORIES}
matches, checked = 0, 0
for query in range(len(embedded.track_ids)):
    for category in CATEGORIES:
        wanted = set(real.tags_of(query)) & tags_by_category[category]
        if wanted:
            checked += 1
            matches += test_factors.loc[int(nearest[category][0][query, 0]), category] in wanted
distinct = {space: len(np.unique(nearest[space][0][:, 0])) for space in spaces}
print(f"nearest neighbour in the category's sub-space carries one of the recording's tags of that category: "
      f"{matches} of {checked} (recording, category) pairs with tags")
print(f"distinct nearest synthetic tracks per space, over {len(embedded.track_ids)} recordings: {distinct}")
print(f"(the database holds {len(synthetic.track_ids)} synthetic test tracks; at this size expect noise)")

# %% [markdown]
# The same search from the shell: `mdrbench search RUN_DIR --corpus DIR --query TRACK_ID --database test`, where
# `test` means the run's stored synthetic test tracks. Its first answer in the genre sub-space should be the one in
# the table's genre column:

# %%
command = ["search", str(run.folder), "--corpus", str(corpus_dir), "--query", str(embedded.track_ids[0]),
           "--database", "test", "--subspace", "genre", "-k", str(K)]
print("$ mdrbench " + " ".join(command))
assert mdrbench.cli.main(command) == 0

# %% [markdown]
# If a single synthetic track is the nearest neighbour of most recordings in some space, it is a *hub*: a
# point near the middle of where real audio falls, a common symptom of a domain gap. Listening says more than
# the numbers. Here is one real recording (`QUERY`) and its nearest synthetic track in each space:

# %%
query_row = 0 if QUERY is None else mdrbench.search.find_track(embedded.track_ids, QUERY, "your folder")


def show_real_query(row, space_names=tuple(spaces), n_listen=N_LISTEN):
    """A real recording, then its nearest synthetic test tracks in each space, with audio players."""
    index = int(np.flatnonzero(real.track_ids == embedded.track_ids[row])[0])
    display(Markdown(f"**{real.track_ids[index]}** (real; tags: {', '.join(real.tags_of(index))})"))
    display(views.audio_player(real.audio(index, max_seconds=CLIP_SECONDS), real.sample_rate))
    for space in space_names:
        found, cosines = nearest[space][0][row, :n_listen], nearest[space][1][row, :n_listen]
        for rank, (position, cosine) in enumerate(zip(found, cosines, strict=True), start=1):
            values = dict(test_factors.iloc[int(position)])
            display(Markdown(f"{space} space, neighbour {rank}: {synthetic.track_ids[position]} (cosine "
                             f"{cosine:.2f}): " + ", ".join(f"{c} = {v}" for c, v in values.items())))
            display(views.audio_player(corpus.audio(int(test_indices[position]), max_seconds=CLIP_SECONDS),
                                       corpus.sample_rate))


show_real_query(query_row)

# %% [markdown]
# Now your turn: pick a recording and a space (this needs a live kernel; the panel stays empty until you change
# a picker).

# %%
recording_picker = ipywidgets.Dropdown(options=[(str(t), row) for row, t in enumerate(embedded.track_ids)],
                                       value=query_row, description="recording")
space_picker = ipywidgets.Dropdown(options=spaces, value="genre", description="space")
listen_slider = ipywidgets.IntSlider(value=N_LISTEN, min=1, max=K, description="neighbours")
panel = ipywidgets.Output()


def update_panel(_change=None):
    # Filled only when a picker changes: headless runs (CI) never render into an Output widget.
    panel.clear_output(wait=True)
    with panel:
        show_real_query(recording_picker.value, (space_picker.value,), listen_slider.value)


for picker in (recording_picker, space_picker, listen_slider):
    picker.observe(update_panel, names="value")
display(ipywidgets.VBox([ipywidgets.HBox([recording_picker, space_picker, listen_slider]), panel]))

# %% [markdown]
# **The reverse: the real recordings nearest a synthetic track.** We pick the first synthetic test track whose
# clean genre is one of your folder's genre tags (if there is one), and rank the real recordings for it in every
# space. `nearest_across` is symmetric in use: the queries now come from the synthetic corpus.

# %%
real_genres = tags_by_category["genre"]
candidates = np.flatnonzero(test_factors["genre"].isin(real_genres).to_numpy())
synthetic_query = int(candidates[0]) if len(candidates) else 0
print(f"synthetic query {synthetic.track_ids[synthetic_query]}: "
      + ", ".join(f"{c} = {v}" for c, v in test_factors.iloc[synthetic_query].items()))
display(views.audio_player(corpus.audio(int(test_indices[synthetic_query]), max_seconds=CLIP_SECONDS),
                           corpus.sample_rate))
reverse, reverse_rows = {}, {}
for space in spaces:
    found, cosines = mdrbench.search.nearest_across(synthetic.embeddings[[synthetic_query]], embedded.embeddings,
                                                    k=min(K, len(embedded.track_ids)),
                                                    subspace=None if space == "complete" else space)
    reverse_rows[space] = found[0]
    reverse[space] = [f"{embedded.track_ids[p]} {c:.2f}" for p, c in zip(found[0], cosines[0], strict=True)]
display(pd.DataFrame(reverse, index=pd.RangeIndex(1, len(reverse_rows["complete"]) + 1, name="rank")))
top = int(np.flatnonzero(real.track_ids == embedded.track_ids[reverse_rows["complete"][0]])[0])
display(Markdown(f"nearest real recording in the complete space: **{real.track_ids[top]}**"))
display(views.audio_player(real.audio(top, max_seconds=CLIP_SECONDS), real.sample_rate))

# %% [markdown]
# ## 5. Which evaluations need clean factors?
#
# The synthetic corpus knows each track's true genre, mood, instrument and era; a real collection only has the
# tags people gave it. Each of the paper's evaluations needs one or the other:
#
# - **R@K** compares a query's tags with its neighbours' tags: tags only.
# - **tag ROC-AUC** compares the model's tag scores with the tags: tags only, and only for tags the model knows.
# - **triplet prediction per category** draws (anchor, positive, negative) where anchor and positive share a tag
#   of the category and the negative does not: tags only. The **track** notion (two excerpts of one track against
#   another track) needs no tags at all.
# - the **probe matrix** (notebook 05) fits a classifier from each sub-space to each clean factor: clean factors.
# - **simulated raters** vote by shared clean factors: clean factors.
# - **real Dim-Sim** needs human votes on 3-second clips of MSD tracks: the Dim-Sim CSV (Zenodo record 3889149)
#   and the clips it names, imported as a corpus (`mdrbench bench --corpus MSD_CLIPS --dimsim dimsim.csv`).
#
# The table below does not take this list on trust: it runs each evaluation on your folder with the library's
# functions, and shows either the number or the library's own reason for refusing. Beside it, the value the
# benchmark stored for the synthetic test split. On the shipped handful of recordings the numbers only show that
# an evaluation *runs*; they mean nothing as measurements (a folder of hundreds of tagged tracks changes that).
# The real Dim-Sim file is not shipped, so its row reads the test fixture `tests/fixtures/dimsim_real_music.csv`
# (the real file's exact schema, with invented votes on the shipped recordings) and counts the triplets whose
# three clips a corpus holds: a triplet is scored only when all three of its track ids are track ids there.

# %%
repository = Path(mdrbench.__file__).resolve().parent.parent
dimsim_fixture = repository / "tests" / "fixtures" / "dimsim_real_music.csv"
n_real = len(embedded.track_ids)
rows_real = np.array([int(np.flatnonzero(real.track_ids == t)[0]) for t in embedded.track_ids])
real_labels = real.tags[rows_real]
real_categories = np.asarray(real.vocabulary.categories)


def attempt(compute):
    """The value ``compute()`` returns, or the one-line reason the library gives for refusing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compute()
    except ValueError as error:  # CorpusError is a ValueError too
        return f"refused: {' '.join(str(error).split())}"


def real_r_at_1():
    return f"{mdrbench.metrics.recall_at_k(embedded.embeddings, real_labels, ks=(1,))[1]:.2f}"


def real_auc():
    # the model's scores for the folder's tags it knows; a column of NaN (unknown tag) is skipped by tag_auc
    scores = np.full(real_labels.shape, np.nan, dtype=np.float32)
    for column, tag in enumerate(real.vocabulary.tags):
        if tag in model_vocabulary.tags:
            scores[:, column] = embedded.tag_scores[:, model_vocabulary.index(tag)]
    auc = mdrbench.metrics.tag_auc(scores, real_labels, categories=real_categories, tag_names=real.vocabulary.tags)
    return f"{auc['roc_auc']:.2f} over {len(real.vocabulary) - len(auc['skipped_tags'])} tags"


def real_tag_triplets():
    triplets = mdrbench.metrics.sample_tag_triplets(real_labels, real_categories, n_per_category=200, seed=SEED)
    table = mdrbench.metrics.triplet_accuracy_table(embedded.embeddings, triplets, slices)
    scored = [c for c in CATEGORIES if c in table.columns and not np.isnan(table.loc["subspace", c])]
    if not scored:
        return "refused: no category has a tag carried by two recordings and missed by one"
    return f"sub-space {table.loc['subspace', 'overall']:.2f} ({', '.join(scored)})"


def real_track_triplets():
    n_frames = features.settings.excerpt_frames
    per_track = mdrbench.evaluate.EXCERPTS_PER_TRACK
    triplets = mdrbench.evaluate.sample_track_triplets(features.lengths[rows_real], n_frames, 200, SEED)
    starts = mdrbench.features.fixed_excerpt_starts(features.lengths[rows_real], n_frames, per_track)
    excerpts = mdrbench.models.embed_excerpts(run.model, features, np.repeat(rows_real, per_track), starts.ravel())
    excerpts = excerpts.reshape(n_real, per_track, -1)
    anchor, first, second, negative = triplets.T
    accuracy = mdrbench.metrics.triplet_accuracy(excerpts[anchor, first], excerpts[anchor, second],
                                                 excerpts[negative, 0])
    return f"{accuracy:.2f}"


def real_probe():
    if real.factors is None:
        raise ValueError("the probes predict clean factors, and this corpus has none (corpus.factors is None)")
    return "runs"


def real_simulated_raters():
    mdrbench.dimsim.simulate_triplets(real, n_triplets=10, split="train")
    return "runs"


def dimsim_rows(target):
    if not dimsim_fixture.is_file():
        return "refused: the fixture is not there (a clone of the repository has it)"
    usable, dropped = mdrbench.dimsim.triplets_in_corpus(mdrbench.dimsim.read_triplets(dimsim_fixture), target)
    return f"{len(usable)} of {len(usable) + dropped} fixture triplets have their three clips here"


stored = run.result
probe = pd.DataFrame(stored["disentanglement"]) if stored["disentanglement"] else None
evaluations = pd.DataFrame([
    ("R@1 (similarity retrieval)", "tags", f"{stored['recall_at_k']['1']:.2f}", attempt(real_r_at_1)),
    ("tag ROC-AUC (auto-tagging)", "tags the model knows", f"{stored['auc']['roc_auc']:.2f}", attempt(real_auc)),
    ("triplets per category", "tags", f"sub-space {stored['triplets']['subspace']['overall']:.2f}",
     attempt(real_tag_triplets)),
    ("triplets, track notion", "audio only", f"{stored['track_triplet_accuracy']:.2f}", attempt(real_track_triplets)),
    ("probe matrix (linear probes)", "clean factors",
     "n/a" if probe is None else f"diagonal mean {np.mean([probe.loc[c, c] for c in CATEGORIES]):.2f}",
     attempt(real_probe)),
    ("human triplets, simulated raters", "clean factors",
     f"{stored['human_triplet_accuracy']:.2f} ({stored['human_source']})", attempt(real_simulated_raters)),
    ("human triplets, real Dim-Sim", "Dim-Sim CSV + the MSD clips it names", attempt(lambda: dimsim_rows(corpus)),
     attempt(lambda: dimsim_rows(real))),
], columns=["evaluation", "needs", f"synthetic test split (stored, {len(test_indices)} tracks)",
            f"your folder (computed here, {n_real} tracks)"]).set_index("evaluation")
with pd.option_context("display.max_colwidth", None):
    display(evaluations)

# %% [markdown]
# The Dim-Sim schema, as the fixture writes it: one row per triplet, the anchor and the two songs by track id,
# each 3-second clip's start in seconds and in samples at `sampling_rate`, and the votes for song 1 and song 2 (a
# tie is left out; the *clean* subset is the triplets where at least 90% of the raters agree). With the real file
# and your MSD clips imported under their MSD ids (`mdrbench corpus import MSD_CLIPS --tags msd_tags.csv
# --vocabulary msd50 --out corpora/msd`), `mdrbench bench --corpus corpora/msd --dimsim dimsim.csv` scores every
# model on them, beside the paper's figures.

# %%
if dimsim_fixture.is_file():
    with pd.option_context("display.max_columns", None):
        display(mdrbench.dimsim.read_triplets(dimsim_fixture).head(3))

# %% [markdown]
# The practical consequence: `mdrbench bench --corpus DIR` runs on any tagged collection (with a test split large
# enough to rank, see the check above), and reports R@K, tag AUC and triplet prediction; the probe matrix and the
# simulated raters simply drop out, and the human-triplet column fills in only with `--dimsim` and the clips it
# names. The benchmark trains the models on that collection, with its own vocabulary: that is the next section.

# %% [markdown]
# ## 6. The benchmark on MTG-Jamendo
#
# MTG-Jamendo (Bogdanov et al., 2019) is the real tagged corpus you can actually download: 55k Creative Commons
# tracks, with official train/validation/test splits for genre, mood/theme, instrument and top-50 tags. Its tags
# map onto the paper's four categories: genre, mood/theme as mood, instrument, and the decade tags
# (`genre---60s` .. `genre---90s`) as **era**. mdrbench never downloads anything; these are the steps, in a shell:
#
# ```bash
# git clone https://github.com/MTG/mtg-jamendo-dataset              # the split files: data/splits/split-0 .. 4
# python3 mtg-jamendo-dataset/scripts/download/download.py --dataset raw_30s --type audio \
#     /data/jamendo --unpack --remove                                # the MP3s (hundreds of GB; see its -h)
# ```
#
# then, in Python, one multi-label corpus from the three category files of one split, written as a corpus folder
# that references the MP3s in place (`skip_missing=True` lets you start with part of the audio):
#
# ```python
# import mdrbench.sources
# jamendo = mdrbench.sources.load_jamendo("/data/jamendo", splits_dir="mtg-jamendo-dataset/data/splits", split=0,
#                                         skip_missing=True, name="jamendo-split0")
# mdrbench.sources.write_corpus_manifest(jamendo, "corpora/jamendo-split0")
# ```
#
# and the benchmark, from the shell (resumable: an interrupted run continues where it stopped):
#
# ```bash
# mdrbench corpus check corpora/jamendo-split0
# mdrbench bench --corpus corpora/jamendo-split0 --size default --out results/jamendo-split0
# mdrbench report results/jamendo-split0
# mdrbench search results/jamendo-split0/runs/proxy-norm-dis/seed0 --corpus corpora/jamendo-split0 \
#     --query track_0000948 --subspace mood
# ```
#
# If you keep your own tag table with Jamendo's tag names (`track_id,path,tags,split`, tags such as
# `genre---rock;mood/theme---happy;instrument---piano`), `mdrbench corpus import AUDIO_DIR --tags TABLE.csv
# --vocabulary jamendo --out DIR` does the same on the command line: the vocabulary is derived from the table.
#
# The reader runs here on an excerpt of the official split-0 files kept for the tests (exact lines, CRLF
# endings, no audio: `check_audio=False` trusts the listed paths). The counts it reports: tracks per file
# (subset and split), tracks in the merged corpus per split (a track in several category files is one track with
# the union of its tags), and tracks carrying at least one tag of each category.

# %%
splits_dir = Path(JAMENDO_SPLITS) if JAMENDO_SPLITS else repository / "tests" / "fixtures" / "jamendo" / "splits"
if splits_dir.is_dir():
    jamendo = mdrbench.sources.load_jamendo(work / "no-audio", splits_dir=splits_dir, split=0, check_audio=False)
    counts = jamendo.info["source"]["counts"]
    print(jamendo)
    display(pd.DataFrame(counts["subsets"]).T.rename_axis("tracks per subset file"))
    display(pd.DataFrame({"merged corpus": counts["merged"]}).T)
    display(pd.DataFrame({"tracks with a tag of": counts["categories"]}).T)
    print("era tags:", jamendo.vocabulary.tags_in("era"))
    print("a few genre tags:", jamendo.vocabulary.tags_in("genre")[:8])
    example = int(np.flatnonzero(jamendo.tags[:, jamendo.vocabulary.tag_indices("era")].any(axis=1))[0])
    print(f"a track with an era tag: {jamendo.track_ids[example]} ({jamendo.splits[example]}): "
          f"{', '.join(jamendo.tags_of(example))}")
else:
    print(f"{splits_dir} is not there: set JAMENDO_SPLITS to mtg-jamendo-dataset's data/splits.")

# %% [markdown]
# ## What we learned
#
# - A folder of real recordings at mixed rates, channel counts and formats becomes a corpus with one command
#   (`mdrbench corpus import`), is checked with another (`mdrbench corpus check`), and is resampled and
#   down-mixed to the model's front-end only when features are computed, from a bounded window per track.
# - A model trained on synthetic music embeds it (`mdrbench.search.embed_corpus`), and `nearest_across` searches
#   across the two corpora, in the complete space or inside one sub-space, in both directions. How close the
#   real recordings sit to each other, and whether one synthetic track is everyone's neighbour, says how far
#   real audio lies from what the model learned.
# - R@K, tag AUC and triplet prediction need only tags (the track notion not even those), so they run on any
#   tagged collection; the probe matrix and the simulated raters need clean factors, which only the synthetic
#   corpus has; real human triplets need Dim-Sim's file and its MSD clips.
# - MTG-Jamendo's official splits load as one multi-label corpus with era from the decade tags, and the whole
#   benchmark runs on it with `mdrbench bench --corpus`.

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
# 3. **The model or the domain? Predict, then run.** Embed the folder with `MODEL = "triplet-norm-dis"` too, and
#    compare, for both models, the mean cosine among the real recordings with the one among the synthetic test
#    tracks, and the number of distinct nearest synthetic tracks (hubs). Before running, predict what a domain gap
#    and a model-specific collapse would each look like. *(Solution: exercise 3.)*
# 4. **Open-ended: your own folder.** Put a dozen tracks you know well in a folder, write `tags.csv` with a genre and
#    an instrument for each (tags of the synthetic vocabulary where you can: `corpus.vocabulary.tags`), set
#    `MUSIC_DIR` and run the notebook again. Does the auto-tagging get your genres right? In which sub-space do the
#    nearest synthetic tracks carry your tags most often, against chance? What would you change in the synthetic
#    corpus to bring it closer to your music? *(Solution: exercise 4, a worked sketch on the shipped recordings.)*
