"""Evaluation metrics of the paper's four tasks: retrieval (R@K), auto-tagging (AUC), triplet prediction and
training time, plus single-label retrieval scores (precision@1, MAP@R) and a linear-probe disentanglement matrix.

Every function takes numpy arrays and returns plain numbers, dicts or pandas DataFrames (scikit-learn style).
Similarity is cosine similarity, ranked with ties to the lower index, from the one kernel in
:mod:`mdrbench.similarity` (which :mod:`mdrbench.search` uses too); ``unit_rows``, ``cosine_matrix`` and
``nearest_neighbors`` are re-exported here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mdrbench.corpus import CATEGORIES
from mdrbench.similarity import (  # noqa: F401  (unit_rows, cosine_matrix: re-exported for the notebooks)
    as_embeddings,
    cosine_matrix,
    inverse_norms,
    nearest_neighbors,
    neighbor_chunks,
    scaled_cosine_block,
    unit_rows,
)

# --------------------------------------------------------------------------------------------------------------
# Similarity retrieval (multi-label R@K) and single-label retrieval (precision@1, MAP@R)
# --------------------------------------------------------------------------------------------------------------


def _as_multi_hot(labels, n_rows: int, name: str = "labels") -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 2 or len(array) != n_rows:
        raise ValueError(f"{name} must be a multi-hot matrix of shape ({n_rows}, n_tags); got {array.shape}.")
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0/1 (or booleans). Fix: binarize the tag matrix.")
    return array.astype(bool)


def recall_at_k_per_query(embeddings, labels, ks: Sequence[int] = (1, 2, 4, 8),
                          chunk_size: int | None = None) -> np.ndarray:
    """Multi-label recall@K of every query (the paper's Eq. 12 before its mean over queries).

    For query q with tag set y_q and K nearest neighbours (cosine, the query itself excluded, ties by lower
    index) with tag sets y_1..y_K, the fraction of the query's tags covered: |y_q ∩ (y_1 ∪ ... ∪ y_K)| / |y_q|.
    Every row is also a database item, and the database stays whole: resampling these rows (queries) against
    the fixed database is how an interval over test queries is drawn (:mod:`mdrbench.evidence`).

    Args:
        embeddings: (n, d).
        labels: multi-hot (n, n_tags).
        ks: the K values (sorted ascending in the output).
        chunk_size: queries per chunk, see :func:`nearest_neighbors`.

    Returns:
        (n, len(ks)) float64; NaN for a query without any tag (its fraction is 0/0).
    """
    embeddings = as_embeddings(embeddings)
    labels = _as_multi_hot(labels, len(embeddings))
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive integers; got {ks}.")
    tag_counts = labels.sum(axis=1)
    has_tags = tag_counts > 0
    if not has_tags.any():
        raise ValueError("no query has any tag, so R@K is undefined. Fix: pass the multi-hot tag matrix of "
                         "the evaluated tracks (at least one tag on some track).")
    columns = np.array(ks) - 1
    per_query = np.full((len(embeddings), len(ks)), np.nan)
    for start, stop, neighbors in neighbor_chunks(embeddings, ks[-1], exclude_self=True, chunk_size=chunk_size):
        keep = np.flatnonzero(has_tags[start:stop])
        union = np.logical_or.accumulate(labels[neighbors[keep]], axis=1)[:, columns, :]  # (c, len(ks), n_tags)
        covered = (union & labels[start + keep][:, None, :]).sum(axis=2)
        per_query[start + keep] = covered / tag_counts[start + keep][:, None]
    return per_query


def recall_at_k(embeddings, labels, ks: Sequence[int] = (1, 2, 4, 8),
                chunk_size: int | None = None) -> dict[int, float]:
    """Multi-label recall@K of the paper (Eq. 12): the fraction of a query's tags covered by its K neighbours.

    For query q with tag set y_q and K nearest neighbours (cosine, the query itself excluded, ties by lower
    index) with tag sets y_1..y_K::

        R@K = mean over q of |y_q ∩ (y_1 ∪ ... ∪ y_K)| / |y_q|

    Queries without any tag are left out of the mean (their fraction is 0/0) but stay in the database as
    possible neighbours. The result is non-decreasing in K and lies in [0, 1]. The per-query fractions are
    :func:`recall_at_k_per_query`.

    Args:
        embeddings: (n, d).
        labels: multi-hot (n, n_tags).
        ks: the K values.
        chunk_size: queries per chunk, see :func:`nearest_neighbors`.

    Returns:
        {K: R@K} for every K in ``ks``.
    """
    per_query = recall_at_k_per_query(embeddings, labels, ks, chunk_size)
    ks = sorted({int(k) for k in ks})
    return {k: float(np.nanmean(per_query[:, i])) for i, k in enumerate(ks)}


def _encode_single_labels(labels, n_rows: int) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or len(array) != n_rows:
        raise ValueError(f"labels must be one label per row, shape ({n_rows},); got {array.shape}. "
                         f"For multi-hot tags use recall_at_k.")
    if pd.isna(array).any():
        raise ValueError(f"labels contain {int(pd.isna(array).sum())} missing values. Fix: drop those rows.")
    return np.unique(array, return_inverse=True)[1].reshape(-1)


def _retrieval_scores(embeddings, labels, chunk_size=None) -> tuple[float, float, int]:
    """(precision@1, MAP@R, number of scored queries) for single labels; shared by the public functions."""
    embeddings = as_embeddings(embeddings)
    codes = _encode_single_labels(labels, len(embeddings))
    relevant = np.bincount(codes)[codes] - 1  # R: other items with the same label
    scored = relevant > 0
    if not scored.any():
        raise ValueError("every label occurs only once, so no query has a relevant item. Fix: evaluate on a "
                         "set where labels repeat.")
    max_relevant = int(relevant.max())
    ranks = np.arange(1, max_relevant + 1)
    hits_at_1 = 0.0
    average_precision_sum = 0.0
    for start, stop, neighbors in neighbor_chunks(embeddings, max_relevant, chunk_size=chunk_size):
        keep = scored[start:stop]
        query_codes = codes[start:stop][keep]
        query_relevant = relevant[start:stop][keep]
        is_hit = codes[neighbors[keep]] == query_codes[:, None]
        hits_at_1 += is_hit[:, 0].sum()
        is_hit &= ranks[None, :] <= query_relevant[:, None]  # only the first R neighbours count
        precision = np.cumsum(is_hit, axis=1) / ranks[None, :]
        average_precision_sum += ((precision * is_hit).sum(axis=1) / query_relevant).sum()
    n_scored = int(scored.sum())
    return float(hits_at_1 / n_scored), float(average_precision_sum / n_scored), n_scored


def precision_at_1(embeddings, labels, chunk_size: int | None = None) -> float:
    """Fraction of queries whose nearest neighbour (cosine, self excluded) has the same label.

    Args:
        embeddings: (n, d).
        labels: (n,) one label per row (ints or strings).

    Queries whose label occurs only once are left out, as in pytorch-metric-learning's AccuracyCalculator.
    """
    return _retrieval_scores(embeddings, labels, chunk_size)[0]


def map_at_r(embeddings, labels, chunk_size: int | None = None) -> float:
    """MAP@R (Musgrave et al., "A Metric Learning Reality Check", 2020), as in pytorch-metric-learning.

    For a query with R other items of its label and its R nearest neighbours (cosine, self excluded)::

        MAP@R = mean over queries of (1/R) * sum_{i=1..R} P(i) * rel(i)

    with P(i) the precision among the first i neighbours and rel(i) = 1 when the i-th neighbour shares the
    label. Queries whose label occurs only once (R = 0) are left out.

    Args:
        embeddings: (n, d).
        labels: (n,) one label per row.
    """
    return _retrieval_scores(embeddings, labels, chunk_size)[1]


def category_retrieval_scores(embeddings, factor_labels: Mapping[str, Sequence] | pd.DataFrame,
                              subspace_slices: Mapping[str, slice] | None = None) -> pd.DataFrame:
    """Precision@1 and MAP@R with each category's single label (e.g. the synthetic corpus's clean factors).

    Args:
        embeddings: (n, d).
        factor_labels: {category: (n,) labels}, or a DataFrame with one column per category.
        subspace_slices: optional {category: slice}; when given, each category is scored in its own
            sub-space (e.g. from :func:`mdrbench.subspaces.subspace_slices`) instead of the complete space.

    Returns:
        DataFrame indexed by category with columns precision_at_1, map_at_r, n_queries.
    """
    embeddings = as_embeddings(embeddings)
    rows = {}
    for category, values in factor_labels.items():
        space = embeddings
        if subspace_slices is not None:
            if category not in subspace_slices:
                raise ValueError(f"no sub-space for category {category!r}; subspace_slices has "
                                 f"{sorted(subspace_slices)}.")
            space = embeddings[:, subspace_slices[category]]
        p_at_1, mean_ap, n_queries = _retrieval_scores(space, np.asarray(values))
        rows[category] = {"precision_at_1": p_at_1, "map_at_r": mean_ap, "n_queries": n_queries}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("category")


# --------------------------------------------------------------------------------------------------------------
# Auto-tagging: ROC-AUC and PR-AUC, tag prototypes for metric-learning models
# --------------------------------------------------------------------------------------------------------------


def tag_auc(scores, labels, categories: Sequence[str] | None = None,
            tag_names: Sequence[str] | None = None) -> dict:
    """Macro ROC-AUC and PR-AUC (average precision) over tags, overall and per category.

    A tag without positives or without negatives among the evaluated tracks has no AUC; it is skipped (left
    out of every mean) and listed in ``skipped_tags``. A tag whose score column is entirely NaN (e.g. a
    prototype that had no training tracks, see :func:`tag_prototypes`) is skipped the same way; partial NaN
    scores raise ValueError.

    Args:
        scores: (n, n_tags) higher = more likely.
        labels: multi-hot (n, n_tags).
        categories: optional (n_tags,) category of every tag, for the per-category table.
        tag_names: optional (n_tags,) names used in ``per_tag`` and ``skipped_tags`` (default: column index).

    Returns:
        dict with
        ``roc_auc`` and ``pr_auc``: macro means over the evaluated tags (floats);
        ``per_category``: DataFrame indexed by category, columns roc_auc, pr_auc, n_tags (evaluated tags);
        empty when ``categories`` is None;
        ``per_tag``: DataFrame indexed by tag, columns category, roc_auc, pr_auc, n_positives, n_negatives
        (NaN AUCs for skipped tags);
        ``skipped_tags``: list of the skipped tags' names.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (n, n_tags); got {scores.shape}.")
    labels = _as_multi_hot(labels, len(scores))
    n_tags = scores.shape[1]
    if labels.shape[1] != n_tags:
        raise ValueError(f"scores have {n_tags} tags but labels have {labels.shape[1]}.")
    for name, values in (("categories", categories), ("tag_names", tag_names)):
        if values is not None and len(values) != n_tags:
            raise ValueError(f"{name} has {len(values)} entries for {n_tags} tags; give one per tag.")
    names = list(range(n_tags)) if tag_names is None else list(tag_names)
    all_nan = np.isnan(scores).all(axis=0)
    partly_nan = np.isnan(scores).any(axis=0) & ~all_nan
    if partly_nan.any():
        bad = [names[i] for i in np.nonzero(partly_nan)[0]]
        raise ValueError(f"scores of tags {bad} contain NaN for some tracks. Fix: check the model outputs "
                         f"(non-finite embeddings) before computing AUC.")
    n_positives = labels.sum(axis=0)
    n_negatives = len(labels) - n_positives
    rows = []
    for tag in range(n_tags):
        evaluable = n_positives[tag] > 0 and n_negatives[tag] > 0 and not all_nan[tag]
        rows.append({
            "tag": names[tag],
            "category": None if categories is None else categories[tag],
            "roc_auc": roc_auc_score(labels[:, tag], scores[:, tag]) if evaluable else np.nan,
            "pr_auc": average_precision_score(labels[:, tag], scores[:, tag]) if evaluable else np.nan,
            "n_positives": int(n_positives[tag]),
            "n_negatives": int(n_negatives[tag]),
        })
    per_tag = pd.DataFrame(rows).set_index("tag")
    evaluated = per_tag.dropna(subset=["roc_auc"])
    if evaluated.empty:
        raise ValueError("no tag has both positive and negative tracks in the evaluation set, so AUC is "
                         "undefined. Fix: evaluate on more tracks.")
    skipped = [name for name, auc in zip(names, per_tag["roc_auc"], strict=True) if np.isnan(auc)]
    if categories is None:
        per_category = pd.DataFrame(columns=["roc_auc", "pr_auc", "n_tags"]).rename_axis("category")
    else:
        order = list(dict.fromkeys(categories))
        per_category = (evaluated.groupby("category")
                        .agg(roc_auc=("roc_auc", "mean"), pr_auc=("pr_auc", "mean"), n_tags=("roc_auc", "size"))
                        .reindex([c for c in order if c in set(evaluated["category"])]))
    return {
        "roc_auc": float(evaluated["roc_auc"].mean()),
        "pr_auc": float(evaluated["pr_auc"].mean()),
        "per_category": per_category,
        "per_tag": per_tag,
        "skipped_tags": skipped,
    }


def tag_prototypes(embeddings, labels, normalize: bool = True) -> np.ndarray:
    """Prototype of every tag: the mean (training) embedding of the tracks that carry it.

    This is how the paper scores tags with triplet models, which have no classifier. With ``normalize`` each
    embedding is L2-normalized before averaging (zero vectors stay zero), so that the prototype is the mean
    direction, consistent with cosine scoring.

    Args:
        embeddings: (n, d).
        labels: multi-hot (n, n_tags).

    Returns:
        float32 (n_tags, d). A tag carried by no track gets a NaN row, so that its scores are NaN and
        :func:`tag_auc` reports it as skipped rather than inventing a score.
    """
    embeddings = as_embeddings(embeddings)
    labels = _as_multi_hot(labels, len(embeddings))
    if normalize:
        embeddings = embeddings * inverse_norms(embeddings)[:, None]
    counts = labels.sum(axis=0)
    sums = labels.T.astype(np.float32) @ embeddings
    prototypes = np.full_like(sums, np.nan)
    np.divide(sums, counts[:, None], out=prototypes, where=counts[:, None] > 0)
    return prototypes


def prototype_scores(embeddings, prototypes, tag_categories: Sequence[str] | None = None,
                     subspace_slices: Mapping[str, slice] | None = None) -> np.ndarray:
    """Cosine similarity of every embedding to every tag prototype: the tag scores of triplet models.

    Args:
        embeddings: (n, d).
        prototypes: (n_tags, d), e.g. from :func:`tag_prototypes`; NaN rows give NaN score columns.
        tag_categories: optional (n_tags,) category per tag; together with ``subspace_slices`` each tag is
            scored in its category's sub-space (the disentangled reading).
        subspace_slices: optional {category: slice}.

    Returns:
        float32 (n, n_tags); a zero-norm embedding or prototype scores 0.
    """
    embeddings = as_embeddings(embeddings)
    prototypes = np.asarray(prototypes, dtype=np.float32)
    if prototypes.ndim != 2 or prototypes.shape[1] != embeddings.shape[1]:
        raise ValueError(f"prototypes must have shape (n_tags, {embeddings.shape[1]}); got {prototypes.shape}.")
    if (tag_categories is None) != (subspace_slices is None):
        raise ValueError("give both tag_categories and subspace_slices (sub-space scores) or neither.")

    def cosine(a, b):
        with np.errstate(invalid="ignore"):
            return scaled_cosine_block(a, inverse_norms(a), b, inverse_norms(b))

    if tag_categories is None:
        return cosine(embeddings, prototypes)
    if len(tag_categories) != len(prototypes):
        raise ValueError(f"tag_categories has {len(tag_categories)} entries for {len(prototypes)} prototypes.")
    tag_categories = np.asarray(tag_categories)
    scores = np.empty((len(embeddings), len(prototypes)), dtype=np.float32)
    for category in np.unique(tag_categories):
        if category not in subspace_slices:
            raise ValueError(f"no sub-space for category {category!r}; subspace_slices has {sorted(subspace_slices)}.")
        columns = np.nonzero(tag_categories == category)[0]
        block = subspace_slices[category]
        scores[:, columns] = cosine(embeddings[:, block], prototypes[columns][:, block])
    return scores


# --------------------------------------------------------------------------------------------------------------
# Triplet prediction
# --------------------------------------------------------------------------------------------------------------


def sample_tag_triplets(labels, tag_categories: Sequence[str], n_per_category: int,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """Tag triplets per category, as in the paper: anchor and positive carry tag z, the negative does not.

    For each category, each triplet draws its tag z uniformly among that category's *eligible* tags (at
    least 2 tracks carry it and at least 1 does not), then two distinct carriers (anchor, positive) and one
    non-carrier (negative) uniformly. A category without any eligible tag gets an empty (0, 3) array and a
    warning, so the keys are always the categories present in ``tag_categories``.

    Args:
        labels: multi-hot (n, n_tags) of the evaluated tracks (e.g. the test split).
        tag_categories: (n_tags,) category per tag.
        n_per_category: triplets per category (the paper: 40,000).
        seed: random seed.

    Returns:
        {category: int64 (n_per_category, 3)} of row indices into ``labels`` (anchor, positive, negative).
    """
    labels = np.asarray(labels)
    labels = _as_multi_hot(labels, len(labels))
    tag_categories = np.asarray(tag_categories)
    if len(tag_categories) != labels.shape[1]:
        raise ValueError(f"tag_categories has {len(tag_categories)} entries for {labels.shape[1]} tags.")
    if n_per_category < 0:
        raise ValueError(f"n_per_category must be >= 0; got {n_per_category}.")
    rng = np.random.default_rng(seed)
    counts = labels.sum(axis=0)
    eligible = (counts >= 2) & (counts < len(labels))
    triplets = {}
    for category in dict.fromkeys(tag_categories.tolist()):
        tags = np.nonzero((tag_categories == category) & eligible)[0]
        if tags.size == 0:
            warnings.warn(f"category {category!r} has no tag with >= 2 positive and >= 1 negative tracks; "
                          f"it gets no triplets.", stacklevel=2)
            triplets[category] = np.zeros((0, 3), dtype=np.int64)
            continue
        drawn_tags = rng.choice(tags, size=n_per_category)
        result = np.empty((n_per_category, 3), dtype=np.int64)
        for tag in np.unique(drawn_tags):
            rows = np.nonzero(drawn_tags == tag)[0]
            positives = np.nonzero(labels[:, tag])[0]
            negatives = np.nonzero(~labels[:, tag])[0]
            anchor = rng.integers(len(positives), size=rows.size)
            positive = rng.integers(len(positives) - 1, size=rows.size)
            positive += positive >= anchor  # distinct from the anchor, still uniform
            result[rows, 0] = positives[anchor]
            result[rows, 1] = positives[positive]
            result[rows, 2] = negatives[rng.integers(len(negatives), size=rows.size)]
        triplets[category] = result
    return triplets


def sample_track_triplets(n_tracks: int, n: int, seed: int = 0) -> np.ndarray:
    """Track triplets: (track a, track a, another track b), uniformly.

    Anchor and positive must be two *different excerpts* of track a, so these indices are read by
    :func:`triplet_accuracy_table` with the positive taken from ``second_excerpt_embeddings``.

    Returns:
        int64 (n, 3) of track indices (a, a, b) with b != a.
    """
    if n_tracks < 2:
        raise ValueError(f"track triplets need at least 2 tracks; got {n_tracks}.")
    rng = np.random.default_rng(seed)
    anchor = rng.integers(n_tracks, size=n)
    negative = rng.integers(n_tracks - 1, size=n)
    negative += negative >= anchor
    return np.stack([anchor, anchor, negative], axis=1).astype(np.int64)


def triplet_accuracy(anchor, positive, negative, mask=None) -> float:
    """Fraction of triplets with cos(anchor, positive) > cos(anchor, negative), optionally inside a mask.

    The comparison is strict: a tie counts as wrong (a model that maps everything to one point scores 0, not
    0.5 or 1). Zero-norm vectors have cosine 0.

    Args:
        anchor, positive, negative: (m, d).
        mask: optional (d,) weights (0/1) applied to every vector before the cosine, e.g. a row of
            :func:`mdrbench.subspaces.subspace_masks`.

    Returns:
        accuracy in [0, 1]; NaN when m = 0.
    """
    correct = triplet_correct(anchor, positive, negative, mask)
    return float(correct.mean()) if len(correct) else float("nan")


def triplet_correct(anchor, positive, negative, mask=None) -> np.ndarray:
    """Per triplet, whether cos(anchor, positive) > cos(anchor, negative): (m,) bool (see
    :func:`triplet_accuracy`, its mean)."""
    vectors = [as_embeddings(x, name) for x, name in ((anchor, "anchor"), (positive, "positive"),
                                                      (negative, "negative"))]
    if len({v.shape for v in vectors}) != 1:
        raise ValueError(f"anchor, positive and negative must have the same shape; got {[v.shape for v in vectors]}.")
    if mask is not None:
        mask = np.asarray(mask, dtype=np.float32)
        if mask.shape != (vectors[0].shape[1],):
            raise ValueError(f"mask must have shape ({vectors[0].shape[1]},); got {mask.shape}.")
        vectors = [v * mask for v in vectors]
    a, p, n = (v * inverse_norms(v)[:, None] for v in vectors)
    return (a * p).sum(axis=1) > (a * n).sum(axis=1)


def triplet_correctness(embeddings, triplets: Mapping[str, np.ndarray],
                        subspace_slices: Mapping[str, slice] | None = None,
                        second_excerpt_embeddings=None) -> dict[str, dict[str, np.ndarray]]:
    """Per triplet, whether it is predicted right: {space: {notion: (m,) bool}}, the evidence behind
    :func:`triplet_accuracy_table` (same arguments; a notion without a sub-space is absent from "subspace")."""
    embeddings = as_embeddings(embeddings)
    second = None
    if second_excerpt_embeddings is not None:
        second = as_embeddings(second_excerpt_embeddings, "second_excerpt_embeddings")
        if second.shape != embeddings.shape:
            raise ValueError(f"second_excerpt_embeddings has shape {second.shape}, embeddings {embeddings.shape}; "
                             f"give the second excerpt of the same tracks in the same order.")
    if "track" in triplets and second is None:
        raise ValueError("the 'track' notion needs second_excerpt_embeddings: anchor and positive are two excerpts "
                         "of the same track. Fix: embed a second excerpt of every track and pass it.")
    spaces = {"complete": None} if subspace_slices is None else {"complete": None, "subspace": subspace_slices}
    correctness = {}
    for space_name, slices in spaces.items():
        correctness[space_name] = {}
        for notion, indices in triplets.items():
            indices = np.asarray(indices)
            if indices.ndim != 2 or indices.shape[1] != 3:
                raise ValueError(f"triplets[{notion!r}] must have shape (m, 3); got {indices.shape}.")
            if indices.size and (indices.min() < 0 or indices.max() >= len(embeddings)):
                raise ValueError(f"triplets[{notion!r}] has indices outside [0, {len(embeddings)}).")
            if slices is not None and notion not in slices:
                continue
            positives = second if notion == "track" else embeddings
            block = slice(None) if slices is None else slices[notion]
            correctness[space_name][notion] = triplet_correct(embeddings[indices[:, 0], block],
                                                              positives[indices[:, 1], block],
                                                              embeddings[indices[:, 2], block])
    return correctness


def triplet_accuracy_table(embeddings, triplets: Mapping[str, np.ndarray],
                           subspace_slices: Mapping[str, slice] | None = None,
                           second_excerpt_embeddings=None) -> pd.DataFrame:
    """Triplet prediction accuracy per notion, in the complete space and in each notion's own sub-space.

    Args:
        embeddings: (n, d), one embedding per track (excerpt).
        triplets: {notion: (m, 3) row indices (anchor, positive, negative)}, e.g. from
            :func:`sample_tag_triplets` plus ``{"track": sample_track_triplets(n, m)}``.
        subspace_slices: optional {category: slice}; adds a "subspace" row where each category's triplets
            are scored in that category's sub-space only. The "track" notion (and any notion without a
            slice) is scored in the complete space only (NaN in the "subspace" row), as in the paper.
        second_excerpt_embeddings: (n, d), a second excerpt of every track; required for the "track" notion,
            whose positives are read from it (anchor and negative from ``embeddings``).

    Returns:
        DataFrame, rows "complete" (and "subspace"), columns the notions in the order given plus "overall":
        the mean over the categories of :data:`mdrbench.corpus.CATEGORIES` present (not "track"), like the
        paper's tables. A category without triplets (an empty array, see :func:`sample_tag_triplets`)
        scores NaN and is left out of "overall".
    """
    correctness = triplet_correctness(embeddings, triplets, subspace_slices, second_excerpt_embeddings)
    return triplet_table_from_correctness(correctness, list(triplets))


def triplet_table_from_correctness(correctness: Mapping[str, Mapping[str, np.ndarray]],
                                   notions: Sequence[str]) -> pd.DataFrame:
    """The table of :func:`triplet_accuracy_table` from :func:`triplet_correctness`'s output."""
    table = {}
    for space_name, per_notion in correctness.items():
        row = {notion: (float(per_notion[notion].mean()) if notion in per_notion and len(per_notion[notion])
                        else np.nan) for notion in notions}
        scored = [row[c] for c in CATEGORIES if c in row and not np.isnan(row[c])]
        row["overall"] = float(np.mean(scored)) if scored else np.nan
        table[space_name] = row
    return pd.DataFrame.from_dict(table, orient="index")


# --------------------------------------------------------------------------------------------------------------
# Training time and disentanglement
# --------------------------------------------------------------------------------------------------------------


def training_time_ratio(epochs_to_convergence: Mapping[str, int] | None = None,
                        seconds_per_epoch: Mapping[str, float] | None = None,
                        total_seconds: Mapping[str, float] | None = None) -> dict[str, float]:
    """Training time of every model relative to the fastest, as in the paper.

    Give either ``epochs_to_convergence`` and ``seconds_per_epoch`` (time = epochs x seconds per epoch, the
    paper's definition, which removes the noise of a shared machine from the epoch count) or
    ``total_seconds`` directly (measured wall-clock totals).

    Returns:
        {model name: time / fastest time}; the fastest model gets 1.0.
    """
    if total_seconds is not None:
        if epochs_to_convergence is not None or seconds_per_epoch is not None:
            raise ValueError("give either total_seconds or epochs_to_convergence with seconds_per_epoch, not both.")
        totals = {name: float(seconds) for name, seconds in total_seconds.items()}
    else:
        if epochs_to_convergence is None or seconds_per_epoch is None:
            raise ValueError("give epochs_to_convergence and seconds_per_epoch, or total_seconds.")
        if set(epochs_to_convergence) != set(seconds_per_epoch):
            raise ValueError(f"models differ: epochs for {sorted(epochs_to_convergence)}, seconds for "
                             f"{sorted(seconds_per_epoch)}. Fix: give both for the same models.")
        totals = {name: float(epochs_to_convergence[name]) * float(seconds_per_epoch[name])
                  for name in epochs_to_convergence}
    if not totals:
        raise ValueError("no models given.")
    bad = {name: t for name, t in totals.items() if not (np.isfinite(t) and t > 0)}
    if bad:
        raise ValueError(f"training times must be positive and finite; got {bad}.")
    fastest = min(totals.values())
    return {name: t / fastest for name, t in totals.items()}


def probe_predictions(embeddings, factors: pd.DataFrame, subspace_slices: Mapping[str, slice], train_mask,
                      seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """The linear probes of :func:`disentanglement_matrix`, as predictions on the held-out rows.

    Returns {space: {factor: (n_held_out,) predicted values}} (spaces: the sub-spaces then "complete"), NaN-free
    rows only; a factor with fewer than two classes among the fitted rows, or no held-out row, is absent.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    embeddings = as_embeddings(embeddings)
    train_mask = np.asarray(train_mask)
    if train_mask.dtype != bool or train_mask.shape != (len(embeddings),):
        raise ValueError(f"train_mask must be a boolean array of shape ({len(embeddings)},); got "
                         f"{train_mask.dtype} {train_mask.shape}.")
    if len(factors) != len(embeddings):
        raise ValueError(f"factors has {len(factors)} rows for {len(embeddings)} embeddings.")
    if train_mask.all() or not train_mask.any():
        raise ValueError("train_mask must select some rows for fitting and leave some held out.")
    spaces = dict(subspace_slices) | {"complete": slice(None)}
    predictions = {space_name: {} for space_name in spaces}
    for column in factors.columns:
        values = factors[column].to_numpy()
        present = ~pd.isna(values)
        fit_rows, test_rows = train_mask & present, ~train_mask & present
        if len(np.unique(values[fit_rows])) < 2 or not test_rows.any():
            continue  # nothing to learn or to score
        for space_name, block in spaces.items():
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
            # These small fits run 10-30x slower with multi-threaded BLAS (thread start-up dominates).
            with threadpool_limits(limits=1, user_api="blas"):
                probe.fit(embeddings[fit_rows][:, block], values[fit_rows])
            predictions[space_name][column] = probe.predict(embeddings[test_rows][:, block])
    return predictions


def disentanglement_matrix(embeddings, factors: pd.DataFrame, subspace_slices: Mapping[str, slice],
                           train_mask, seed: int = 0, adjusted: bool = True, predictions=None) -> pd.DataFrame:
    """How much each sub-space tells about each clean factor: a linear-probe matrix.

    For every sub-space (and the complete space) and every factor column, a standardized logistic
    regression is fit on the ``train_mask`` rows to predict the factor from that sub-space only, and scored
    on the other rows with balanced accuracy. With ``adjusted`` (default) chance is rescaled to 0 and perfect
    to 1 (sklearn's ``balanced_accuracy_score(adjusted=True)``), so columns with different numbers of classes
    are comparable. A disentangled embedding gives a near-diagonal matrix.

    Args:
        embeddings: (n, d).
        factors: DataFrame with n rows, one column per category of clean factor values; rows with a missing
            value are left out of that column's probe.
        subspace_slices: {sub-space name: slice}, e.g. :func:`mdrbench.subspaces.subspace_slices`.
        train_mask: (n,) bool, True for the rows the probes are fit on; the rest are held out.
        seed: random seed of the probes.
        predictions: the output of :func:`probe_predictions` for these arguments, when already computed.

    Returns:
        DataFrame, rows the sub-spaces then "complete", columns the factor columns.
    """
    from sklearn.metrics import balanced_accuracy_score

    if predictions is None:
        predictions = probe_predictions(embeddings, factors, subspace_slices, train_mask, seed)
    train_mask = np.asarray(train_mask)
    matrix = pd.DataFrame(index=list(predictions), columns=list(factors.columns), dtype=float)
    for column in factors.columns:
        values = factors[column].to_numpy()
        truth = values[~train_mask & ~pd.isna(values)]
        for space_name, per_factor in predictions.items():
            if column not in per_factor:
                continue  # nothing to learn or to score: leave NaN
            with warnings.catch_warnings():  # classes absent from the held-out rows are fine
                warnings.simplefilter("ignore", UserWarning)
                matrix.loc[space_name, column] = balanced_accuracy_score(truth, per_factor[column],
                                                                         adjusted=adjusted)
    return matrix


# --------------------------------------------------------------------------------------------------------------
# Association between two categorical columns
# --------------------------------------------------------------------------------------------------------------


def _contingency(first, second) -> np.ndarray:
    """Counts of every (value of first, value of second) pair, (n_values_first, n_values_second)."""
    first, second = np.asarray(first), np.asarray(second)
    if first.ndim != 1 or first.shape != second.shape or len(first) == 0:
        raise ValueError(f"first and second must be two non-empty columns of one length, got shapes {first.shape} "
                         f"and {second.shape}.")
    table = pd.crosstab(pd.Series(first, name="first"), pd.Series(second, name="second")).to_numpy()
    if min(table.shape) < 2:
        raise ValueError(f"Cramér's V needs at least two values in each column, got a {table.shape} table.")
    return table.astype(np.float64)


def cramers_v(first, second) -> float:
    """Cramér's V of two categorical columns of one length (n,): 0 for no association, 1 when one determines the other.

    V = sqrt(chi2 / (n (k - 1))), with chi2 the Pearson statistic of their (r, c) contingency table (no continuity
    correction) and k = min(r, c); the same as ``scipy.stats.contingency.association(table, method="cramer")``.
    On a finite sample V is above 0 even for independent columns: compare it with
    :func:`cramers_v_if_independent`.
    """
    table = _contingency(first, second)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))


def cramers_v_if_independent(first, second) -> float:
    """The typical Cramér's V of two independent columns with the same numbers of values and rows (n,).

    Under independence chi2 is about its degrees of freedom (r - 1)(c - 1), so V is about
    sqrt((r - 1)(c - 1) / (n (k - 1))): the noise floor a measured :func:`cramers_v` should be read against.
    """
    table = _contingency(first, second)
    degrees_of_freedom = (table.shape[0] - 1) * (table.shape[1] - 1)
    return float(np.sqrt(degrees_of_freedom / (table.sum() * (min(table.shape) - 1))))
