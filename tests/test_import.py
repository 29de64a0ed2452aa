"""A folder of real recordings imported in place (mixed rates and channels), and the corpus check."""

import json
import shutil

import numpy as np
import pytest
import soundfile
import soxr

from mdrbench import Corpus, CorpusError
from mdrbench.sources import check_corpus, import_folder, load_real_music, real_music_dir, write_corpus_manifest
from mdrbench.sources.manifest import jamendo_vocabulary

STEREO_TRACK = "sorohan_solo_trumpet"  # 5 s: converted to 44.1 kHz stereo FLAC


def mixed_folder(folder):
    """The shipped recordings copied, one of them as 44.1 kHz stereo FLAC (the OGG removed)."""
    shutil.copytree(real_music_dir(), folder)
    audio, rate = soundfile.read(folder / f"{STEREO_TRACK}.ogg", dtype="float32")
    stereo = np.repeat(soxr.resample(audio, rate, 44100)[:, None], 2, axis=1)
    soundfile.write(folder / f"{STEREO_TRACK}.flac", stereo, 44100)
    (folder / f"{STEREO_TRACK}.ogg").unlink()
    return folder


@pytest.fixture
def music(tmp_path):
    return mixed_folder(tmp_path / "music")


def test_import_references_mixed_rates_in_place(music, tmp_path):
    out = tmp_path / "corpus"
    corpus = import_folder(music, music / "tags.csv", music / "vocabulary.csv", out)
    assert sorted(p.name for p in out.iterdir()) == ["corpus.json", "tags.csv", "tracks.csv", "vocabulary.csv"]
    meta = json.loads((out / "corpus.json").read_text())
    assert meta["mixed_rates"] is True and meta["sample_rate"] == 22050
    assert meta["source"]["rates"] == {"22050": 4, "44100": 1} and meta["source"]["channels"] == {"1": 4, "2": 1}
    assert meta["source"]["audio_dir"] == str(music.resolve())
    loaded = Corpus.load(out)
    assert list(loaded.splits) == list(load_real_music().splits)
    flac = int(np.flatnonzero(loaded.track_ids == STEREO_TRACK)[0])
    assert loaded.audio_paths[flac] == str((music / f"{STEREO_TRACK}.flac").resolve())  # referenced, not copied
    # the stereo 44.1 kHz FLAC and the mono 22.05 kHz original agree once both are at 16 kHz
    from_flac = loaded.audio(flac, sample_rate=16000)
    original = load_real_music().audio(int(np.flatnonzero(corpus.track_ids == STEREO_TRACK)[0]), sample_rate=16000)
    assert abs(len(from_flac) - len(original)) <= 2
    n = min(len(from_flac), len(original))
    assert np.corrcoef(from_flac[:n], original[:n])[0, 1] > 0.99
    check = check_corpus(out)
    assert check.ok, check.problems
    assert "rates 22050 x4, 44100 x1 Hz" in check.text() and "channels 1 x4, 2 x1" in check.text()


def test_features_of_an_imported_corpus_are_cached_beside_the_manifest(music, tmp_path):
    from mdrbench.features import compute_features

    corpus = import_folder(music, music / "tags.csv", music / "vocabulary.csv",
                           tmp_path / "corpus")
    store = compute_features(corpus, "compact", progress=False, max_seconds=4.0)
    assert len(store) == 5 and (tmp_path / "corpus" / "features").is_dir()
    assert not any(p.name == "features" for p in music.iterdir())  # nothing written into the music folder
    assert store.lengths.max() == 1 + 4 * 16000 // 512


def test_import_errors_are_one_line_with_the_fix(music, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CorpusError, match="existing file, not a folder"):
        import_folder(music, music / "tags.csv", music / "vocabulary.csv", tmp_path / "afile")
    with pytest.raises(CorpusError, match="vocabulary file not found.*'msd50', 'jamendo'"):
        import_folder(music, music / "tags.csv", "msd51", tmp_path / "a")
    with pytest.raises(CorpusError, match="'classical' is not in the vocabulary"):
        import_folder(music, music / "tags.csv", "msd50", tmp_path / "b")
    with pytest.raises(CorpusError, match="tag table not found"):
        import_folder(music, music / "none.csv", music / "vocabulary.csv", tmp_path / "c")
    with pytest.raises(CorpusError, match="audio folder not found"):
        import_folder(tmp_path / "nowhere", music / "tags.csv", music / "vocabulary.csv", tmp_path / "d")
    assert not any((tmp_path / name).exists() for name in "abcd")  # nothing half-written


def test_skip_errors_leaves_out_undecodable_files(music, tmp_path):
    (music / "hobbs_lets_go_fishin.ogg").write_bytes(b"not audio at all")
    with pytest.raises(CorpusError, match="hobbs_lets_go_fishin.ogg: cannot be read as audio"):
        import_folder(music, music / "tags.csv", music / "vocabulary.csv", tmp_path / "a")
    corpus = import_folder(music, music / "tags.csv", music / "vocabulary.csv", tmp_path / "b", skip_errors=True)
    assert len(corpus) == 4 and [s["track_id"] for s in corpus.info["skipped"]] == ["hobbs_lets_go_fishin"]
    assert any("left out at import" in note for note in check_corpus(tmp_path / "b").notes)


def test_jamendo_tags_derive_the_vocabulary(music, tmp_path):
    vocabulary, rows = jamendo_vocabulary([["genre---rock", "genre---80s"],
                                           ["mood/theme---happy", "instrument---piano"], ["genre---happy"]])
    assert vocabulary.category_of("80s") == "era" and vocabulary.category_of("mood:happy") == "mood"
    assert rows[2] == ["genre:happy"]
    table = music / "jamendo.csv"
    table.write_text("track_id,tags\n" + "\n".join(
        f"{p.stem},genre---jazz;instrument---piano;genre---{60 + 10 * (i % 3)}s"
        for i, p in enumerate(sorted(music.glob("*.ogg")) + sorted(music.glob("*.flac")))) + "\n")
    corpus = import_folder(music, table, "jamendo", tmp_path / "jam")
    assert corpus.vocabulary.tags_in("era") == ["60s", "70s", "80s"]
    assert "derived from the tag table" in corpus.info["source"]["vocabulary"]
    table.write_text("track_id,tags\nmacleod_vibe_ace,jazz\n")
    with pytest.raises(CorpusError, match=r"jamendo.csv: row 1: tag 'jazz' is not 'genre---x'"):
        import_folder(music, table, "jamendo", tmp_path / "jam2")


def test_check_lists_every_problem_with_its_fix(music, tmp_path):
    out = tmp_path / "corpus"
    import_folder(music, music / "tags.csv", music / "vocabulary.csv", out)
    (music / "macleod_vibe_ace.ogg").unlink()
    (music / "hobbs_lets_go_fishin.ogg").unlink()
    tags = (out / "tags.csv").read_text().replace("classical;strings", "classical;strings;polka")
    (out / "tags.csv").write_text(tags)
    (out / "tracks.csv").write_text((out / "tracks.csv").read_text().replace(",valid\n", ",train\n"))
    check = check_corpus(out)
    assert not check.ok and len(check.problems) == 3, check.problems
    text = check.text()
    assert "2 of 5 audio files missing" in text and "macleod_vibe_ace.ogg" in text and "--skip-errors" in text
    assert "'polka' (1 track)" in text and "add them to" in text
    assert "split 'valid' is empty" in text
    assert "splits: train 4, valid 0, test 1" in text
    (out / "corpus.json").write_text("{")
    assert any("not valid JSON" in p for p in check_corpus(out).problems)
    assert "no such folder" in check_corpus(tmp_path / "nowhere").problems[0]


def test_manifest_refuses_in_memory_audio(tmp_path):
    corpus = load_real_music()
    in_memory = Corpus(corpus.track_ids[:1], 16000, [1.0], corpus.vocabulary, corpus.tags[:1], ["train"],
                       _audio=[np.zeros(16000, np.float32)])
    with pytest.raises(CorpusError, match="Corpus.save"):
        write_corpus_manifest(in_memory, tmp_path / "x")
    written = write_corpus_manifest(corpus, tmp_path / "y")
    assert written.mixed_rates and len(written) == 5
