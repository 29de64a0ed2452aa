"""MSD Last.fm-50: the paper's split files as distributed (Python 2 pickles, numpy object arrays) and as text,
pickles only on request, and the 7digital previews found in any layout."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mdrbench import CATEGORIES, CorpusError, TagVocabulary
from mdrbench.sources import load_msd
from mdrbench.sources.msd import (
    PAPER_SPLIT_SIZES,
    PickleRefusedError,
    convert_msd_pickles,
    index_audio_files,
    nested_path,
    read_msd_split,
)

FIXTURES = Path(__file__).parent / "fixtures" / "msd"
TRAIN = ["TRAAAAW128F429D538", "TRAAABD128F429CF47", "TRAAADZ128F9348C2E", "TRAAAEF128F4273421"]
VALID = ["TRAAAFD128F92F423A", "TRAAAMO128F1481E7F"]
TEST = ["TRAAAMQ128F1460CD3", "TRAAAPK128E0786D96", "TRAAARJ128F9320760"]


@pytest.fixture()
def pickled(tmp_path):
    folder = tmp_path / "split"
    shutil.copytree(FIXTURES / "pickled", folder)
    return folder


def forbid_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded without the opt-in")

    monkeypatch.setattr(pickle, "load", refuse)
    real_np_load = np.load

    def np_load(*args, allow_pickle=False, **kwargs):
        assert not allow_pickle, "np.load(allow_pickle=True) without the opt-in"
        return real_np_load(*args, allow_pickle=False, **kwargs)

    monkeypatch.setattr(np, "load", np_load)


def test_the_paper_split_sizes():
    assert PAPER_SPLIT_SIZES == {"train": 201680, "valid": 11774, "test": 28435}
    tags = (FIXTURES / "50tagList.txt").read_text().splitlines()
    assert len(tags) == 50 and sorted(tags) == sorted(TagVocabulary.msd50().tags)  # same 50 tags, same spelling


def test_pickles_are_refused_without_the_opt_in(pickled, monkeypatch):
    forbid_unpickling(monkeypatch)
    with pytest.raises(PickleRefusedError, match=r"filtered_list_train\.cP: is a pickle.*allow_pickle=True"):
        read_msd_split(pickled)
    assert sorted(p.name for p in pickled.iterdir()) == ["50tagList.txt", "filtered_list_test.cP",
                                                         "filtered_list_train.cP", "msd_id_to_tag_vector.cP"]


def test_opted_in_pickles_are_converted_once_to_text(pickled, monkeypatch):
    ids, tags = read_msd_split(pickled, allow_pickle=True, train_valid_cutoff=4)
    assert ids == {"train": TRAIN, "valid": VALID, "test": TEST}
    assert (pickled / "train.txt").read_text() == "".join(f"{t}\n" for t in TRAIN)
    assert (pickled / "validation.txt").is_file() and (pickled / "tags.csv").is_file()
    assert list(tags.columns) == list(TagVocabulary.msd50().tags)
    assert tags.loc["TRAAAAW128F429D538"].pipe(lambda row: sorted(row.index[row == 1])) == ["80s", "rock"]
    assert tags.loc["TRAAADZ128F9348C2E", "Mellow"] == 1 and tags.values.sum() == 24
    # later loads read the text: no pickle is opened again, even with the opt-in still given
    forbid_unpickling(monkeypatch)
    again, tags_again = read_msd_split(pickled, allow_pickle=True)
    assert again == ids and tags_again.equals(tags)


def test_text_split_as_commonly_converted_matches_the_pickles(pickled):
    from_pickles = read_msd_split(pickled, allow_pickle=True, train_valid_cutoff=4)
    ids, tags = read_msd_split(FIXTURES / "text")  # lower-cased tag columns, unnamed id column
    assert ids == from_pickles[0]
    assert tags.equals(from_pickles[1])
    assert convert_msd_pickles(pickled, train_valid_cutoff=4)[0].name == "train.txt"


def test_numpy_object_array_splits(tmp_path, monkeypatch):
    folder = tmp_path / "npy"
    folder.mkdir()
    for name, ids in (("train", TRAIN), ("valid", VALID), ("test", TEST)):
        entries = np.array([f"{i}\t{track}" for i, track in enumerate(ids)], dtype=object)
        np.save(folder / f"{name}.npy", entries, allow_pickle=True)
    shutil.copy(FIXTURES / "text" / "tags.csv", folder / "tags.csv")
    with monkeypatch.context() as patched:
        forbid_unpickling(patched)
        with pytest.raises(PickleRefusedError, match=r"train\.npy: is a pickle"):
            read_msd_split(folder)
    ids, _ = read_msd_split(folder, allow_pickle=True)
    assert ids == {"train": TRAIN, "valid": VALID, "test": TEST}
    assert (folder / "validation.txt").read_text().split() == VALID

    plain = tmp_path / "plain"  # a string array needs no pickle: read without the opt-in
    plain.mkdir()
    for name, ids in (("train", TRAIN), ("valid", VALID), ("test", TEST)):
        np.save(plain / f"{name}.npy", np.array(ids))
    shutil.copy(FIXTURES / "text" / "tags.csv", plain / "tags.csv")
    forbid_unpickling(monkeypatch)
    assert read_msd_split(plain)[0]["test"] == TEST


@pytest.fixture()
def previews(tmp_path):
    """Audio for all but one test track: nested A/B/C/, flat, and a 7digital-style .clip.mp3 name."""
    folder = tmp_path / "previews"
    rng = np.random.default_rng(1)
    for index, track in enumerate(TRAIN + VALID + TEST[:2]):
        relative = nested_path(track) if index % 3 == 0 else f"{track}.clip.mp3" if index % 3 == 1 else \
            f"flat/{track}.mp3"
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / relative, 0.1 * rng.standard_normal((4410, 2)), 44100, format="MP3")
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_corpus_over_the_previews_you_hold(previews, pickled):
    assert nested_path("TRAAAAW128F429D538") == "A/A/A/TRAAAAW128F429D538.mp3"
    located = index_audio_files(previews)
    assert located["TRAAAAW128F429D538"] == "A/A/A/TRAAAAW128F429D538.mp3"
    assert located["TRAAABD128F429CF47"] == "TRAAABD128F429CF47.clip.mp3" and len(located) == 8
    with pytest.raises(CorpusError, match=r"1 of 9 split tracks have no audio.*TRAAARJ128F9320760.*skip_missing"):
        load_msd(previews, FIXTURES / "text")
    corpus = load_msd(previews, FIXTURES / "text", skip_missing=True)
    assert corpus.vocabulary == TagVocabulary.msd50() and corpus.mixed_rates and corpus.sample_rate == 22050
    counts = corpus.info["source"]["counts"]
    assert counts["with_audio"] == {"train": 4, "valid": 2, "test": 2} and counts["missing_audio"]["test"] == 1
    assert counts["paper_split"] is False
    first = list(corpus.track_ids).index("TRAAAAW128F429D538")
    assert corpus.tags_of(first) == ["rock", "80s"]
    assert {corpus.vocabulary.category_of(t) for t in corpus.tags_of(first)} == {"genre", "era"}
    jazz = list(corpus.track_ids).index("TRAAADZ128F9348C2E")
    assert sorted(corpus.vocabulary.category_of(t) for t in corpus.tags_of(jazz)) == ["genre", "instrument", "mood"]
    assert set(CATEGORIES) == set(corpus.vocabulary.categories)
    assert corpus.audio(first).shape == (2205,)  # 0.1 s of 44.1 kHz stereo MP3, at 22,050 Hz mono
    np.testing.assert_allclose(corpus.durations, 30.0)
    probed = load_msd(previews, FIXTURES / "text", skip_missing=True, probe_durations=True)
    np.testing.assert_allclose(probed.durations, 0.1, atol=0.03)
    # pickled split files work too, once opted in
    assert len(load_msd(previews, pickled, allow_pickle=True, skip_missing=True, train_valid_cutoff=4)) == 8


def test_id_to_path_table(previews, tmp_path):
    (tmp_path / "map.csv").write_text("track_id,path\n" + "".join(
        f"{track},{relative}\n" for track, relative in index_audio_files(previews).items()
        if track != "TRAAAMO128F1481E7F"))
    corpus = load_msd(previews, FIXTURES / "text", id_to_path=tmp_path / "map.csv", skip_missing=True)
    assert "TRAAAMO128F1481E7F" not in corpus.track_ids and len(corpus) == 7
    (tmp_path / "bad.csv").write_text("msd,file\n")
    with pytest.raises(CorpusError, match="track_id,path"):
        load_msd(previews, FIXTURES / "text", id_to_path=tmp_path / "bad.csv")


def test_bad_split_files_are_named(tmp_path):
    folder = tmp_path / "text"
    shutil.copytree(FIXTURES / "text", folder)
    (folder / "test.txt").write_text("msd_id\n" + "\n".join(TEST) + "\n")
    with pytest.raises(CorpusError, match=r"test\.txt:1: 'msd_id' is not an MSD track id"):
        read_msd_split(folder)
    (folder / "test.txt").write_text("\n".join(TEST + [TRAIN[0]]) + "\n")
    with pytest.raises(CorpusError, match=f"track {TRAIN[0]} is in both train and test"):
        read_msd_split(folder)
    (folder / "test.txt").write_text("\n".join(TEST) + "\n")
    (folder / "tags.csv").write_text((FIXTURES / "text" / "tags.csv").read_text().replace(",mellow,", ",calm,"))
    with pytest.raises(CorpusError, match=r"tags\.csv: no column for tags \['Mellow'\]"):
        read_msd_split(folder)
    with pytest.raises(CorpusError, match="no MSD split files"):
        read_msd_split(tmp_path)
