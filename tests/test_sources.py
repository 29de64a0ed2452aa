"""Real-corpus readers on small fixtures written at test time (no corpus is downloaded)."""

import numpy as np
import pytest
import soundfile

from mdrbench import CorpusError, TagVocabulary
from mdrbench.sources import load_folder, load_jamendo
from mdrbench.sources.folder import random_splits

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
    with pytest.raises(CorpusError, match="different sample rates"):
        load_folder(tmp_path / "audio", tmp_path / "tags.csv", VOCABULARY)
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
