"""Per-query evidence of one run: what any comparison needs, stored, so that it is recomputed without a model.

A benchmark number is a mean over test queries (R@K), over triplets (triplet prediction) or a function of every
test track's score (ROC-AUC). Its noise has two sources: the training seed and the draw of the test tracks. The
second is measured by resampling the test tracks, so each run keeps, per test track and per triplet, what its
numbers are made of (:class:`Evidence`, ``evidence.npz`` in the run folder), and :func:`replicates` recomputes
any column of the report on resampled test sets:

- R@K: the resampled tracks are the *queries*; the database stays whole (a duplicated track would otherwise
  find itself), so each query's covered fraction is fixed and the statistic is a weighted mean;
- triplet prediction: triplets are clustered by their anchor track, which carries its triplets' weight;
- ROC-AUC: recomputed on every resample from the tag scores (tags without a positive or a negative in a
  resample are left out of its mean, as :func:`mdrbench.metrics.tag_auc` does);
- the disentanglement probe: balanced accuracy recomputed from the stored predictions.

A resample is a row of multinomial counts over the test tracks (:func:`bootstrap_weights`); the same rows serve
every model and seed of a benchmark, so differences between models are paired on the same queries. Evaluating
with all counts 1 gives the record's own numbers (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mdrbench.corpus import CATEGORIES

KS = (1, 2, 4, 8)
PROBE_COLUMN = "probe:selectivity"


@dataclass
class Evidence:
    """One run's per-query evidence on the test split (n test tracks, T tags).

    Attributes:
        labels: (n, T) bool, the test tracks' tags.
        recall: (n, len(KS)) per-query R@K (fraction of the query's tags covered), NaN for a query without tags.
        tag_scores: (n, T) float, higher = more likely (NaN columns: tags that could not be scored).
        triplet_anchor: {notion: (m,) int} the anchor row of every triplet (genre, mood, instrument, era, track,
            human).
        triplet_correct: {space: {notion: (m,) bool}}, spaces "complete" and (disentangled models) "subspace".
        probe_truth: {factor: (n,) int codes} of the clean factors (synthetic corpora only).
        probe_predicted: {space: {factor: (n,) int codes}}, spaces the four blocks then "complete".
        human_clean: (m_human,) bool, the clean subset of the Dim-Sim-style triplets.
    """

    labels: np.ndarray
    recall: np.ndarray
    tag_scores: np.ndarray
    triplet_anchor: dict[str, np.ndarray]
    triplet_correct: dict[str, dict[str, np.ndarray]]
    probe_truth: dict[str, np.ndarray] = field(default_factory=dict)
    probe_predicted: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    human_clean: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n_queries(self) -> int:
        return len(self.labels)

    # --- the file: flat names in one .npz, no pickle ------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"labels": self.labels.astype(bool), "recall": self.recall.astype(np.float32),
                  "tag_scores": self.tag_scores.astype(np.float32), "human_clean": self.human_clean.astype(bool)}
        arrays |= {f"anchor__{notion}": rows.astype(np.int32) for notion, rows in self.triplet_anchor.items()}
        arrays |= {f"correct__{space}__{notion}": values.astype(bool)
                   for space, per_notion in self.triplet_correct.items() for notion, values in per_notion.items()}
        arrays |= {f"truth__{factor}": codes.astype(np.int16) for factor, codes in self.probe_truth.items()}
        arrays |= {f"predicted__{space}__{factor}": codes.astype(np.int16)
                   for space, per_factor in self.probe_predicted.items() for factor, codes in per_factor.items()}
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> Evidence:
        """Read back :meth:`to_arrays` (e.g. an ``np.load(..., allow_pickle=False)`` of evidence.npz)."""
        anchors, correct, truth, predicted = {}, {}, {}, {}
        for name in arrays.files if hasattr(arrays, "files") else arrays:
            parts = name.split("__")
            if parts[0] == "anchor":
                anchors[parts[1]] = np.asarray(arrays[name], dtype=np.int64)
            elif parts[0] == "correct":
                correct.setdefault(parts[1], {})[parts[2]] = np.asarray(arrays[name], dtype=bool)
            elif parts[0] == "truth":
                truth[parts[1]] = np.asarray(arrays[name], dtype=np.int64)
            elif parts[0] == "predicted":
                predicted.setdefault(parts[1], {})[parts[2]] = np.asarray(arrays[name], dtype=np.int64)
        evidence = cls(np.asarray(arrays["labels"], dtype=bool), np.asarray(arrays["recall"], dtype=np.float64),
                       np.asarray(arrays["tag_scores"], dtype=np.float64), anchors, correct, truth, predicted,
                       np.asarray(arrays["human_clean"], dtype=bool))
        evidence.check()
        return evidence

    def check(self) -> None:
        """Raise ValueError when the arrays do not fit together (a damaged or foreign file)."""
        n = self.n_queries
        problems = []
        if self.recall.shape != (n, len(KS)):
            problems.append(f"recall has shape {self.recall.shape}, expected ({n}, {len(KS)})")
        if self.tag_scores.shape != self.labels.shape:
            problems.append(f"tag_scores has shape {self.tag_scores.shape}, labels {self.labels.shape}")
        for space, per_notion in self.triplet_correct.items():
            for notion, values in per_notion.items():
                anchors = self.triplet_anchor.get(notion)
                if anchors is None or anchors.shape != values.shape:
                    problems.append(f"{space} {notion}: correctness without matching anchors")
                elif len(anchors) and (anchors.min() < 0 or anchors.max() >= n):
                    problems.append(f"{notion}: anchor rows outside [0, {n})")
        for space, per_factor in self.probe_predicted.items():
            for factor, codes in per_factor.items():
                if factor not in self.probe_truth or codes.shape != self.probe_truth[factor].shape:
                    problems.append(f"probe {space} {factor}: predictions without matching truth")
        if problems:
            raise ValueError("per-query evidence does not fit together: " + "; ".join(problems))


def categorical_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes (n,) int, classes) of a column of categorical values (the same classes give the same codes)."""
    classes, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return codes.reshape(-1), classes


def make_evidence(labels, recall, tag_scores, triplet_anchor, triplet_correct, probe_truth=None,
                  probe_predicted=None, human_clean=None) -> Evidence:
    """An :class:`Evidence` from what :func:`mdrbench.evaluate.evaluate` computed (probe values may be any
    categorical values: they are coded here with one code book per factor)."""
    truth_codes, predicted_codes = {}, {}
    for factor, values in (probe_truth or {}).items():
        codes, classes = categorical_codes(values)
        truth_codes[factor] = codes
        lookup = {value: code for code, value in enumerate(classes)}
        for space, per_factor in (probe_predicted or {}).items():
            if factor in per_factor:
                predicted_codes.setdefault(space, {})[factor] = np.array(
                    [lookup.get(str(v), -1) for v in per_factor[factor]], dtype=np.int64)
    evidence = Evidence(np.asarray(labels, dtype=bool), np.asarray(recall, dtype=np.float64),
                        np.asarray(tag_scores, dtype=np.float64),
                        {k: np.asarray(v, dtype=np.int64) for k, v in triplet_anchor.items()},
                        triplet_correct, truth_codes, predicted_codes,
                        np.zeros(0, dtype=bool) if human_clean is None else np.asarray(human_clean, dtype=bool))
    evidence.check()
    return evidence


# ------------------------------------------------------------------------------------------- resampling
def bootstrap_weights(n: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) float64 multinomial counts: each row draws n test tracks with replacement."""
    rng = np.random.default_rng((seed, 2021))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64)


def _weighted_mean_per_anchor(weights, anchors, values) -> np.ndarray:
    """(B,) weighted mean of per-triplet ``values``, each triplet weighted by its anchor track's count."""
    n = weights.shape[1]
    total = np.bincount(anchors, weights=values.astype(np.float64), minlength=n)
    count = np.bincount(anchors, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ total) / (weights @ count)


def weighted_auc(scores, labels, weights) -> np.ndarray:
    """Macro ROC-AUC over tags for every row of resampling weights: (B,).

    For one tag, AUC = sum over (positive i, negative j) of w_i w_j [s_i > s_j] (ties count 1/2), divided by
    (sum of positive weights)(sum of negative weights): scikit-learn's ``roc_auc_score`` with
    ``sample_weight=w`` (tested). A tag with no weighted positive or negative in a resample, or with a NaN
    score column, is left out of that resample's mean.
    """
    scores, labels, weights = np.asarray(scores, float), np.asarray(labels, bool), np.asarray(weights, float)
    total, count = np.zeros(len(weights)), np.zeros(len(weights))
    for tag in range(scores.shape[1]):
        column = scores[:, tag]
        if np.isnan(column).any():
            continue
        order = np.argsort(column, kind="stable")
        sorted_scores, positive = column[order], labels[order, tag]
        w = weights[:, order]
        negative_weight = np.where(positive, 0.0, w)
        # tied scores form groups; a positive beats the negatives of lower groups and half of its own group's
        starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        group = np.cumsum(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]) - 1
        group_negatives = np.add.reduceat(negative_weight, starts, axis=1)  # (B, groups)
        below = np.cumsum(group_negatives, axis=1) - group_negatives
        beaten = below[:, group] + 0.5 * group_negatives[:, group]  # (B, n) in sorted order
        positive_weight = np.where(positive, w, 0.0)
        n_positive, n_negative = positive_weight.sum(axis=1), negative_weight.sum(axis=1)
        usable = (n_positive > 0) & (n_negative > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (positive_weight * beaten).sum(axis=1) / (n_positive * n_negative)
        total += np.where(usable, auc, 0.0)
        count += usable
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def weighted_adjusted_balanced_accuracy(truth, predicted, weights) -> np.ndarray:
    """(B,) scikit-learn's ``balanced_accuracy_score(adjusted=True)`` for every row of resampling weights:
    the mean per-class recall over the classes present, rescaled so that chance is 0 and perfect is 1."""
    classes = np.unique(truth)
    recalls, present = [], []
    for value in classes:
        member = truth == value
        hits = weights @ (member & (predicted == value)).astype(np.float64)
        size = weights @ member.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(size > 0, hits / size, 0.0))
        present.append(size > 0)
    recalls, present = np.array(recalls), np.array(present)
    n_present = present.sum(axis=0)
    balanced = recalls.sum(axis=0) / n_present
    chance = 1.0 / n_present
    with np.errstate(invalid="ignore", divide="ignore"):
        return (balanced - chance) / (1 - chance)


def probe_matrix(evidence: Evidence, weights) -> dict[str, dict[str, np.ndarray]]:
    """{space: {factor: (B,) adjusted balanced accuracy}} of the stored probe predictions."""
    return {space: {factor: weighted_adjusted_balanced_accuracy(evidence.probe_truth[factor], codes, weights)
                    for factor, codes in per_factor.items()}
            for space, per_factor in evidence.probe_predicted.items()}


def probe_selectivity(matrix: dict[str, dict[str, np.ndarray]]) -> np.ndarray | None:
    """How much better a factor is read from its own block than from the other three (adjusted balanced
    accuracy, own minus the mean of the others, mean over the factors): 0 when every block holds every factor
    alike, up to 1 when only the own block does. None without block probes."""
    factors = [c for c in CATEGORIES if c in matrix and all(c in matrix.get(b, {}) for b in CATEGORIES)]
    if not factors:
        return None
    gaps = [matrix[f][f] - np.mean([matrix[b][f] for b in CATEGORIES if b != f], axis=0) for f in factors]
    return np.mean(gaps, axis=0)


def replicates(evidence: Evidence, column: str, weights) -> np.ndarray | None:
    """The report's ``column`` recomputed on every row of resampling ``weights`` (B, n): (B,), or None when the
    evidence has nothing for it (e.g. a sub-space column of an entangled model).

    Columns: R@1, R@2, R@4, R@8 (percent, as the report), AUC, ``{space}:{notion}`` and ``{space}:overall``
    for triplet prediction (space complete or subspace), ``track``, ``human``, ``human_clean``,
    :data:`PROBE_COLUMN`.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if column.startswith("R@"):
        k = KS.index(int(column[2:]))
        values = evidence.recall[:, k]
        has = np.isfinite(values)
        return 100 * (weights @ np.where(has, values, 0.0)) / (weights @ has.astype(np.float64))
    if column == "AUC":
        return weighted_auc(evidence.tag_scores, evidence.labels, weights)
    if column == PROBE_COLUMN:
        return probe_selectivity(probe_matrix(evidence, weights)) if evidence.probe_predicted else None
    space, _, notion = column.rpartition(":")
    space = space or "complete"
    if column in ("track", "human"):
        space, notion = "complete", column
    if column == "human_clean":
        correct = evidence.triplet_correct.get("complete", {}).get("human")
        if correct is None or not evidence.human_clean.any():
            return None
        clean = evidence.human_clean
        return _weighted_mean_per_anchor(weights, evidence.triplet_anchor["human"][clean], correct[clean])
    per_notion = evidence.triplet_correct.get(space)
    if per_notion is None:
        return None
    if notion == "overall":
        parts = [_weighted_mean_per_anchor(weights, evidence.triplet_anchor[c], per_notion[c])
                 for c in CATEGORIES if c in per_notion and len(per_notion[c])]
        return np.mean(parts, axis=0) if parts else None
    if notion not in per_notion or not len(per_notion[notion]):
        return None
    return _weighted_mean_per_anchor(weights, evidence.triplet_anchor[notion], per_notion[notion])
