"""A folder of audio brought in as a corpus manifest (audio referenced in place), and the corpus check.

:func:`import_folder` reads a folder of audio with a tag table (as :func:`mdrbench.sources.load_folder`
does) and writes a corpus folder that *references* the audio where it is: no file is copied, any rate and
channel count is kept (``"mixed_rates": true``, so audio is down-mixed and resampled on load)::

    OUT/corpus.json     name, most common rate, "mixed_rates": true, provenance (audio folder, tag table,
                        vocabulary, rates and channel counts found, skipped files)
    OUT/vocabulary.csv  tag,category
    OUT/tracks.csv      track_id,path,duration,split   (path: the audio file's absolute path)
    OUT/tags.csv        track_id,tags

It is the layout :meth:`mdrbench.Corpus.load` reads (and ``mdrbench train/bench --corpus OUT``). The folder is
written to a temporary sibling, validated by loading it back (every audio header is opened) and only then
renamed into place. Feature caches of the corpus go to ``OUT/features``, never into the music folder.

:func:`check_corpus` reads a corpus folder without stopping at the first problem and reports everything that
is missing or wrong (missing or unreadable audio with counts, tags outside the vocabulary, empty or unknown
splits...), each with its fix, plus a summary (rates, channels, durations, splits).

Vocabularies: a ``tag,category`` CSV, ``"msd50"`` (:meth:`TagVocabulary.msd50`), or ``"jamendo"``: the
tag table then holds MTG-Jamendo's own tags (``genre---rock``, ``mood/theme---happy``,
``instrument---piano``; the decades ``genre---60s`` .. ``genre---90s`` become era tags), mapped as
:func:`mdrbench.sources.load_jamendo` maps them. mdrbench ships no fixed list of Jamendo's tags, so that
vocabulary is *derived from the tag table*: it holds exactly the tags the table uses (reported in
``corpus.info["source"]["vocabulary"]``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.corpus import CATEGORIES, FORMAT_VERSION, SPLITS, TAG_SEPARATOR, Corpus, CorpusError, TagVocabulary

NAMED_VOCABULARIES = ("msd50", "jamendo")
MANIFEST_FILES = ("corpus.json", "vocabulary.csv", "tracks.csv", "tags.csv")
# Smallest splits the commands can use (see check_corpus): training needs a train and a valid track; the
# benchmark's evaluation ranks test tracks against each other up to R@8, so it needs 9 (min_test_tracks()).
MIN_TRAIN_TRACKS, MIN_VALID_TRACKS = 1, 1
EXCERPT_SECONDS = 3.0  # the front-end presets' excerpt (mdrbench.features.FRONTENDS), not imported: keras is slow
TRACK_TRIPLET_EXCERPTS = 7 / 3  # test tracks must hold this many excerpts for the benchmark's track triplets
DURATION_TOLERANCE = 0.5  # seconds between tracks.csv and the file's header before check_corpus says so


def min_test_tracks() -> int:
    """Test tracks the benchmark's evaluation needs: one more than its largest K of R@K (a query is never its
    own neighbour)."""
    from mdrbench.evaluate import KS

    return max(KS) + 1


# ------------------------------------------------------------------------------------------------ import
def jamendo_vocabulary(tag_lists: list[list[str]], where: str | Path = "the tag table"
                       ) -> tuple[TagVocabulary, list[list[str]]]:
    """The vocabulary of the MTG-Jamendo tags a table uses, and the tag lists in its names.

    Args:
        tag_lists: per track, Jamendo tags such as ``genre---rock``, ``mood/theme---happy``,
            ``instrument---piano``, ``genre---80s`` (era).
        where: named in errors (the tag table's path).

    Returns:
        (vocabulary sorted by category then tag, per-track lists of vocabulary tags). A tag name used in
        two categories keeps both, told apart by a ``category:`` prefix (as :func:`load_jamendo` does).

    Raises:
        CorpusError: a tag that is not in Jamendo's ``category---tag`` form, or no tags at all.
    """
    from mdrbench.sources.jamendo import map_tag

    mapped = []
    for row, tags in enumerate(tag_lists):
        pairs = []
        for raw in tags:
            try:
                pairs.append(map_tag(raw))
            except ValueError as error:
                raise CorpusError(f"{where}: row {row + 1}: {error}. Fix: with --vocabulary jamendo write "
                                  f"Jamendo's tags (genre---rock;mood/theme---happy;instrument---piano; decades "
                                  f"genre---80s become era), or give a tag,category CSV.") from None
        mapped.append(pairs)
    pairs = sorted({pair for row in mapped for pair in row}, key=lambda p: (CATEGORIES.index(p[0]), p[1]))
    if not pairs:
        raise CorpusError(f"{where}: no tags at all, so no Jamendo vocabulary can be derived. Fix: fill the "
                          f"tags column.")
    names = [tag for _, tag in pairs]
    label = {(c, t): (t if names.count(t) == 1 else f"{c}:{t}") for c, t in pairs}
    vocabulary = TagVocabulary.from_pairs([(label[pair], pair[0]) for pair in pairs])
    return vocabulary, [[label[pair] for pair in row] for row in mapped]


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise CorpusError(f"{out} is an existing file, not a folder. Fix: choose a new --out folder.")
    if out.is_dir() and any(out.iterdir()):
        raise CorpusError(f"{out} exists and is not empty. Fix: choose a new --out folder, or delete it first.")


def _read_tag_table(tags_csv: Path) -> pd.DataFrame:
    if not tags_csv.is_file():
        raise CorpusError(f"{tags_csv}: tag table not found. Fix: write a CSV with columns track_id,tags[,split].")
    try:
        return pd.read_csv(tags_csv, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CorpusError(f"{tags_csv}: cannot be parsed as CSV ({' '.join(str(error).split())}).") from None


def import_folder(audio_dir: str | Path, tags_csv: str | Path, vocabulary: TagVocabulary | str | Path,
                  out: str | Path, *, seed: int = 0, name: str | None = None, skip_errors: bool = False) -> Corpus:
    """Write a corpus manifest in ``out`` that references the audio of ``audio_dir`` in place (no copy).

    Args:
        audio_dir: the folder of audio files (any format soundfile reads, any rates, any channel counts).
        tags_csv: the tag table (see :mod:`mdrbench.sources.folder`: ``track_id``, ``tags`` joined by ``;``
            or one 0/1 column per tag, optional ``split`` and ``path``).
        vocabulary: a TagVocabulary, the path of a ``tag,category`` CSV, ``"msd50"`` or ``"jamendo"``
            (derived from the table, see the module docstring).
        out: the corpus folder to write; must not exist, or be empty.
        seed: seeds the 70/10/20 split when the table has no ``split`` column.
        name: corpus name (default: the audio folder's name).
        skip_errors: leave out tracks whose audio is missing or unreadable (listed in
            ``corpus.info["skipped"]`` and in corpus.json) instead of raising.

    Returns:
        the corpus loaded back from ``out`` (validated: every audio header was opened).

    Raises:
        CorpusError: one line naming the file and the fix (bad ``out``, table, vocabulary or audio).
    """
    from mdrbench.sources.folder import load_folder, resolve_vocabulary

    audio_dir, tags_csv, out = Path(audio_dir), Path(tags_csv), Path(out)
    _check_out(out)
    if not audio_dir.is_dir():
        raise CorpusError(f"{audio_dir}: audio folder not found. Fix: give the folder that holds the audio files.")
    described = "given" if isinstance(vocabulary, TagVocabulary) else str(vocabulary)
    with tempfile.TemporaryDirectory(prefix="mdrbench-import-") as scratch:
        table_path = tags_csv
        if str(vocabulary) == "jamendo":
            table = _read_tag_table(tags_csv)
            if "tags" not in table.columns:
                raise CorpusError(f"{tags_csv}: --vocabulary jamendo needs a 'tags' column of Jamendo tags joined "
                                  f"by ';' (found {list(table.columns)}).")
            raw = [[t.strip() for t in s.split(TAG_SEPARATOR) if t.strip()] for s in table["tags"]]
            vocabulary, mapped = jamendo_vocabulary(raw, tags_csv)
            table["tags"] = [TAG_SEPARATOR.join(row) for row in mapped]
            table_path = Path(scratch) / tags_csv.name
            table.to_csv(table_path, index=False)
            counts = {c: len(vocabulary.tags_in(c)) for c in CATEGORIES}
            described = (f"jamendo, derived from the tag table ({len(vocabulary)} tags: "
                         + ", ".join(f"{counts[c]} {c}" for c in CATEGORIES) + "); mdrbench ships no fixed "
                         "Jamendo tag list")
        elif not isinstance(vocabulary, TagVocabulary):
            if str(vocabulary) not in NAMED_VOCABULARIES and not Path(vocabulary).is_file():
                raise CorpusError(f"{vocabulary}: vocabulary file not found. Fix: give a CSV with columns "
                                  f"tag,category, or one of {list(NAMED_VOCABULARIES)}.")
            vocabulary = resolve_vocabulary(vocabulary)
        try:
            corpus = load_folder(audio_dir, table_path, vocabulary, seed=seed, name=name or audio_dir.name,
                                 skip_errors=skip_errors)
        except CorpusError as error:
            raise CorpusError(str(error).replace(str(table_path), str(tags_csv))) from None
    corpus.info["source"] = {**corpus.info.get("source", {}), "tags_csv": str(tags_csv.resolve()),
                             "audio_dir": str(audio_dir.resolve()), "vocabulary": described}
    return write_corpus_manifest(corpus, out)


def write_corpus_manifest(corpus: Corpus, out: str | Path) -> Corpus:
    """Write ``corpus`` (audio files read in place) as a corpus folder referencing its audio; no copy.

    The manifest stores each file's absolute path, ``"mixed_rates": true`` and the corpus's provenance. It is
    written to a temporary sibling of ``out``, loaded back with every audio header checked, then renamed.

    Returns:
        the corpus loaded from ``out``.

    Raises:
        CorpusError: ``out`` is a file or a non-empty folder, the corpus has in-memory audio (use
            :meth:`Corpus.save`), or the written manifest does not load.
    """
    out = Path(out)
    _check_out(out)
    if corpus.root is None or corpus.audio_paths is None:
        raise CorpusError("this corpus holds its audio in memory; write it with Corpus.save (which writes the "
                          "audio files) instead of a manifest.")
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        paths = [str((Path(corpus.root) / path).resolve()) for path in corpus.audio_paths]
        corpus.vocabulary.write_csv(temporary / "vocabulary.csv")
        pd.DataFrame({"track_id": corpus.track_ids, "path": paths, "duration": np.round(corpus.durations, 6),
                      "split": corpus.splits}).to_csv(temporary / "tracks.csv", index=False)
        tag_strings = [TAG_SEPARATOR.join(corpus.vocabulary.decode(row)) for row in corpus.tags]
        pd.DataFrame({"track_id": corpus.track_ids, "tags": tag_strings}).to_csv(temporary / "tags.csv",
                                                                                  index=False)
        meta = {"format_version": FORMAT_VERSION, "sample_rate": int(corpus.sample_rate),
                **corpus.info, "name": corpus.name, "mixed_rates": True}
        (temporary / "corpus.json").write_text(json.dumps(meta, indent=2, default=str))
        Corpus.load(temporary)  # validate: every header opened, tags in the vocabulary, splits known
        if out.is_dir():
            out.rmdir()  # empty (checked above)
        os.replace(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return Corpus.load(out, check_audio=False)


# ------------------------------------------------------------------------------------------------- check
@dataclass
class CorpusCheck:
    """What :func:`check_corpus` found.

    Attributes:
        folder: the corpus folder checked.
        problems: one line each, with the fix; any problem makes the corpus unusable as it is.
        notes: things that work but deserve a look (small splits, unused tags, tracks without tags...).
        summary: lines describing the corpus (tracks, splits, rates, channels, durations).
    """

    folder: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        """The report as printed by ``mdrbench corpus check``."""
        lines = [f"corpus {self.folder}", *(f"  {line}" for line in self.summary)]
        if self.notes:
            lines += ["notes:", *(f"  - {note}" for note in self.notes)]
        if self.problems:
            lines += [f"{len(self.problems)} problem(s):", *(f"  - {problem}" for problem in self.problems)]
        else:
            lines.append("no problems found.")
        return "\n".join(lines)


def _listing(items: list, limit: int = 5) -> str:
    shown = ", ".join(str(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _counts(values) -> str:
    counts = Counter(values)
    return ", ".join(f"{key} x{count}" for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _table(path: Path, required: set[str], check: CorpusCheck) -> pd.DataFrame | None:
    if not path.is_file():
        check.problems.append(f"{path}: missing. Fix: re-import the folder (`mdrbench corpus import`) or restore "
                              f"the file.")
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        check.problems.append(f"{path}: cannot be parsed as CSV ({' '.join(str(error).split())}). Fix: re-import "
                              f"the folder or restore the file.")
        return None
    missing = required - set(frame.columns)
    if missing:
        check.problems.append(f"{path}: missing columns {sorted(missing)}; expected at least {sorted(required)}.")
        return None
    return frame


def check_corpus(folder: str | Path) -> CorpusCheck:
    """Everything missing or wrong in a corpus folder, each with its fix, and a summary; never raises on a bad
    corpus (see :class:`CorpusCheck`)."""
    from mdrbench.audio import probe_files

    folder = Path(folder)
    check = CorpusCheck(folder)
    if not folder.is_dir():
        what = "is a file, not a corpus folder" if folder.exists() else "no such folder"
        check.problems.append(f"{folder}: {what}. Fix: make one with `mdrbench corpus import AUDIO_DIR --tags "
                              f"TAGS.csv --vocabulary VOCAB.csv --out {folder}` or `mdrbench corpus synth`.")
        return check

    meta, mixed_rates, sample_rate = {}, False, None
    meta_path = folder / "corpus.json"
    if not meta_path.is_file():
        check.problems.append(f"{meta_path}: missing. Fix: re-import the folder with `mdrbench corpus import`.")
    else:
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as error:
            check.problems.append(f"{meta_path}: not valid JSON ({error}). Fix: re-import the folder.")
            meta = {}
        if meta and meta.get("format_version") != FORMAT_VERSION:
            check.problems.append(f"{meta_path}: format_version {meta.get('format_version')!r}, this mdrbench "
                                  f"reads {FORMAT_VERSION}. Fix: re-import the folder.")
        if meta:
            try:
                sample_rate = int(meta["sample_rate"])
            except (KeyError, TypeError, ValueError):
                check.problems.append(f"{meta_path}: no valid sample_rate. Fix: re-import the folder.")
        mixed_rates = bool(meta.get("mixed_rates", False))
    source = meta.get("source", {}) if isinstance(meta.get("source", {}), dict) else {}

    vocabulary = None
    try:
        vocabulary = TagVocabulary.read_csv(folder / "vocabulary.csv")
    except CorpusError as error:
        check.problems.append(f"{error}")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        check.problems.append(f"{folder / 'vocabulary.csv'}: cannot be parsed as CSV ({error}).")

    tracks = _table(folder / "tracks.csv", {"track_id", "path", "duration", "split"}, check)
    tag_table = _table(folder / "tags.csv", {"track_id", "tags"}, check)
    if tracks is None:
        return check

    ids = tracks["track_id"].tolist()
    check.summary.append(f"{len(ids)} tracks" + (f", name {meta['name']!r}" if meta.get("name") else "")
                         + (", audio read in place at its own rates" if mixed_rates else ""))
    if not ids:
        check.problems.append(f"{folder / 'tracks.csv'}: lists no tracks. Fix: re-import the folder.")
        return check
    repeated = sorted({t for t, n in Counter(ids).items() if n > 1})
    if repeated:
        check.problems.append(f"{folder / 'tracks.csv'}: {len(repeated)} track id(s) listed more than once "
                              f"({_listing(repeated)}). Fix: keep one row per track.")

    splits = tracks["split"].tolist()
    unknown_splits = sorted(set(splits) - set(SPLITS))
    if unknown_splits:
        check.problems.append(f"{folder / 'tracks.csv'}: unknown split name(s) {unknown_splits} "
                              f"({sum(s in unknown_splits for s in splits)} tracks). Fix: use train, valid or test.")
    sizes = {split: splits.count(split) for split in SPLITS}
    check.summary.append("splits: " + ", ".join(f"{s} {n}" for s, n in sizes.items()))
    for split, n in sizes.items():
        if n == 0:
            use = {"train": "training", "valid": "training (validation)", "test": "evaluation and search"}[split]
            check.problems.append(f"split {split!r} is empty: {use} needs {split} tracks. Fix: give a split column "
                                  f"in the tag table (train/valid/test) and re-import, or edit the split column of "
                                  f"{folder / 'tracks.csv'}.")
    if 0 < sizes["test"] < min_test_tracks():
        check.notes.append(f"the test split has {sizes['test']} track{'s' if sizes['test'] > 1 else ''}: `mdrbench "
                           f"bench` needs at least {min_test_tracks()} (it ranks test tracks up to R@8); train, embed "
                           f"and search work.")

    durations = pd.to_numeric(tracks["duration"], errors="coerce").to_numpy()
    if np.isnan(durations).any():
        bad = [ids[i] for i in np.flatnonzero(np.isnan(durations))]
        check.problems.append(f"{folder / 'tracks.csv'}: {len(bad)} duration(s) are not numbers ({_listing(bad)}). "
                              f"Fix: re-import the folder.")

    # audio: every header opened, nothing decoded
    paths = [folder / p for p in tracks["path"]]
    probes = probe_files(paths)
    missing = [(ids[i], str(paths[i])) for i in range(len(ids)) if not paths[i].is_file()]
    unreadable = [(ids[i], probes["error"].iloc[i]) for i in range(len(ids))
                  if paths[i].is_file() and probes["error"].iloc[i]]
    where = f" (the audio folder was {source['audio_dir']})" if source.get("audio_dir") else ""
    if missing:
        check.problems.append(f"{len(missing)} of {len(ids)} audio files missing{where}, e.g. "
                              f"{_listing([p for _, p in missing], 3)}. Fix: restore them (moved? re-import from "
                              f"their new folder), or re-import with --skip-errors to leave them out.")
    if unreadable:
        check.problems.append(f"{len(unreadable)} of {len(ids)} audio files cannot be read, e.g. "
                              f"{unreadable[0][1]}")
    good = probes[probes["error"] == ""]
    if len(good):
        check.summary.append(f"audio: {len(good)} files readable; rates {_counts(good['sample_rate'])} Hz; "
                             f"channels {_counts(good['channels'])}; formats {_counts(good['format'])}")
        seconds = good["duration"].to_numpy()
        check.summary.append(f"durations: min {seconds.min():.1f} s, median {float(np.median(seconds)):.1f} s, "
                             f"max {seconds.max():.1f} s, total {seconds.sum() / 3600:.2f} h")
        if sample_rate is not None and not mixed_rates:
            other = good[good["sample_rate"] != sample_rate]
            if len(other):
                check.problems.append(f"{len(other)} audio files are not at the {sample_rate} Hz corpus.json says, "
                                      f"e.g. {other['path'].iloc[0]} ({other['sample_rate'].iloc[0]} Hz). Fix: "
                                      f"set \"mixed_rates\": true in {meta_path} (resampled on load).")
        excerpt = EXCERPT_SECONDS
        short = int((seconds < TRACK_TRIPLET_EXCERPTS * excerpt).sum())
        if short:
            check.notes.append(f"{short} track(s) last under {TRACK_TRIPLET_EXCERPTS * excerpt:.0f} s: the benchmark's "
                               f"track triplets need test tracks that hold two non-overlapping {excerpt:.0f}-s "
                               f"excerpts (with room between them); such tracks still train, embed and search.")
        listed = pd.Series(durations, index=range(len(ids))).iloc[good.index]
        off = np.abs(listed.to_numpy() - seconds) > DURATION_TOLERANCE
        if off.any():
            check.notes.append(f"{int(off.sum())} track(s) last longer or shorter than tracks.csv says (e.g. "
                               f"{good['path'].iloc[int(np.flatnonzero(off)[0])]}); the file changed since import? "
                               f"Re-import to refresh.")

    if tag_table is not None:
        if tag_table["track_id"].tolist() != ids:
            check.problems.append(f"{folder / 'tags.csv'}: track ids differ from tracks.csv (same ids, same order "
                                  f"needed). Fix: re-import the folder.")
        tag_lists = [[t for t in s.split(TAG_SEPARATOR) if t] for s in tag_table["tags"]]
        if vocabulary is not None:
            known = set(vocabulary.tags)
            outside = Counter(t for row in tag_lists for t in set(row) if t not in known)
            if outside:
                listed = [f"{t!r} ({n} track{'s' if n > 1 else ''})" for t, n in outside.most_common()]
                check.problems.append(f"{folder / 'tags.csv'}: {len(outside)} tag(s) outside the vocabulary: "
                                      f"{_listing(listed)}. Fix: add them to {folder / 'vocabulary.csv'} with "
                                      f"their category ({', '.join(CATEGORIES)}), or remove them from tags.csv.")
            used = Counter(t for row in tag_lists for t in set(row) if t in known)
            per_category = {c: sum(used[t] > 0 for t in vocabulary.tags_in(c)) for c in CATEGORIES}
            check.summary.append(f"vocabulary: {len(vocabulary)} tags (" + ", ".join(
                f"{len(vocabulary.tags_in(c))} {c}" for c in CATEGORIES) + f"); {len(used)} used")
            unused = [t for t in vocabulary.tags if used[t] == 0]
            if unused:
                check.notes.append(f"{len(unused)} vocabulary tag(s) no track carries: {_listing(unused)}.")
            empty = [c for c in CATEGORIES if per_category[c] == 0]
            if empty:
                check.notes.append(f"no track carries a tag of {', '.join(empty)}: triplets and sub-space results "
                                   f"for {'that category' if len(empty) == 1 else 'those categories'} are empty.")
        untagged = [ids[i] for i, row in enumerate(tag_lists) if not row and i < len(ids)]
        if untagged:
            check.notes.append(f"{len(untagged)} track(s) carry no tag: {_listing(untagged)}.")
    skipped = meta.get("skipped") or []
    if skipped:
        check.notes.append(f"{len(skipped)} file(s) were left out at import (--skip-errors), e.g. "
                           f"{skipped[0].get('path')}: {skipped[0].get('error')}")
    return check
