"""Embed any corpus with a trained model, and search it: by example, by tag, inside a sub-space, across corpora.

The command line (``mdrbench embed`` / ``mdrbench search``) and the notebooks both call these functions. They
are plain functions, numpy in and numpy out:

- :func:`embed_corpus` embeds every track of any corpus (a synthetic one, a folder imported with
  ``mdrbench corpus import``, loose audio files via :func:`audio_corpus`) with a trained run's model. The
  audio is resampled and down-mixed to the model's front-end (the run's ``config.json`` says which), the
  features are computed once (cached beside an on-disk corpus) and each track is the mean of the same
  ``EXCERPTS_PER_TRACK`` fixed excerpts the benchmark uses, so embeddings of a new corpus sit in the same
  space as the run's stored test embeddings (:func:`run_test_set`).
- :func:`nearest` (one query, by index or by vector), :func:`nearest_across` (every query of one corpus
  against a database from another: the synthetic tracks nearest each real recording, and the reverse) and
  :func:`by_tag` rank by cosine similarity or by tag score; ``subspace`` restricts the cosine to one
  category's block of dimensions (:func:`mdrbench.subspaces.subspace_slices`), which is what a disentangled
  model learned it for.
- :func:`save_embeddings` / :func:`load_embeddings`: the ``.npz`` that ``mdrbench embed`` writes (plain
  arrays, loaded with ``allow_pickle=False``).

Example::

    from mdrbench.search import embed_corpus, run_test_set, nearest_across
    real = embed_corpus(run_dir, load_real_music())          # (track_ids, embeddings, tag_scores)
    synthetic = run_test_set(run_dir)                          # the run's stored test tracks
    rows, cosines = nearest_across(real.embeddings, synthetic.embeddings, k=3, subspace="genre")
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mdrbench import similarity
from mdrbench.corpus import CATEGORIES, Corpus, TagVocabulary
from mdrbench.errors import MdrbenchError

NPZ_KEYS = ("track_ids", "embeddings", "tag_scores", "tags", "categories", "meta")
COMPLETE_SPACE = ("all", "complete", "full")  # spellings of "no sub-space"


class Embeddings(NamedTuple):
    """Track embeddings of one corpus, unpackable as ``track_ids, embeddings, tag_scores = ...``.

    Attributes:
        track_ids: (n,) str.
        embeddings: (n, D) float32 retrieval embeddings (unit norm when the configuration normalizes).
        tag_scores: (n, n_tags) float32 in the model's vocabulary: the tag head's logits, or for triplet
            models the cosine to each tag's prototype (NaN where no prototype is known).
    """

    track_ids: np.ndarray
    embeddings: np.ndarray
    tag_scores: np.ndarray


class SearchError(MdrbenchError, ValueError):
    """Bad input to a search or embedding (unknown track, tag or sub-space, mismatched spaces...); the message
    names what and the fix."""


# ------------------------------------------------------------------------------------------------- runs
def _find_vocabulary(folder: Path) -> TagVocabulary | None:
    for parent in (folder, *folder.parents):
        if (parent / "vocabulary.csv").is_file():
            return TagVocabulary.read_csv(parent / "vocabulary.csv")
    return None


def model_fingerprint(run_dir: str | Path) -> str:
    """A short hash of a run's ``model.keras``: tells whether two embedding files come from one model."""
    path = Path(run_dir) / "model.keras"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def run_frontend(run_dir: str | Path):
    """The front-end settings a run was trained with (``config.json``'s "frontend"), or None when not recorded."""
    from mdrbench.features import FrontendSettings

    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return None
    try:
        frontend = json.loads(path.read_text()).get("frontend")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise SearchError(f"{path}: not valid JSON. Fix: retrain the run (`mdrbench train ... --out "
                          f"{Path(run_dir)}`).") from None
    return None if frontend is None else FrontendSettings.from_dict(frontend)


def _frontend_for_model(model, frontend=None):
    """The front-end settings for ``model``: given ones, else the preset whose mel excerpt fits its input."""
    from mdrbench.features import FRONTENDS, resolve_frontend

    _, n_mels, n_frames = model.backbone.input_shape[1:]
    if frontend is not None:
        settings = resolve_frontend(frontend)
    else:
        fitting = [s for s in FRONTENDS.values() if s.n_mels == n_mels and s.excerpt_frames == n_frames]
        if not fitting:
            raise SearchError(f"the model takes {n_mels} mels x {n_frames} frames and no front-end preset fits; "
                              f"pass frontend= (the FrontendSettings it was trained with).")
        settings = fitting[0]
    if settings.n_mels != n_mels:
        raise SearchError(f"the front-end gives {settings.n_mels} mels but the model takes {n_mels}. Fix: use the "
                          f"settings the model was trained with (its run's config.json).")
    return settings


def load_run_model(run) -> tuple:
    """(model, front-end settings, vocabulary or None) of a run folder, a :class:`mdrbench.results.Run`, a
    :class:`mdrbench.train.TrainResult` or a model.

    Raises:
        SearchError: no model.keras in the folder (the message says how to make one).
    """
    from mdrbench.results import Run

    folder = None
    if isinstance(run, Run):
        folder, model = Path(run.folder), run.model
    elif isinstance(run, str | os.PathLike):
        folder = Path(run)
        if not (folder / "model.keras").is_file():
            raise SearchError(f"{folder / 'model.keras'} not found: point at a run folder written by `mdrbench "
                              f"train --out` or `mdrbench bench` (e.g. results/default/runs/proxy-norm-dis/seed0).")
        import mdrbench

        model = mdrbench.load_model(folder / "model.keras")
    else:
        from mdrbench.train import TrainResult

        model = run.model if isinstance(run, TrainResult) else run
    if folder is None:
        return model, _frontend_for_model(model), None
    return model, _frontend_for_model(model, run_frontend(folder)), _find_vocabulary(folder)


def run_test_set(run) -> Embeddings:
    """The run's stored test tracks: what ``mdrbench bench``/``train`` wrote (no model is loaded).

    Args:
        run: a run folder or a :class:`mdrbench.results.Run`.
    """
    from mdrbench.results import Run

    if isinstance(run, Run):
        return Embeddings(run.test_track_ids, run.test_embeddings, run.test_tag_scores)
    folder = Path(run)
    arrays = {}
    for name in ("test_embeddings", "test_track_ids", "test_tag_scores"):
        path = folder / f"{name}.npy"
        if not path.is_file():
            raise SearchError(f"{path} is missing: point at a run folder written by `mdrbench bench` or `mdrbench "
                              f"train` (e.g. results/default/runs/proxy-norm-dis/seed0).")
        arrays[name] = np.load(path, allow_pickle=False)
    return Embeddings(arrays["test_track_ids"].astype(str), arrays["test_embeddings"].astype(np.float32),
                      arrays["test_tag_scores"].astype(np.float32))


# ------------------------------------------------------------------------------------------------ embed
def audio_corpus(paths, vocabulary: TagVocabulary | None = None, name: str = "audio files") -> Corpus:
    """Loose audio files (any format, rate, channel count) as an untagged corpus, every track in ``test``.

    Track ids are the file names without extension (the full paths when two names collide). Only headers
    are read here; audio is resampled on load.

    Raises:
        mdrbench.audio.AudioError: a file is missing or unreadable (named).
    """
    from mdrbench.audio import probe_audio

    paths = [Path(p).resolve() for p in paths]
    if not paths:
        raise SearchError("no audio files given.")
    probes = [probe_audio(path) for path in paths]
    ids = [path.stem for path in paths]
    if len(set(ids)) < len(ids):
        ids = [str(path) for path in paths]
    if len(set(ids)) < len(ids):
        raise SearchError("the same audio file is given twice.")
    vocabulary = vocabulary or TagVocabulary((), ())
    rates = [p["sample_rate"] for p in probes]
    return Corpus(track_ids=np.array(ids), sample_rate=max(set(rates), key=rates.count),
                  durations=np.array([p["duration"] for p in probes]), vocabulary=vocabulary,
                  tags=np.zeros((len(paths), len(vocabulary)), dtype=np.uint8), splits=np.full(len(paths), "test"),
                  root=Path(paths[0].anchor), audio_paths=[str(p) for p in paths],
                  info={"name": name, "mixed_rates": True,
                        "source": {"kind": "audio files", "rates": _counts(rates),
                                   "channels": _counts([p["channels"] for p in probes])}})


def _counts(values) -> dict[str, int]:
    from collections import Counter

    return {str(value): count for value, count in Counter(values).most_common()}


def embed_corpus(run_or_model, corpus: Corpus, features=None, *, frontend=None, max_seconds: float | None = None,
                 cache_dir=None, progress: bool = False, skip_errors: bool = False, batch_tracks: int = 256
                 ) -> Embeddings:
    """Embed every track of ``corpus`` with a trained model, resampled to the model's front-end.

    Args:
        run_or_model: a run folder (model.keras + config.json, as ``mdrbench train``/``bench`` write), a
            :class:`mdrbench.results.Run`, a :class:`mdrbench.train.TrainResult` or a model.
        corpus: any :class:`Corpus` (audio at any rate; it is resampled and down-mixed on load).
        features: the corpus's FeatureStore at the model's front-end; computed (and cached beside an on-disk
            corpus) when None.
        frontend: front-end settings for a bare model (a run folder records its own).
        max_seconds: window kept per track for new features (default: the feature default, 30 s centred).
        cache_dir: passed to :func:`mdrbench.features.compute_features` (False: no cache).
        progress: progress bars for features and embedding.
        skip_errors: leave out tracks whose audio cannot be decoded (listed in a warning) instead of raising.
        batch_tracks: tracks embedded per step (bounds memory).

    Returns:
        :class:`Embeddings`: track_ids (n,), embeddings (n, D) float32, tag_scores (n, n_tags) float32, in
        corpus order (less the undecodable tracks with ``skip_errors``). Each
        track is the mean of ``EXCERPTS_PER_TRACK`` fixed excerpts (as in the benchmark). A triplet model has
        no tag head: its scores are the cosine to tag prototypes of the corpus's own training tracks when the
        corpus shares the model's vocabulary (in the tag's sub-space when disentangled), else NaN.
    """
    from mdrbench.features import DEFAULT_MAX_SECONDS, compute_features

    model, settings, vocabulary = load_run_model(run_or_model)
    if frontend is not None:
        settings = _frontend_for_model(model, frontend)
    if features is None:
        features = compute_features(corpus, settings, cache_dir=cache_dir, progress=progress,
                                    max_seconds=DEFAULT_MAX_SECONDS if max_seconds is None else max_seconds,
                                    skip_errors=skip_errors)
    elif features.settings != settings:
        raise SearchError(f"the features were computed at {features.settings} but the model needs {settings}. "
                          f"Fix: leave features=None to compute them at the model's front-end.")
    if len(features) != len(corpus):
        raise SearchError(f"features hold {len(features)} tracks but the corpus has {len(corpus)}.")
    embeddings, logits = embed_features(model, features, batch_tracks, progress, label=corpus.name)
    return finish_embeddings(model, corpus, vocabulary, embeddings, logits,
                             [int(skipped["index"]) for skipped in features.skipped])


def embed_features(model, features, batch_tracks: int = 256, progress: bool = False, label: str = ""
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's track embeddings (n, D) float32 and head logits (n, n_tags) float32, or None for a model
    without a tag head, of every track of a FeatureStore: each track the mean of the fixed excerpts."""
    from tqdm.auto import tqdm

    from mdrbench.evaluate import EXCERPTS_PER_TRACK
    from mdrbench.models import embed_and_tag_tracks

    embeddings, logits = [], []
    chunks = range(0, len(features), batch_tracks)
    for start in tqdm(chunks, desc=f"embedding {label}", disable=not progress or len(chunks) < 2):
        indices = np.arange(start, min(start + batch_tracks, len(features)))
        tracks, _, track_logits = embed_and_tag_tracks(model, features, indices, EXCERPTS_PER_TRACK)
        embeddings.append(tracks)
        logits.append(track_logits)
    embeddings = np.concatenate(embeddings).astype(np.float32)
    return embeddings, None if logits[0] is None else np.concatenate(logits).astype(np.float32)


def finish_embeddings(model, corpus: Corpus, vocabulary: TagVocabulary | None, embeddings: np.ndarray,
                      logits: np.ndarray | None, skipped: list[int]) -> Embeddings:
    """Tag scores (head logits, or prototypes of the corpus's train tracks for a triplet model), less the
    undecodable tracks (indices into the corpus): the last stage of :func:`embed_corpus`, shared with the
    sharded embedding of :mod:`mdrbench.cluster`, whose prototypes need every track at once."""
    scores = logits if logits is not None else _prototype_scores(model, embeddings, corpus, vocabulary)
    keep = np.ones(len(corpus), dtype=bool)
    keep[list(skipped)] = False  # undecodable: silence, not music
    return Embeddings(corpus.track_ids[keep], embeddings[keep], scores[keep])


def _prototype_scores(model, embeddings: np.ndarray, corpus: Corpus, vocabulary: TagVocabulary | None) -> np.ndarray:
    """Triplet models: cosine to the tag prototypes of the corpus's training tracks, when the corpus uses the
    model's vocabulary; NaN otherwise."""
    from mdrbench import metrics
    from mdrbench.subspaces import subspace_slices

    n_tags = len(model.tag_categories)
    scores = np.full((len(embeddings), n_tags), np.nan, dtype=np.float32)
    same = corpus.vocabulary.tags if vocabulary is None else vocabulary.tags
    train = corpus.split_indices("train")
    if tuple(corpus.vocabulary.tags) != tuple(same) or len(same) != n_tags or not len(train):
        return scores
    prototypes = metrics.tag_prototypes(embeddings[train], corpus.tags[train])
    if model.config.disentangled:
        return metrics.prototype_scores(embeddings, prototypes, np.asarray(corpus.vocabulary.categories),
                                        subspace_slices(embeddings.shape[1]))
    return metrics.prototype_scores(embeddings, prototypes)


# ------------------------------------------------------------------------------------------- .npz files
def save_embeddings(path: str | Path, embedded: Embeddings, vocabulary: TagVocabulary | None = None,
                    **meta) -> Path:
    """Write embeddings as an ``.npz`` of plain arrays (no pickle), atomically.

    Keys: track_ids (n,) str, embeddings (n, D) float32, tag_scores (n, n_tags) float32, tags and categories
    (n_tags,) str (the tag scores' vocabulary; empty when unknown), meta (a JSON string: ``meta`` plus shapes).
    """
    path = Path(path)
    tags = np.array(vocabulary.tags if vocabulary is not None else [], dtype=str)
    categories = np.array(vocabulary.categories if vocabulary is not None else [], dtype=str)
    description = {**meta, "n_tracks": len(embedded.track_ids), "dim": int(embedded.embeddings.shape[1])}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, track_ids=np.asarray(embedded.track_ids, dtype=str),
                     embeddings=np.asarray(embedded.embeddings, dtype=np.float32),
                     tag_scores=np.asarray(embedded.tag_scores, dtype=np.float32), tags=tags, categories=categories,
                     meta=np.array(json.dumps(description, default=str)))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_embeddings(path: str | Path) -> tuple[Embeddings, TagVocabulary | None, dict]:
    """(embeddings, vocabulary of the tag scores or None, meta dict) from a file written by
    :func:`save_embeddings` (``mdrbench embed``); never unpickles."""
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise SearchError(f"{path}: no such embeddings file. Fix: write one with `mdrbench embed RUN_DIR --corpus DIR "
                          f"--out {path}`.")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in NPZ_KEYS if key not in data.files]
            if missing:
                raise SearchError(f"{path}: not an embeddings file of `mdrbench embed` (no {missing}). Fix: write it "
                                  f"with `mdrbench embed`.")
            arrays = {key: data[key] for key in NPZ_KEYS}
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        if isinstance(error, SearchError):
            raise
        raise SearchError(f"{path}: cannot be read as .npz ({' '.join(str(error).split())}). Fix: write it again "
                          f"with `mdrbench embed`.") from None
    vocabulary = (TagVocabulary(tuple(arrays["tags"].tolist()), tuple(arrays["categories"].tolist()))
                  if len(arrays["tags"]) else None)
    embedded = Embeddings(arrays["track_ids"].astype(str), arrays["embeddings"].astype(np.float32),
                          arrays["tag_scores"].astype(np.float32))
    return embedded, vocabulary, json.loads(str(arrays["meta"]))


# ----------------------------------------------------------------------------------------------- search
def subspace_block(dim: int, subspace: str | None) -> slice:
    """The columns of one sub-space of a ``dim``-d embedding (all columns for None / "all" / "complete").

    Raises:
        SearchError: an unknown sub-space name (the message lists the known ones).
    """
    from mdrbench.subspaces import subspace_slices

    if subspace is None or subspace in COMPLETE_SPACE:
        return slice(0, dim)
    if subspace not in CATEGORIES:
        raise SearchError(f"unknown sub-space {subspace!r}; choose one of {list(CATEGORIES)} (or 'all').")
    return subspace_slices(dim)[subspace]


def _cosines(queries: np.ndarray, database: np.ndarray) -> np.ndarray:
    """(m, n) cosines from the one kernel of :mod:`mdrbench.similarity`; its ValueError as a SearchError."""
    try:
        return similarity.cosine_block(queries, database)
    except ValueError as error:
        raise SearchError(str(error)) from None


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SearchError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def nearest(embeddings: np.ndarray, query, k: int = 5, subspace: str | None = None,
            exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k database rows nearest one query, by cosine similarity.

    Args:
        embeddings: (n, D) database.
        query: a row index into ``embeddings`` (that row is then left out of the answer), or a query vector
            (D,) from anywhere (another corpus's embedding, say; nothing is left out).
        k: how many (fewer when the database is smaller).
        subspace: compare only one category's block of dimensions (genre, mood, instrument, era); None: all.
        exclude: a database row to leave out (e.g. the query's own row when it comes from elsewhere).

    Returns:
        (indices (k',) int64 into ``embeddings``, cosines (k',) float32), best first.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise SearchError(f"embeddings must be (n, D); got shape {embeddings.shape}.")
    k = _check_k(k)
    if isinstance(query, int | np.integer) and not isinstance(query, bool):
        if not 0 <= query < len(embeddings):
            raise SearchError(f"query index {query} outside the {len(embeddings)} database rows.")
        exclude, vector = int(query), embeddings[int(query)]
    else:
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
    if vector.shape[0] != embeddings.shape[1]:
        raise SearchError(f"the query has {vector.shape[0]} dimensions, the database {embeddings.shape[1]}: they "
                          f"come from different models. Fix: embed both with the same run.")
    block = subspace_block(embeddings.shape[1], subspace)
    similarities = _cosines(vector[None, block], embeddings[:, block])[0]
    if exclude is not None:
        similarities[exclude] = np.nan
    order = similarity.top_k(similarities, k + (exclude is not None))
    order = order[~np.isnan(similarities[order])][:k]
    return order.astype(np.int64), similarities[order].astype(np.float32)


def nearest_across(queries: np.ndarray, database: np.ndarray, k: int = 5, subspace: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """For every query (from one corpus), the k nearest rows of a database (from another), by cosine.

    Args:
        queries: (m, D), e.g. the embeddings of real recordings.
        database: (n, D), e.g. the run's synthetic test tracks, embedded by the same model.
        k: neighbours per query (at most n).
        subspace: one category's block of dimensions, or None for all.

    Returns:
        (indices (m, k') int64 into ``database``, cosines (m, k') float32), best first per row.
    """
    queries, database = np.asarray(queries, dtype=np.float32), np.asarray(database, dtype=np.float32)
    if queries.ndim != 2 or database.ndim != 2 or queries.shape[1] != database.shape[1]:
        raise SearchError(f"queries {queries.shape} and database {database.shape} must be (m, D) and (n, D) with "
                          f"one D: embed both with the same run.")
    k = _check_k(k)
    block = subspace_block(database.shape[1], subspace)
    similarities = _cosines(queries[:, block], database[:, block])
    order = similarity.top_k(similarities, k)
    return order.astype(np.int64), np.take_along_axis(similarities, order, axis=1).astype(np.float32)


def by_tag(tag_scores: np.ndarray, tag_index: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The k tracks that score highest for one tag.

    Args:
        tag_scores: (n, n_tags), e.g. ``Embeddings.tag_scores``.
        tag_index: the tag's column (``vocabulary.index(tag)``).
        k: how many.

    Returns:
        (indices (k',) int64, scores (k',) float32), best first; tracks with a NaN score are left out.

    Raises:
        SearchError: the tag has no scores at all (a triplet model whose prototypes are unknown).
    """
    tag_scores = np.asarray(tag_scores, dtype=np.float32)
    k = _check_k(k)
    if not 0 <= tag_index < tag_scores.shape[1]:
        raise SearchError(f"tag index {tag_index} outside the {tag_scores.shape[1]} tag columns.")
    column = tag_scores[:, tag_index]
    if np.isnan(column).all():
        raise SearchError("no track has a score for this tag: a triplet model scores tags against prototypes of "
                          "tagged training tracks, and none are known here. Fix: search the run's test set, or "
                          "embed a corpus that has the run's vocabulary and a train split.")
    order = similarity.top_k(column, k)
    order = order[~np.isnan(column[order])]
    return order.astype(np.int64), column[order]


def find_track(track_ids: np.ndarray, track_id: str, where: str = "the corpus") -> int:
    """The row of ``track_id`` in ``track_ids``; a SearchError naming a few ids when it is not there."""
    matches = np.flatnonzero(np.asarray(track_ids) == track_id)
    if not len(matches):
        examples = ", ".join(str(t) for t in np.asarray(track_ids)[:3])
        raise SearchError(f"track {track_id!r} is not in {where} (e.g. {examples}). Fix: give a track id of that set, "
                          f"or point --corpus at the set that holds it.")
    return int(matches[0])
