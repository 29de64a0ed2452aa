"""MTG-Jamendo's official auto-tagging splits, merged into one multi-label Corpus.

MTG-Jamendo (Bogdanov et al., 2019; github.com/MTG/mtg-jamendo-dataset) ships tab-separated files with CRLF
line endings, ``data/splits/split-N/autotagging_{genre,instrument,moodtheme,top50tags}-{train,validation,
test}.tsv`` (one file per category subset and split) and ``autotagging-{train,validation,test}.tsv`` (all
tags), each with the header ``TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS`` and one tag per trailing
column::

    track_0000948  artist_000087  album_000149  48/948.mp3  212.7  genre---chillout  genre---lounge

``PATH`` is relative to the audio folder as downloaded (``48/948.mp3``; the low-quality download names it
``48/948.low.mp3``, which is found too).

Categories map onto ours as genre -> genre, mood/theme -> mood, instrument -> instrument, and the decade
tags ``genre---60s``, ``genre---70s``, ``genre---80s``, ``genre---90s`` -> **era** (tags ``60s``...``90s``):
Jamendo files decades under genre, but they describe when music sounds from, which is what the paper's
era category holds (a few hundred tracks per split).

A track listed in several subset files (genre and instrument, say) gets the union of its tags; its split
(and path) must agree across files. :func:`load_jamendo` reports the counts in
``corpus.info["source"]["counts"]``: tracks per file, per subset and split, in the merged corpus per split,
and tracks carrying at least one tag of each category.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mdrbench.corpus import CATEGORIES, SPLITS, Corpus, CorpusError, TagVocabulary

CATEGORY_MAP = {"genre": "genre", "mood/theme": "mood", "instrument": "instrument"}
DECADE = re.compile(r"^\d0s$")  # genre---60s .. genre---90s become era tags
SUBSETS = ("genre", "instrument", "moodtheme", "top50tags", "autotagging")
DEFAULT_SUBSETS = ("genre", "instrument", "moodtheme")
SPLIT_NAMES = {"train": "train", "validation": "valid", "valid": "valid", "test": "test"}
HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION")


def map_tag(raw: str) -> tuple[str, str]:
    """``'genre---rock'`` -> ``('genre', 'rock')``, ``'mood/theme---happy'`` -> ``('mood', 'happy')``,
    ``'genre---80s'`` -> ``('era', '80s')``; anything else raises ValueError."""
    category, separator, tag = raw.partition("---")
    if not separator or category not in CATEGORY_MAP or not tag:
        raise ValueError(f"tag {raw!r} is not 'genre---x', 'mood/theme---x' or 'instrument---x'")
    if category == "genre" and DECADE.match(tag):
        return "era", tag
    return CATEGORY_MAP[category], tag


def read_jamendo_tsv(path: str | Path) -> list[dict]:
    """Rows of one Jamendo TSV: track_id, artist_id, album_id, path, duration, tags [(category, tag), ...].

    Categories are already ours (genre, mood, instrument, era). Raises CorpusError naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: Jamendo split file not found. Fix: get data/splits from "
                          f"github.com/MTG/mtg-jamendo-dataset (it holds split-0 .. split-4).")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()  # the official files end lines with CRLF
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not a text file. Fix: point at an MTG-Jamendo .tsv split file.") from None
    if not lines or tuple(lines[0].split("\t")[:5]) != HEADER:
        raise CorpusError(f"{path}: expected the header TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, TAGS "
                          f"(tab-separated), as in MTG-Jamendo's split files.")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 6:
            raise CorpusError(f"{path}:{number}: expected at least 6 tab-separated fields (5 columns and one tag), "
                              f"found {len(fields)}.")
        try:
            duration = float(fields[4])
            tags = [map_tag(field) for field in fields[5:] if field]
        except ValueError as error:
            raise CorpusError(f"{path}:{number}: {error}. Fix: use the official split files unchanged.") from None
        rows.append({"track_id": fields[0], "artist_id": fields[1], "album_id": fields[2], "path": fields[3],
                     "duration": duration, "tags": tags})
    return rows


def jamendo_split_files(splits_dir: str | Path, split: int = 0,
                        subsets: tuple[str, ...] = DEFAULT_SUBSETS) -> dict[str, dict[str, Path]]:
    """The official files of one split: ``{subset: {"train" | "valid" | "test": path}}``.

    Args:
        splits_dir: the ``data/splits`` folder of mtg-jamendo-dataset (or a ``split-N`` folder in it).
        split: which of the five splits (0..4).
        subsets: any of "genre", "instrument", "moodtheme", "top50tags", and "autotagging" (the all-tags
            files ``autotagging-{train,validation,test}.tsv``).
    """
    splits_dir = Path(splits_dir)
    folder = splits_dir if splits_dir.name == f"split-{split}" else splits_dir / f"split-{split}"
    unknown = [s for s in subsets if s not in SUBSETS]
    if unknown:
        raise ValueError(f"unknown Jamendo subsets {unknown}; choose from {list(SUBSETS)}.")
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder. Fix: point at mtg-jamendo-dataset's data/splits (with "
                          f"split-0 .. split-4 inside).")
    files, missing = {}, []
    for subset in subsets:
        stem = "autotagging" if subset == "autotagging" else f"autotagging_{subset}"
        files[subset] = {}
        for theirs, ours in (("train", "train"), ("validation", "valid"), ("test", "test")):
            path = folder / f"{stem}-{theirs}.tsv"
            if not path.is_file():
                missing.append(path.name)
            files[subset][ours] = path
    if missing:
        raise CorpusError(f"{folder}: missing split files {missing}. Fix: copy the whole data/splits folder of "
                          f"mtg-jamendo-dataset (the large train files too), or choose other subsets.")
    return files


def load_jamendo(audio_dir: str | Path, split_files: dict | None = None, *, splits_dir: str | Path | None = None,
                 split: int = 0, subsets: tuple[str, ...] = DEFAULT_SUBSETS, sample_rate: int | None = None,
                 name: str = "mtg-jamendo", check_audio: bool = True, skip_missing: bool = False) -> Corpus:
    """One multi-label Corpus from MTG-Jamendo split files and the audio folder as downloaded.

    Either give ``splits_dir`` (the repository's ``data/splits``) with ``split`` and ``subsets``, or
    ``split_files``: ``{split: path or [paths]}`` with split one of train/valid/validation/test, or
    ``{subset: {split: path}}`` as :func:`jamendo_split_files` returns.

    Args:
        audio_dir: the folder the MP3s were unpacked into (PATH column relative to it).
        sample_rate: the rate :meth:`Corpus.audio` returns (default: the first file's; Jamendo's MP3s are
            44.1 kHz). Feature extraction resamples to its front-end's rate either way.
        check_audio: look for every file (the full or the ``.low.mp3`` version); False trusts the TSVs.
        skip_missing: leave out tracks whose audio is missing (counted in the report) instead of raising.

    Returns:
        a Corpus (``mixed_rates``) whose ``info["source"]["counts"]`` holds the counts (see the module).
    """
    audio_dir = Path(audio_dir)
    if split_files is None:
        if splits_dir is None:
            raise ValueError("give splits_dir (mtg-jamendo-dataset's data/splits) or split_files.")
        split_files = jamendo_split_files(splits_dir, split, subsets)
    files = _normalise_split_files(split_files)

    tracks: dict[str, dict] = {}
    counts = {"files": {}, "subsets": {}, "merged": {}, "categories": {}}
    for subset, per_split in files.items():
        counts["subsets"][subset] = {}
        for split_name, paths in per_split.items():
            n_tracks = 0
            for path in paths:
                rows = read_jamendo_tsv(path)
                counts["files"][str(path)] = len(rows)
                n_tracks += len(rows)
                for row in rows:
                    _merge(tracks, row, split_name, path)
            counts["subsets"][subset][split_name] = n_tracks
    if not tracks:
        raise CorpusError(f"the split files {[str(p) for s in files.values() for ps in s.values() for p in ps]} "
                          f"list no tracks.")

    ids = list(tracks)
    if check_audio:
        missing = []
        for track in ids:
            found = _find_audio(audio_dir, tracks[track]["path"])
            if found is None:
                missing.append(track)
            else:
                tracks[track]["path"] = found
        if missing and not skip_missing:
            raise CorpusError(f"{audio_dir}: {len(missing)} of {len(ids)} tracks have no audio file, e.g. "
                              f"{tracks[missing[0]]['path']} ({missing[0]}). Fix: download the audio with "
                              f"mtg-jamendo-dataset's scripts/download/download.py, or pass skip_missing=True.")
        counts["missing_audio"] = len(missing)
        missing = set(missing)
        ids = [track for track in ids if track not in missing]
        if not ids:
            raise CorpusError(f"{audio_dir}: none of the listed audio files is there.")

    pairs = sorted({pair for track in ids for pair in tracks[track]["tags"]},
                   key=lambda pair: (CATEGORIES.index(pair[0]), pair[1]))
    names = [tag for _, tag in pairs]
    # A tag name used in two categories keeps both, told apart by a category prefix.
    label = {(c, t): (t if names.count(t) == 1 else f"{c}:{t}") for c, t in pairs}
    vocabulary = TagVocabulary.from_pairs([(label[pair], pair[0]) for pair in pairs])
    tags = vocabulary.encode([[label[pair] for pair in sorted(tracks[track]["tags"])] for track in ids])
    splits = np.array([tracks[track]["split"] for track in ids])
    counts["merged"] = {s: int((splits == s).sum()) for s in SPLITS}
    counts["merged"]["all"] = len(ids)
    counts["categories"] = {c: int(tags[:, vocabulary.tag_indices(c)].any(axis=1).sum()) for c in CATEGORIES}
    paths = [tracks[track]["path"] for track in ids]
    if sample_rate is None:
        sample_rate = _first_rate(audio_dir, paths) if check_audio else 44100
    return Corpus(track_ids=ids, sample_rate=int(sample_rate),
                  durations=np.array([tracks[track]["duration"] for track in ids]), vocabulary=vocabulary,
                  tags=tags, splits=splits, root=audio_dir, audio_paths=paths,
                  info={"name": name, "mixed_rates": True,
                        "source": {"kind": "mtg-jamendo", "subsets": list(files), "counts": counts}})


def _normalise_split_files(split_files: dict) -> dict[str, dict[str, list[Path]]]:
    """``{subset: {our split: [paths]}}`` from either accepted shape of ``split_files``."""
    nested = all(isinstance(value, dict) for value in split_files.values())
    grouped = split_files if nested else {"files": split_files}
    result = {}
    for subset, per_split in grouped.items():
        result[subset] = {}
        for split_name, paths in per_split.items():
            if split_name not in SPLIT_NAMES:
                raise ValueError(f"unknown split {split_name!r}; use train, valid (or validation) or test.")
            paths = [paths] if isinstance(paths, str | Path) else list(paths)
            result[subset].setdefault(SPLIT_NAMES[split_name], []).extend(Path(p) for p in paths)
    return result


def _merge(tracks: dict, row: dict, split: str, path: Path) -> None:
    """Add one TSV row to the merged tracks: the union of tags; split and path must agree."""
    track = row["track_id"]
    if track not in tracks:
        tracks[track] = {"path": row["path"], "duration": row["duration"], "split": split, "tags": set(),
                         "source": path}
    known = tracks[track]
    if known["split"] != split:
        raise CorpusError(f"{path}: track {track!r} is in split {split!r} here but in {known['split']!r} in "
                          f"{known['source']}. Fix: use files of one split-N folder (splits must agree).")
    if known["path"] != row["path"]:
        raise CorpusError(f"{path}: track {track!r} has PATH {row['path']!r} here but {known['path']!r} in "
                          f"{known['source']}. Fix: use the official files unchanged.")
    known["tags"].update(row["tags"])


def _find_audio(audio_dir: Path, relative: str) -> str | None:
    """The path as listed, or the low-quality download's name for it (``14/214.low.mp3``)."""
    if (audio_dir / relative).is_file():
        return relative
    low = relative[:-len(".mp3")] + ".low.mp3" if relative.endswith(".mp3") else None
    if low and (audio_dir / low).is_file():
        return low
    return None


def _first_rate(audio_dir: Path, paths: list[str]) -> int:
    from mdrbench.audio import probe_audio

    return probe_audio(audio_dir / paths[0])["sample_rate"]
