"""The evaluation protocol: the paper's four tasks on one trained model, or on a baseline, on fixed sets.

1. similarity retrieval, R@K (K = 1, 2, 4, 8) over the test tracks;
2. auto-tagging, macro ROC-AUC over tags (a tag head's logits; for triplet models the cosine to each tag's
   prototype, the mean training embedding of its tracks, inside the tag's own sub-space when the model is
   disentangled, since that is where it learned the tag);
3. triplet prediction per notion (genre, mood, instrument, era, track) in the complete space and, for
   disentangled models only, in each notion's own sub-space; plus the Dim-Sim-style triplets (simulated raters
   on a synthetic corpus, or the real Dim-Sim CSV);
4. training time (read from the run's ``training`` block by :mod:`mdrbench.report`).

Everything every model is scored on is drawn once per benchmark (:func:`make_evaluation_sets`). Each test
track is embedded from ``EXCERPTS_PER_TRACK`` fixed, evenly spaced excerpts, once: track embeddings are their
mean, track triplets pair the first and the last of them (never overlapping), and the simulated raters'
clips lie on the same excerpts, so one backbone pass per excerpt serves every task.

Two baselines go through the same code (:class:`RandomEmbedder`, :class:`MelStatisticsEmbedder`), so every
table shows what chance and a simple hand-made method reach on the same test set and triplets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from mdrbench.corpus import CATEGORIES, Corpus
from mdrbench.evidence import KS, Evidence, make_evidence
from mdrbench.results import RESULT_VERSION
from mdrbench.similarity import cosine_spread

EXCERPTS_PER_TRACK = 4
NOTIONS = (*CATEGORIES, "track")
BASELINES = ("random", "mel-statistics")


# ------------------------------------------------------------------------------------------------ the sets
@dataclass(frozen=True)
class EvaluationSets:
    """What every model of one benchmark is scored on (drawn once, from the test split).

    Attributes:
        tag_triplets: {category: (m, 3) rows into the test tracks (anchor, positive, negative)}.
        track_triplets: (m, 4) int: anchor row, anchor excerpt, positive excerpt (both of the anchor's track),
            negative row; the negative uses its track's first excerpt. Excerpts index the fixed excerpts.
        human: Dim-Sim schema DataFrame (simulated raters or the real file).
        human_clips: (3, m_decided, 2) int: for anchor, preferred and other clip, the (corpus track index,
            start frame) of each decided triplet (ties dropped).
        human_clean: (m_decided,) bool, the triplets whose majority holds >= 90% of the votes.
        human_source: "simulated raters" or "Dim-Sim".
    """

    tag_triplets: dict[str, np.ndarray]
    track_triplets: np.ndarray
    human: pd.DataFrame
    human_clips: np.ndarray
    human_clean: np.ndarray
    human_source: str


def triplets_per_notion(n_tracks: int) -> int:
    """The paper draws 40,000 triplets per notion from 28,435 test tracks; we scale with the corpus."""
    return int(min(40000, max(500, 4 * n_tracks)))


def test_excerpt_starts(corpus: Corpus, features) -> np.ndarray:
    """(n_test, EXCERPTS_PER_TRACK) start frames of the fixed excerpts of every test track."""
    from mdrbench.features import fixed_excerpt_starts

    test = corpus.split_indices("test")
    return fixed_excerpt_starts(features.lengths[test], features.settings.excerpt_frames, EXCERPTS_PER_TRACK)


def sample_track_triplets(lengths: np.ndarray, n_frames: int, count: int, seed: int) -> np.ndarray:
    """Track triplets on the fixed excerpts: anchor and positive are the first and the last fixed excerpt of
    one track (in random order), only on tracks where those two do not overlap; the negative is another
    track's first excerpt.

    Returns (count, 4) int: anchor row, anchor excerpt, positive excerpt, negative row (rows index ``lengths``).
    """
    from mdrbench.features import fixed_excerpt_starts

    rng = np.random.default_rng((seed, 7919))
    starts = fixed_excerpt_starts(lengths, n_frames, EXCERPTS_PER_TRACK)
    long_enough = np.flatnonzero(starts[:, -1] - starts[:, 0] >= n_frames)
    if len(long_enough) == 0:
        raise ValueError(f"no test track is long enough for two non-overlapping fixed excerpts of {n_frames} "
                         f"frames, so track triplets cannot be drawn. Fix: use tracks longer than "
                         f"{7 * n_frames // 3} frames.")
    if len(lengths) < 2:
        raise ValueError("track triplets need at least two test tracks.")
    anchor = rng.choice(long_enough, count)
    negative = (anchor + rng.integers(1, len(lengths), count)) % len(lengths)
    last = EXCERPTS_PER_TRACK - 1
    swap = rng.random(count) < 0.5
    return np.stack([anchor, np.where(swap, last, 0), np.where(swap, 0, last), negative], axis=1).astype(np.int64)


def make_evaluation_sets(corpus: Corpus, features, seed: int = 0, human: pd.DataFrame | None = None
                         ) -> EvaluationSets:
    """Draw the fixed triplets of a benchmark from the test split.

    Args:
        human: real Dim-Sim triplets (read with :func:`mdrbench.dimsim.read_triplets`); when None and the
            corpus is synthetic, simulated raters vote on clips placed on the fixed test excerpts.
    """
    from mdrbench import dimsim, metrics

    test = corpus.split_indices("test")
    count = triplets_per_notion(len(corpus))
    tag_triplets = metrics.sample_tag_triplets(corpus.tags[test], np.asarray(corpus.vocabulary.categories),
                                               n_per_category=count, seed=seed)
    n_frames = features.settings.excerpt_frames
    track_triplets = sample_track_triplets(features.lengths[test], n_frames, count, seed)
    if human is not None:
        human, _ = dimsim.triplets_in_corpus(human, corpus)
        source = "Dim-Sim"
    elif corpus.factors is not None:
        human = _on_fixed_excerpts(dimsim.simulate_triplets(corpus, n_triplets=min(4000, count), split="test",
                                                            seed=seed), corpus, features)
        source = "simulated raters"
    else:
        human, source = pd.DataFrame(columns=list(dimsim.COLUMNS)), "none"
    clips, clean = np.zeros((3, 0, 2), dtype=np.int64), np.zeros(0, dtype=bool)
    if len(human):
        indices = dimsim.triplet_indices(human, corpus)  # anchor, preferred, other; then their starts (seconds)
        clips = np.stack([np.stack([indices[k], dimsim.clip_frames(features, indices[k], indices[k + 3])], axis=1)
                          for k in range(3)]).astype(np.int64)
        decided = (human["song1_vote"] != human["song2_vote"]).to_numpy()
        clean = dimsim.agreement_share(human)[decided] >= dimsim.CLEAN_AGREEMENT
    return EvaluationSets(tag_triplets, track_triplets, human, clips, clean, source)


def _on_fixed_excerpts(human: pd.DataFrame, corpus: Corpus, features) -> pd.DataFrame:
    """Move each simulated clip onto the nearest fixed test excerpt of its track (raters judge tracks by their
    factors, so where the clip lies does not change a vote), so the benchmark embeds no extra excerpt."""
    from mdrbench.features import fixed_excerpt_starts

    human = human.copy()
    settings = features.settings
    frames_per_second = settings.sample_rate / settings.hop_length
    position = {track_id: index for index, track_id in enumerate(corpus.track_ids)}
    for role in ("anchor", "song1", "song2"):
        indices = np.array([position[t] for t in human[f"{role}_id"]])
        grid = fixed_excerpt_starts(features.lengths[indices], settings.excerpt_frames, EXCERPTS_PER_TRACK)
        wanted = human[f"{role}_start_seconds"].to_numpy() * frames_per_second
        nearest = grid[np.arange(len(grid)), np.abs(grid - wanted[:, None]).argmin(axis=1)]
        seconds = nearest / frames_per_second + features.window_starts[indices]
        human[f"{role}_start_seconds"] = seconds
        human[f"{role}_start_samples"] = np.round(seconds * human["sampling_rate"].to_numpy()).astype(np.int64)
    return human


# --------------------------------------------------------------------------------------------- embedders
class Embedder(Protocol):
    """What :func:`evaluate` asks of anything it scores: a native model, a baseline or an external model
    (:class:`mdrbench.plugins.AudioExcerptEmbedder`).

    Attributes:
        name: the row's name in the report.
        normalize: whether track embeddings are L2-normalized after the mean of their excerpts.
        disentangled: whether the embedding is four sub-spaces (:func:`mdrbench.subspaces.subspace_slices`).
        has_head: whether ``excerpts`` returns tag logits.
        tag_scoring: how tags are scored: "head" (the logits), "prototype" (cosine to each tag's mean training
            embedding) or "logistic" (a logistic regression per tag on the training tracks); optional, from
            ``has_head`` when absent.
    """

    name: str
    normalize: bool
    disentangled: bool
    has_head: bool

    def excerpts(self, features, tracks, starts) -> tuple[np.ndarray, np.ndarray | None]:
        """(n,) tracks and start frames -> (embeddings (n, D), tag logits (n, n_tags) or None)."""

    def tracks(self, features, tracks) -> np.ndarray | None:
        """Whole-track embeddings (n, D), or None to use the mean of the fixed excerpts."""


class ModelEmbedder:
    """A trained :class:`mdrbench.models.RepresentationModel` seen through the evaluation's interface."""

    def __init__(self, model):
        self.model = model
        self.name = model.config.name
        self.normalize = model.config.normalize
        self.disentangled = model.config.disentangled
        self.has_head = not model.config.objective.startswith("triplet")
        self.tag_scoring = "head" if self.has_head else "prototype"

    def excerpts(self, features, tracks, starts):
        """(n,) tracks and start frames -> (embeddings (n, D), tag logits (n, n_tags) or None)."""
        from mdrbench.models import embed_excerpts

        return embed_excerpts(self.model, features, tracks, starts, with_tags=True)

    def tracks(self, features, tracks):
        """Whole-track embeddings, or None to use the mean of the fixed excerpts (what a network does)."""
        return None


class RandomEmbedder:
    """Chance: an independent Gaussian vector per excerpt, seeded by (seed, track, start)."""

    name = "random"
    normalize, disentangled, has_head, tag_scoring = True, False, False, "prototype"

    def __init__(self, dim: int = 256, seed: int = 0):
        self.dim, self.seed = dim, seed

    def excerpts(self, features, tracks, starts):
        rows = [np.random.default_rng((self.seed, int(t), int(s))).standard_normal(self.dim)
                for t, s in zip(tracks, starts, strict=True)]
        return np.asarray(rows, dtype=np.float32).reshape(-1, self.dim), None

    def tracks(self, features, tracks):
        return None


class MelStatisticsEmbedder:
    """A hand-made baseline: per-band log-mel mean and standard deviation, standardized with statistics of the
    training tracks. Tracks use their whole stored log-mel; excerpts their own frames. Cosine for retrieval and
    triplets; tags get one logistic regression each on the training tracks (:func:`logistic_tag_scores`)."""

    name = "mel-statistics"
    normalize, disentangled, has_head, tag_scoring = False, False, False, "logistic"

    def __init__(self, features, train_tracks):
        whole = self._statistics([features.track(int(t)) for t in train_tracks])
        self.mean, self.scale = whole.mean(axis=0), np.maximum(whole.std(axis=0), 1e-6)

    @staticmethod
    def _statistics(mels) -> np.ndarray:
        """(n_mels, n_frames) log-mels -> (n, 2 n_mels): per-band mean, then per-band standard deviation."""
        return np.stack([np.concatenate([m.mean(axis=1), m.std(axis=1)]) for m in mels]).astype(np.float32)

    def _standardize(self, values):
        return (values - self.mean) / self.scale

    def excerpts(self, features, tracks, starts):
        n_frames = features.settings.excerpt_frames
        mels = [features.excerpt(int(t), int(s), n_frames) for t, s in zip(tracks, starts, strict=True)]
        return self._standardize(self._statistics(mels)), None

    def tracks(self, features, tracks):
        return self._standardize(self._statistics([features.track(int(t)) for t in tracks]))


def logistic_tag_scores(train_embeddings, train_labels, test_embeddings, seed: int = 0) -> np.ndarray:
    """One L2-regularized logistic regression per tag, fit on the training tracks: decision values (n_test,
    n_tags) on the test tracks. A tag with one class among the training tracks scores NaN (skipped by AUC)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    train_labels = np.asarray(train_labels) != 0
    scores = np.full((len(test_embeddings), train_labels.shape[1]), np.nan, dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):  # small fits: thread start-up would dominate
        for tag in range(train_labels.shape[1]):
            if train_labels[:, tag].all() or not train_labels[:, tag].any():
                continue
            probe = LogisticRegression(max_iter=1000, random_state=seed)
            probe.fit(train_embeddings, train_labels[:, tag])
            scores[:, tag] = probe.decision_function(test_embeddings)
    return scores


def _excerpt_grid(embedder, features, tracks: np.ndarray):
    """(n, EXCERPTS_PER_TRACK, D) excerpt embeddings, track embeddings (n, D), track logits (n, T) or None."""
    from mdrbench.models import fixed_excerpts, mean_of_excerpts

    repeated, starts = fixed_excerpts(features, tracks, EXCERPTS_PER_TRACK)
    excerpts, logits = embedder.excerpts(features, repeated, starts)
    whole = embedder.tracks(features, tracks)
    track_embeddings = mean_of_excerpts(excerpts, EXCERPTS_PER_TRACK, embedder.normalize) if whole is None else whole
    track_logits = None if logits is None else mean_of_excerpts(logits, EXCERPTS_PER_TRACK, False)
    return excerpts.reshape(len(tracks), EXCERPTS_PER_TRACK, -1), track_embeddings, track_logits


# ------------------------------------------------------------------------------------------------ evaluate
@dataclass
class Evaluation:
    """One model's (or baseline's) scores, its per-query evidence and the test-set arrays that search and the
    notebooks read."""

    record: dict
    test_embeddings: np.ndarray  # (n_test, D) track embeddings
    test_tag_scores: np.ndarray  # (n_test, n_tags)
    train_embeddings: np.ndarray  # (n_train, D)
    test_excerpts: np.ndarray  # (n_test, EXCERPTS_PER_TRACK, D)
    evidence: Evidence  # per test track and per triplet: what every interval is drawn from
    # (n_test, 256) the test tracks in the learned sub-spaces of an external model (mdrbench.scoring), else None
    subspace_test_embeddings: np.ndarray | None = None


def evaluate(embedder, corpus: Corpus, features, sets: EvaluationSets, seed: int = 0, probes: bool = True
             ) -> Evaluation:
    """Score one embedder (a :class:`ModelEmbedder` or a baseline) on the four tasks.

    Returns an :class:`Evaluation` whose ``record`` holds every number (the body of a result.json) and whose
    ``evidence`` holds what those numbers are means of (per query, per triplet, per probe prediction).
    """
    from mdrbench import metrics
    from mdrbench.subspaces import subspace_slices

    test = corpus.split_indices("test")
    arrays = track_arrays(embedder, corpus, features, seed)
    test_excerpts, test_embeddings = arrays["test_excerpts"], arrays["test_embeddings"]
    train_embeddings = arrays["train_embeddings"]
    labels = np.asarray(corpus.tags)
    slices = subspace_slices(test_embeddings.shape[1]) if embedder.disentangled else None
    per_query_recall = metrics.recall_at_k_per_query(test_embeddings, labels[test], ks=KS)
    recall = {k: float(np.nanmean(per_query_recall[:, i])) for i, k in enumerate(KS)}
    auc = metrics.tag_auc(arrays["tag_scores"], labels[test], categories=np.asarray(corpus.vocabulary.categories))
    category_recall = category_recall_at_k(test_embeddings, labels[test], np.asarray(corpus.vocabulary.categories),
                                           slices)

    # 3. triplets: tag notions on track embeddings; track notion on two excerpts of one track
    correctness = metrics.triplet_correctness(test_embeddings, sets.tag_triplets, slices)
    triplet_table = metrics.triplet_table_from_correctness(correctness, list(sets.tag_triplets))
    anchors = {notion: rows[:, 0] for notion, rows in sets.tag_triplets.items()}
    track = sets.track_triplets
    correctness["complete"]["track"] = metrics.triplet_correct(test_excerpts[track[:, 0], track[:, 1]],
                                                               test_excerpts[track[:, 0], track[:, 2]],
                                                               test_excerpts[track[:, 3], 0])
    anchors["track"] = track[:, 0]
    track_accuracy = float(correctness["complete"]["track"].mean()) if len(track) else float("nan")
    human, human_correct, human_anchor = _human_accuracies(embedder, features, sets, test, test_excerpts)
    if human_correct is not None:
        correctness["complete"]["human"], anchors["human"] = human_correct, human_anchor

    probe, truth, predicted = None, None, None
    if probes and corpus.factors is not None:
        train = corpus.split_indices("train")
        both = np.concatenate([train, test])
        train_mask = np.zeros(len(both), bool)
        train_mask[: len(train)] = True
        factors = corpus.factors.iloc[both].reset_index(drop=True)
        predicted = metrics.probe_predictions(np.concatenate([train_embeddings, test_embeddings]), factors,
                                              slices or {}, train_mask, seed=seed)
        probe = metrics.disentanglement_matrix(np.concatenate([train_embeddings, test_embeddings]), factors,
                                               slices or {}, train_mask, seed=seed, predictions=predicted)
        held_out = factors.iloc[len(train):]
        truth = {c: held_out[c].to_numpy() for c in held_out.columns if held_out[c].notna().all()}

    record = {
        "version": RESULT_VERSION,
        "seed": int(seed),
        "recall_at_k": {str(k): float(v) for k, v in recall.items()},
        "category_recall_at_k": category_recall,
        "auc": {"roc_auc": float(auc["roc_auc"]), "pr_auc": float(auc["pr_auc"]), "scores": arrays["tag_source"],
                "per_category": auc["per_category"].to_dict()},
        "triplets": triplet_table.to_dict(orient="index"),
        "track_triplet_accuracy": track_accuracy,
        **human,
        "embedding_spread": cosine_spread(test_embeddings),
        "disentanglement": None if probe is None else probe.to_dict(orient="index"),
        "n_test_tracks": int(len(test)),
    }
    evidence = make_evidence(labels[test], per_query_recall, arrays["tag_scores"], anchors, correctness,
                             truth, predicted, sets.human_clean if human_correct is not None else None)
    return Evaluation(record, test_embeddings.astype(np.float32), np.asarray(arrays["tag_scores"], dtype=np.float32),
                      train_embeddings.astype(np.float32), test_excerpts.astype(np.float32), evidence)


def category_recall_at_k(embeddings: np.ndarray, labels: np.ndarray, tag_categories: np.ndarray,
                         slices: dict[str, slice] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """R@K of each category's tags alone (multidimensional retrieval): in the complete space and, with
    ``slices``, inside the category's own sub-space.

    Returns {space: {category: {str(k): R@k}}}, spaces "complete" and (with slices) "subspace".
    """
    from mdrbench import metrics

    spaces = {"complete": None} if not slices else {"complete": None, "subspace": slices}
    out = {}
    for space, blocks in spaces.items():
        out[space] = {}
        for category in dict.fromkeys(tag_categories.tolist()):
            if blocks is not None and category not in blocks:
                continue
            view = embeddings if blocks is None else embeddings[:, blocks[category]]
            per_query = metrics.recall_at_k_per_query(view, labels[:, tag_categories == category], ks=KS)
            out[space][category] = {str(k): float(np.nanmean(per_query[:, i])) for i, k in enumerate(KS)}
    return out


def track_arrays(embedder, corpus: Corpus, features, seed: int = 0) -> dict:
    """Embed the fixed excerpts of the test and training tracks once and score the test tracks' tags.

    Returns a dict: ``test_excerpts`` (n_test, EXCERPTS_PER_TRACK, D), ``test_embeddings`` (n_test, D),
    ``train_embeddings`` (n_train, D), ``tag_scores`` (n_test, n_tags) and ``tag_source`` (how tags were
    scored: the head's logits; for triplet models the cosine to each tag's prototype, in the tag's own
    sub-space when disentangled; for mel statistics a logistic regression per tag).
    """
    from mdrbench import metrics
    from mdrbench.subspaces import subspace_slices

    train, test = corpus.split_indices("train"), corpus.split_indices("test")
    labels = np.asarray(corpus.tags)
    test_excerpts, test_embeddings, test_logits = _excerpt_grid(embedder, features, test)
    _, train_embeddings, _ = _excerpt_grid(embedder, features, train)
    scoring = getattr(embedder, "tag_scoring", None) or ("head" if embedder.has_head else "prototype")
    if scoring == "head":
        scores, source = test_logits, "head logits"
    elif scoring == "logistic":
        scores, source = logistic_tag_scores(train_embeddings, labels[train], test_embeddings, seed), "logistic"
    else:
        prototypes = metrics.tag_prototypes(train_embeddings, labels[train])
        if embedder.disentangled:
            slices = subspace_slices(test_embeddings.shape[1])
            scores = metrics.prototype_scores(test_embeddings, prototypes, np.asarray(corpus.vocabulary.categories),
                                              slices)
            source = "prototype in the tag's sub-space"
        else:
            scores, source = metrics.prototype_scores(test_embeddings, prototypes), "prototype"
    return {"test_excerpts": test_excerpts, "test_embeddings": test_embeddings, "train_embeddings": train_embeddings,
            "tag_scores": scores, "tag_source": source}


def _human_accuracies(embedder, features, sets: EvaluationSets, test: np.ndarray, test_excerpts):
    """Accuracy on the Dim-Sim-style triplets (all decided, and the clean subset); clips that lie on a fixed
    test excerpt reuse its embedding, any other clip is embedded once.

    Returns (accuracies, per-triplet correctness (m,) bool or None, the anchor's test row (m,) or None).
    """
    from mdrbench import metrics
    from mdrbench.features import fixed_excerpt_starts

    out = {"human_source": sets.human_source, "human_triplet_accuracy": float("nan"),
           "human_triplet_accuracy_clean": float("nan")}
    if sets.human_clips.shape[1] == 0:
        return out, None, None
    grid_starts = fixed_excerpt_starts(features.lengths[test], features.settings.excerpt_frames, EXCERPTS_PER_TRACK)
    lookup = {(int(t), int(s)): (row, k) for row, t in enumerate(test) for k, s in enumerate(grid_starts[row])}
    clips = sets.human_clips.reshape(-1, 2)
    known = np.array([(int(t), int(s)) in lookup for t, s in clips])
    embeddings = np.zeros((len(clips), test_excerpts.shape[-1]), dtype=np.float32)
    if known.any():
        positions = np.array([lookup[(int(t), int(s))] for t, s in clips[known]])
        embeddings[known] = test_excerpts[positions[:, 0], positions[:, 1]]
    if (~known).any():
        unique, inverse = np.unique(clips[~known], axis=0, return_inverse=True)
        embeddings[~known] = embedder.excerpts(features, unique[:, 0], unique[:, 1])[0][inverse.reshape(-1)]
    anchor, preferred, other = embeddings.reshape(3, -1, embeddings.shape[-1])
    correct = metrics.triplet_correct(anchor, preferred, other)
    out["human_triplet_accuracy"] = float(correct.mean())
    if sets.human_clean.any():
        out["human_triplet_accuracy_clean"] = float(correct[sets.human_clean].mean())
    test_row = {int(t): row for row, t in enumerate(test)}
    anchor_rows = np.array([test_row.get(int(t), -1) for t in sets.human_clips[0, :, 0]], dtype=np.int64)
    if (anchor_rows < 0).any():  # a real Dim-Sim anchor outside the test split: no query to resample it with
        return out, None, None
    return out, correct, anchor_rows


def baseline_embedder(name: str, corpus: Corpus, features, seed: int = 0):
    """The embedder of a baseline by name (see :data:`BASELINES`)."""
    if name == "random":
        return RandomEmbedder(seed=seed)
    if name == "mel-statistics":
        return MelStatisticsEmbedder(features, corpus.split_indices("train"))
    raise ValueError(f"unknown baseline {name!r}; choose one of {list(BASELINES)}.")
