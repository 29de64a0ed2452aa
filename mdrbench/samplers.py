"""Training batches: random excerpts with their tags, tag triplets, track triplets, both triplets at once.

Every sampler is a ``keras.utils.PyDataset`` reading log-mel excerpts from a
:class:`mdrbench.features.FeatureStore`, so ``model.fit(sampler)`` works directly.

======================================  ==================================================  ====================
sampler                                 x                                                   y
======================================  ==================================================  ====================
:class:`ExcerptBatches`                 (B, 1, n_mels, n_frames): one random excerpt/track  (B, n_tags) multi-hot
:class:`TagTripletBatches`              (B, 3, 1, n_mels, n_frames): anchor, pos., neg.     (B,) int category
:class:`TrackTripletBatches`            (B, 3, 1, n_mels, n_frames): anchor, pos., neg.     (B,) zeros
:class:`TagAndTrackTripletBatches`      (B, 6, 1, n_mels, n_frames): tag triplet (0:3),     (B,) int category
                                        then track triplet (3:6)
======================================  ==================================================  ====================

Triplet axis 1 is (anchor, positive, negative); a model embeds ``x.reshape(-1, 1, n_mels, n_frames)`` and
reshapes back to (B, 3 or 6, D). For triplet + track regularization (the paper's "triplet-track" model),
:class:`TagAndTrackTripletBatches` draws one track triplet per tag triplet, so both losses see the same
batch size and one forward pass embeds all six excerpts.

Sampling rules (why they are what they are):

* Tag triplets are balanced over categories, then tags: the category is drawn uniformly, then a tag of
  that category uniformly. Without it the 28 genre tags of MSD would drown the 5 era tags. Only tags with
  at least two tracks (two distinct tracks for anchor and positive) and at least one track without the tag
  (the negative) in ``track_indices`` are eligible; a category with no eligible tag is skipped.
* Track triplets: anchor and positive are two excerpts of one track overlapping by at most
  ``max_overlap`` of an excerpt (ICASSP 2020: 50%), so the model cannot match them sample for sample; the
  negative is an excerpt of another track. Tracks shorter than an excerpt plus the required shift are
  refused with a clear error.
* Excerpt batches visit every track once per epoch (the last batch may be smaller) unless
  ``steps_per_epoch`` is given; tracks with no tag are allowed and get an all-zero label row, which BCE
  reads as "every tag absent" (weak labels: missing tags are treated as negatives, as in the paper).
* Determinism: batch ``index`` of epoch ``e`` comes from ``numpy.random.default_rng((seed, stream, e, index))``,
  so a batch does not depend on which worker builds it or in which order. ``on_epoch_end`` advances the
  epoch, which reshuffles everything deterministically; ``set_epoch(epoch)`` jumps to one, and the
  :class:`SetSamplerEpoch` callback makes the sampler's epoch equal Keras' epoch index (exact resumption).
  ``reshuffle=False`` keeps epoch 0 forever: a fixed validation set, so that the plateau schedule of the
  learning rate compares like with like.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from mdrbench.corpus import CATEGORIES


def _excerpts(features, tracks: np.ndarray, starts: np.ndarray, n_frames: int) -> np.ndarray:
    """(B,) tracks and starts -> (B, 1, n_mels, n_frames) float32, vectorized when the store supports it."""
    batch = getattr(features, "batch", None)
    if batch is not None:
        return np.asarray(batch(tracks, starts, n_frames), dtype=np.float32)
    return np.stack([features.excerpt(int(t), int(s), n_frames) for t, s in zip(tracks, starts, strict=True)])[
        :, None].astype(np.float32, copy=False)


class _FeatureBatches(keras.utils.PyDataset):
    """Shared: track subset, excerpt length, epoch-and-index seeded random generators."""

    stream = 0  # distinguishes the random streams of the samplers that share a seed

    def __init__(self, features, track_indices: Sequence[int], batch_size: int, steps_per_epoch: int | None,
                 seed: int, n_frames: int | None, reshuffle: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.reshuffle = bool(reshuffle)
        self.features = features
        self.track_indices = np.asarray(track_indices, dtype=np.int64).reshape(-1)
        if len(self.track_indices) == 0:
            raise ValueError("track_indices is empty: pass the indices of the tracks to train on, "
                             "e.g. np.flatnonzero(corpus.splits == 'train').")
        if self.track_indices.min() < 0 or self.track_indices.max() >= len(features):
            raise ValueError(f"track_indices must lie in [0, {len(features)}) (the tracks of the feature store).")
        if len(np.unique(self.track_indices)) != len(self.track_indices):
            raise ValueError("track_indices contains repeated tracks; pass each track once (np.unique).")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if steps_per_epoch is not None and int(steps_per_epoch) < 1:
            raise ValueError(f"steps_per_epoch must be at least 1 or None, got {steps_per_epoch}.")
        self.batch_size = int(batch_size)
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.seed = int(seed)
        self.n_frames = int(n_frames if n_frames is not None else features.settings.excerpt_frames)
        self.epoch = 0
        self._lengths = np.asarray(features.lengths, dtype=np.int64)

    def _require_length(self, minimum: int, why: str):
        lengths = self._lengths[self.track_indices]
        short = self.track_indices[lengths < minimum]
        if len(short):
            raise ValueError(f"{len(short)} tracks (e.g. {short[:5].tolist()}) have fewer than {minimum} frames, "
                             f"needed for {why}. Fix: drop them from track_indices or lower n_frames.")

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, self.stream, self.epoch, int(index)))

    def _random_starts(self, rng: np.random.Generator, tracks: np.ndarray) -> np.ndarray:
        return rng.integers(0, self._lengths[tracks] - self.n_frames + 1)

    def _check_index(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} outside [0, {len(self)})")

    def __len__(self) -> int:
        return self.steps_per_epoch

    def set_epoch(self, epoch: int):
        """Jump to an epoch (e.g. when resuming); batches then equal those of that epoch."""
        self.epoch = int(epoch)

    def on_epoch_end(self):
        """Keras calls this after every epoch (the usual PyDataset protocol): the next epoch reshuffles."""
        if self.reshuffle:
            self.set_epoch(self.epoch + 1)


class SetSamplerEpoch(keras.callbacks.Callback):
    """Sets each sampler's epoch to Keras' epoch index before the epoch starts, for exact resumption.

    Without it the epoch is counted by ``on_epoch_end`` calls, which is deterministic but off by one when
    ``fit`` builds an unbuilt model (Keras then peeks a batch and ends an extra "epoch").
    """

    def __init__(self, *samplers):
        super().__init__()
        self.samplers = samplers

    def on_epoch_begin(self, epoch, logs=None):
        for sampler in self.samplers:
            if sampler.reshuffle:
                sampler.set_epoch(epoch)


class ExcerptBatches(_FeatureBatches):
    """One random excerpt per track with its multi-hot tags, for the proxy and classification models.

    Args:
        features: a FeatureStore.
        track_indices: tracks to draw from (e.g. the training split), indices into ``features``.
        labels: (n_tracks_total, n_tags) multi-hot over all tracks of the store; rows may be all zero.
        batch_size: B.
        steps_per_epoch: batches per epoch; None visits every track once (last batch may be smaller).
        seed: random seed.
        n_frames: excerpt length in frames (default ``features.settings.excerpt_frames``).

    ``batch[i]`` -> x (B, 1, n_mels, n_frames) float32, y (B, n_tags) float32.
    """

    stream = 1

    def __init__(self, features, track_indices: Sequence[int], labels: np.ndarray, batch_size: int,
                 steps_per_epoch: int | None = None, seed: int = 0, n_frames: int | None = None,
                 reshuffle: bool = True, **kwargs):
        super().__init__(features, track_indices, batch_size, steps_per_epoch, seed, n_frames, reshuffle, **kwargs)
        self.labels = _check_labels(labels, len(features))
        self._require_length(self.n_frames, "one excerpt")
        self.one_pass = self.steps_per_epoch is None  # then the last batch holds the remaining tracks only
        if self.one_pass:
            self.steps_per_epoch = -(-len(self.track_indices) // self.batch_size)
        self._order_epoch, self._order = None, None

    def _epoch_order(self) -> np.ndarray:
        """The epoch's track order: as many shuffled passes over the tracks as the steps need."""
        if self._order_epoch != self.epoch:
            rng = np.random.default_rng((self.seed, self.stream, self.epoch))
            passes = 1 if self.one_pass else -(-self.steps_per_epoch * self.batch_size // len(self.track_indices))
            self._order = np.concatenate([rng.permutation(self.track_indices) for _ in range(passes)])
            self._order_epoch = self.epoch
        return self._order

    def __getitem__(self, index: int):
        self._check_index(index)
        tracks = self._epoch_order()[index * self.batch_size:(index + 1) * self.batch_size]
        starts = self._random_starts(self._rng(index), tracks)
        return _excerpts(self.features, tracks, starts, self.n_frames), self.labels[tracks].astype(np.float32)


def _check_labels(labels: np.ndarray, n_tracks: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != n_tracks:
        raise ValueError(f"labels must be (n_tracks, n_tags) over all {n_tracks} tracks of the feature store, "
                         f"got shape {labels.shape}; pass corpus.tag_matrix (rows in store order).")
    return labels != 0


def _flatten(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A list of 1-d int arrays -> (concatenation, offsets (n + 1,))."""
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
    return np.concatenate(arrays).astype(np.int64), offsets


class TagTripletBatches(_FeatureBatches):
    """Tag triplets balanced over categories, then tags; y is the category of the drawn tag.

    Args:
        features, track_indices, batch_size, seed, n_frames: as :class:`ExcerptBatches`.
        labels: (n_tracks_total, n_tags) multi-hot.
        tag_categories: (n_tags,) category index per tag (into :data:`mdrbench.CATEGORIES`).
        steps_per_epoch: batches per epoch.

    ``batch[i]`` -> x (B, 3, 1, n_mels, n_frames) float32 (anchor, positive, negative), y (B,) int32.
    With ``with_labels`` (for in-batch mining, see :meth:`mdrbench.losses.TripletLoss.batch_all`) y is a dict:
    ``categories`` (B,) int32, ``tags`` (B,) int32 the drawn tags, ``tracks`` (B, 3) int64 the track of every
    excerpt, ``labels`` (B, 3, n_tags) float32 their multi-hot tags.
    The drawn tags of batch i are ``sample_tags(i)[0]`` (for inspection and tests).
    """

    stream = 2

    def __init__(self, features, track_indices: Sequence[int], labels: np.ndarray, tag_categories: Sequence[int],
                 batch_size: int, steps_per_epoch: int, seed: int = 0, n_frames: int | None = None,
                 reshuffle: bool = True, with_labels: bool = False, **kwargs):
        if steps_per_epoch is None:
            raise ValueError("TagTripletBatches needs steps_per_epoch: triplets have no natural epoch.")
        super().__init__(features, track_indices, batch_size, steps_per_epoch, seed, n_frames, reshuffle, **kwargs)
        labels = _check_labels(labels, len(features))
        self.with_labels, self._labels = bool(with_labels), labels
        self.tag_categories = np.asarray(tag_categories, dtype=np.int64).reshape(-1)
        if len(self.tag_categories) != labels.shape[1]:
            raise ValueError(f"tag_categories has {len(self.tag_categories)} entries for {labels.shape[1]} tags: "
                             "give one category index per tag column of labels.")
        if self.tag_categories.min() < 0 or self.tag_categories.max() >= len(CATEGORIES):
            raise ValueError(f"tag_categories are indices into {list(CATEGORIES)}.")
        self._require_length(self.n_frames, "one excerpt")
        subset = labels[self.track_indices]  # (n_subset, n_tags)
        self._positives = [self.track_indices[subset[:, z]] for z in range(subset.shape[1])]
        self._negatives = [self.track_indices[~subset[:, z]] for z in range(subset.shape[1])]
        eligible = [z for z in range(subset.shape[1]) if len(self._positives[z]) >= 2 and len(self._negatives[z]) >= 1]
        # category -> its eligible tags; categories without any are skipped
        self.eligible_tags = {c: np.array([z for z in eligible if self.tag_categories[z] == c], dtype=np.int64)
                              for c in range(len(CATEGORIES))}
        self.eligible_tags = {c: tags for c, tags in self.eligible_tags.items() if len(tags)}
        if not self.eligible_tags:
            raise ValueError("no tag has two tracks carrying it and one without it among track_indices: "
                             "tag triplets cannot be drawn. Fix: use more tracks or a denser tag matrix.")
        self.categories = np.array(sorted(self.eligible_tags), dtype=np.int64)
        # per-tag track lists, flattened with offsets so that a whole batch is drawn without a Python loop
        self._positive_tracks, self._positive_offsets = _flatten(self._positives)
        self._negative_tracks, self._negative_offsets = _flatten(self._negatives)

    def sample_tags(self, index: int, rng: np.random.Generator | None = None):
        """Draw (tags, anchors, positives, negatives) track indices for batch ``index``, each (B,)."""
        rng = self._rng(index) if rng is None else rng
        categories = rng.choice(self.categories, size=self.batch_size)
        tags = np.empty(self.batch_size, dtype=np.int64)
        for category in self.categories:  # uniform tag within each drawn category
            drawn = categories == category
            eligible = self.eligible_tags[category]
            tags[drawn] = eligible[rng.integers(0, len(eligible), size=drawn.sum())]
        n_positives = self._positive_offsets[tags + 1] - self._positive_offsets[tags]
        n_negatives = self._negative_offsets[tags + 1] - self._negative_offsets[tags]
        first = rng.integers(0, n_positives)
        second = rng.integers(0, n_positives - 1)
        second += second >= first  # two distinct carriers: skip the anchor's position
        anchors = self._positive_tracks[self._positive_offsets[tags] + first]
        positives = self._positive_tracks[self._positive_offsets[tags] + second]
        negatives = self._negative_tracks[self._negative_offsets[tags] + rng.integers(0, n_negatives)]
        return tags, anchors, positives, negatives

    def _triplet_excerpts(self, rng, anchors, positives, negatives) -> np.ndarray:
        tracks = np.stack([anchors, positives, negatives], axis=1).reshape(-1)  # (3B,) a, p, n per item
        x = _excerpts(self.features, tracks, self._random_starts(rng, tracks), self.n_frames)
        return x.reshape(len(anchors), 3, *x.shape[1:])

    def __getitem__(self, index: int):
        self._check_index(index)
        rng = self._rng(index)
        tags, anchors, positives, negatives = self.sample_tags(index, rng)
        x = self._triplet_excerpts(rng, anchors, positives, negatives)
        categories = self.tag_categories[tags].astype(np.int32)
        if not self.with_labels:
            return x, categories
        tracks = np.stack([anchors, positives, negatives], axis=1)
        return x, {"categories": categories, "tags": tags.astype(np.int32), "tracks": tracks,
                   "labels": self._labels[tracks].astype(np.float32)}


class TrackTripletBatches(_FeatureBatches):
    """Track triplets: two excerpts of one track (overlap <= ``max_overlap``) and an excerpt of another.

    ``batch[i]`` -> x (B, 3, 1, n_mels, n_frames) float32, y (B,) int32 zeros (a placeholder for Keras), or
    with ``with_tracks`` the (B, 3) track of every excerpt (for in-batch mining).
    ``sample_tracks(i)`` returns the drawn (tracks, anchor_starts, positive_starts, negative_tracks,
    negative_starts) for inspection and tests.
    """

    stream = 3

    def __init__(self, features, track_indices: Sequence[int], batch_size: int, steps_per_epoch: int,
                 seed: int = 0, n_frames: int | None = None, max_overlap: float = 0.5, reshuffle: bool = True,
                 with_tracks: bool = False, **kwargs):
        if steps_per_epoch is None:
            raise ValueError("TrackTripletBatches needs steps_per_epoch: triplets have no natural epoch.")
        super().__init__(features, track_indices, batch_size, steps_per_epoch, seed, n_frames, reshuffle, **kwargs)
        self.with_tracks = bool(with_tracks)
        if not 0.0 <= max_overlap < 1.0:
            raise ValueError(f"max_overlap is a fraction of an excerpt in [0, 1), got {max_overlap}.")
        if len(self.track_indices) < 2:
            raise ValueError("track triplets need at least two tracks (the negative is another track).")
        self.max_overlap = float(max_overlap)
        # smallest shift between anchor and positive so that they share at most max_overlap of an excerpt
        self.min_shift = int(np.ceil(self.n_frames * (1.0 - self.max_overlap) - 1e-9))
        self._require_length(self.n_frames + self.min_shift, f"two excerpts overlapping at most {max_overlap:.0%}")

    def sample_tracks(self, index: int, rng: np.random.Generator | None = None):
        rng = self._rng(index) if rng is None else rng
        tracks = rng.choice(self.track_indices, size=self.batch_size)
        # two starts at least min_shift apart: sort two uniform draws in [0, last - shift], push the later one
        latest = self._lengths[tracks] - self.n_frames - self.min_shift
        draws = rng.integers(0, latest[:, None] + 1, size=(self.batch_size, 2))
        early, late = draws.min(axis=1), draws.max(axis=1) + self.min_shift
        swap = rng.random(self.batch_size) < 0.5  # the anchor is the earlier excerpt half of the time
        anchor_starts, positive_starts = np.where(swap, late, early), np.where(swap, early, late)
        # negative: uniform among the other tracks (draw among n - 1, skip the anchor's position)
        ordered = np.sort(self.track_indices)
        positions = np.searchsorted(ordered, tracks)
        other = rng.integers(0, len(ordered) - 1, size=self.batch_size)
        negative_tracks = ordered[other + (other >= positions)]
        negative_starts = self._random_starts(rng, negative_tracks)
        return tracks, anchor_starts, positive_starts, negative_tracks, negative_starts

    def _triplet_excerpts(self, tracks, anchor_starts, positive_starts, negative_tracks, negative_starts):
        all_tracks = np.stack([tracks, tracks, negative_tracks], axis=1).reshape(-1)
        all_starts = np.stack([anchor_starts, positive_starts, negative_starts], axis=1).reshape(-1)
        x = _excerpts(self.features, all_tracks, all_starts, self.n_frames)
        return x.reshape(self.batch_size, 3, *x.shape[1:])

    def __getitem__(self, index: int):
        self._check_index(index)
        rng = self._rng(index)
        tracks, anchor_starts, positive_starts, negative_tracks, negative_starts = self.sample_tracks(index, rng)
        x = self._triplet_excerpts(tracks, anchor_starts, positive_starts, negative_tracks, negative_starts)
        if self.with_tracks:
            return x, np.stack([tracks, tracks, negative_tracks], axis=1)
        return x, np.zeros(self.batch_size, dtype=np.int32)


class TagAndTrackTripletBatches(_FeatureBatches):
    """One tag triplet and one track triplet per item, for the track-regularized triplet model.

    Takes the arguments of :class:`TagTripletBatches` plus ``max_overlap``.
    ``batch[i]`` -> x (B, 6, 1, n_mels, n_frames): [:, 0:3] the tag triplet, [:, 3:6] the track triplet;
    y (B,) int32, the tag triplets' categories, or with ``with_labels`` the dict of
    :class:`TagTripletBatches` over all six excerpts (``tracks`` (B, 6), ``labels`` (B, 6, n_tags)).
    The two halves use independent random streams, and the tag half equals ``TagTripletBatches`` with the
    same seed.
    """

    def __init__(self, features, track_indices: Sequence[int], labels: np.ndarray, tag_categories: Sequence[int],
                 batch_size: int, steps_per_epoch: int, seed: int = 0, n_frames: int | None = None,
                 max_overlap: float = 0.5, reshuffle: bool = True, with_labels: bool = False, **kwargs):
        super().__init__(features, track_indices, batch_size, steps_per_epoch, seed, n_frames, reshuffle, **kwargs)
        self.with_labels = bool(with_labels)
        self.tag_triplets = TagTripletBatches(features, track_indices, labels, tag_categories, batch_size,
                                              steps_per_epoch, seed, n_frames, with_labels=with_labels)
        self.track_triplets = TrackTripletBatches(features, track_indices, batch_size, steps_per_epoch, seed,
                                                  n_frames, max_overlap, with_tracks=with_labels)

    def set_epoch(self, epoch: int):
        super().set_epoch(epoch)
        self.tag_triplets.set_epoch(epoch)
        self.track_triplets.set_epoch(epoch)

    def __getitem__(self, index: int):
        self._check_index(index)
        tag_x, tag_y = self.tag_triplets[index]
        track_x, track_tracks = self.track_triplets[index]
        x = np.concatenate([tag_x, track_x], axis=1)
        if not self.with_labels:
            return x, tag_y
        # the track half's excerpts carry their tracks' tags too, so they serve as tag candidates as well
        labels = np.concatenate([tag_y["labels"], self.tag_triplets._labels[track_tracks].astype(np.float32)], axis=1)
        return x, {**tag_y, "tracks": np.concatenate([tag_y["tracks"], track_tracks], axis=1), "labels": labels}
