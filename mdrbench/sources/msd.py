"""The Million Song Dataset with Last.fm's top-50 tags, in the paper's split (201,680 / 11,774 / 28,435).

The split the paper uses is the one distributed by jongpillee/music_dataset_split and
minzwon/sota-music-tagging-models (``split/msd``), as Python 2 pickles:

- ``filtered_list_train.cP``: the first 201,680 MSD track ids are training, the remaining 11,774 validation;
- ``filtered_list_test.cP``: 28,435 test ids;
- ``msd_id_to_tag_vector.cP``: MSD id -> 0/1 vector of the 50 tags (shape (50, 1));
- ``50tagList.txt``: the 50 tags, one a line, in the vectors' order.

A pickle can run arbitrary code when loaded, so this module reads plain text and refuses pickles unless
you opt in with ``allow_pickle=True``; it then converts them **once** into the commonly used text form,
written next to them, and every later load reads the text:

- ``train.txt``, ``validation.txt``, ``test.txt``: one MSD track id a line, no header;
- ``tags.csv``: first column the MSD id, then one 0/1 column per tag.

Those text files (made by you or by others' conversion scripts, whose tag columns may be lower-cased) are
read directly. Split files stored as numpy object arrays (``train.npy``, ``valid.npy``, ``test.npy``,
entries like ``"12\\tTRAAAAW128F429D538"``) are pickles too and follow the same rule.

Audio is the 30-second 7digital previews you hold, found by MSD track id anywhere under the audio folder:
nested as ``A/B/C/TRABC....mp3`` (characters 3-5 of the id), flat, or any other layout, or through an
optional ``id_to_path`` CSV (columns ``track_id,path``, path relative to the audio folder).

The tags map to the four categories as :meth:`TagVocabulary.msd50` does (28 genre, 12 mood, 5 instrument,
5 era).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.corpus import Corpus, CorpusError, TagVocabulary

MSD_ID = re.compile(r"TR[A-Z0-9]{16}")
PAPER_SPLIT_SIZES = {"train": 201680, "valid": 11774, "test": 28435}
TRAIN_VALID_CUTOFF = PAPER_SPLIT_SIZES["train"]  # filtered_list_train: the first 201,680 ids are training
TEXT_SPLIT_FILES = {"train": ("train.txt",), "valid": ("validation.txt", "valid.txt"), "test": ("test.txt",)}
PICKLED_SPLIT_FILES = {"train+valid": "filtered_list_train.cP", "test": "filtered_list_test.cP",
                       "tags": "msd_id_to_tag_vector.cP"}
NPY_SPLIT_FILES = {"train": "train.npy", "valid": "valid.npy", "test": "test.npy"}
AUDIO_EXTENSIONS = (".mp3", ".clip.mp3", ".ogg", ".flac", ".wav")
PREVIEW_SECONDS = 30.0


class PickleRefusedError(CorpusError):
    """A split file is a pickle and the caller did not opt in to loading pickles."""


# ---------------------------------------------------------------------------------------------- split files
def read_msd_split(split_dir: str | Path, allow_pickle: bool = False, vocabulary: TagVocabulary | None = None,
                   train_valid_cutoff: int = TRAIN_VALID_CUTOFF) -> tuple[dict[str, list[str]], pd.DataFrame]:
    """The MSD ids of each split and the tag matrix, from plain text (converting opted-in pickles once).

    Args:
        split_dir: folder with ``train.txt``/``validation.txt``/``test.txt`` and ``tags.csv``, or with the
            pickled originals (see the module docstring).
        allow_pickle: load pickled split files (they can run code: only files you trust) and convert them
            to text next to them. Without it a pickle raises :class:`PickleRefusedError`.
        vocabulary: the tags to read (default :meth:`TagVocabulary.msd50`); columns match case-insensitively.
        train_valid_cutoff: when converting ``filtered_list_train.cP``, the ids before it are training and
            the rest validation (201,680 in the paper's split).

    Returns:
        ``({"train": ids, "valid": ids, "test": ids}, tags)`` where ``tags`` is a (n_ids, n_tags) uint8
        DataFrame indexed by MSD id with the vocabulary's tags as columns.
    """
    split_dir = Path(split_dir)
    vocabulary = vocabulary or TagVocabulary.msd50()
    if not split_dir.is_dir():
        raise CorpusError(f"{split_dir}: no such folder. Fix: point at the folder holding the MSD split files "
                          f"(train.txt, validation.txt, test.txt, tags.csv, or the .cP originals).")
    if not _has_text_split(split_dir):
        if any((split_dir / name).is_file() for name in PICKLED_SPLIT_FILES.values()):
            _convert_pickled_lists(split_dir, allow_pickle, train_valid_cutoff)
        elif any((split_dir / name).is_file() for name in NPY_SPLIT_FILES.values()):
            _convert_npy_lists(split_dir, allow_pickle)
    if not _has_text_split(split_dir):
        raise CorpusError(f"{split_dir}: no MSD split files. Fix: put train.txt, validation.txt and test.txt "
                          f"(one MSD id a line) and tags.csv there, or the pickled filtered_list_train.cP, "
                          f"filtered_list_test.cP and msd_id_to_tag_vector.cP (then pass allow_pickle=True).")
    ids = {split: _read_id_list(_text_split_path(split_dir, split)) for split in TEXT_SPLIT_FILES}
    seen: dict[str, str] = {}
    for split, split_ids in ids.items():
        for track in split_ids:
            if track in seen and seen[track] != split:
                raise CorpusError(f"{split_dir}: track {track} is in both {seen[track]} and {split}. Fix: splits "
                                  f"must not overlap; restore the original split files.")
            seen[track] = split
    return ids, _read_tag_table(split_dir / "tags.csv", vocabulary)


def convert_msd_pickles(split_dir: str | Path, train_valid_cutoff: int = TRAIN_VALID_CUTOFF) -> list[Path]:
    """Convert the pickled split files in ``split_dir`` to plain text next to them (you opt in by calling).

    Returns:
        the text files written (train.txt, validation.txt, test.txt, tags.csv).
    """
    split_dir = Path(split_dir)
    if any((split_dir / name).is_file() for name in PICKLED_SPLIT_FILES.values()):
        return _convert_pickled_lists(split_dir, True, train_valid_cutoff)
    return _convert_npy_lists(split_dir, allow_pickle=True)


def _has_text_split(split_dir: Path) -> bool:
    return all(_text_split_path(split_dir, s) is not None for s in TEXT_SPLIT_FILES) and \
        (split_dir / "tags.csv").is_file()


def _text_split_path(split_dir: Path, split: str) -> Path | None:
    return next((split_dir / n for n in TEXT_SPLIT_FILES[split] if (split_dir / n).is_file()), None)


def _read_id_list(path: Path) -> list[str]:
    ids = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not MSD_ID.fullmatch(line):
            raise CorpusError(f"{path}:{number}: {line[:40]!r} is not an MSD track id (TR + 16 letters or "
                              f"digits). Fix: one MSD track id a line, no header.")
        ids.append(line)
    return ids


def _read_tag_table(path: Path, vocabulary: TagVocabulary) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot be parsed as CSV ({' '.join(str(error).split())}).") from None
    id_column = table.columns[0]
    by_lower = {str(column).strip().lower(): column for column in table.columns[1:]}
    missing = [tag for tag in vocabulary.tags if tag.lower() not in by_lower]
    if missing:
        raise CorpusError(f"{path}: no column for tags {missing[:5]} ({len(missing)} of {len(vocabulary)} missing). "
                          f"Fix: one 0/1 column per tag of the vocabulary (50tagList.txt), the MSD id first.")
    columns = [by_lower[tag.lower()] for tag in vocabulary.tags]
    try:
        values = table[columns].astype(float).to_numpy()
    except ValueError:
        raise CorpusError(f"{path}: tag columns must hold 0 or 1.") from None
    if not np.isin(values, (0, 1)).all():
        raise CorpusError(f"{path}: tag columns must hold 0 or 1 (found {sorted(set(values.ravel()) - {0, 1})[:3]}).")
    bad_ids = [track for track in table[id_column] if not MSD_ID.fullmatch(track)]
    if bad_ids:
        raise CorpusError(f"{path}: first column must be MSD track ids, found {bad_ids[0]!r}.")
    repeated = table[id_column][table[id_column].duplicated()]
    if len(repeated):
        raise CorpusError(f"{path}: track {repeated.iloc[0]} has more than one row. Fix: one row per track.")
    return pd.DataFrame(values.astype(np.uint8), index=table[id_column].to_numpy(), columns=list(vocabulary.tags))


def _refuse(path: Path) -> PickleRefusedError:
    return PickleRefusedError(
        f"{path}: is a pickle, which can run arbitrary code when loaded; refused. Fix: if you trust the file, "
        f"pass allow_pickle=True (it is converted once to plain text next to it), or convert it yourself to "
        f"train.txt/validation.txt/test.txt and tags.csv.")


def _unpickle(path: Path):
    import pickle

    # Python 2 pickles: latin1 decodes its str objects and the raw buffers of numpy arrays unchanged
    with open(path, "rb") as handle:
        try:
            return pickle.load(handle, encoding="latin1")
        except Exception as error:  # noqa: BLE001  (a broken pickle can raise nearly anything)
            raise CorpusError(f"{path}: cannot be unpickled ({type(error).__name__}: {error}). Fix: download "
                              f"it again.") from None


def _as_id(value, path: Path) -> str:
    text = value.decode("latin1") if isinstance(value, bytes) else str(value)
    match = MSD_ID.search(text)
    if match is None:
        raise CorpusError(f"{path}: entry {text[:40]!r} holds no MSD track id.")
    return match.group(0)


def _convert_pickled_lists(split_dir: Path, allow_pickle: bool, cutoff: int) -> list[Path]:
    paths = {role: split_dir / name for role, name in PICKLED_SPLIT_FILES.items()}
    absent = [p.name for p in paths.values() if not p.is_file()]
    if absent:
        raise CorpusError(f"{split_dir}: missing {absent} beside the other pickled split files. Fix: copy all of "
                          f"{list(PICKLED_SPLIT_FILES.values())} and 50tagList.txt.")
    if not allow_pickle:
        raise _refuse(paths["train+valid"])
    tag_list = split_dir / "50tagList.txt"
    if not tag_list.is_file():
        raise CorpusError(f"{tag_list}: missing; it names the columns of msd_id_to_tag_vector.cP. Fix: copy it "
                          f"from the same place as the .cP files.")
    tag_names = [line.strip() for line in tag_list.read_text(encoding="utf-8").splitlines() if line.strip()]
    train_valid = [_as_id(v, paths["train+valid"]) for v in _unpickle(paths["train+valid"])]
    test = [_as_id(v, paths["test"]) for v in _unpickle(paths["test"])]
    vectors = _unpickle(paths["tags"])
    if not isinstance(vectors, dict):
        raise CorpusError(f"{paths['tags']}: expected a dict MSD id -> tag vector, found {type(vectors).__name__}.")
    ids = [_as_id(k, paths["tags"]) for k in vectors]
    matrix = np.stack([np.asarray(v).reshape(-1) for v in vectors.values()]).astype(np.uint8) if ids else \
        np.zeros((0, len(tag_names)), np.uint8)
    if matrix.shape[1] != len(tag_names):
        raise CorpusError(f"{paths['tags']}: vectors of {matrix.shape[1]} tags but {tag_list.name} lists "
                          f"{len(tag_names)}.")
    lists = {"train": train_valid[:cutoff], "valid": train_valid[cutoff:], "test": test}
    return _write_text_split(split_dir, lists, pd.DataFrame(matrix, index=ids, columns=tag_names))


def _convert_npy_lists(split_dir: Path, allow_pickle: bool) -> list[Path]:
    lists = {}
    for split, name in NPY_SPLIT_FILES.items():
        path = split_dir / name
        if not path.is_file():
            raise CorpusError(f"{path}: missing beside the other .npy split files. Fix: copy "
                              f"{list(NPY_SPLIT_FILES.values())} together.")
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            if "allow_pickle" not in str(error):
                raise CorpusError(f"{path}: not a readable .npy file ({error}).") from None
            if not allow_pickle:
                raise _refuse(path) from None
            array = np.load(path, allow_pickle=True)  # the caller opted in
        lists[split] = [_as_id(value, path) for value in np.asarray(array).reshape(-1)]
    if not (split_dir / "tags.csv").is_file():
        raise CorpusError(f"{split_dir / 'tags.csv'}: missing; the .npy split files hold ids only. Fix: add "
                          f"tags.csv (MSD id, then one 0/1 column per tag).")
    return _write_text_split(split_dir, lists, None)


def _write_text_split(split_dir: Path, lists: dict[str, list[str]], tags: pd.DataFrame | None) -> list[Path]:
    written = []
    try:
        for split, ids in lists.items():
            path = split_dir / TEXT_SPLIT_FILES[split][0]
            _atomic_write(path, "".join(f"{track}\n" for track in ids))
            written.append(path)
        if tags is not None:
            path = split_dir / "tags.csv"
            _atomic_write(path, tags.rename_axis("track_id").to_csv())
            written.append(path)
    except OSError as error:
        raise CorpusError(f"{split_dir}: cannot write the text split files ({error.strerror}). Fix: copy the split "
                          f"files to a folder you can write to.") from None
    return written


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# ---------------------------------------------------------------------------------------------- audio
def index_audio_files(audio_dir: str | Path) -> dict[str, str]:
    """MSD track id -> path relative to ``audio_dir`` for every audio file under it whose name starts with an
    MSD id (``TRAAAAW128F429D538.mp3``, ``.clip.mp3``...), in any layout (``A/B/C/`` nested or flat)."""
    audio_dir = Path(audio_dir)
    found: dict[str, str] = {}
    for folder, _, names in os.walk(audio_dir):
        for file_name in names:
            match = MSD_ID.match(file_name)
            if match and file_name.lower().endswith(AUDIO_EXTENSIONS) and match.group(0) not in found:
                found[match.group(0)] = os.path.relpath(os.path.join(folder, file_name), audio_dir)
    return found


def nested_path(track_id: str, extension: str = ".mp3") -> str:
    """The nested layout's path of a track: ``TRABCDE...`` -> ``A/B/C/TRABCDE....mp3``."""
    return f"{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}{extension}"


def _read_id_to_path(path: Path) -> dict[str, str]:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise CorpusError(f"{path}: cannot read the id -> path table ({error}).") from None
    if not {"track_id", "path"} <= set(table.columns):
        raise CorpusError(f"{path}: needs columns track_id,path (found {list(table.columns)}).")
    return dict(zip(table["track_id"], table["path"], strict=True))


# ---------------------------------------------------------------------------------------------- the corpus
def load_msd(audio_dir: str | Path, split_dir: str | Path, *, allow_pickle: bool = False,
             id_to_path: str | Path | None = None, sample_rate: int = 22050, skip_missing: bool = False,
             probe_durations: bool = False, name: str = "msd-lastfm50",
             train_valid_cutoff: int = TRAIN_VALID_CUTOFF) -> Corpus:
    """The MSD Last.fm-50 corpus in the paper's split, over the 7digital previews you hold.

    Args:
        audio_dir: the folder of previews (any layout, see :func:`index_audio_files`).
        split_dir: the split files (text, or pickles with ``allow_pickle``; see the module docstring).
        allow_pickle: opt in to loading pickled split files (converted once to text next to them).
        id_to_path: optional CSV ``track_id,path`` (relative to ``audio_dir``) overriding the search by id.
        sample_rate: the rate :meth:`Corpus.audio` returns (the paper's 22,050 Hz); files at any rate are
            resampled on load.
        skip_missing: leave out the tracks whose audio you lack (counted in the report) instead of raising.
        probe_durations: read every file's header for its duration (slow on 200k MP3s); otherwise every
            preview counts as 30 s, the 7digital preview length.

    Returns:
        a Corpus with the msd50 vocabulary, whose ``info["source"]["counts"]`` gives per split the ids in
        the split files, the tracks with audio, and whether the split sizes are the paper's.
    """
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise CorpusError(f"{audio_dir}: audio folder not found. Fix: give the folder of 7digital previews.")
    vocabulary = TagVocabulary.msd50()
    ids, tag_table = read_msd_split(split_dir, allow_pickle, vocabulary, train_valid_cutoff)
    located = _read_id_to_path(Path(id_to_path)) if id_to_path is not None else index_audio_files(audio_dir)

    track_ids, paths, splits, missing = [], [], [], {split: 0 for split in ids}
    for split, split_ids in ids.items():
        for track in split_ids:
            relative = located.get(track)
            if relative is None or not (audio_dir / relative).is_file():
                missing[split] += 1
                continue
            track_ids.append(track)
            paths.append(relative)
            splits.append(split)
    n_missing = sum(missing.values())
    if n_missing and not skip_missing:
        have = set(track_ids)
        example = next(t for split_ids in ids.values() for t in split_ids if t not in have)
        raise CorpusError(f"{audio_dir}: {n_missing} of {sum(map(len, ids.values()))} split tracks have no audio "
                          f"(per split {missing}), e.g. {example} (looked for {nested_path(example)} and "
                          f"{example}.mp3 anywhere). Fix: pass skip_missing=True to use the tracks you have, or "
                          f"give id_to_path.")
    if not track_ids:
        raise CorpusError(f"{audio_dir}: no audio for any track of the split files.")
    untagged = [t for t in track_ids if t not in tag_table.index]
    if untagged:
        raise CorpusError(f"{Path(split_dir) / 'tags.csv'}: no tags for {len(untagged)} split tracks, e.g. "
                          f"{untagged[0]}. Fix: use the tag file distributed with the split files.")
    tags = tag_table.loc[track_ids].to_numpy()
    if probe_durations:
        from mdrbench.audio import probe_files

        durations = probe_files([audio_dir / p for p in paths])["duration"].to_numpy()
    else:
        durations = np.full(len(track_ids), PREVIEW_SECONDS)
    sizes = {split: len(split_ids) for split, split_ids in ids.items()}
    counts = {"split_files": sizes, "with_audio": {s: splits.count(s) for s in ids}, "missing_audio": missing,
              "paper_split": sizes == PAPER_SPLIT_SIZES}
    return Corpus(track_ids=track_ids, sample_rate=int(sample_rate), durations=durations, vocabulary=vocabulary,
                  tags=tags, splits=splits, root=audio_dir, audio_paths=paths,
                  info={"name": name, "mixed_rates": True,
                        "source": {"kind": "msd-lastfm50", "split_dir": str(split_dir), "counts": counts}})
