"""The corpus interface: round trip through a folder, and a clear error for every kind of bad folder."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile

from mdrbench import CATEGORIES, Corpus, CorpusError, TagVocabulary

VOCABULARY = TagVocabulary.from_pairs(
    [("rock", "genre"), ("jazz", "genre"), ("sad", "mood"), ("piano", "instrument"), ("80s", "era")]
)


def tiny_corpus(n_tracks=6, sample_rate=8000, seed=0):
    rng = np.random.default_rng(seed)
    tags = (rng.random((n_tracks, len(VOCABULARY))) < 0.5).astype(np.uint8)
    audio = [0.1 * rng.standard_normal(sample_rate * (1 + i % 2)).astype(np.float32) for i in range(n_tracks)]
    splits = np.array(["train", "train", "train", "valid", "test", "test"][:n_tracks])
    factors = pd.DataFrame({c: [f"{c}{i % 2}" for i in range(n_tracks)] for c in CATEGORIES})
    return Corpus(track_ids=[f"t{i}" for i in range(n_tracks)], sample_rate=sample_rate,
                  durations=[len(a) / sample_rate for a in audio], vocabulary=VOCABULARY, tags=tags,
                  splits=splits, factors=factors, info={"name": "tiny"}, _audio=audio)


@pytest.fixture
def saved(tmp_path):
    corpus = tiny_corpus()
    return corpus, corpus.save(tmp_path / "c")


def test_round_trip_keeps_everything(saved):
    original, loaded = saved
    assert list(loaded.track_ids) == list(original.track_ids)
    np.testing.assert_array_equal(loaded.tags, original.tags)
    np.testing.assert_array_equal(loaded.splits, original.splits)
    np.testing.assert_allclose(loaded.durations, original.durations)
    pd.testing.assert_frame_equal(loaded.factors, original.factors)
    assert loaded.vocabulary == original.vocabulary
    assert loaded.name == "tiny"
    for index in range(len(original)):
        # FLAC PCM_16 quantizes to 1/32768.
        np.testing.assert_allclose(loaded.audio(index), original.audio(index), atol=1 / 32768 + 1e-7)


def test_vocabulary_lookups():
    assert VOCABULARY.tags_in("genre") == ["rock", "jazz"]
    np.testing.assert_array_equal(VOCABULARY.tag_indices("mood"), [2])
    np.testing.assert_array_equal(VOCABULARY.category_ids, [0, 0, 1, 2, 3])
    assert VOCABULARY.decode(VOCABULARY.encode([["jazz", "80s"]])[0]) == ["jazz", "80s"]
    with pytest.raises(KeyError, match="unknown tag 'polka'"):
        VOCABULARY.index("polka")
    with pytest.raises(KeyError, match="unknown category"):
        VOCABULARY.tags_in("tempo")


def test_msd50_vocabulary_has_the_paper_counts():
    vocabulary = TagVocabulary.msd50()
    counts = {c: len(vocabulary.tags_in(c)) for c in CATEGORIES}
    assert counts == {"genre": 28, "mood": 12, "instrument": 5, "era": 5}


def test_vocabulary_rejects_unknown_category_and_duplicates():
    with pytest.raises(CorpusError, match="unknown categories"):
        TagVocabulary(("rock",), ("style",))
    with pytest.raises(CorpusError, match="twice"):
        TagVocabulary(("rock", "rock"), ("genre", "genre"))


def test_split_indices_and_summary(saved):
    _, corpus = saved
    np.testing.assert_array_equal(corpus.split_indices("test"), [4, 5])
    summary = corpus.summary()
    assert list(summary["tag"]) == list(VOCABULARY.tags)
    assert (summary["train"] + summary["valid"] + summary["test"] == summary["all"]).all()
    with pytest.raises(KeyError, match="unknown split"):
        corpus.split_indices("dev")


def test_subset_keeps_rows_aligned(saved):
    _, corpus = saved
    part = corpus.subset([5, 1])
    assert list(part.track_ids) == ["t5", "t1"]
    np.testing.assert_array_equal(part.tags, corpus.tags[[5, 1]])
    np.testing.assert_array_equal(part.audio(0), corpus.audio(5))


def test_missing_audio_file_is_named(saved):
    _, corpus = saved
    (corpus.root / "audio" / "t2.flac").unlink()
    with pytest.raises(CorpusError, match=r"t2\.flac: audio file missing"):
        Corpus.load(corpus.root)


def test_wrong_sample_rate_is_named(saved):
    _, corpus = saved
    soundfile.write(corpus.root / "audio" / "t3.flac", np.zeros(100, np.float32), 22050)
    with pytest.raises(CorpusError, match=r"t3\.flac: sample rate 22050 Hz.*8000"):
        Corpus.load(corpus.root)


def test_unknown_tag_is_named(saved):
    _, corpus = saved
    tags = pd.read_csv(corpus.root / "tags.csv", keep_default_na=False)
    tags.loc[0, "tags"] = "rock;polka"
    tags.to_csv(corpus.root / "tags.csv", index=False)
    with pytest.raises(CorpusError, match=r"tags\.csv.*'polka' is not in the vocabulary"):
        Corpus.load(corpus.root)


def test_overlapping_splits_are_named(saved):
    _, corpus = saved
    tracks = pd.read_csv(corpus.root / "tracks.csv", keep_default_na=False)
    leaked = tracks.iloc[[0]].assign(split="test")
    pd.concat([tracks, leaked]).to_csv(corpus.root / "tracks.csv", index=False)
    with pytest.raises(CorpusError, match=r"track 't0' is listed more than once \(splits \['test', 'train'\]\)"):
        Corpus.load(corpus.root)


def test_corrupt_metadata_is_named(saved):
    _, corpus = saved
    (corpus.root / "corpus.json").write_text("{not json")
    with pytest.raises(CorpusError, match=r"corpus\.json: not valid JSON"):
        Corpus.load(corpus.root)
    (corpus.root / "corpus.json").write_text(json.dumps({"format_version": 99, "sample_rate": 8000}))
    with pytest.raises(CorpusError, match="format_version 99"):
        Corpus.load(corpus.root)


def test_missing_folder_suggests_the_fix(tmp_path):
    with pytest.raises(CorpusError, match="mdrbench corpus synth"):
        Corpus.load(tmp_path / "nowhere")


def test_nan_audio_is_rejected(tmp_path):
    on_disk = tiny_corpus().save(tmp_path / "c")
    broken = np.zeros(on_disk.sample_rate, np.float32)
    broken[10] = np.nan
    # A float WAV can carry NaN; libsndfile reads by header, whatever the file name says.
    soundfile.write(on_disk.root / "audio" / "t0.flac", broken, on_disk.sample_rate, subtype="FLOAT", format="WAV")
    with pytest.raises(CorpusError, match="NaN"):
        on_disk.audio(0)
    corpus = tiny_corpus()
    corpus._audio[1][5] = np.inf
    with pytest.raises(CorpusError, match="track 't1'.*NaN or infinite"):
        corpus.save(tmp_path / "d")


def test_in_memory_shape_errors():
    with pytest.raises(CorpusError, match=r"tag matrix has shape \(2, 3\)"):
        Corpus(track_ids=["a", "b"], sample_rate=8000, durations=[1, 1], vocabulary=VOCABULARY,
               tags=np.zeros((2, 3)), splits=["train", "test"])
    with pytest.raises(CorpusError, match="track ids repeat"):
        Corpus(track_ids=["a", "a"], sample_rate=8000, durations=[1, 1], vocabulary=VOCABULARY,
               tags=np.zeros((2, 5)), splits=["train", "test"])
