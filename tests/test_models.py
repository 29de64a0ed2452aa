"""Backbones, the fused normalization layer, the representation model's forward/training/saving, embedding."""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras)
import keras
import numpy as np
import pytest
import torch

from mdrbench.configs import CONFIGS
from mdrbench.features import FeatureStore, FrontendSettings
from mdrbench.models import (
    ChannelNormalization,
    ChannelsLastConv2D,
    RepresentationModel,
    SubspaceNormalization,
    build_backbone,
    build_model,
    embed_excerpts,
    embed_tracks,
    model_tag_scores,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


TINY_SHAPE = (1, 16, 24)
TINY = {"channels": (8, 16)}
N_TAGS = 8
TAG_CATEGORIES = np.arange(N_TAGS) % 4


def tiny_model(name, embedding_dim=16, seed=0):
    keras.utils.set_random_seed(seed)
    from mdrbench.configs import get_config

    config = get_config(name, embedding_dim=embedding_dim)
    model = build_model(config, TAG_CATEGORIES, input_shape=TINY_SHAPE, **TINY)
    model.compile(keras.optimizers.Adam(0.005))
    return model


def batch_for(name, batch=6, seed=0):
    """A batch of the kind the configuration's sampler produces."""
    rng = np.random.default_rng(seed)
    if name.startswith("triplet"):
        group = 6 if name.startswith("triplet-track") else 3
        x = rng.standard_normal((batch, group, *TINY_SHAPE), dtype=np.float32)
        return x, rng.integers(0, 4, batch)
    x = rng.standard_normal((batch, *TINY_SHAPE), dtype=np.float32)
    return x, (rng.random((batch, N_TAGS)) < 0.3).astype(np.float32)


# ----------------------------------------------------------------------------------------------- layers
def test_channel_normalization_matches_keras_batch_normalization():
    """Same outputs (training and inference) and the same moving statistics as Keras's own layer."""
    x = np.random.default_rng(0).standard_normal((5, 3, 4, 6)).astype(np.float32) * 2 + 1
    ours, reference = ChannelNormalization(), keras.layers.BatchNormalization(axis=1, momentum=0.9)
    ours.build(x.shape)
    reference.build(x.shape)
    gamma, beta = np.array([1.0, 2.0, 0.5], np.float32), np.array([0.0, -1.0, 0.3], np.float32)
    for layer in (ours, reference):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    for _ in range(3):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=True)),
                                   keras.ops.convert_to_numpy(reference(x, training=True)), atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), reference.moving_mean.numpy(), atol=1e-6)
    # torch keeps the unbiased batch variance in its moving estimate (Keras the biased one): check the formula
    n = x.shape[0] * x.shape[2] * x.shape[3]
    batch_variance = x.var(axis=(0, 2, 3)) * n / (n - 1)
    expected_variance = 0.9**3 + (1 - 0.9**3) * batch_variance
    np.testing.assert_allclose(ours.moving_variance.numpy(), expected_variance, rtol=1e-5)
    mean = ours.moving_mean.numpy().reshape(1, 3, 1, 1)
    variance = expected_variance.reshape(1, 3, 1, 1)
    expected = (x - mean) / np.sqrt(variance + 1e-3) * gamma.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=False)), expected, atol=1e-5)


def test_channel_normalization_sends_gradients_to_gamma_and_beta():
    layer = ChannelNormalization()
    x = torch.randn(4, 2, 3, 3, requires_grad=True)
    layer.build(x.shape)
    (layer(x, training=True) * torch.arange(2.0).reshape(1, 2, 1, 1)).sum().backward()
    assert layer.gamma.value.grad is not None and layer.beta.value.grad is not None
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_subspace_normalization_makes_every_block_unit_norm():
    x = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    blocks = keras.ops.convert_to_numpy(SubspaceNormalization(4)(x)).reshape(3, 4, 4)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=-1), 1.0, rtol=1e-5)
    whole = keras.ops.convert_to_numpy(SubspaceNormalization(1)(x))
    np.testing.assert_allclose(whole, x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("kernel_size", [1, 3, 5, (2, 2)])
def test_channels_last_conv_matches_keras_conv2d_and_its_gradients(kernel_size):
    x = torch.tensor(np.random.default_rng(0).standard_normal((2, 3, 9, 11)), dtype=torch.float32)
    reference = keras.layers.Conv2D(4, kernel_size, padding="same", use_bias=False, data_format="channels_first")
    fast = ChannelsLastConv2D(4, kernel_size, padding="same", use_bias=False, data_format="channels_first")
    reference.build(x.shape)
    fast.build(x.shape)
    fast.set_weights(reference.get_weights())
    outputs = []
    for layer in (reference, fast):
        layer.kernel.value.grad = None
        output = layer(x)
        (output * torch.arange(output.numel()).reshape(output.shape) / output.numel()).sum().backward()
        outputs.append((output.detach().numpy(), layer.kernel.value.grad.numpy()))
    np.testing.assert_allclose(outputs[1][0], outputs[0][0], atol=1e-5)
    np.testing.assert_allclose(outputs[1][1], outputs[0][1], atol=1e-4)


def test_subspace_normalization_of_a_dead_block_has_finite_gradients():
    # A ReLU-ended backbone (the paper's Inception) can output an all-zero block. keras.ops.normalize clamps
    # the norm with `minimum`, whose gradient there is 0 x inf = NaN: one dead block NaNs the whole model.
    x = torch.tensor(np.random.default_rng(0).standard_normal((2, 16)), dtype=torch.float32)
    x[0, 4:8] = 0.0
    x.requires_grad_(True)
    for blocks in (4, 1):
        x.grad = None
        output = SubspaceNormalization(blocks)(x if blocks == 4 else x * (torch.arange(16) < 0))
        (output * torch.arange(16.0)).sum().backward()
        assert torch.isfinite(x.grad).all(), blocks
        assert torch.isfinite(output).all()


def test_tag_scores_for_auc_are_logits_that_do_not_saturate():
    # In float32 sigmoid(17) == 1.0: probabilities of confident tracks tie and AUC cannot rank them.
    model = tiny_model("classification-raw-full")
    store = stand_in_store(n_tracks=6)
    weights = model.objective.tag_weights
    weights.assign(keras.ops.convert_to_numpy(weights) * 200.0)  # logits far beyond 17
    tracks = np.arange(6)
    scores = model_tag_scores(model, store, tracks, excerpts_per_track=1)
    assert np.abs(scores).max() > 17
    assert all(len(np.unique(scores[:, tag])) == len(tracks) for tag in range(N_TAGS))  # no ties
    probabilities = model.tag_scores(store.batch(tracks, np.zeros(6, int), TINY_SHAPE[-1]))
    assert any(len(np.unique(probabilities[:, tag])) < len(tracks) for tag in range(N_TAGS))  # what logits avoid


@pytest.mark.parametrize("name", ["proxy-norm-full", "proxy-norm-dis", "classification-norm-dis"])
def test_normalized_tag_vectors_start_at_norm_eight_where_they_act(name):
    from mdrbench.subspaces import subspace_masks

    model = tiny_model(name, embedding_dim=256)
    weights = keras.ops.convert_to_numpy(model.objective.tag_weights)
    if model.config.disentangled:  # only the tag's own block counts
        weights = weights * subspace_masks(256)[TAG_CATEGORIES]
    assert np.linalg.norm(weights, axis=1).mean() == pytest.approx(8.0, rel=0.1)


# -------------------------------------------------------------------------------------------- backbones
def test_compact_backbone_default_shape():
    backbone = build_backbone("compact")
    assert backbone.input_shape == (None, 1, 64, 94)
    out = backbone(np.zeros((2, 1, 64, 94), np.float32))
    assert tuple(out.shape) == (2, 256)


def test_inception_backbone_follows_the_paper_and_handles_odd_sizes():
    backbone = build_backbone("inception", input_shape=(1, 128, 129), embedding_dim=256)
    names = [layer.name for layer in backbone.layers]
    assert sum(name.endswith("_concat") for name in names) == 6  # six Inception blocks
    stem = backbone.get_layer("stem_conv")
    assert stem.filters == 64 and stem.kernel_size == (5, 5)
    assert backbone.get_layer("inception6_concat").output.shape[1] == 256
    out = keras.ops.convert_to_numpy(backbone(np.ones((1, 1, 128, 129), np.float32)))
    assert out.shape == (1, 256) and (out >= 0).all()  # dense 256 + ReLU, as in the paper


@pytest.mark.parametrize("bad", [dict(name="resnet"), dict(input_shape=(64, 94)), dict(input_shape=(2, 64, 94))])
def test_backbone_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        build_backbone(**{"name": "compact", **bad})


# ----------------------------------------------------------------------------------- representation model
@pytest.mark.parametrize("name", list(CONFIGS))
def test_each_config_trains_on_a_batch_and_round_trips(name, tmp_path):
    model = tiny_model(name)
    x, y = batch_for(name)
    losses = [float(model.train_on_batch(x, y)) for _ in range(6)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0], losses  # overfits a fixed batch

    probe = np.random.default_rng(5).standard_normal((7, *TINY_SHAPE)).astype(np.float32)
    embeddings = model.embed(probe)
    assert embeddings.shape == (7, 16)
    norms = np.linalg.norm(embeddings, axis=1)
    if model.config.normalize:
        np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    scores = model.tag_scores(probe)
    if name.startswith("triplet"):
        assert scores is None
    else:
        assert scores.shape == (7, N_TAGS) and ((scores > 0) & (scores < 1)).all()

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, RepresentationModel) and loaded.config == model.config
    np.testing.assert_array_equal(loaded.embed(probe), embeddings)
    if scores is not None:
        np.testing.assert_array_equal(loaded.tag_scores(probe), scores)


@pytest.mark.parametrize("name", ["classification-norm-dis", "triplet-track-norm-dis", "proxy-norm-full"])
def test_every_trainable_weight_gets_a_gradient(name):
    model = tiny_model(name)
    x, y = batch_for(name)
    model.zero_grad()
    loss = model.compute_objective(torch.from_numpy(x), torch.as_tensor(y), training=True)
    loss.backward()
    missing = [v.path for v in model.trainable_weights if v.value.grad is None]
    assert not missing, missing


def test_disentangled_classification_has_four_normalized_heads():
    model = tiny_model("classification-norm-dis")
    assert len(model.heads) == 4 and all(head.units == 4 for head in model.heads)
    x, _ = batch_for("classification-norm-dis")
    blocks = keras.ops.convert_to_numpy(model(x)).reshape(len(x), 4, 4)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=-1), 1.0, rtol=1e-5)


def test_raw_classification_embedding_is_not_normalized():
    model = tiny_model("classification-raw-full")
    x, _ = batch_for("classification-raw-full")
    raw = keras.ops.convert_to_numpy(model.backbone(x))
    np.testing.assert_allclose(model.embed(x), raw, rtol=1e-5, atol=1e-6)


def test_triplet_groups_share_one_backbone_pass():
    """model(x) on (B, 3, ...) equals embedding the (3B, ...) excerpts at once (inference mode)."""
    model = tiny_model("triplet-norm-dis")
    x, _ = batch_for("triplet-norm-dis")
    grouped = keras.ops.convert_to_numpy(model(x))
    flat = keras.ops.convert_to_numpy(model(x.reshape(-1, *TINY_SHAPE)))
    np.testing.assert_allclose(grouped.reshape(-1, 16), flat, atol=1e-6)


def test_bad_batch_shape_is_a_clear_error():
    model = tiny_model("triplet-norm-full")
    with pytest.raises(ValueError, match="triplets"):
        model.compute_objective(torch.zeros(2, 4, *TINY_SHAPE), torch.zeros(2), training=False)


def test_backbone_size_must_match_config():
    with pytest.raises(ValueError, match="embedding_dim"):
        RepresentationModel(build_backbone("compact", TINY_SHAPE, embedding_dim=8, **TINY), "proxy-norm-full",
                            TAG_CATEGORIES)


# ------------------------------------------------------------------------------------------- embedding
def stand_in_store(n_tracks=5, n_mels=16, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(30, 50, n_tracks)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = rng.standard_normal((offsets[-1], n_mels)).astype(np.float16)
    return FeatureStore(values, offsets, FrontendSettings(n_mels=n_mels, excerpt_seconds=0.75))


def test_embed_tracks_is_the_renormalized_mean_of_fixed_excerpts():
    from mdrbench.features import fixed_excerpt_starts

    store = stand_in_store()
    assert store.settings.excerpt_frames == TINY_SHAPE[-1]
    model = tiny_model("proxy-norm-dis")
    tracks = np.array([3, 0, 4])
    result = embed_tracks(model, store, tracks, excerpts_per_track=3, batch_size=4)
    starts = fixed_excerpt_starts(store.lengths[tracks], TINY_SHAPE[-1], 3)
    excerpts = embed_excerpts(model, store, np.repeat(tracks, 3), starts.reshape(-1))
    expected = excerpts.reshape(3, 3, -1).mean(axis=1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(result, expected, atol=1e-5)
    scores = model_tag_scores(model, store, tracks, excerpts_per_track=3)  # mean logits: AUC ranks them
    excerpt_logits = model.tag_logits(store.batch(np.repeat(tracks, 3), starts.reshape(-1), TINY_SHAPE[-1]))
    np.testing.assert_allclose(scores, excerpt_logits.reshape(3, 3, -1).mean(axis=1), atol=1e-5)
    probabilities = model.tag_scores(store.batch(np.repeat(tracks, 3), starts.reshape(-1), TINY_SHAPE[-1]))
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-excerpt_logits)), atol=1e-5)
    assert model_tag_scores(tiny_model("triplet-norm-dis"), store, tracks) is None
    direct = model.embed(np.stack([store.excerpt(3, int(starts[0, 1]), TINY_SHAPE[-1])])[:, None])
    np.testing.assert_allclose(excerpts[1], direct[0], atol=1e-5)


def test_audio_model_embeds_raw_audio_like_the_feature_path(tmp_path):
    from mdrbench.features import FRONTENDS, log_mel
    from mdrbench.models import with_frontend

    settings = FRONTENDS["compact"]
    keras.utils.set_random_seed(0)
    model = build_model("classification-norm-full", TAG_CATEGORIES, input_shape=(1, 64, settings.excerpt_frames),
                        channels=(8,))
    audio = np.random.default_rng(0).standard_normal((2, settings.excerpt_samples)).astype(np.float32) * 0.1
    audio_model = with_frontend(model, settings)
    from_audio = keras.ops.convert_to_numpy(audio_model(audio))
    mels = np.stack([log_mel(clip, settings) for clip in audio])
    mels = mels.reshape(2, 1, 64, settings.excerpt_frames)
    np.testing.assert_allclose(from_audio, model.embed(mels), atol=1e-4)
    audio_model.save(tmp_path / "audio.keras")
    loaded = keras.saving.load_model(tmp_path / "audio.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(audio)), from_audio, atol=1e-6)
