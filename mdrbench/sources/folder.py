"""Any folder of audio files with a tag table, as a Corpus.

The tag table is a CSV with a ``track_id`` column (the audio file's name without extension, or give a
``path`` column relative to the audio folder), and either a ``tags`` column (tags joined by ``;``) or one
0/1 column per tag of the vocabulary. An optional ``split`` column (train/valid/test) keeps given splits;
otherwise tracks are split 70/10/20 at random with ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.corpus import SPLITS, TAG_SEPARATOR, Corpus, CorpusError, TagVocabulary

AUDIO_EXTENSIONS = (".flac", ".wav", ".ogg", ".mp3", ".aiff", ".aif")


def random_splits(n_tracks: int, seed: int = 0, fractions=(0.7, 0.1, 0.2)) -> np.ndarray:
    """Seeded train/valid/test assignment with the given fractions, shape (n_tracks,)."""
    order = np.random.default_rng(seed).permutation(n_tracks)
    bounds = np.round(np.cumsum(fractions) * n_tracks).astype(int)
    splits = np.empty(n_tracks, dtype=object)
    for name, chunk in zip(SPLITS, np.split(order, bounds[:-1]), strict=True):
        splits[chunk] = name
    return splits.astype(str)


def load_folder(audio_dir: str | Path, tags_csv: str | Path, vocabulary: TagVocabulary | str | Path,
                seed: int = 0, name: str | None = None) -> Corpus:
    """Read a folder of audio with a tag table; every file must share one sample rate.

    Args:
        audio_dir: folder holding the audio files.
        tags_csv: the tag table (see the module docstring).
        vocabulary: a TagVocabulary or the path of a ``tag,category`` CSV.
        seed: seeds the random split when the table has no ``split`` column.
    """
    import soundfile

    audio_dir, tags_csv = Path(audio_dir), Path(tags_csv)
    if not audio_dir.is_dir():
        raise CorpusError(f"{audio_dir}: audio folder not found.")
    if not isinstance(vocabulary, TagVocabulary):
        vocabulary = TagVocabulary.read_csv(vocabulary)
    if not tags_csv.exists():
        raise CorpusError(f"{tags_csv}: tag table not found.")
    table = pd.read_csv(tags_csv, dtype=str, keep_default_na=False)
    if "track_id" not in table.columns:
        raise CorpusError(f"{tags_csv}: needs a track_id column (found {list(table.columns)}).")
    if "tags" in table.columns:
        tag_lists = [[t.strip() for t in s.split(TAG_SEPARATOR) if t.strip()] for s in table["tags"]]
        try:
            tags = vocabulary.encode(tag_lists)
        except CorpusError as error:
            raise CorpusError(f"{tags_csv}: {error}") from None
    else:
        missing = [t for t in vocabulary.tags if t not in table.columns]
        if missing:
            raise CorpusError(f"{tags_csv}: no 'tags' column and no 0/1 columns for tags {missing[:5]}. Fix: add "
                              f"a 'tags' column (tags joined by ';') or one column per vocabulary tag.")
        tags = table[list(vocabulary.tags)].astype(int).to_numpy().astype(np.uint8)
    if "path" in table.columns:
        paths = table["path"].tolist()
    else:
        paths = [_find_audio(audio_dir, track) for track in table["track_id"]]
    rates, durations = [], []
    for relative in paths:
        path = audio_dir / relative
        if not path.exists():
            raise CorpusError(f"{path}: audio file missing (listed in {tags_csv}).")
        info = soundfile.info(str(path))
        rates.append(info.samplerate)
        durations.append(info.frames / info.samplerate)
    if len(set(rates)) > 1:
        counts = pd.Series(rates).value_counts().to_dict()
        raise CorpusError(f"{audio_dir}: files have different sample rates {counts}. Fix: resample them to one "
                          f"rate (e.g. `sox in.wav -r 16000 out.wav`).")
    if "split" in table.columns:
        splits = table["split"].to_numpy(dtype=str)
    else:
        splits = random_splits(len(table), seed)
    return Corpus(track_ids=table["track_id"].to_numpy(dtype=str), sample_rate=int(rates[0]) if rates else 16000,
                  durations=np.array(durations), vocabulary=vocabulary, tags=tags, splits=splits,
                  root=audio_dir, audio_paths=paths,
                  info={"name": name or audio_dir.name, "source": {"kind": "folder", "tags_csv": str(tags_csv)}})


def _find_audio(audio_dir: Path, track_id: str) -> str:
    for extension in AUDIO_EXTENSIONS:
        if (audio_dir / f"{track_id}{extension}").exists():
            return f"{track_id}{extension}"
    raise CorpusError(f"{audio_dir}: no audio file for track {track_id!r} (looked for {track_id}.flac/.wav/...). "
                      f"Fix: add a 'path' column to the tag table.")
