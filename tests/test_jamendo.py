"""MTG-Jamendo on exact excerpts of the official split-0 files (CRLF, tab-separated, trailing tag columns)."""

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mdrbench import CorpusError
from mdrbench.sources import load_jamendo
from mdrbench.sources.jamendo import jamendo_split_files, map_tag, read_jamendo_tsv

SPLITS_DIR = Path(__file__).parent / "fixtures" / "jamendo" / "splits"
SPLIT0 = SPLITS_DIR / "split-0"
OURS = {"train": "train", "validation": "valid", "test": "test"}


def raw_rows(path: Path) -> list[list[str]]:
    """The file parsed independently of mdrbench: csv with a tab delimiter, header dropped."""
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))[1:]


def expected_merge(subsets=("genre", "instrument", "moodtheme")) -> dict[str, dict]:
    tracks = {}
    for subset in subsets:
        for theirs, ours in OURS.items():
            for row in raw_rows(SPLIT0 / f"autotagging_{subset}-{theirs}.tsv"):
                entry = tracks.setdefault(row[0], {"split": ours, "path": row[3], "tags": set()})
                entry["tags"].update(row[5:])
    return tracks


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    """One short 44.1 kHz stereo MP3 per listed PATH; one track only in its low-quality name (.low.mp3)."""
    folder = tmp_path_factory.mktemp("jamendo_audio")
    rng = np.random.default_rng(0)
    paths = sorted({row[3] for path in SPLIT0.glob("*.tsv") for row in raw_rows(path)})
    for index, relative in enumerate(paths):
        target = folder / relative
        if index == 0:
            target = target.with_name(target.name.replace(".mp3", ".low.mp3"))
        target.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(target, 0.1 * rng.standard_normal((22050, 2)), 44100, format="MP3")
    return folder


def test_fixtures_are_the_real_format():
    raw = (SPLIT0 / "autotagging_moodtheme-train.tsv").read_bytes()
    assert raw.startswith(b"TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n")
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF line endings, as in the repository
    assert any(len(row) > 6 for row in raw_rows(SPLIT0 / "autotagging_genre-train.tsv"))  # several tag columns


def test_tags_map_to_our_categories_and_decades_to_era():
    assert map_tag("genre---rock") == ("genre", "rock")
    assert map_tag("mood/theme---happy") == ("mood", "happy")
    assert map_tag("instrument---piano") == ("instrument", "piano")
    assert map_tag("genre---60s") == ("era", "60s") and map_tag("genre---90s") == ("era", "90s")
    for bad in ("tempo---fast", "genre", "genre---", "rock"):
        with pytest.raises(ValueError):
            map_tag(bad)
    rows = read_jamendo_tsv(SPLIT0 / "autotagging_genre-train.tsv")
    assert len(rows) == len(raw_rows(SPLIT0 / "autotagging_genre-train.tsv"))
    decade_row = next(row for row in rows if row["track_id"] == "track_0039796")
    assert decade_row["tags"] == [("era", "60s"), ("era", "70s"), ("genre", "acidjazz")]
    assert decade_row["path"] == "96/39796.mp3" and decade_row["duration"] == 346.1
    assert not any(tag.endswith("\r") for row in rows for _, tag in row["tags"])


def test_merged_corpus_holds_the_union_of_tags(audio_dir):
    corpus = load_jamendo(audio_dir, splits_dir=SPLITS_DIR, split=0)
    expected = expected_merge()
    assert sorted(corpus.track_ids) == sorted(expected)
    for index, track in enumerate(corpus.track_ids):
        assert corpus.splits[index] == expected[track]["split"]
        mapped = {tag.split("---")[1] for tag in expected[track]["tags"]}
        assert set(corpus.tags_of(index)) == mapped
    in_three = [t for t, e in expected.items() if {tag.split("---")[0] for tag in e["tags"]} ==
                {"genre", "instrument", "mood/theme"}]
    assert in_three, "the fixture must hold tracks listed in all three category files"
    categories = set(corpus.vocabulary.categories)
    assert categories == {"genre", "mood", "instrument", "era"}
    assert corpus.vocabulary.tags_in("era") == ["60s", "70s", "80s", "90s"]
    assert "60s" not in corpus.vocabulary.tags_in("genre")
    assert corpus.mixed_rates and corpus.sample_rate == 44100


def test_counts_are_reported(audio_dir):
    corpus = load_jamendo(audio_dir, splits_dir=SPLITS_DIR, split=0, subsets=("genre", "instrument", "moodtheme",
                                                                             "top50tags"))
    counts = corpus.info["source"]["counts"]
    for subset in ("genre", "instrument", "moodtheme", "top50tags"):
        for theirs, ours in OURS.items():
            assert counts["subsets"][subset][ours] == len(raw_rows(SPLIT0 / f"autotagging_{subset}-{theirs}.tsv"))
    per_split = defaultdict(set)
    for track, entry in expected_merge(("genre", "instrument", "moodtheme", "top50tags")).items():
        per_split[entry["split"]].add(track)
    assert counts["merged"] == {"train": len(per_split["train"]), "valid": len(per_split["valid"]),
                                "test": len(per_split["test"]), "all": len(corpus)}
    era = corpus.vocabulary.tag_indices("era")
    assert counts["categories"]["era"] == int(corpus.tags[:, era].any(axis=1).sum()) > 0
    assert counts["missing_audio"] == 0


def test_low_quality_names_missing_audio_and_split_conflicts(audio_dir, tmp_path):
    corpus = load_jamendo(audio_dir, splits_dir=SPLITS_DIR, split=0)
    assert sum(path.endswith(".low.mp3") for path in corpus.audio_paths) == 1
    low = next(i for i, path in enumerate(corpus.audio_paths) if path.endswith(".low.mp3"))
    assert corpus.audio(low, sample_rate=16000).shape == (8000,)  # 0.5 s of 44.1 kHz stereo MP3

    partial = tmp_path / "audio"
    shutil.copytree(audio_dir, partial)
    removed = partial / corpus.audio_paths[0]
    removed.unlink()
    with pytest.raises(CorpusError, match=rf"1 of {len(corpus)} tracks have no audio file.*skip_missing=True"):
        load_jamendo(partial, splits_dir=SPLITS_DIR, split=0)
    fewer = load_jamendo(partial, splits_dir=SPLITS_DIR, split=0, skip_missing=True)
    assert len(fewer) == len(corpus) - 1 and fewer.info["source"]["counts"]["missing_audio"] == 1
    assert len(load_jamendo(partial, splits_dir=SPLITS_DIR, split=0, check_audio=False)) == len(corpus)

    # a track in two splits is refused, naming it and both files
    moved = tmp_path / "splits" / "split-0"
    shutil.copytree(SPLIT0, moved)
    train_line = (SPLIT0 / "autotagging_genre-train.tsv").read_bytes().split(b"\r\n")[1]
    with open(moved / "autotagging_instrument-test.tsv", "ab") as handle:
        handle.write(train_line.replace(b"genre---rock", b"instrument---piano") + b"\r\n")
    with pytest.raises(CorpusError, match=r"track 'track_0000241' is in split 'test' here but in 'train'"):
        load_jamendo(audio_dir, splits_dir=tmp_path / "splits", split=0)


def test_missing_split_files_are_named():
    with pytest.raises(CorpusError, match=r"missing split files \['autotagging-train.tsv'\]"):
        jamendo_split_files(SPLITS_DIR, 0, ("autotagging",))
    with pytest.raises(CorpusError, match="split-3: no such folder"):
        jamendo_split_files(SPLITS_DIR, 3)
    with pytest.raises(ValueError, match="unknown Jamendo subsets"):
        jamendo_split_files(SPLITS_DIR, 0, ("mood",))
    files = jamendo_split_files(SPLIT0, 0, ("top50tags",))
    assert files["top50tags"]["valid"].name == "autotagging_top50tags-validation.tsv"


def test_bad_lines_are_named(tmp_path):
    path = tmp_path / "broken.tsv"
    path.write_bytes(b"TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"
                     b"track_1\tartist_1\talbum_1\t01/1.mp3\tlong\tgenre---rock\r\n")
    with pytest.raises(CorpusError, match=r"broken\.tsv:2: .*Fix"):
        read_jamendo_tsv(path)
    path.write_text("id,path\n1,a.mp3\n")
    with pytest.raises(CorpusError, match="expected the header TRACK_ID"):
        read_jamendo_tsv(path)
