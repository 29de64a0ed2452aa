"""The paper's losses: triplet (basic, disentangled, track-regularized), proxy and classification.

One class per loss over a small shared base, in the style of pytorch-metric-learning, written with
``keras.ops`` so that the same code runs on every Keras backend (mdrbench uses torch).

Every loss is a ``keras.layers.Layer`` because the proxy and classification losses own learnable weights
(one proxy or one classifier row per tag): as layers they are tracked, optimized and saved with the model
that holds them. The fixed sub-space masks (:mod:`mdrbench.subspaces`) are a constant, not a weight.

* :class:`TripletLoss`: mean over the batch of max(0, D(a∘m, n∘m) - D(a∘m, p∘m) + margin);
* :class:`TrackRegularizedTripletLoss`: that tag triplet loss + track_weight x the same loss on track triplets;
* :class:`ProxyLoss`: BCE of sigmoid(f/||f|| · p_z), summed over tags, mean over the batch;
* :class:`ClassificationLoss`: BCE of sigmoid(c_z · g(f)), g = L2 normalization or identity;
* :class:`DisentangledClassificationLoss`: BCE where each tag is classified from its category's block only.

D is the cosine similarity. "Disentangled" means that a term about a tag of category s only sees (and
only sends gradients into) the dimensions of sub-space s.

Why the disentangled proxy and the disentangled classifier share one computation: the paper's proxy
``((f∘m_s)/||f∘m_s||) · (p_z∘m_s)`` and its classifier with four normalized 64-unit sub-heads, each
classifying only its own category's tags, are the same function once the four sub-heads are concatenated
into one 256-d "embedding": normalize every block on its own, then one matrix product with the masked
weights (the masks are disjoint, so each tag's logit only sums over its own block).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from mdrbench.corpus import CATEGORIES
from mdrbench.subspaces import subspace_masks

EPSILON = 1e-12  # as torch.nn.functional.normalize: norms below it are clamped, so zero vectors stay finite


# --------------------------------------------------------------------------------------------------------
# Small pure functions


def l2_normalize(x, axis: int = -1, epsilon: float = EPSILON):
    """x / max(||x||, epsilon) along ``axis``; finite value and gradient at x = 0."""
    x = ops.convert_to_tensor(x)
    squared_norm = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared_norm, epsilon**2))


def cosine_similarity(a, b, mask=None, epsilon: float = EPSILON):
    """Cosine similarity of the rows of ``a`` and ``b``, shapes (..., D) -> (...).

    With ``mask`` (broadcastable to (..., D), 0/1), both vectors are masked first, so the cosine is taken
    inside the sub-space only: the dot product of the masked vectors normalized within the sub-space.
    """
    if mask is not None:
        a, b = a * mask, b * mask
    return ops.sum(l2_normalize(a, epsilon=epsilon) * l2_normalize(b, epsilon=epsilon), axis=-1)


def blockwise_l2_normalize(x, masks, epsilon: float = EPSILON):
    """Normalize each sub-space of ``x`` (B, D) on its own; ``masks`` (S, D) are disjoint 0/1 rows.

    Equals the sum over s of (x∘m_s)/||x∘m_s||, computed with two small matrix products instead of S slices.
    """
    x = ops.convert_to_tensor(x)
    block_squared_norms = ops.matmul(ops.square(x), ops.transpose(masks))  # (B, S)
    inverse_norms = ops.rsqrt(ops.maximum(block_squared_norms, epsilon**2))
    return x * ops.matmul(inverse_norms, masks)  # (B, D): every dim scaled by its block's inverse norm


def triplet_margin_loss(anchor, positive, negative, margin: float = 0.1, mask=None):
    """mean_b max(0, cos(a∘m, n∘m) - cos(a∘m, p∘m) + margin); ``mask`` (B, D), (D,) or None (whole space)."""
    similarity_positive = cosine_similarity(anchor, positive, mask)
    similarity_negative = cosine_similarity(anchor, negative, mask)
    return ops.mean(ops.relu(similarity_negative - similarity_positive + margin))


def batch_all_triplet_loss(anchors, candidates, positive_mask, negative_mask, margin: float = 0.1, masks=None):
    """In-batch mining: every valid (positive, negative) pair of each anchor, averaged over the non-zero terms.

    With s[i, j] = cos(a_i∘m_i, c_j∘m_i), the loss is
    sum_{i,j,k} P[i, j] N[i, k] max(0, s[i, k] - s[i, j] + margin) / #{non-zero terms}
    (Hermans et al. 2017's "batch all"; pytorch-metric-learning's TripletMarginMiner(type_of_triplets="all")
    with TripletMarginLoss and its AvgNonZeroReducer). Averaging over the non-zero terms keeps the gradient's
    size as the easy triplets stop counting.

    Args:
        anchors: (B, D). candidates: (N, D), every excerpt of the batch.
        positive_mask, negative_mask: (B, N) 0/1: which candidates are positives / negatives of each anchor.
        masks: (B, D) sub-space mask of each anchor's triplets, or None for the whole space.

    Memory is B x N x N terms (64 x 192 x 192 for a default triplet batch).
    """
    anchors, candidates = ops.convert_to_tensor(anchors), ops.convert_to_tensor(candidates)
    if masks is None:
        similarity = ops.matmul(l2_normalize(anchors), ops.transpose(l2_normalize(candidates)))
    else:
        masked_anchors = l2_normalize(anchors * masks)
        # ||c_j ∘ m_i|| for every (anchor i, candidate j): (B, N)
        candidate_norms = ops.sqrt(ops.maximum(ops.matmul(masks, ops.transpose(ops.square(candidates))), EPSILON**2))
        similarity = ops.matmul(masked_anchors, ops.transpose(candidates)) / candidate_norms
    positive_mask = ops.cast(positive_mask, similarity.dtype)
    negative_mask = ops.cast(negative_mask, similarity.dtype)
    # terms[i, j, k] = relu(s[i, k] - s[i, j] + margin) for positive j and negative k
    terms = ops.relu(ops.expand_dims(similarity, 1) - ops.expand_dims(similarity, 2) + margin)
    terms = terms * ops.expand_dims(positive_mask, 2) * ops.expand_dims(negative_mask, 1)
    active = ops.sum(ops.cast(terms > 0, terms.dtype))
    return ops.sum(terms) / ops.maximum(active, 1.0)


def multilabel_bce_from_logits(labels, logits):
    """Binary cross-entropy summed over tags, mean over the batch; labels (B, n_tags) multi-hot.

    softplus(x) - x y is the numerically stable form of -[y log σ(x) + (1 - y) log(1 - σ(x))].
    """
    logits = ops.convert_to_tensor(logits)
    labels = ops.cast(labels, logits.dtype)
    return ops.mean(ops.sum(ops.softplus(logits) - logits * labels, axis=-1))


# --------------------------------------------------------------------------------------------------------
# Base class


def _category_indices(tag_categories) -> tuple[int, ...] | None:
    """Validate tag categories; accept indices into CATEGORIES or category names."""
    if tag_categories is None:
        return None
    indices = []
    for position, category in enumerate(tag_categories):
        if isinstance(category, str):
            if category not in CATEGORIES:
                raise ValueError(f"tag {position} has unknown category {category!r}; use one of {list(CATEGORIES)}.")
            category = CATEGORIES.index(category)
        category = int(category)
        if not 0 <= category < len(CATEGORIES):
            raise ValueError(f"tag {position} has category index {category}; indices go from 0 to "
                             f"{len(CATEGORIES) - 1} ({', '.join(CATEGORIES)}).")
        indices.append(category)
    if not indices:
        raise ValueError("tag_categories is empty: give the category of every tag of the vocabulary.")
    return tuple(indices)


class EmbeddingLoss(keras.layers.Layer):
    """Shared base: tag categories, embedding size, the fixed sub-space masks, serialization.

    Args:
        tag_categories: category per tag (index into :data:`mdrbench.CATEGORIES`, or its name), length
            n_tags. None is allowed for losses that never look at tags (the triplet losses).
        embedding_dim: D, divisible by the number of categories.
        disentangled: whether terms are computed inside the sub-space of their category.
    """

    def __init__(self, tag_categories: Sequence[int] | None = None, embedding_dim: int = 256,
                 disentangled: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.tag_categories = _category_indices(tag_categories)
        self.embedding_dim = int(embedding_dim)
        self.disentangled = bool(disentangled)
        # (n_categories, D) numpy constant: fixed by design, so neither trained nor saved as a weight
        self.masks = subspace_masks(self.embedding_dim)

    @property
    def n_tags(self) -> int | None:
        return None if self.tag_categories is None else len(self.tag_categories)

    def tag_masks(self) -> np.ndarray:
        """(n_tags, D): the mask of each tag's category."""
        return self.masks[np.asarray(self.tag_categories)]

    def tag_scores(self, embeddings):
        """Auto-tagging scores (B, n_tags), or None when the loss has no tag head (see subclasses)."""
        return None

    def _check_embeddings(self, embeddings, name: str = "embeddings"):
        if embeddings.shape[-1] != self.embedding_dim:
            raise ValueError(f"{name} have {embeddings.shape[-1]} dimensions but the loss was built for "
                             f"embedding_dim={self.embedding_dim}; pass the model's embedding size.")

    def compute_output_shape(self, *args, **kwargs):
        return ()

    def get_config(self):
        config = super().get_config()
        config.update(tag_categories=None if self.tag_categories is None else list(self.tag_categories),
                      embedding_dim=self.embedding_dim, disentangled=self.disentangled)
        return config


# --------------------------------------------------------------------------------------------------------
# Triplet losses


@keras.saving.register_keras_serializable(package="mdrbench")
class TripletLoss(EmbeddingLoss):
    """Triplet margin loss with cosine similarity, basic or disentangled (paper, Sec. "Triplet").

    ``call(anchor, positive, negative, categories=None)``: embeddings (B, D); ``categories`` (B,) int, the
    category of the tag each triplet was drawn for. Disentangled: each triplet is compared inside its
    category's sub-space (categories are then required); basic: on the whole space.
    Triplet models have no tag head: at evaluation time tags are scored against prototypes.
    """

    def __init__(self, tag_categories: Sequence[int] | None = None, embedding_dim: int = 256,
                 disentangled: bool = False, margin: float = 0.1, **kwargs):
        super().__init__(tag_categories, embedding_dim, disentangled, **kwargs)
        self.margin = float(margin)

    def triplet_masks(self, categories):
        """(B, D) masks of the triplets' categories, or None for the whole space (basic triplet loss)."""
        if not self.disentangled:
            return None
        if categories is None:
            raise ValueError("a disentangled triplet loss compares each triplet inside its tag's sub-space, so it "
                             "needs `categories` (B,), the category of the tag each triplet was drawn for. "
                             "Fix: pass categories, or build the loss with disentangled=False.")
        categories = ops.cast(ops.reshape(categories, (-1,)), "int32")
        return ops.take(ops.convert_to_tensor(self.masks), categories, axis=0)

    def call(self, anchor, positive, negative, categories=None):
        for name, tensor in (("anchor", anchor), ("positive", positive), ("negative", negative)):
            self._check_embeddings(tensor, name)
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.triplet_masks(categories))

    def batch_all(self, embeddings, tags, labels, categories=None, tracks=None):
        """The tag-triplet loss with in-batch mining (:func:`batch_all_triplet_loss`).

        Item b's anchor is excerpt ``embeddings[b, 0]`` with its drawn tag ``tags[b]``; its positives are every
        other excerpt of the batch that carries that tag, its negatives every excerpt that does not. So one
        batch of B triplets (3B excerpts, as the paper's sampler draws them) gives B x ~(3B)^2 comparisons
        instead of B.

        Args:
            embeddings: (B, G, D), G excerpts per item, excerpt 0 the anchor.
            tags: (B,) int, the tag drawn for each item. labels: (B, G, n_tags) multi-hot of every excerpt.
            categories: (B,) int, the drawn tags' categories (required when disentangled).
            tracks: unused here (see :class:`TrackRegularizedTripletLoss`).
        """
        self._check_embeddings(embeddings)
        group = embeddings.shape[1]
        candidates = ops.reshape(embeddings, (-1, embeddings.shape[-1]))  # (B G, D), item-major
        flat_labels = ops.reshape(ops.convert_to_tensor(labels), (-1, labels.shape[-1]))  # (B G, n_tags)
        carries = ops.transpose(ops.take(flat_labels, ops.cast(tags, "int32"), axis=1))  # (B, B G)
        n_items = embeddings.shape[0]
        own = ops.expand_dims(ops.arange(n_items) * group, 1) == ops.expand_dims(ops.arange(n_items * group), 0)
        positives = ops.cast(carries, "float32") * (1.0 - ops.cast(own, "float32"))
        return batch_all_triplet_loss(embeddings[:, 0], candidates, positives, 1.0 - ops.cast(carries, "float32"),
                                      self.margin, self.triplet_masks(categories))

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package="mdrbench")
class TrackRegularizedTripletLoss(TripletLoss):
    """Tag triplet loss + ``track_weight`` x track triplet loss (ICASSP 2020: weight 0.5).

    Track triplets (anchor and positive: two excerpts of one track; negative: another track) are compared
    on the whole space, never masked, whatever ``disentangled`` says about the tag triplets.
    ``call(anchor, positive, negative, categories, track_anchor, track_positive, track_negative)``.
    """

    def __init__(self, tag_categories: Sequence[int] | None = None, embedding_dim: int = 256,
                 disentangled: bool = False, margin: float = 0.1, track_weight: float = 0.5, **kwargs):
        super().__init__(tag_categories, embedding_dim, disentangled, margin, **kwargs)
        self.track_weight = float(track_weight)

    def call(self, anchor, positive, negative, categories=None, track_anchor=None, track_positive=None,
             track_negative=None):
        tag_loss = super().call(anchor, positive, negative, categories)
        if track_anchor is None or track_positive is None or track_negative is None:
            raise ValueError("TrackRegularizedTripletLoss needs track_anchor, track_positive and track_negative; "
                             "use TripletLoss for tag triplets alone.")
        for name, tensor in (("track_anchor", track_anchor), ("track_positive", track_positive),
                             ("track_negative", track_negative)):
            self._check_embeddings(tensor, name)
        track_loss = triplet_margin_loss(track_anchor, track_positive, track_negative, self.margin, mask=None)
        return tag_loss + self.track_weight * track_loss

    def batch_all(self, embeddings, tags, labels, categories=None, tracks=None):
        """In-batch mining for both terms: the tag term as :meth:`TripletLoss.batch_all` over all six excerpts
        of every item; the track term with anchor ``embeddings[b, 3]``, positives the other excerpts of its
        track, negatives every excerpt of another track, on the whole space. ``tracks`` (B, 6) int."""
        if tracks is None:
            raise ValueError("the track term of in-batch mining needs `tracks` (B, 6): the track of every excerpt.")
        tag_loss = super().batch_all(embeddings, tags, labels, categories)
        group = embeddings.shape[1]
        candidates = ops.reshape(embeddings, (-1, embeddings.shape[-1]))
        flat_tracks = ops.reshape(ops.convert_to_tensor(tracks), (-1,))
        same = ops.cast(ops.expand_dims(tracks[:, 3], 1) == ops.expand_dims(flat_tracks, 0), "float32")  # (B, B G)
        n_items = embeddings.shape[0]
        own = ops.cast(ops.expand_dims(ops.arange(n_items) * group + 3, 1)
                       == ops.expand_dims(ops.arange(n_items * group), 0), "float32")
        track_loss = batch_all_triplet_loss(embeddings[:, 3], candidates, same * (1.0 - own), 1.0 - same,
                                            self.margin, None)
        return tag_loss + self.track_weight * track_loss

    def get_config(self):
        return {**super().get_config(), "track_weight": self.track_weight}


# --------------------------------------------------------------------------------------------------------
# Losses with one learnable vector per tag (proxy, classifier)


INITIAL_PROXY_NORM = 8.0


def default_tag_initializer(embedding_dim: int, normalize: bool, disentangled: bool = False):
    """Initial tag vectors: Glorot for a raw classifier; for a normalized embedding, norm ~8.

    With a unit-norm embedding the logit f̂·w_z is bounded by ||w_z||. Glorot vectors have norm ~1.3 at
    256 dims, so every sigmoid starts near 0.5 and can express neither a tag's base rate (about -2.2 for a
    tag on 10% of tracks) nor confidence until the norms have grown: the paper notes that "a cosine inside
    a sigmoid" trained badly. Starting at norm ~8 (normal, std 8/sqrt(D)) gives the logits their working
    range from the first step; on the default corpus this raised classification-norm-full from R@1 24.5 /
    AUC 0.65 to R@1 34.2 / AUC 0.76 at the same budget (one seed each).

    A disentangled tag vector only counts inside its category's block (D / 4 dimensions: the rest is masked
    away), so its std is computed over the block, giving the same norm ~8 where it acts.
    """
    if not normalize:
        return "glorot_uniform"
    active_dims = embedding_dim // len(CATEGORIES) if disentangled else embedding_dim
    return keras.initializers.RandomNormal(stddev=INITIAL_PROXY_NORM / math.sqrt(active_dims))


class TagLogitsLoss(EmbeddingLoss):
    """Shared by the proxy and classification losses: logits_z = w_z · g(f), multi-label BCE.

    g is the identity, the L2 normalization of f (``normalize``), or the per-sub-space normalization of f
    with each w_z masked to its category's block (``disentangled``). ``weight_name`` names the (n_tags, D)
    weight ("proxies" or "classifier") so that saved models read naturally.
    """

    weight_name = "tag_weights"

    def __init__(self, tag_categories: Sequence[int], embedding_dim: int = 256, disentangled: bool = False,
                 normalize: bool = True, initializer=None, **kwargs):
        super().__init__(tag_categories, embedding_dim, disentangled, **kwargs)
        if self.tag_categories is None:
            raise ValueError(f"{type(self).__name__} needs tag_categories (one category per tag) to know how many "
                             "tag vectors to learn; pass vocabulary categories.")
        if self.disentangled and not normalize:
            raise ValueError("the disentangled form normalizes each sub-space; normalize=False is not defined here.")
        self.normalize = bool(normalize)
        if initializer is None:
            initializer = default_tag_initializer(self.embedding_dim, self.normalize, self.disentangled)
        self.initializer = keras.initializers.get(initializer)
        self.tag_weights = self.add_weight(shape=(self.n_tags, self.embedding_dim), initializer=self.initializer,
                                           trainable=True, name=self.weight_name)
        self.built = True  # the only weight is created above: nothing depends on the input shape

    def logits(self, embeddings):
        """(B, D) -> (B, n_tags)."""
        self._check_embeddings(embeddings)
        embeddings = ops.convert_to_tensor(embeddings)
        weights = self.tag_weights
        if self.disentangled:
            embeddings = blockwise_l2_normalize(embeddings, ops.convert_to_tensor(self.masks))
            weights = weights * ops.convert_to_tensor(self.tag_masks())
        elif self.normalize:
            embeddings = l2_normalize(embeddings)
        return ops.matmul(embeddings, ops.transpose(weights))

    def call(self, embeddings, labels):
        if labels.shape[-1] != self.n_tags:
            raise ValueError(f"labels have {labels.shape[-1]} tags but the loss has {self.n_tags}; "
                             "pass the multi-hot matrix of the same vocabulary.")
        return multilabel_bce_from_logits(labels, self.logits(embeddings))

    def tag_scores(self, embeddings):
        """sigmoid(logits): the auto-tagging probabilities, (B, n_tags)."""
        return ops.sigmoid(self.logits(embeddings))

    def get_config(self):
        return {**super().get_config(), "initializer": keras.initializers.serialize(self.initializer)}


@keras.saving.register_keras_serializable(package="mdrbench")
class ProxyLoss(TagLogitsLoss):
    """Multi-label proxy loss: sigmoid(f/||f|| · p_z), BCE summed over all tags (all positive proxies at once).

    Only the embedding is normalized, not the proxy (the paper: a cosine inside a sigmoid trained badly).
    Disentangled: sigmoid((f∘m_s(z))/||f∘m_s(z)|| · (p_z∘m_s(z))).
    ``call(embeddings (B, D), labels (B, n_tags))``; ``tag_scores(embeddings)`` -> (B, n_tags) probabilities.
    """

    weight_name = "proxies"

    def __init__(self, tag_categories: Sequence[int], embedding_dim: int = 256, disentangled: bool = False,
                 initializer=None, **kwargs):
        kwargs.pop("normalize", None)  # always normalized; accepted in configs for symmetry
        super().__init__(tag_categories, embedding_dim, disentangled, normalize=True, initializer=initializer,
                         **kwargs)

    @property
    def proxies(self):
        return self.tag_weights


@keras.saving.register_keras_serializable(package="mdrbench")
class ClassificationLoss(TagLogitsLoss):
    """Tag classifier without bias on the embedding: sigmoid(c_z · g(f)), multi-label BCE.

    ``normalize=True`` (g = L2 normalization) is the same function as the non-disentangled proxy loss;
    ``normalize=False`` is the plain classifier that the paper shows retrieves badly.
    Disentangled classification lives in :class:`DisentangledClassificationLoss`.
    """

    weight_name = "classifier"

    def __init__(self, tag_categories: Sequence[int], embedding_dim: int = 256, normalize: bool = True,
                 initializer=None, **kwargs):
        if kwargs.pop("disentangled", False):
            raise ValueError("ClassificationLoss is the non-disentangled classifier; use "
                             "DisentangledClassificationLoss for per-category sub-heads.")
        super().__init__(tag_categories, embedding_dim, disentangled=False, normalize=normalize,
                         initializer=initializer, **kwargs)

    def get_config(self):
        return {**super().get_config(), "normalize": self.normalize}


@keras.saving.register_keras_serializable(package="mdrbench")
class DisentangledClassificationLoss(TagLogitsLoss):
    """The paper's disentangled classifier: four normalized sub-heads, each classifying its category's tags.

    The model builds the four Dense(D / 4) sub-heads on the penultimate layer and concatenates them in the
    order of :data:`mdrbench.CATEGORIES`; that concatenation is the ``embeddings`` argument, so sub-space s
    is the s-th block. Each block is L2-normalized and each tag is classified from its own block only.
    """

    weight_name = "classifier"

    def __init__(self, tag_categories: Sequence[int], embedding_dim: int = 256, initializer=None,
                 **kwargs):
        kwargs.pop("disentangled", None)
        kwargs.pop("normalize", None)
        super().__init__(tag_categories, embedding_dim, disentangled=True, normalize=True, initializer=initializer,
                         **kwargs)
