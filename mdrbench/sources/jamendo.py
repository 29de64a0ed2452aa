"""MTG-Jamendo's auto-tagging split files as a Corpus.

MTG-Jamendo (Bogdanov et al., 2019) ships tab-separated files such as
``data/splits/split-0/autotagging_top50tags-train.tsv`` with the columns
``TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS...`` where each tag reads ``genre---rock``,
``mood/theme---happy`` or ``instrument---piano``. Its categories map onto ours as genre -> genre,
mood/theme -> mood, instrument -> instrument; Jamendo has no era tags.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdrbench.corpus import Corpus, CorpusError, TagVocabulary

CATEGORY_MAP = {"genre": "genre", "mood/theme": "mood", "instrument": "instrument"}


def read_jamendo_tsv(path: str | Path) -> list[dict]:
    """Rows of one Jamendo split file: track_id, path, duration, tags [(category, tag), ...]."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path}: Jamendo split file not found.")
    lines = path.read_text().splitlines()
    if not lines or not lines[0].startswith("TRACK_ID"):
        raise CorpusError(f"{path}: expected a header starting with TRACK_ID (an MTG-Jamendo split TSV).")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) < 6:
            raise CorpusError(f"{path}:{number}: expected at least 6 tab-separated fields, found {len(fields)}.")
        tags = []
        for field in fields[5:]:
            category, separator, tag = field.partition("---")
            if not separator or category not in CATEGORY_MAP:
                raise CorpusError(f"{path}:{number}: tag {field!r} is not 'genre---x', 'mood/theme---x' or "
                                  f"'instrument---x'.")
            tags.append((CATEGORY_MAP[category], tag))
        rows.append({"track_id": fields[0], "path": fields[3], "duration": float(fields[4]), "tags": tags})
    return rows


def load_jamendo(audio_dir: str | Path, split_files: dict[str, str | Path], sample_rate: int | None = None,
                 name: str = "mtg-jamendo") -> Corpus:
    """A Corpus from Jamendo split files, e.g. ``{"train": ".../autotagging_top50tags-train.tsv", ...}``.

    The audio paths in the TSV are relative to ``audio_dir``. ``sample_rate`` is read from the first file
    when not given (files must share it: Jamendo's MP3s are 44.1 kHz; transcode to FLAC at the front-end's
    rate first for speed).
    """
    import soundfile

    audio_dir = Path(audio_dir)
    rows, splits = [], []
    for split, path in split_files.items():
        part = read_jamendo_tsv(path)
        rows += part
        splits += [split] * len(part)
    pairs = sorted({tag for row in rows for tag in row["tags"]})
    # A tag name used in two categories keeps both, told apart by a category prefix.
    names = [tag for _, tag in pairs]
    label = {(c, t): (t if names.count(t) == 1 else f"{c}:{t}") for c, t in pairs}
    vocabulary = TagVocabulary.from_pairs([(label[pair], pair[0]) for pair in pairs])
    tags = vocabulary.encode([[label[pair] for pair in row["tags"]] for row in rows])
    paths = [row["path"] for row in rows]
    if sample_rate is None and paths:
        first = audio_dir / paths[0]
        if not first.exists():
            raise CorpusError(f"{first}: audio file missing (listed in the split files).")
        sample_rate = soundfile.info(str(first)).samplerate
    return Corpus(track_ids=[row["track_id"] for row in rows], sample_rate=int(sample_rate or 44100),
                  durations=np.array([row["duration"] for row in rows]), vocabulary=vocabulary, tags=tags,
                  splits=splits, root=audio_dir, audio_paths=paths,
                  info={"name": name, "source": {"kind": "mtg-jamendo"}})
