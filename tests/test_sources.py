"""Real-corpus readers on small fixtures (no corpus is downloaded), and the Dim-Sim reader on real audio."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from mdrbench import CorpusError, TagVocabulary
from mdrbench.dimsim import COLUMNS, clip_frames, read_triplets, triplet_indices, triplets_in_corpus
from mdrbench.features import FRONTENDS, compute_features, log_mel
from mdrbench.sources import load_folder, load_jamendo, load_real_music
from mdrbench.sources.folder import random_splits

DIMSIM_REAL = Path(__file__).parent / "fixtures" / "dimsim_real_music.csv"

VOCABULARY = TagVocabulary.from_pairs([("rock", "genre"), ("happy", "mood"), ("piano", "instrument"),
                                       ("90s", "era")])


def write_tones(folder, names, rate=8000, seconds=1.0):
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        t = np.arange(int(rate * seconds)) / rate
        soundfile.write(folder / name, 0.2 * np.sin(2 * np.pi * (220 + 50 * index) * t), rate)


def test_folder_with_tags_column(tmp_path):
    write_tones(tmp_path / "audio", ["a.wav", "b.wav", "c.flac"])
    (tmp_path / "tags.csv").write_text("track_id,tags,split\na,rock;happy,train\nb,piano,valid\nc,90s;rock,test\n")
    corpus = load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY)
    assert list(corpus.track_ids) == ["a", "b", "c"]
    assert corpus.tags_of(2) == ["rock", "90s"]
    assert list(corpus.splits) == ["train", "valid", "test"]
    assert corpus.sample_rate == 8000
    assert corpus.audio(2).shape == (8000,)
    saved = corpus.save(tmp_path / "copy")
    np.testing.assert_array_equal(saved.tags, corpus.tags)


def test_folder_with_binary_columns_and_random_split(tmp_path):
    write_tones(tmp_path / "audio", [f"t{i}.wav" for i in range(10)])
    rows = "\n".join(f"t{i},{i % 2},0,1,0" for i in range(10))
    (tmp_path / "tags.csv").write_text("track_id,rock,happy,piano,90s\n" + rows + "\n")
    corpus = load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY, seed=3)
    assert corpus.tags[:, 2].sum() == 10
    assert sorted(set(corpus.splits)) == ["test", "train", "valid"]
    np.testing.assert_array_equal(random_splits(10, seed=3), corpus.splits)


def test_folder_errors_name_the_problem(tmp_path):
    write_tones(tmp_path / "audio", ["a.wav"])
    write_tones(tmp_path / "audio", ["b.wav"], rate=16000)
    (tmp_path / "tags.csv").write_text("track_id,tags\na,rock\nb,polka\n")
    with pytest.raises(CorpusError, match="'polka' is not in the vocabulary"):
        load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY)
    (tmp_path / "tags.csv").write_text("track_id,tags\na,rock\nb,happy\n")
    mixed = load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY)  # 8 and 16 kHz: resampled on load
    assert mixed.mixed_rates and mixed.sample_rate == 16000 and mixed.audio(0).shape == (16000,)
    at_8k = load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY, sample_rate=8000)
    assert at_8k.audio(1).shape == (8000,)
    (tmp_path / "tags.csv").write_text("track_id,tags\nzzz,rock\n")
    with pytest.raises(CorpusError, match="no audio file for track 'zzz'"):
        load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY)


def test_jamendo_split_files(tmp_path):
    write_tones(tmp_path / "audio" / "00", ["1.flac", "2.flac"])
    header = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
    (tmp_path / "train.tsv").write_text(
        header + "track_1\tartist_1\talbum_1\t00/1.flac\t1.0\tgenre---rock\tinstrument---piano\n")
    (tmp_path / "test.tsv").write_text(header + "track_2\tartist_2\talbum_2\t00/2.flac\t1.0\tmood/theme---happy\n")
    corpus = load_jamendo(tmp_path / "audio", {"train": tmp_path / "train.tsv", "test": tmp_path / "test.tsv"})
    assert corpus.vocabulary.category_of("happy") == "mood"
    assert set(corpus.tags_of(0)) == {"rock", "piano"}
    assert list(corpus.splits) == ["train", "test"]
    (tmp_path / "bad.tsv").write_text(header + "t\ta\tb\tp\t1.0\ttempo---fast\n")
    with pytest.raises(CorpusError, match="tempo---fast"):
        load_jamendo(tmp_path / "audio", {"train": tmp_path / "bad.tsv"})


# ---------------------------------------------------------------------------------------------- Dim-Sim, real
def test_dimsim_real_schema_on_real_recordings():
    """The fixture has Dim-Sim's exact columns (clips at 22,050 Hz, 3 s) over the shipped real recordings."""
    triplets = read_triplets(DIMSIM_REAL)
    assert tuple(triplets.columns) == COLUMNS and len(triplets) == 6
    assert (triplets["sampling_rate"] == 22050).all() and (triplets["clip_lengths_samples"] == 66150).all()
    corpus = load_real_music()
    usable, dropped = triplets_in_corpus(triplets, corpus)
    assert dropped == 1 and len(usable) == 5  # one row names an MSD track this corpus does not hold
    anchor, positive, negative, anchor_start, positive_start, negative_start = triplet_indices(usable, corpus)
    assert len(anchor) == 4  # one tie is dropped
    assert corpus.track_ids[positive[0]] == "macleod_sugar_plum_fairy"  # 8 votes to 2 for song 1
    store = compute_features(corpus, "compact", cache_dir=False, progress=False)
    for indices, starts in ((anchor, anchor_start), (positive, positive_start), (negative, negative_start)):
        frames = clip_frames(store, indices, starts)
        for index, start, frame in zip(indices, starts, frames, strict=True):
            # the stored excerpt is the log-mel of the clip cut from the audio at its start second
            clip = corpus.audio(index, sample_rate=16000)[int(round(start * 16000)):][: 3 * 16000]
            direct = log_mel(clip, "compact")[:, 2:-2]
            errors = [np.abs(store.excerpt(index, max(frame + shift, 0), 94)[:, 2:-2] - direct).mean()
                      for shift in (-3, 0, 3)]
            assert errors[1] < 0.1 and errors[1] < min(errors[0], errors[2]) / 2


def test_clip_starts_map_onto_frames_of_resampled_windowed_audio(tmp_path):
    """A burst at 20 s of a 40-s stereo 44.1 kHz file: features keep 5-35 s; the clip starts at its frame."""
    rate, burst = 44100, np.random.default_rng(0).standard_normal(3 * 44100) * 0.3
    signal = np.zeros(40 * rate)
    signal[20 * rate:23 * rate] = burst
    write_tones(tmp_path / "audio", [])
    soundfile.write(tmp_path / "audio" / "TRAAAAW128F429D538.flac", np.stack([signal, signal], 1), rate)
    write_tones(tmp_path / "audio", ["TRAAABD128F429CF47.wav", "TRAAADZ128F9348C2E.wav"], rate=22050, seconds=8)
    (tmp_path / "tags.csv").write_text("track_id,tags\nTRAAAAW128F429D538,rock\nTRAAABD128F429CF47,rock\n"
                                       "TRAAADZ128F9348C2E,happy\n")
    corpus = load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY)
    row = ("0,TRAAAAW128F429D538,20.0,441000,TRAAABD128F429CF47,1.5,33075,TRAAADZ128F9348C2E,2.0,44100,"
           "22050,3,66150,7,2\n")
    (tmp_path / "dimsim.csv").write_text(",".join(COLUMNS) + "\n" + row)
    anchor, _, _, anchor_start, _, _ = triplet_indices(read_triplets(tmp_path / "dimsim.csv"), corpus)
    store = compute_features(corpus, "compact", cache_dir=False, progress=False)
    assert store.window_starts[anchor[0]] == pytest.approx(5.0)
    frame = clip_frames(store, anchor, anchor_start)[0]
    assert frame == round((20.0 - 5.0) * 16000 / 512)
    loudness = store.track(anchor[0]).mean(axis=0)
    silence = FRONTENDS["compact"].silence_value
    assert np.allclose(loudness[frame - 40:frame - 1], silence, atol=1e-2)
    assert (loudness[frame + 1:frame + 90] > silence + 1).all()
    with pytest.warns(UserWarning, match="outside the stored audio"):
        clip_frames(store, anchor, np.array([1.0]))  # before the kept window


def test_dimsim_reader_names_bad_rows(tmp_path):
    header = ",".join(COLUMNS) + "\n"
    good = "0,TRA,12.0,264600,TRB,30.5,672525,TRC,7.25,159862,22050,3,66150,9,1\n"
    path = tmp_path / "dimsim.csv"
    path.write_text("index," + header.replace("\n", "") + ",extra\n7," + good.strip() + ",x\n")
    frame = read_triplets(path)  # extra columns are dropped
    assert tuple(frame.columns) == COLUMNS and frame.loc[0, "song1_start_samples"] == 672525
    for broken, message in ((good.replace(",9,1", ",nine,1"), r"row 2, column song1_vote"),
                            (good.replace("264600", "-5"), "anchor_start_samples"),
                            (good.replace(",12.0,", ",13.0,"), "triplet 0: anchor_start_samples"),
                            (good.replace("TRB", ""), "row 2 has no song1_id")):
        path.write_text(header + broken)
        with pytest.raises(ValueError, match=message) as error:
            read_triplets(path)
        assert "dimsim.csv" in str(error.value) and "Fix" in str(error.value)
