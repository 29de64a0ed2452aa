"""Any folder of audio files with a tag table, as a Corpus.

The tag table is a CSV with a ``track_id`` column (the audio file's name without extension, or give a
``path`` column relative to the audio folder), and either a ``tags`` column (tags joined by ``;``) or one
0/1 column per tag of the vocabulary. An optional ``split`` column (train/valid/test) keeps given splits;
otherwise tracks are split 70/10/20 at random with ``seed``.

The files may have any rate and any number of channels (most real collections mix 44.1 kHz stereo with
22.05 kHz mono): the corpus references them in place and :meth:`Corpus.audio` down-mixes and resamples on
load (``corpus.mixed_rates`` is True). Only headers are read here (rate, channels, length), never audio.
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


def resolve_vocabulary(vocabulary: TagVocabulary | str | Path) -> TagVocabulary:
    """A TagVocabulary, ``"msd50"`` (:meth:`TagVocabulary.msd50`) or the path of a ``tag,category`` CSV."""
    if isinstance(vocabulary, TagVocabulary):
        return vocabulary
    if str(vocabulary) == "msd50":
        return TagVocabulary.msd50()
    return TagVocabulary.read_csv(vocabulary)


def load_folder(audio_dir: str | Path, tags_csv: str | Path, vocabulary: TagVocabulary | str | Path,
                seed: int = 0, name: str | None = None, sample_rate: int | None = None,
                skip_errors: bool = False) -> Corpus:
    """Read a folder of audio (any rates, any channel counts) with a tag table.

    Args:
        audio_dir: folder holding the audio files.
        tags_csv: the tag table (see the module docstring).
        vocabulary: a TagVocabulary, ``"msd50"``, or the path of a ``tag,category`` CSV.
        seed: seeds the random split when the table has no ``split`` column.
        name: the corpus name (default: the folder's name).
        sample_rate: the rate :meth:`Corpus.audio` returns (default: the most common rate of the files);
            feature extraction resamples to its front-end's rate anyway.
        skip_errors: drop tracks whose file is missing or unreadable instead of raising; they are listed
            in ``corpus.info["skipped"]`` (track_id, path, error).

    Raises:
        CorpusError: naming the file and the fix (missing columns, unknown tags, missing or unreadable audio).
    """
    from mdrbench.audio import probe_files

    audio_dir, tags_csv = Path(audio_dir), Path(tags_csv)
    if not audio_dir.is_dir():
        raise CorpusError(f"{audio_dir}: audio folder not found. Fix: give the folder that holds the audio files.")
    vocabulary = resolve_vocabulary(vocabulary)
    if not tags_csv.exists():
        raise CorpusError(f"{tags_csv}: tag table not found. Fix: write a CSV with columns track_id,tags[,split].")
    try:
        table = pd.read_csv(tags_csv, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CorpusError(f"{tags_csv}: cannot be parsed as CSV ({' '.join(str(error).split())}).") from None
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
        paths = [_find_audio(audio_dir, track, missing_ok=skip_errors) for track in table["track_id"]]
    probes = probe_files([audio_dir / relative for relative in paths])
    bad = probes["error"] != ""
    skipped = []
    if bad.any():
        first = probes.loc[bad, "error"].iloc[0]
        if not skip_errors:
            raise CorpusError(f"{int(bad.sum())} of {len(paths)} audio files listed in {tags_csv} cannot be used, "
                              f"e.g. {first} Or pass skip_errors=True to leave them out.")
        skipped = [{"track_id": track, "path": path, "error": error} for track, path, error
                   in zip(table["track_id"][bad.to_numpy()], np.asarray(paths)[bad.to_numpy()],
                          probes.loc[bad, "error"], strict=True)]
    keep = np.flatnonzero(~bad.to_numpy())
    if len(keep) == 0:
        raise CorpusError(f"{tags_csv}: no usable audio file (first problem: {skipped[0]['error']}).")
    rates = probes["sample_rate"].to_numpy()[keep]
    if sample_rate is None:
        counts = pd.Series(rates).value_counts()
        sample_rate = int(counts[counts == counts.max()].index.max())  # the most common rate, the highest on ties
    splits = table["split"].to_numpy(dtype=str) if "split" in table.columns else random_splits(len(table), seed)
    info = {"name": name or audio_dir.name, "mixed_rates": True,
            "source": {"kind": "folder", "tags_csv": str(tags_csv),
                       "rates": {str(k): int(v) for k, v in pd.Series(rates).value_counts().items()},
                       "channels": {str(k): int(v) for k, v in
                                    pd.Series(probes["channels"].to_numpy()[keep]).value_counts().items()}}}
    if skipped:
        info["skipped"] = skipped
    return Corpus(track_ids=table["track_id"].to_numpy(dtype=str)[keep], sample_rate=int(sample_rate),
                  durations=probes["duration"].to_numpy()[keep], vocabulary=vocabulary, tags=tags[keep],
                  splits=splits[keep], root=audio_dir, audio_paths=[paths[i] for i in keep], info=info)


def _find_audio(audio_dir: Path, track_id: str, missing_ok: bool = False) -> str:
    for extension in AUDIO_EXTENSIONS:
        if (audio_dir / f"{track_id}{extension}").exists():
            return f"{track_id}{extension}"
    if missing_ok:  # the probe then reports it as missing
        return track_id
    raise CorpusError(f"{audio_dir}: no audio file for track {track_id!r} (looked for {track_id}.flac/.wav/...). "
                      f"Fix: add a 'path' column to the tag table.")
