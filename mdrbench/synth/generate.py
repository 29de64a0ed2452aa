"""Make a whole synthetic corpus (in memory or cached on disk), deterministic for a seed.

Every track has its own seed derived from (corpus seed, track index) with numpy's SeedSequence, so the
audio is the same whatever the number of worker processes and whatever order they finish in.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from mdrbench.corpus import SPLITS, Corpus, CorpusError
from mdrbench.sizes import Size, get_size, split_counts
from mdrbench.synth.factors import (
    ACCOMPANIMENT_PROBABILITIES,
    ACCOMPANIMENTS,
    FACTORS,
    STREAM_SPLITS,
    draw_factors,
)
from mdrbench.synth.render import PEAK, render_track
from mdrbench.synth.tags import draw_tags, tag_settings

GENERATOR_VERSION = 1  # bump when the audio or tags change for the same settings: cached corpora regenerate
HOME_ENV = "MDRBENCH_HOME"


def default_root() -> Path:
    """Where corpora are cached: ``$MDRBENCH_HOME/corpora`` or ``~/.cache/mdrbench/corpora``."""
    home = os.environ.get(HOME_ENV)
    return Path(home) / "corpora" if home else Path.home() / ".cache" / "mdrbench" / "corpora"


def _resolve_size(size: str | Size) -> Size:
    if isinstance(size, Size):
        return size
    if isinstance(size, str):
        return get_size(size)
    raise ValueError(f"size must be a name ('ci', 'default', 'full') or an mdrbench.sizes.Size, got {size!r}.")


def corpus_name(size: str | Size, seed: int = 0, n_tracks: int | None = None) -> str:
    """``synth-{size}-seed{seed}``, with ``-n{n_tracks}`` when the track count differs from the size's."""
    size = _resolve_size(size)
    suffix = f"-n{n_tracks}" if n_tracks is not None and n_tracks != size.n_tracks else ""
    return f"synth-{size.name}-seed{seed}{suffix}"


def generator_settings(size: str | Size, seed: int = 0, n_tracks: int | None = None) -> dict:
    """Every setting that decides the corpus (stored as corpus.info["generator"]), JSON-ready."""
    size = _resolve_size(size)
    settings = {
        "generator": "mdrbench.synth", "version": GENERATOR_VERSION, "seed": int(seed), "size": size.name,
        "n_tracks": int(n_tracks or size.n_tracks), "sample_rate": size.sample_rate,
        "min_duration": size.min_duration, "max_duration": size.max_duration,
        "factors": {category: list(values) for category, values in FACTORS.items()},
        "accompaniments": dict(zip(ACCOMPANIMENTS, ACCOMPANIMENT_PROBABILITIES, strict=True)),
        "split_counts": dict(zip(SPLITS, split_counts(size, n_tracks), strict=True)), "peak": PEAK,
        "tags": tag_settings(),
    }
    return json.loads(json.dumps(settings))


def draw_splits(n_tracks: int, seed: int = 0, counts: tuple[int, int, int] | None = None) -> np.ndarray:
    """train/valid/test by track (``counts``, default 70/10/20), shuffled with the corpus seed, shape (n_tracks,)
    str."""
    if counts is None:
        n_train, n_valid = int(round(0.7 * n_tracks)), int(round(0.1 * n_tracks))
    else:
        n_train, n_valid, n_test = counts
        if n_train + n_valid + n_test != n_tracks:
            raise ValueError(f"split counts {counts} add up to {sum(counts)}, not {n_tracks} tracks.")
    order = np.random.default_rng(np.random.SeedSequence([int(seed), STREAM_SPLITS])).permutation(n_tracks)
    splits = np.empty(n_tracks, dtype="<U5")
    splits[order[:n_train]] = "train"
    splits[order[n_train:n_train + n_valid]] = "valid"
    splits[order[n_train + n_valid:]] = "test"
    return splits


def _render_job(job: tuple[dict, int]) -> np.ndarray:
    row, sample_rate = job
    return render_track(row, sample_rate)


def synthesize(size: str | Size = "ci", seed: int = 0, n_tracks: int | None = None, n_jobs: int = 1,
               progress: bool = True) -> Corpus:
    """Render a synthetic corpus in memory.

    Args:
        size: a size name or :class:`mdrbench.sizes.Size` (track count, durations, sample rate).
        seed: corpus seed; the same seed gives bit-identical audio and tags.
        n_tracks: override the size's track count (e.g. a tiny corpus for tests).
        n_jobs: worker processes (the result does not depend on it).
        progress: show a progress bar.

    Returns:
        Corpus with in-memory audio, noisy tags, train/valid/test splits
        (:func:`mdrbench.sizes.split_counts`), clean ``factors`` (genre, mood,
        instrument, era) and ``info`` {"name", "generator"}.
    """
    from tqdm.auto import tqdm

    size = _resolve_size(size)
    n_tracks = int(n_tracks or size.n_tracks)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}.")
    factors = draw_factors(n_tracks, seed, size.min_duration, size.max_duration)
    jobs = [(row, size.sample_rate) for row in factors.to_dict("records")]
    if n_jobs == 1:
        audio = [_render_job(job) for job in tqdm(jobs, desc="rendering tracks", disable=not progress)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent may hold torch threads, which fork does not copy safely
        with ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = pool.map(_render_job, jobs, chunksize=max(1, min(16, n_tracks // (4 * n_jobs))))
            audio = list(tqdm(results, total=n_tracks, desc="rendering tracks", disable=not progress))
    vocabulary, tags = draw_tags(factors, seed)
    return Corpus(
        track_ids=np.array([f"synth-{index:06d}" for index in range(n_tracks)]),
        sample_rate=size.sample_rate,
        durations=np.array([len(track) / size.sample_rate for track in audio]),
        vocabulary=vocabulary, tags=tags, splits=draw_splits(n_tracks, seed, split_counts(size, n_tracks)),
        factors=factors[list(FACTORS)].reset_index(drop=True),
        info={"name": corpus_name(size, seed, n_tracks), "generator": generator_settings(size, seed, n_tracks)},
        _audio=audio,
    )


def _load_if_valid(folder: Path, expected: dict) -> Corpus | None:
    if not (folder / "corpus.json").exists():
        return None
    try:
        corpus = Corpus.load(folder)
    except (CorpusError, KeyError, ValueError, OSError):
        return None
    if corpus.info.get("generator") != expected or len(corpus) != expected["n_tracks"]:
        return None
    return corpus


def ensure_corpus(size: str | Size = "ci", seed: int = 0, root: str | Path | None = None,
                  n_jobs: int | None = None, progress: bool = True, n_tracks: int | None = None) -> Corpus:
    """The synthetic corpus on disk: generated and saved once, loaded on later calls.

    The folder is ``(root or default_root()) / corpus_name(size, seed, n_tracks)``. A folder that does not
    load (CorpusError) or was made with other generator settings is regenerated. The new corpus is written
    to a temporary folder and renamed into place, so an interrupted run never leaves a half corpus that
    looks complete.
    """
    size = _resolve_size(size)
    folder = Path(root or default_root()) / corpus_name(size, seed, n_tracks)
    expected = generator_settings(size, seed, n_tracks)
    corpus = _load_if_valid(folder, expected)
    if corpus is not None:
        return corpus
    if n_jobs is None:
        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    fresh = synthesize(size, seed, n_tracks, n_jobs=n_jobs, progress=progress)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    fresh.save(temporary, progress=progress)
    finished_meanwhile = _load_if_valid(folder, expected)  # another process may have made it meanwhile
    if finished_meanwhile is not None:
        shutil.rmtree(temporary, ignore_errors=True)
        return finished_meanwhile
    if folder.exists():
        stale = folder.parent / f".{folder.name}.stale-{os.getpid()}"
        os.replace(folder, stale)
        shutil.rmtree(stale, ignore_errors=True)
    os.replace(temporary, folder)
    return Corpus.load(folder)
