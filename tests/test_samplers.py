"""Batch samplers on a tiny FeatureStore whose values encode (track, frame), so every excerpt can be decoded."""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras)
import numpy as np
import pytest

from mdrbench.features import FeatureStore, FrontendSettings
from mdrbench.samplers import (
    ExcerptBatches,
    SetSamplerEpoch,
    TagAndTrackTripletBatches,
    TagTripletBatches,
    TrackTripletBatches,
)

N_MELS = 4
SETTINGS = FrontendSettings(sample_rate=1600, hop_length=100, n_mels=N_MELS, excerpt_seconds=1.0)
N_FRAMES = SETTINGS.excerpt_frames  # 17
N_TRACKS = 14
# tag columns: genre x3, mood x2, instrument x2, era x1, plus a genre tag carried by one track only
TAG_CATEGORIES = np.array([0, 0, 0, 1, 1, 2, 2, 3, 0])
RARE_TAG = 8


def make_store(seed=0):
    """Random lengths; mel bin 0 holds the track index, bin 1 the frame index inside the track."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2 * N_FRAMES, 4 * N_FRAMES, size=N_TRACKS)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = rng.normal(size=(offsets[-1], N_MELS)).astype(np.float16)
    for track in range(N_TRACKS):
        values[offsets[track]:offsets[track + 1], 0] = track
        values[offsets[track]:offsets[track + 1], 1] = np.arange(lengths[track])
    return FeatureStore(values, offsets, SETTINGS)


def make_labels(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.random((N_TRACKS, len(TAG_CATEGORIES))) < 0.4
    labels[:, RARE_TAG] = False
    labels[3, RARE_TAG] = True
    labels[5] = False  # a track without any tag
    return labels.astype(np.float32)


STORE, LABELS = make_store(), make_labels()
TRAIN = np.arange(1, N_TRACKS)  # track 0 stays out, as a held-out track would


def decode(excerpts):
    """(..., 1, n_mels, n_frames) -> track index and start frame of each excerpt, shapes (...)."""
    return excerpts[..., 0, 0, 0].astype(int), excerpts[..., 0, 1, 0].astype(int)


def test_excerpt_batches_visit_every_track_once_per_epoch_with_its_labels():
    batches = ExcerptBatches(STORE, TRAIN, LABELS, batch_size=4, seed=1)
    assert len(batches) == 4  # ceil(13 / 4)
    seen = []
    for x, y in batches:
        assert x.dtype == np.float32 and y.dtype == np.float32 and x.shape[1:] == (1, N_MELS, N_FRAMES)
        tracks, starts = decode(x)
        np.testing.assert_array_equal(y, LABELS[tracks])
        assert np.all(starts + N_FRAMES <= STORE.lengths[tracks])
        # frames are consecutive: the excerpt really is [start, start + n_frames)
        np.testing.assert_array_equal(x[:, 0, 1], starts[:, None] + np.arange(N_FRAMES))
        seen.extend(tracks)
    assert sorted(seen) == TRAIN.tolist()
    assert ExcerptBatches(STORE, TRAIN, LABELS, batch_size=4, steps_per_epoch=7)[6][0].shape[0] == 4


def test_samplers_are_deterministic_and_reshuffle_every_epoch():
    def make_all(seed):
        return [ExcerptBatches(STORE, TRAIN, LABELS, 8, steps_per_epoch=3, seed=seed),
                TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, 8, 3, seed=seed),
                TrackTripletBatches(STORE, TRAIN, 8, 3, seed=seed),
                TagAndTrackTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, 8, 3, seed=seed)]

    for first, again, other_seed in zip(make_all(0), make_all(0), make_all(1), strict=True):
        batch = first[1][0]
        np.testing.assert_array_equal(batch, again[1][0])
        assert not np.array_equal(batch, other_seed[1][0])
        first.on_epoch_end()
        assert first.epoch == 1 and not np.array_equal(batch, first[1][0])
        first.set_epoch(0)
        np.testing.assert_array_equal(batch, first[1][0])
        assert len(first) == 3
        with pytest.raises(IndexError):
            first[3]


def test_tag_triplets_satisfy_the_tag_rules_and_balance_categories():
    batches = TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, batch_size=64, steps_per_epoch=20, seed=3)
    all_categories, all_tags = [], []
    for index in range(len(batches)):
        x, categories = batches[index]
        assert x.shape == (64, 3, 1, N_MELS, N_FRAMES) and x.dtype == np.float32 and categories.dtype == np.int32
        tags, *_ = batches.sample_tags(index)
        (anchor, positive, negative), _ = decode(np.moveaxis(x, 1, 0))
        assert np.all(LABELS[anchor, tags] == 1) and np.all(LABELS[positive, tags] == 1)
        assert np.all(LABELS[negative, tags] == 0) and np.all(anchor != positive)
        assert np.isin(np.concatenate([anchor, positive, negative]), TRAIN).all()
        np.testing.assert_array_equal(categories, TAG_CATEGORIES[tags])
        all_categories.append(categories)
        all_tags.append(tags)
    shares = np.bincount(np.concatenate(all_categories), minlength=4) / (20 * 64)
    np.testing.assert_allclose(shares, 0.25, atol=0.04)  # 1280 draws: 4 standard deviations is about 0.05
    assert RARE_TAG not in np.concatenate(all_tags)  # one carrier cannot give anchor and positive
    # within the genre category the eligible tags are uniform (3 tags, about 320 draws)
    genre_tags = np.concatenate(all_tags)[np.concatenate(all_categories) == 0]
    np.testing.assert_allclose(np.bincount(genre_tags, minlength=3)[:3] / len(genre_tags), 1 / 3, atol=0.09)


def test_mining_batches_carry_every_excerpts_tags_and_track():
    plain = TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, batch_size=16, steps_per_epoch=2, seed=3)
    mined = TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, batch_size=16, steps_per_epoch=2, seed=3,
                              with_labels=True)
    x, y = mined[1]
    np.testing.assert_array_equal(x, plain[1][0])  # the same excerpts: mining adds labels, not excerpts
    (anchor, positive, negative), _ = decode(np.moveaxis(x, 1, 0))
    np.testing.assert_array_equal(y["tracks"], np.stack([anchor, positive, negative], axis=1))
    np.testing.assert_array_equal(y["labels"], LABELS[y["tracks"]])
    np.testing.assert_array_equal(y["tags"], plain.sample_tags(1)[0])
    np.testing.assert_array_equal(y["categories"], TAG_CATEGORIES[y["tags"]])
    both = TagAndTrackTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, 16, 2, seed=5, with_labels=True)
    x, y = both[0]
    assert y["tracks"].shape == (16, 6) and y["labels"].shape == (16, 6, LABELS.shape[1])
    (_, _, _, track_anchor, track_positive, track_negative), _ = decode(np.moveaxis(x, 1, 0))
    np.testing.assert_array_equal(y["tracks"][:, 3:], np.stack([track_anchor, track_positive, track_negative], 1))
    np.testing.assert_array_equal(y["labels"], LABELS[y["tracks"]])


def test_track_triplets_overlap_at_most_half_and_take_the_negative_elsewhere():
    batches = TrackTripletBatches(STORE, TRAIN, batch_size=64, steps_per_epoch=10, seed=4, max_overlap=0.5)
    shifts = []
    for x, y in batches:
        assert x.shape == (64, 3, 1, N_MELS, N_FRAMES) and np.all(y == 0)
        (anchor, positive, negative), (anchor_start, positive_start, _) = decode(np.moveaxis(x, 1, 0))
        assert np.all(anchor == positive) and np.all(negative != anchor)
        assert np.isin(np.concatenate([anchor, negative]), TRAIN).all()
        overlap = np.maximum(0, N_FRAMES - np.abs(anchor_start - positive_start)) / N_FRAMES
        assert np.all(overlap <= 0.5)
        shifts.append(anchor_start - positive_start)
    shifts = np.concatenate(shifts)
    assert np.any(shifts > 0) and np.any(shifts < 0)  # the anchor is sometimes the later excerpt


def test_tag_and_track_triplets_concatenate_both_samplers():
    both = TagAndTrackTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, 8, 2, seed=5)
    tags = TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, 8, 2, seed=5)
    tracks = TrackTripletBatches(STORE, TRAIN, 8, 2, seed=5)
    x, categories = both[1]
    assert x.shape == (8, 6, 1, N_MELS, N_FRAMES)
    np.testing.assert_array_equal(x[:, :3], tags[1][0])
    np.testing.assert_array_equal(x[:, 3:], tracks[1][0])
    np.testing.assert_array_equal(categories, tags[1][1])
    both.set_epoch(1)
    tags.set_epoch(1)
    np.testing.assert_array_equal(both[0][0][:, :3], tags[0][0])


def test_vectorized_store_batch_is_used_when_present():
    class BatchingStore(FeatureStore):
        calls = 0

        def batch(self, indices, starts, n_frames):
            BatchingStore.calls += 1
            return np.stack([self.excerpt(i, s, n_frames) for i, s in zip(indices, starts, strict=True)])[:, None]

    store = BatchingStore(STORE.values, STORE.offsets, SETTINGS)
    x, _ = TagTripletBatches(store, TRAIN, LABELS, TAG_CATEGORIES, 4, 1, seed=6)[0]
    assert BatchingStore.calls == 1
    np.testing.assert_array_equal(x, TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES, 4, 1, seed=6)[0][0])


def test_keras_fit_consumes_a_sampler_and_advances_its_epoch():
    import keras

    batches = ExcerptBatches(STORE, TRAIN, LABELS, batch_size=8, steps_per_epoch=2, seed=7)
    model = keras.Sequential([keras.Input((1, N_MELS, N_FRAMES)), keras.layers.Flatten(),
                              keras.layers.Dense(len(TAG_CATEGORIES))])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    seen_epochs = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda step, logs: seen_epochs.append(batches.epoch))
    history = model.fit(batches, epochs=3, verbose=0, callbacks=[SetSamplerEpoch(batches), record])
    assert len(history.history["loss"]) == 3 and seen_epochs == [0, 0, 1, 1, 2, 2]  # the sampler follows Keras' epochs
    fixed = ExcerptBatches(STORE, TRAIN, LABELS, batch_size=8, steps_per_epoch=2, seed=7, reshuffle=False)
    model.fit(batches, epochs=2, verbose=0, validation_data=fixed)
    assert fixed.epoch == 0 and batches.epoch > 3  # counted by on_epoch_end without the callback


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="fewer than"):
        ExcerptBatches(STORE, TRAIN, LABELS, 4, n_frames=10_000)
    with pytest.raises(ValueError, match="overlapping at most"):
        TrackTripletBatches(STORE, TRAIN, 4, 2, max_overlap=0.0, n_frames=2 * N_FRAMES)
    with pytest.raises(ValueError, match="empty"):
        ExcerptBatches(STORE, [], LABELS, 4)
    with pytest.raises(ValueError, match="labels must be"):
        ExcerptBatches(STORE, TRAIN, LABELS[:5], 4)
    with pytest.raises(ValueError, match="one category index per tag"):
        TagTripletBatches(STORE, TRAIN, LABELS, TAG_CATEGORIES[:3], 4, 2)
    with pytest.raises(ValueError, match="no tag has two tracks"):
        TagTripletBatches(STORE, TRAIN, np.zeros_like(LABELS), TAG_CATEGORIES, 4, 2)
    with pytest.raises(ValueError, match="repeated"):
        TrackTripletBatches(STORE, [1, 1, 2], 4, 2)
