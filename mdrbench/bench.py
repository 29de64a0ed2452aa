"""The benchmark: train every configuration, evaluate it on the study's four tasks, report beside the paper.

Layout of a results folder::

    OUT/benchmark.json                 size, corpus, configs, seeds (a rerun must ask for the same)
    OUT/human_triplets.csv             the human-like triplets (Dim-Sim schema) every model is scored on
    OUT/runs/CONFIG/seedN/result.json  one finished run (written atomically, last)
    OUT/runs/CONFIG/seedN/...          model.keras, history.json, test embeddings, tag scores
    OUT/report.md, OUT/report.html     the tables (ours beside the paper's) and figures
    OUT/results.csv                    one row per run, every number

A run counts as done only when its ``result.json`` exists and parses, so killing the benchmark at any point
and starting it again redoes at most the run that was in flight.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.corpus import CATEGORIES, Corpus
from mdrbench.sizes import Size, get_size

KS = (1, 2, 4, 8)
NOTIONS = (*CATEGORIES, "track")
RESULT_VERSION = 1


@dataclass(frozen=True)
class EvaluationSets:
    """The fixed triplets every model of one benchmark is scored on (drawn once, from the test split)."""

    tag_triplets: dict[str, np.ndarray]      # category -> (m, 3) track indices into the test subset
    track_triplets: np.ndarray               # (m, 5): see sample_track_triplets
    human: pd.DataFrame                      # Dim-Sim schema


@dataclass
class Run:
    """One finished benchmark run, loaded back: its metrics, training history and test-set arrays."""

    folder: Path
    result: dict
    history: dict
    test_embeddings: np.ndarray
    test_tag_scores: np.ndarray
    test_track_ids: np.ndarray
    _model: object = None

    @property
    def model(self):
        """The trained model (loaded from model.keras on first use)."""
        if self._model is None:
            from mdrbench.train import load_trained

            self._model, _ = load_trained(self.folder)
        return self._model


def load_run(out_dir: str | Path, config: str, seed: int = 0) -> Run:
    """A finished run of ``mdrbench bench`` (or :func:`run_benchmark`) read back from ``out_dir``."""
    folder = Path(out_dir) / "runs" / config / f"seed{seed}"
    result = load_result(folder)
    if result is None:
        raise FileNotFoundError(f"{folder} holds no finished run; run `mdrbench bench --out {out_dir}` "
                                f"(or mdrbench.bench.run_benchmark) first.")
    history = json.loads((folder / "history.json").read_text()) if (folder / "history.json").exists() else {}

    def array(name):
        return np.load(folder / name, allow_pickle=False)

    return Run(folder, result, history, array("test_embeddings.npy"), array("test_tag_scores.npy"),
               array("test_track_ids.npy"))


def triplets_per_notion(size: Size) -> int:
    """The paper draws 40,000 triplets per notion from 28,435 test tracks; we scale with the test set."""
    return int(min(40000, max(500, 4 * size.n_tracks)))


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npy")
    os.close(descriptor)
    np.save(temporary, array, allow_pickle=False)
    os.replace(temporary, path)


def load_result(run_dir: Path) -> dict | None:
    """A finished run's result, or None when the run is missing, unfinished or unreadable."""
    path = run_dir / "result.json"
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return result if result.get("version") == RESULT_VERSION else None


def make_evaluation_sets(corpus: Corpus, features, size: Size, seed: int = 0) -> EvaluationSets:
    from mdrbench import dimsim, metrics

    test = corpus.split_indices("test")
    count = triplets_per_notion(size)
    tag_triplets = metrics.sample_tag_triplets(corpus.tags[test], np.asarray(corpus.vocabulary.categories),
                                               n_per_category=count, seed=seed)
    track_triplets = sample_track_triplets(features.lengths[test], features.settings.excerpt_frames, count, seed)
    human = dimsim.simulate_triplets(corpus, n_triplets=min(4000, count), split="test", seed=seed)
    return EvaluationSets(tag_triplets, track_triplets, human)


def sample_track_triplets(lengths: np.ndarray, n_frames: int, count: int, seed: int) -> np.ndarray:
    """Track triplets: two non-overlapping excerpts of one track (anchor, positive), one of another.

    Returns (count, 5) int: anchor track, anchor start, positive start, negative track, negative start,
    track indices into ``lengths`` (the test subset), starts in frames.
    """
    rng = np.random.default_rng(seed + 7919)
    long_enough = np.flatnonzero(lengths >= 2 * n_frames)
    if len(long_enough) == 0:
        raise ValueError(f"no test track holds two non-overlapping excerpts of {n_frames} frames")
    anchor = rng.choice(long_enough, count)
    negative = (anchor + rng.integers(1, len(lengths), count)) % len(lengths)
    first = rng.integers(0, lengths[anchor] - 2 * n_frames + 1)
    second = rng.integers(first + n_frames, lengths[anchor] - n_frames + 1)
    swap = rng.random(count) < 0.5
    anchor_start, positive_start = np.where(swap, second, first), np.where(swap, first, second)
    negative_start = rng.integers(0, np.maximum(lengths[negative] - n_frames, 0) + 1)
    return np.stack([anchor, anchor_start, positive_start, negative, negative_start], axis=1).astype(np.int64)


def evaluate_run(result, corpus: Corpus, features, sets: EvaluationSets, size: Size, run_dir: Path) -> dict:
    """Score one trained model on the four tasks and write its embeddings; returns the result dict."""
    from mdrbench import dimsim, metrics
    from mdrbench.models import embed_excerpts
    from mdrbench.subspaces import subspace_slices

    model, config = result.model, result.config
    train, test = corpus.split_indices("train"), corpus.split_indices("test")
    labels = corpus.tags
    test_embeddings, train_embeddings, scores, score_source = save_test_arrays(model, corpus, features, run_dir)
    recall = metrics.recall_at_k(test_embeddings, labels[test], ks=KS)
    auc = metrics.tag_auc(scores, labels[test], categories=np.asarray(corpus.vocabulary.categories))

    slices = subspace_slices(test_embeddings.shape[1])
    triplet_table = metrics.triplet_accuracy_table(test_embeddings, sets.tag_triplets, slices)
    n_frames = features.settings.excerpt_frames
    track = sets.track_triplets
    anchor = embed_excerpts(model, features, test[track[:, 0]], track[:, 1])
    positive = embed_excerpts(model, features, test[track[:, 0]], track[:, 2])
    negative = embed_excerpts(model, features, test[track[:, 3]], track[:, 4])
    track_accuracy = metrics.triplet_accuracy(anchor, positive, negative)

    human = dimsim.triplet_indices(sets.human, corpus)
    hop_seconds = features.settings.hop_length / features.settings.sample_rate
    human_embeddings = [  # clip starts are in seconds; the nearest frame, kept inside the track
        embed_excerpts(model, features, indices,
                       np.clip(np.round(starts / hop_seconds), 0,
                               np.maximum(features.lengths[indices] - n_frames, 0)).astype(int))
        for indices, starts in ((human[0], human[3]), (human[1], human[4]), (human[2], human[5]))
    ]
    human_accuracy = metrics.triplet_accuracy(*human_embeddings)

    probe = None
    if corpus.factors is not None:
        both = np.concatenate([train, test])
        embeddings = np.concatenate([train_embeddings, test_embeddings])
        train_mask = np.zeros(len(both), bool)
        train_mask[: len(train)] = True
        probe = metrics.disentanglement_matrix(embeddings, corpus.factors.iloc[both].reset_index(drop=True),
                                               slices, train_mask)

    return {
        "version": RESULT_VERSION,
        "config": config.name,
        "seed": int(result.seed),
        "recall_at_k": {str(k): float(v) for k, v in recall.items()},
        "auc": {"roc_auc": float(auc["roc_auc"]), "pr_auc": float(auc["pr_auc"]), "scores": score_source,
                "per_category": auc["per_category"].to_dict()},
        "triplets": triplet_table.to_dict(orient="index"),
        "track_triplet_accuracy": float(track_accuracy),
        "human_triplet_accuracy": float(human_accuracy),
        "human_triplet_accuracy_clean": float(_clean_human_accuracy(sets.human, human_embeddings)),
        "disentanglement": None if probe is None else probe.to_dict(orient="index"),
        "training": {"epochs_run": int(result.epochs_run), "best_epoch": int(result.best_epoch),
                     "seconds_per_epoch": float(result.seconds_per_epoch),
                     "total_seconds": float(result.total_seconds), "hop_seconds": hop_seconds},
    }


def save_test_arrays(model, corpus: Corpus, features, run_dir: Path):
    """Embed the test (and training) tracks, score the test tracks' tags, and save what search needs.

    Writes test_embeddings.npy (n_test, D), test_tag_scores.npy (n_test, n_tags), test_track_ids.npy and
    vocabulary.csv into ``run_dir``. Tag scores come from the proxy/classifier head, or for triplet models
    from the cosine to each tag's prototype (the mean training embedding of its tracks), as in the paper.

    Returns (test_embeddings, train_embeddings, tag_scores, "head" | "prototype").
    """
    from mdrbench import metrics
    from mdrbench.models import embed_tracks, model_tag_scores

    train, test = corpus.split_indices("train"), corpus.split_indices("test")
    test_embeddings = embed_tracks(model, features, test)
    train_embeddings = embed_tracks(model, features, train)
    scores, source = model_tag_scores(model, features, test), "head"
    if scores is None:
        prototypes = metrics.tag_prototypes(train_embeddings, corpus.tags[train])
        scores, source = metrics.prototype_scores(test_embeddings, prototypes), "prototype"
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(run_dir / "test_embeddings.npy", test_embeddings.astype(np.float32))
    atomic_save_npy(run_dir / "test_tag_scores.npy", np.asarray(scores, dtype=np.float32))
    atomic_save_npy(run_dir / "test_track_ids.npy", corpus.track_ids[test])
    corpus.vocabulary.write_csv(run_dir / "vocabulary.csv")
    return test_embeddings, train_embeddings, scores, source


def _clean_human_accuracy(human: pd.DataFrame, embeddings: list[np.ndarray]) -> float:
    from mdrbench import dimsim, metrics

    # triplet_indices drops ties, so the embeddings are aligned with the decided rows.
    decided = (human["song1_vote"] != human["song2_vote"]).to_numpy()
    clean = dimsim.agreement_share(human)[decided] >= dimsim.CLEAN_AGREEMENT
    if not clean.any():
        return float("nan")
    return metrics.triplet_accuracy(*(e[clean] for e in embeddings))


def run_benchmark(size: str | Size = "default", configs: str | list[str] = "all", seeds: int | list[int] = 1,
                  out_dir: str | Path = "results", corpus: Corpus | None = None, corpus_seed: int = 0,
                  progress: bool = True, verbose: int = 1) -> pd.DataFrame:
    """Train and evaluate every (configuration, seed), resuming finished runs; write the report.

    Returns the results table (one row per run). Every finished run is written as soon as it ends.
    """
    from mdrbench.configs import CONFIGS, get_config
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.train import train

    size = get_size(size) if isinstance(size, str) else size
    names = list(CONFIGS) if configs == "all" else [get_config(c).name for c in
                                                    (configs.split(",") if isinstance(configs, str) else configs)]
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    out_dir = Path(out_dir)
    if corpus is None:
        from mdrbench.synth import ensure_corpus

        corpus = ensure_corpus(size.name, seed=corpus_seed, progress=progress)
    features = compute_features(corpus, FRONTENDS[size.frontend], progress=progress)
    manifest = {"size": size.name, "corpus": corpus.name, "corpus_fingerprint": corpus.fingerprint(),
                "frontend": size.frontend, "budget": asdict(size)}
    _check_manifest(out_dir, manifest)

    sets = make_evaluation_sets(corpus, features, size, seed=corpus_seed)

    vocabulary = pd.DataFrame({"tag": corpus.vocabulary.tags, "category": corpus.vocabulary.categories})
    atomic_write_text(out_dir / "vocabulary.csv", vocabulary.to_csv(index=False))
    human_path = out_dir / "human_triplets.csv"
    if not human_path.exists():
        atomic_write_text(human_path, sets.human.to_csv(index=False))

    planned = [(name, seed) for name in names for seed in seed_list]
    for position, (name, seed) in enumerate(planned, start=1):
        run_dir = out_dir / "runs" / name / f"seed{seed}"
        if load_result(run_dir) is not None:
            if verbose:
                print(f"[{position}/{len(planned)}] {name} seed {seed}: done earlier, kept")
            continue
        if verbose:
            print(f"[{position}/{len(planned)}] {name} seed {seed}: training", flush=True)
        started = time.perf_counter()
        result = train(name, corpus, features, size=size, seed=seed, out_dir=run_dir, verbose=verbose)
        record = evaluate_run(result, corpus, features, sets, size, run_dir)
        record["wall_seconds"] = time.perf_counter() - started
        atomic_write_text(run_dir / "result.json", json.dumps(record, indent=1))
        if verbose:
            print(f"    R@1 {record['recall_at_k']['1']:.3f}  AUC {record['auc']['roc_auc']:.3f}  "
                  f"({record['wall_seconds']:.0f} s)", flush=True)
    from mdrbench.report import write_report

    return write_report(out_dir)


def _check_manifest(out_dir: Path, manifest: dict) -> None:
    path = out_dir / "benchmark.json"
    if path.exists():
        try:
            earlier = json.loads(path.read_text())
        except json.JSONDecodeError:
            earlier = None
        if earlier is not None and earlier != manifest:
            differences = {k: (earlier.get(k), v) for k, v in manifest.items() if earlier.get(k) != v}
            raise ValueError(f"{out_dir} holds results of another benchmark ({differences}: was, now). "
                             f"Fix: choose another --out folder, or delete {out_dir} to start over.")
    atomic_write_text(path, json.dumps(manifest, indent=1))
