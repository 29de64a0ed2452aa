"""The corpus interface that every other part of mdrbench sees.

A corpus is a set of tracks (id, audio, duration), a tag vocabulary in which every tag belongs to one of
four categories, a multi-hot tag matrix, a split per track and, for a synthetic corpus, the clean
ground-truth factors the tags were derived from. The synthetic corpus and real ones (folder + CSV, MSD,
MTG-Jamendo) all produce this object, so models and metrics never know where the music came from.

On disk a corpus is a folder::

    corpus.json        name, sample rate, format version, free-form provenance
    vocabulary.csv     tag,category
    tracks.csv         track_id,path,duration,split[,factor_genre,factor_mood,...]
    tags.csv           track_id,tags   (tags joined by ';')
    audio/*.flac       one mono file per track (or, for a folder imported in place, any paths in
                       tracks.csv, absolute or relative, at any rates: corpus.json then says
                       "mixed_rates": true and audio is resampled and down-mixed on load)

``Corpus.load`` validates everything it reads and raises :class:`CorpusError` naming the file, the
problem and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.errors import CorpusError  # also importable from here, as before

CATEGORIES: tuple[str, ...] = ("genre", "mood", "instrument", "era")
SPLITS: tuple[str, ...] = ("train", "valid", "test")
FORMAT_VERSION = 1
TAG_SEPARATOR = ";"


@dataclass(frozen=True)
class TagVocabulary:
    """An ordered list of tags, each belonging to exactly one category of :data:`CATEGORIES`."""

    tags: tuple[str, ...]
    categories: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "categories", tuple(self.categories))
        if len(self.tags) != len(self.categories):
            raise CorpusError(f"{len(self.tags)} tags but {len(self.categories)} categories: give one each.")
        duplicates = sorted({t for t in self.tags if self.tags.count(t) > 1})
        if duplicates:
            raise CorpusError(f"tags appear twice in the vocabulary: {duplicates}. Fix: make tags unique.")
        unknown = sorted({c for c in self.categories if c not in CATEGORIES})
        if unknown:
            raise CorpusError(f"unknown categories {unknown}; every tag must be one of {list(CATEGORIES)}.")

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> TagVocabulary:
        pairs = list(pairs)
        return cls(tuple(t for t, _ in pairs), tuple(c for _, c in pairs))

    @classmethod
    def msd50(cls) -> TagVocabulary:
        """The MSD Last.fm top-50 vocabulary grouped as in the paper (28 genre, 12 mood, 5 instr., 5 era)."""
        return cls.read_csv(Path(__file__).parent / "data" / "msd50_tags.csv")

    @classmethod
    def read_csv(cls, path: str | Path) -> TagVocabulary:
        path = Path(path)
        if not path.exists():
            raise CorpusError(f"{path}: vocabulary file not found. Fix: write a CSV with columns tag,category.")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = {"tag", "category"} - set(frame.columns)
        if missing:
            raise CorpusError(f"{path}: missing columns {sorted(missing)}; expected tag,category.")
        try:
            return cls(tuple(frame["tag"]), tuple(frame["category"]))
        except CorpusError as error:
            raise CorpusError(f"{path}: {error}") from None

    def to_frame(self) -> pd.DataFrame:
        """The vocabulary as a table: columns tag, category."""
        return pd.DataFrame({"tag": self.tags, "category": self.categories})

    def write_csv(self, path: str | Path) -> None:
        self.to_frame().to_csv(path, index=False)

    def __len__(self) -> int:
        return len(self.tags)

    def index(self, tag: str) -> int:
        try:
            return self.tags.index(tag)
        except ValueError:
            raise KeyError(f"unknown tag {tag!r}; the vocabulary has: {list(self.tags)}") from None

    def category_of(self, tag: str) -> str:
        return self.categories[self.index(tag)]

    def tags_in(self, category: str) -> list[str]:
        self._check_category(category)
        return [t for t, c in zip(self.tags, self.categories, strict=True) if c == category]

    def tag_indices(self, category: str) -> np.ndarray:
        """Column indices of the tags of one category, shape (n_tags_in_category,)."""
        self._check_category(category)
        return np.flatnonzero(np.asarray(self.categories) == category)

    @property
    def category_ids(self) -> np.ndarray:
        """Category of every tag as an index into CATEGORIES, shape (n_tags,)."""
        return np.array([CATEGORIES.index(c) for c in self.categories], dtype=np.int64)

    def encode(self, tag_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Multi-hot matrix of shape (n_tracks, n_tags) from lists of tag names; unknown tags raise."""
        matrix = np.zeros((len(tag_lists), len(self.tags)), dtype=np.uint8)
        lookup = {t: i for i, t in enumerate(self.tags)}
        for row, tags in enumerate(tag_lists):
            for tag in tags:
                if tag not in lookup:
                    raise CorpusError(f"track {row}: tag {tag!r} is not in the vocabulary. "
                                      f"Fix: add it to vocabulary.csv with its category, or drop it.")
                matrix[row, lookup[tag]] = 1
        return matrix

    def decode(self, row: np.ndarray) -> list[str]:
        return [self.tags[i] for i in np.flatnonzero(np.asarray(row))]

    @staticmethod
    def _check_category(category: str) -> None:
        if category not in CATEGORIES:
            raise KeyError(f"unknown category {category!r}; expected one of {list(CATEGORIES)}")


@dataclass
class Corpus:
    """Tracks with audio, multi-label tags, splits and (optionally) clean factors.

    Attributes:
        track_ids: (n_tracks,) unique string ids.
        sample_rate: rate in Hz of the audio :meth:`audio` returns. Every file has this rate, unless
            :attr:`mixed_rates` (a folder imported in place), whose files are resampled on load.
        durations: (n_tracks,) seconds.
        vocabulary: the tag vocabulary (columns of ``tags``).
        tags: (n_tracks, n_tags) uint8 multi-hot, the noisy observed tags.
        splits: (n_tracks,) strings in SPLITS.
        factors: optional DataFrame with one row per track and one column per category holding the
            clean ground-truth value (synthetic corpora only).
        root: folder the corpus was loaded from or saved to (None for an in-memory corpus).
        audio_paths: per track, path relative to ``root`` (None for in-memory audio).
        info: free-form provenance written to corpus.json (generator, seed, size, noise rates...).
    """

    track_ids: np.ndarray
    sample_rate: int
    durations: np.ndarray
    vocabulary: TagVocabulary
    tags: np.ndarray
    splits: np.ndarray
    factors: pd.DataFrame | None = None
    root: Path | None = None
    audio_paths: list[str] | None = None
    info: dict = field(default_factory=dict)
    _audio: list[np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self):
        self.track_ids = np.asarray(self.track_ids, dtype=str)
        self.durations = np.asarray(self.durations, dtype=np.float64)
        self.tags = np.asarray(self.tags, dtype=np.uint8)
        self.splits = np.asarray(self.splits, dtype=str)
        self.validate()

    def __repr__(self) -> str:
        counts = ", ".join(f"{split}={int((self.splits == split).sum())}" for split in SPLITS)
        return (f"Corpus({self.name!r}: {len(self)} tracks ({counts}), {len(self.vocabulary)} tags, "
                f"{self.sample_rate} Hz, {self.durations.sum() / 3600:.2f} h of audio)")

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def name(self) -> str:
        return str(self.info.get("name", self.root.name if self.root else "corpus"))

    def split_indices(self, split: str) -> np.ndarray:
        """Indices of the tracks of one split, shape (n,)."""
        if split not in SPLITS:
            raise KeyError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
        return np.flatnonzero(self.splits == split)

    @property
    def mixed_rates(self) -> bool:
        """True when the audio files keep their own rates and channel counts (a folder imported in place).

        Such a corpus is resampled and down-mixed on load to :attr:`sample_rate`; a corpus written by
        :meth:`save` from in-memory audio (the synthetic one) has every file at :attr:`sample_rate`, and a
        file at another rate is reported as an error. Stored as ``"mixed_rates": true`` in corpus.json.
        """
        return bool(self.info.get("mixed_rates", False))

    def audio(self, index: int, sample_rate: int | None = None, max_seconds: float | None = None,
              offset: str | float = "centre", return_start: bool = False):
        """Mono float32 audio of one track, shape (n_samples,).

        Args:
            index: the track.
            sample_rate: rate to return (default :attr:`sample_rate`); files and in-memory audio at another
                rate are resampled with soxr (see :mod:`mdrbench.audio`).
            max_seconds: keep at most this many seconds (None: the whole track); only that window is read
                from disk.
            offset: where the window sits: "centre", "start" or seconds from the start.
            return_start: also return the window's start in the track, in seconds.

        Returns:
            (n_samples,) float32, or ``(audio, start_seconds)`` with ``return_start``.
        """
        from mdrbench.audio import load_audio, resample, window_bounds

        rate = self.sample_rate if sample_rate is None else int(sample_rate)
        if self._audio is not None:
            audio = np.asarray(self._audio[index], dtype=np.float32)
            start, stop = window_bounds(len(audio), self.sample_rate, max_seconds, offset)
            audio = resample(audio[start:stop], self.sample_rate, rate)
            return (audio, start / self.sample_rate) if return_start else audio
        if self.root is None or self.audio_paths is None:
            raise CorpusError("this corpus has neither in-memory audio nor audio files.")
        return load_audio(self.root / self.audio_paths[index], rate, max_seconds, offset, return_start=return_start)

    def iter_audio(self, indices: Iterable[int] | None = None):
        for index in range(len(self)) if indices is None else indices:
            yield index, self.audio(int(index))

    def tags_of(self, index: int) -> list[str]:
        return self.vocabulary.decode(self.tags[index])

    def subset(self, indices: Sequence[int]) -> Corpus:
        """A corpus holding only the given tracks (in that order); audio stays where it is."""
        indices = np.asarray(indices, dtype=np.int64)
        return Corpus(
            track_ids=self.track_ids[indices], sample_rate=self.sample_rate,
            durations=self.durations[indices], vocabulary=self.vocabulary, tags=self.tags[indices],
            splits=self.splits[indices],
            factors=None if self.factors is None else self.factors.iloc[indices].reset_index(drop=True),
            root=self.root,
            audio_paths=None if self.audio_paths is None else [self.audio_paths[i] for i in indices],
            info=dict(self.info),
            _audio=None if self._audio is None else [self._audio[i] for i in indices],
        )

    def fingerprint(self) -> str:
        """A short hash of what features and results depend on.

        A generated corpus (one with ``info["generator"]``) is identified by its generator settings (version,
        size, seed, ...) and by what the generator drew: ids, durations, splits and tags. Its file sizes and
        modification times are left out, so the same corpus synthesized on another machine (or on Colab) is
        recognised as the one a stored result or the reference bundle was made on. Its audio content is left
        out too: numpy's vectorised sin and exp may differ in the last bit between CPUs, which could flip a
        rare sample by one step, and a single flipped sample must not refuse the bundle (the bundle test
        checks the audio the way that matters, by re-embedding it). Any other corpus (an audio folder) is
        identified by its ids, durations and each file's size and modification time.
        """
        import hashlib

        digest = hashlib.sha256()
        digest.update(str(self.sample_rate).encode())
        digest.update("\n".join(self.track_ids).encode())
        digest.update(np.round(self.durations, 4).tobytes())
        generator = self.info.get("generator")
        digest.update(json.dumps(generator or {}, sort_keys=True, default=str).encode())
        if generator:
            digest.update("\n".join(self.splits).encode())
            digest.update(np.packbits(np.asarray(self.tags, dtype=bool)).tobytes())
        elif self.root is not None and self.audio_paths is not None:
            for path in self.audio_paths:
                stat = (self.root / path).stat()
                digest.update(f"{path}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        return digest.hexdigest()[:16]

    def summary(self) -> pd.DataFrame:
        """Tag counts per split with each tag's category, one row per tag."""
        rows = []
        for column, (tag, category) in enumerate(zip(self.vocabulary.tags, self.vocabulary.categories,
                                                     strict=True)):
            row = {"tag": tag, "category": category, "all": int(self.tags[:, column].sum())}
            for split in SPLITS:
                row[split] = int(self.tags[self.splits == split, column].sum())
            rows.append(row)
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        n = len(self.track_ids)
        if len(set(self.track_ids.tolist())) != n:
            unique, counts = np.unique(self.track_ids, return_counts=True)
            dupes = unique[counts > 1].tolist()
            raise CorpusError(f"track ids repeat: {dupes[:5]}. A track must appear once, in one split.")
        for name, array in (("durations", self.durations), ("splits", self.splits)):
            if len(array) != n:
                raise CorpusError(f"{name} has {len(array)} entries for {n} tracks.")
        if self.tags.shape != (n, len(self.vocabulary)):
            raise CorpusError(f"tag matrix has shape {self.tags.shape}, expected ({n}, {len(self.vocabulary)}) "
                              f"= (tracks, tags in vocabulary).")
        if self.tags.size and self.tags.max() > 1:
            raise CorpusError("tag matrix must be multi-hot (0 or 1).")
        bad_splits = sorted(set(self.splits.tolist()) - set(SPLITS))
        if bad_splits:
            raise CorpusError(f"unknown split names {bad_splits}; expected {list(SPLITS)}.")
        if self.factors is not None and len(self.factors) != n:
            raise CorpusError(f"factors has {len(self.factors)} rows for {n} tracks.")
        if self._audio is not None and len(self._audio) != n:
            raise CorpusError(f"{len(self._audio)} audio arrays for {n} tracks.")
        if self.audio_paths is not None and len(self.audio_paths) != n:
            raise CorpusError(f"{len(self.audio_paths)} audio paths for {n} tracks.")

    # ------------------------------------------------------------------ disk
    def save(self, folder: str | Path, progress: bool = False) -> Corpus:
        """Write the corpus as a folder (FLAC audio + CSV/JSON metadata); returns the on-disk corpus."""
        import soundfile
        from tqdm.auto import tqdm

        folder = Path(folder)
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        paths = []
        for index, track in enumerate(tqdm(self.track_ids, desc="writing audio", disable=not progress)):
            # copied files keep their own format (the extension says what the file is)
            suffix = ".flac" if self._audio is not None else Path(self.audio_paths[index]).suffix or ".flac"
            relative = f"audio/{track}{suffix}"
            target = folder / relative
            if self._audio is not None:
                if not np.all(np.isfinite(self._audio[index])):
                    raise CorpusError(f"track {str(track)!r}: audio contains NaN or infinite samples; "
                                      f"cannot save it. Fix: check the code that made this audio.")
                soundfile.write(target, self._audio[index], self.sample_rate, subtype="PCM_16")
            elif self.root is not None and (self.root / self.audio_paths[index]).resolve() != target.resolve():
                import shutil

                shutil.copyfile(self.root / self.audio_paths[index], target)
            paths.append(relative)
        self.vocabulary.write_csv(folder / "vocabulary.csv")
        tracks = pd.DataFrame({"track_id": self.track_ids, "path": paths,
                               "duration": np.round(self.durations, 6), "split": self.splits})
        if self.factors is not None:
            for column in self.factors.columns:
                tracks[f"factor_{column}"] = self.factors[column].to_numpy()
        tracks.to_csv(folder / "tracks.csv", index=False)
        tag_strings = [TAG_SEPARATOR.join(self.vocabulary.decode(row)) for row in self.tags]
        pd.DataFrame({"track_id": self.track_ids, "tags": tag_strings}).to_csv(folder / "tags.csv", index=False)
        meta = {"format_version": FORMAT_VERSION, "sample_rate": int(self.sample_rate), **self.info}
        (folder / "corpus.json").write_text(json.dumps(meta, indent=2, default=str))
        return Corpus.load(folder, check_audio=False)

    @classmethod
    def load(cls, folder: str | Path, check_audio: bool = True) -> Corpus:
        """Read a corpus folder written by :meth:`save`, validating it.

        ``check_audio`` opens the header of every audio file (existence, readability and, unless the corpus
        has ``"mixed_rates": true``, the sample rate); it is cheap (no decoding) and on by default.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise CorpusError(f"{folder}: no such corpus folder. Fix: make one with "
                              f"`mdrbench corpus synth --size ci --out {folder}`.")
        meta_path = folder / "corpus.json"
        if not meta_path.exists():
            raise CorpusError(f"{meta_path}: missing. A corpus folder needs corpus.json, vocabulary.csv, "
                              f"tracks.csv and tags.csv.")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as error:
            raise CorpusError(f"{meta_path}: not valid JSON ({error}). Fix: regenerate the corpus.") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise CorpusError(f"{meta_path}: format_version {meta.get('format_version')!r}, this mdrbench "
                              f"reads {FORMAT_VERSION}. Fix: regenerate the corpus.")
        sample_rate = int(meta["sample_rate"])
        vocabulary = TagVocabulary.read_csv(folder / "vocabulary.csv")
        tracks = _read_table(folder / "tracks.csv", {"track_id", "path", "duration", "split"})
        tag_table = _read_table(folder / "tags.csv", {"track_id", "tags"})
        ids = tracks["track_id"].tolist()
        duplicated = tracks[tracks["track_id"].duplicated(keep=False)]
        if len(duplicated):
            first = duplicated["track_id"].iloc[0]
            in_splits = sorted(set(duplicated.loc[duplicated["track_id"] == first, "split"]))
            raise CorpusError(f"{folder / 'tracks.csv'}: track {first!r} is listed more than once "
                              f"(splits {in_splits}); splits must not overlap. Fix: keep one row per track.")
        bad_split = tracks.loc[~tracks["split"].isin(SPLITS), "split"]
        if len(bad_split):
            raise CorpusError(f"{folder / 'tracks.csv'}: unknown split {bad_split.iloc[0]!r}; "
                              f"use one of {list(SPLITS)}.")
        if list(tag_table["track_id"]) != ids:
            raise CorpusError(f"{folder / 'tags.csv'}: track ids differ from tracks.csv (order matters). "
                              f"Fix: write one row per track, in the same order.")
        tag_lists = [[t for t in s.split(TAG_SEPARATOR) if t] for s in tag_table["tags"]]
        try:
            tags = vocabulary.encode(tag_lists)
        except CorpusError as error:
            raise CorpusError(f"{folder / 'tags.csv'}: {error}") from None
        try:
            durations = tracks["duration"].astype(float).to_numpy()
        except ValueError:
            raise CorpusError(f"{folder / 'tracks.csv'}: a duration is not a number.") from None
        factor_columns = [c for c in tracks.columns if c.startswith("factor_")]
        factors = None
        if factor_columns:
            factors = tracks[factor_columns].rename(columns=lambda c: c[len("factor_"):]).reset_index(drop=True)
        paths = tracks["path"].tolist()
        if check_audio:
            _check_audio_files(folder, paths, sample_rate, mixed_rates=bool(meta.get("mixed_rates", False)))
        info = {k: v for k, v in meta.items() if k not in {"format_version", "sample_rate"}}
        return cls(track_ids=np.array(ids, dtype=str), sample_rate=sample_rate, durations=durations,
                   vocabulary=vocabulary, tags=tags, splits=tracks["split"].to_numpy(dtype=str),
                   factors=factors, root=folder, audio_paths=paths, info=info)


def _read_table(path: Path, required: set[str]) -> pd.DataFrame:
    if not path.exists():
        raise CorpusError(f"{path}: missing. Fix: regenerate the corpus or restore the file.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot be parsed as CSV ({error}).") from None
    missing = required - set(frame.columns)
    if missing:
        raise CorpusError(f"{path}: missing columns {sorted(missing)}; expected at least {sorted(required)}.")
    return frame


def _check_audio_files(folder: Path, paths: list[str], sample_rate: int, mixed_rates: bool = False) -> None:
    from mdrbench.audio import AudioError, probe_audio

    for relative in paths:
        path = folder / relative
        if not path.exists():
            raise CorpusError(f"{path}: audio file missing (listed in tracks.csv). "
                              f"Fix: restore it, or remove its row from tracks.csv and tags.csv.")
        try:
            rate = probe_audio(path)["sample_rate"]
        except AudioError as error:
            raise CorpusError(f"{error} (listed in {folder / 'tracks.csv'})") from None
        if rate != sample_rate and not mixed_rates:
            raise CorpusError(f"{path}: sample rate {rate} Hz, but corpus.json says {sample_rate} Hz. "
                              f"Fix: resample the file to {sample_rate} Hz, or set \"mixed_rates\": true in "
                              f"corpus.json to resample every file on load.")
