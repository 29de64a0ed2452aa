"""Score any embedding model on the study's tasks, on frozen embeddings, beside the study's own models.

``mdrbench score`` (:func:`score_model`) runs, for one external model (a HEAR module or a function, see
:mod:`mdrbench.plugins`) on the benchmark's corpus and its fixed evaluation sets:

1. the frozen embedding of every fixed excerpt (cached), a track being the mean of its excerpts;
2. the tasks as the field scores frozen embeddings: similarity retrieval R@K (cosine) in the complete space;
   tag ROC-AUC from a logistic regression per tag fitted on the training split (as the mel-statistics
   baseline) and from tag prototypes; triplet prediction per dimension in the complete space; the per-category
   R@K; the linear probe of every clean factor from the whole embedding;
3. **learned sub-spaces** (:func:`fit_subspace_projection`): one linear map of the frozen embedding into
   four 64-d blocks, one per category, trained on the training split with the paper's disentangled triplet
   loss (each category's triplets compared inside its own block), early-stopped on the validation split;
   then triplet prediction, R@K and tag prototypes inside each learned block, and the disentanglement probe
   matrix (which factor each block holds).

Why the triplet loss for the projection: it yields blocks of the same width and with the same objective as
the study's disentangled triplet models, so the sub-space table compares like with like. A per-category probe
(a logistic regression onto that category's tags) would give a block of rank at most the number of its tags
(5 to 13 here) and measure whether tags are *predictable*, not whether tracks are *similar* inside the block.

Each seed fits the probes and the projection again (the frozen embeddings come from the cache), so the
intervals cover the fitting noise and the test queries. The result folder has the layout of a trained run
(:class:`mdrbench.results.RunFolder`, under ``external/NAME/seedK``), so ``mdrbench report`` shows it as a row
marked external, with its embedding size and the module's name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mdrbench.corpus import CATEGORIES
from mdrbench.errors import MdrbenchError

SUBSPACE_WIDTH = 64
PROJECTION_EPOCHS = 100  # cap; early stopping on the validation split usually ends the fit well before
PROJECTION_PATIENCE = 5
PROJECTION_BATCH = 256
PROJECTION_LEARNING_RATE = 1e-3
MARGIN = 0.1
SUBSPACE_EMBEDDINGS = "test_subspace_embeddings"  # array of an external run: its test tracks in the learned blocks


# --------------------------------------------------------------------------------------- learned sub-spaces
@dataclass
class SubspaceProjection:
    """A linear map of a frozen embedding into one block per category (standardize, then ``@ weights``).

    Attributes:
        mean, scale: (D,) the training tracks' statistics of the frozen embedding.
        weights: (D, n_categories * width) float32; block c is columns ``c * width:(c + 1) * width``.
        categories: the blocks' categories, in order.
        history: per epoch, the training loss and the validation triplet accuracy inside the blocks.
        best_epoch, epochs_run: the epoch whose weights are kept (best validation accuracy), and how many ran.
        stopped_by: "schedule" (no improvement for ``patience`` epochs) or "cap" (the epoch cap).
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    categories: tuple[str, ...] = CATEGORIES
    history: dict = field(default_factory=dict)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_by: str = "schedule"

    @property
    def width(self) -> int:
        return self.weights.shape[1] // len(self.categories)

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, D) frozen embeddings -> (n, n_categories * width) blocks."""
        return (((np.asarray(embeddings, dtype=np.float32) - self.mean) / self.scale) @ self.weights).astype(
            np.float32)

    def summary(self) -> dict:
        """What a result records of the fit."""
        return {"objective": "disentangled triplet loss (cosine, margin 0.1) on a linear map, one block per "
                             "category, fit on the training split, early-stopped on the validation split",
                "width": self.width, "categories": list(self.categories), "best_epoch": self.best_epoch,
                "epochs_run": self.epochs_run, "stopped_by": self.stopped_by, "history": self.history}


def _triplet_arrays(labels: np.ndarray, tag_categories: np.ndarray, n_per_category: int, seed) -> tuple:
    """(m, 3) track rows and (m,) category index of tag triplets drawn from every category."""
    import warnings

    from mdrbench.metrics import sample_tag_triplets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a category without an eligible tag simply gets no triplets
        drawn = sample_tag_triplets(labels, tag_categories, n_per_category, seed=seed)
    rows = [indices for indices in drawn.values()]
    categories = [np.full(len(indices), CATEGORIES.index(c)) for c, indices in drawn.items()]
    return np.concatenate(rows), np.concatenate(categories)


def fit_subspace_projection(train_embeddings: np.ndarray, train_labels: np.ndarray, tag_categories,
                            valid_embeddings: np.ndarray, valid_labels: np.ndarray, width: int = SUBSPACE_WIDTH,
                            seed: int = 0, max_epochs: int = PROJECTION_EPOCHS, patience: int = PROJECTION_PATIENCE,
                            batch_size: int = PROJECTION_BATCH, learning_rate: float = PROJECTION_LEARNING_RATE
                            ) -> SubspaceProjection:
    """Learn one ``width``-d block per category on frozen embeddings (see the module's docstring for why).

    Args:
        train_embeddings: (n_train, D) frozen track embeddings; train_labels: (n_train, n_tags) multi-hot.
        tag_categories: (n_tags,) category per tag.
        valid_embeddings, valid_labels: the validation split, for early stopping.
        width: dimensions per block (64, as the study's sub-spaces).
        seed: seeds the initial map and the triplets drawn each epoch.

    Every epoch draws fresh training triplets (as many per category as there are training tracks); the
    validation triplets are drawn once. The weights of the epoch with the best validation accuracy are kept.
    """
    import torch

    from mdrbench.losses import TripletLoss
    from mdrbench.metrics import triplet_correct

    train_embeddings = np.asarray(train_embeddings, dtype=np.float32)
    tag_categories = np.asarray(tag_categories)
    mean = train_embeddings.mean(axis=0)
    scale = np.maximum(train_embeddings.std(axis=0), 1e-6)
    standardized = torch.from_numpy((train_embeddings - mean) / scale)
    valid = (np.asarray(valid_embeddings, dtype=np.float32) - mean) / scale
    valid_rows, valid_categories = _triplet_arrays(valid_labels, tag_categories, 1000, seed=(seed, 1_000_003))
    if not len(valid_rows):
        raise MdrbenchError("no validation triplets can be drawn (no tag has two carriers in the validation "
                            "split). Fix: use a corpus with more validation tracks.")
    dimension, n_blocks = train_embeddings.shape[1], len(CATEGORIES)
    generator = torch.Generator().manual_seed(int(seed))
    weights = torch.nn.Parameter(torch.randn(dimension, n_blocks * width, generator=generator) / dimension**0.5)
    optimizer = torch.optim.Adam([weights], lr=learning_rate)
    loss_function = TripletLoss(embedding_dim=n_blocks * width, disentangled=True, margin=MARGIN)
    masks = loss_function.masks.astype(bool)

    def valid_accuracy(current: np.ndarray) -> float:
        projected = valid @ current
        anchor, positive, negative = (projected[valid_rows[:, k]] for k in range(3))
        block_masks = masks[valid_categories]
        return float(triplet_correct(anchor * block_masks, positive * block_masks, negative * block_masks).mean())

    best = (valid_accuracy(weights.detach().numpy()), weights.detach().numpy().copy(), 0)
    history = {"loss": [], "valid_accuracy": [best[0]]}
    stopped_by, epoch = "cap", 0
    for epoch in range(1, max_epochs + 1):
        rows, categories = _triplet_arrays(train_labels, tag_categories, len(train_embeddings), seed=(seed, epoch))
        order = np.random.default_rng((seed, epoch, 1)).permutation(len(rows))
        losses = []
        for first in range(0, len(order), batch_size):
            batch = order[first:first + batch_size]
            projected = standardized[torch.from_numpy(rows[batch].reshape(-1))] @ weights
            anchor, positive, negative = projected.reshape(len(batch), 3, -1).unbind(1)
            loss = loss_function(anchor, positive, negative, torch.from_numpy(categories[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        history["loss"].append(float(np.mean(losses)))
        accuracy = valid_accuracy(weights.detach().numpy())
        history["valid_accuracy"].append(accuracy)
        if accuracy > best[0]:
            best = (accuracy, weights.detach().numpy().copy(), epoch)
        elif epoch - best[2] >= patience:
            stopped_by = "schedule"
            break
    return SubspaceProjection(mean.astype(np.float32), scale.astype(np.float32), best[1].astype(np.float32),
                              CATEGORIES, history, best[2], epoch, stopped_by)


class ProjectedEmbedder:
    """A frozen embedder seen through a learned :class:`SubspaceProjection`: a disentangled embedding whose
    blocks are the learned sub-spaces (tags scored by prototypes inside their category's block)."""

    normalize, disentangled, has_head, tag_scoring = False, True, False, "prototype"

    def __init__(self, inner, projection: SubspaceProjection):
        self.inner, self.projection = inner, projection
        self.name = f"{inner.name} (learned sub-spaces)"

    def excerpts(self, features, tracks, starts):
        embeddings, _ = self.inner.excerpts(features, tracks, starts)
        return self.projection.transform(embeddings), None

    def tracks(self, features, tracks):
        whole = self.inner.tracks(features, tracks)
        return None if whole is None else self.projection.transform(whole)


# ---------------------------------------------------------------------------------------------- scoring
def score_embedder(embedder, corpus, features, sets, seed: int = 0, subspaces: bool = True):
    """Score one frozen embedder on the study's tasks, plus its learned sub-spaces (see the module docstring).

    Returns an :class:`mdrbench.evaluate.Evaluation` whose record and evidence hold the complete-space numbers
    and, with ``subspaces``, a ``subspace`` space (triplets, per-category R@K) and the probe matrix of the
    learned blocks; ``record["learned_subspaces"]`` describes the fit.
    """
    from mdrbench import metrics
    from mdrbench.evaluate import EXCERPTS_PER_TRACK, _excerpt_grid, evaluate

    labels = np.asarray(corpus.tags)
    tag_categories = np.asarray(corpus.vocabulary.categories)
    train = corpus.split_indices("train")
    frozen = evaluate(embedder, corpus, features, sets, seed=seed)
    record = frozen.record
    prototypes = metrics.tag_prototypes(frozen.train_embeddings, labels[train])
    prototype_auc = metrics.tag_auc(metrics.prototype_scores(frozen.test_embeddings, prototypes),
                                    labels[corpus.split_indices("test")], categories=tag_categories)
    record["auc_prototype"] = {"roc_auc": float(prototype_auc["roc_auc"]), "pr_auc": float(prototype_auc["pr_auc"])}
    record["embedding_size"] = int(frozen.test_embeddings.shape[1])
    record["excerpts_per_track"] = EXCERPTS_PER_TRACK
    if not subspaces:
        return frozen
    valid = corpus.split_indices("valid")
    _, valid_embeddings, _ = _excerpt_grid(embedder, features, valid)
    projection = fit_subspace_projection(frozen.train_embeddings, labels[train], tag_categories, valid_embeddings,
                                         labels[valid], seed=seed)
    learned = evaluate(ProjectedEmbedder(embedder, projection), corpus, features, sets, seed=seed)
    record["triplets"]["subspace"] = learned.record["triplets"]["subspace"]
    record["category_recall_at_k"]["subspace"] = learned.record["category_recall_at_k"]["subspace"]
    blocks = {space: row for space, row in (learned.record["disentanglement"] or {}).items() if space != "complete"}
    if record.get("disentanglement") is not None:
        record["disentanglement"] = {**blocks, "complete": record["disentanglement"]["complete"]}
    record["learned_subspaces"] = {**projection.summary(), "auc_prototype": learned.record["auc"]["roc_auc"]}
    evidence = frozen.evidence
    evidence.triplet_correct["subspace"] = learned.evidence.triplet_correct["subspace"]
    evidence.probe_predicted = {**{space: predicted for space, predicted in learned.evidence.probe_predicted.items()
                                   if space != "complete"},
                                **({"complete": evidence.probe_predicted["complete"]}
                                   if "complete" in evidence.probe_predicted else {})}
    evidence.check()
    frozen.subspace_test_embeddings = learned.test_embeddings
    return frozen


def score_model(model, corpus, features, sets, seeds, out_dir, subspaces: bool = True, batch_size: int = 32,
                cache: bool = True, progress: bool = True, verbose: int = 1) -> list[dict]:
    """Score an external model (:class:`mdrbench.plugins.AudioModel`) and write one result folder per seed.

    Folders: ``out_dir/external/NAME/seedK``, a finished one kept (resumable). Returns the records.
    """
    from mdrbench.bench import save_evaluation
    from mdrbench.plugins import AudioExcerptEmbedder
    from mdrbench.results import RunFolder, atomic_save_npy, external_folder, load_result

    embedder = AudioExcerptEmbedder(model, corpus, features, batch_size=batch_size, cache=cache, progress=progress)
    records = []
    for seed in seeds:
        folder = RunFolder(external_folder(out_dir, model.name, seed))
        done = load_result(folder.path)
        if done is not None:
            # kept only when the same code and weights made it: a module edited under its old name is rescored
            kept = model.identity is not None and (done.get("external") or {}).get("identity") == model.identity
            if kept:
                if verbose:
                    print(f"{model.name} seed {seed}: scored earlier, kept", flush=True)
                records.append(done)
                continue
            if verbose:
                print(f"{model.name} seed {seed}: the stored scores come from another version of the model (or "
                      f"one with no identity); scoring again", flush=True)
            folder.file(RunFolder.RESULT).unlink()
        started = time.perf_counter()
        before_audio, before_embedding = embedder.audio_seconds, embedder.embedding_seconds
        evaluation = score_embedder(embedder, corpus, features, sets, seed=seed, subspaces=subspaces)
        total = time.perf_counter() - started
        audio, embedding = embedder.audio_seconds - before_audio, embedder.embedding_seconds - before_embedding
        record = {**evaluation.record, "config": model.name, "kind": "external", "training": None,
                  "external": {**model.info, "identity": model.identity,
                               "embedding_size": evaluation.record["embedding_size"],
                               "module_sample_rate": model.sample_rate,
                               "corpus_sample_rate": int(corpus.sample_rate),
                               "frontend_sample_rate": int(features.settings.sample_rate),
                               "heard_up_to_hz": min(model.sample_rate, int(corpus.sample_rate)) / 2,
                               "embedding_cache": None if embedder.cache.path is None else str(embedder.cache.path)},
                  "scoring_seconds": {"total": total, "audio": audio, "embedding": embedding,
                                      "tasks": total - audio - embedding,
                                      "excerpts_embedded": embedder.embedded_excerpts}}
        save_evaluation(evaluation, corpus, folder)
        if evaluation.subspace_test_embeddings is not None:  # what the sub-space picture of notebook 14 shows
            atomic_save_npy(folder.file(f"{SUBSPACE_EMBEDDINGS}.npy"),
                            evaluation.subspace_test_embeddings.astype(np.float32))
        folder.finish(record)
        records.append(record)
        if verbose:
            sub = record["triplets"].get("subspace", {})
            learned = f"  learned sub-space triplets {np.nanmean(list(sub.values())):.3f}" if sub else ""
            print(f"{model.name} seed {seed}: R@1 {record['recall_at_k']['1']:.3f}  AUC {record['auc']['roc_auc']:.3f}"
                  f" (prototype {record['auc_prototype']['roc_auc']:.3f}){learned}  "
                  f"{total:.0f} s (audio {audio:.0f}, model {embedding:.0f})", flush=True)
    return records


def score_on_benchmark(model, size="default", corpus=None, seeds: int | list[int] | None = None, out_dir=None,
                       subspaces: bool = True, batch_size: int = 32, cache: bool = True, progress: bool = True,
                       verbose: int = 1):
    """Score an external model on a benchmark's corpus and fixed evaluation sets, into its results folder,
    and rebuild the report there: the model becomes a row beside the study's configurations and baselines.

    Args:
        model: an :class:`mdrbench.plugins.AudioModel` (:func:`~mdrbench.plugins.load_hear_module`,
            :func:`~mdrbench.plugins.function_model`).
        size: a size name or Size: the synthetic corpus (unless ``corpus``), its front-end and default seeds.
        corpus: a corpus to score on instead of the size's synthetic one.
        seeds: fitting seeds (a count or a list; default the size's).
        out_dir: the results folder (default the one `mdrbench bench` writes for this size and corpus).

    Returns (the report's results table, the records written).
    """
    from mdrbench.bench import benchmark_manifest, make_evaluation_sets, run_baselines, seed_numbers
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.paths import results_dir
    from mdrbench.report import write_report
    from mdrbench.results import check_manifest
    from mdrbench.sizes import get_size

    size = get_size(size) if isinstance(size, str) else size
    if corpus is None:
        from mdrbench.synth import ensure_corpus

        corpus = ensure_corpus(size, progress=progress)
        default_out = results_dir(size.name)
    else:
        default_out = results_dir(f"{size.name}-{corpus.name}")
    from pathlib import Path

    out_dir = Path(out_dir) if out_dir is not None else default_out
    features = compute_features(corpus, FRONTENDS[size.frontend], progress=progress)
    check_manifest(out_dir, benchmark_manifest(size, corpus))
    sets = make_evaluation_sets(corpus, features, seed=0)
    seeds = seed_numbers(size, seeds)
    run_baselines(corpus, features, sets, seeds, out_dir, verbose)  # the yardstick beside the model (cheap)
    records = score_model(model, corpus, features, sets, seeds, out_dir, subspaces=subspaces,
                          batch_size=batch_size, cache=cache, progress=progress, verbose=verbose)
    return write_report(out_dir), records
