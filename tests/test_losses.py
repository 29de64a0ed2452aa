"""Losses against independent numpy / pytorch-metric-learning computations, gradients, one step, saving."""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras)
import keras
import numpy as np
import pytest
import torch
from pytorch_metric_learning.distances import CosineSimilarity
from pytorch_metric_learning.losses import TripletMarginLoss
from pytorch_metric_learning.miners import TripletMarginMiner
from pytorch_metric_learning.reducers import AvgNonZeroReducer, MeanReducer

from mdrbench.losses import (
    ClassificationLoss,
    DisentangledClassificationLoss,
    EmbeddingLoss,
    ProxyLoss,
    TrackRegularizedTripletLoss,
    TripletLoss,
    batch_all_triplet_loss,
    blockwise_l2_normalize,
    cosine_similarity,
)
from mdrbench.subspaces import subspace_masks, subspace_slices

DIM = 32  # 4 sub-spaces of 8: small and fast, same code paths as 256
TAG_CATEGORIES = [0, 0, 0, 1, 1, 2, 3, 3, 1]
BLOCKS = list(subspace_slices(DIM).values())


def random_batch(seed=0, batch=6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, DIM)).astype(np.float32), rng


def numpy_cosine(a, b):
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


def numpy_bce(labels, logits):
    probabilities = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return -(labels * np.log(probabilities) + (1 - labels) * np.log(1 - probabilities)).sum(1).mean()


def numpy_disentangled_logits(embeddings, weights, tag_categories):
    logits = np.zeros((len(embeddings), len(tag_categories)))
    for tag, category in enumerate(tag_categories):
        block = embeddings[:, BLOCKS[category]]
        logits[:, tag] = block / np.linalg.norm(block, axis=1, keepdims=True) @ weights[tag, BLOCKS[category]]
    return logits


def scalar(tensor):
    return float(to_numpy(tensor))


def to_numpy(tensor):
    return keras.ops.convert_to_tensor(tensor).detach().cpu().numpy()


def test_cosine_similarity_matches_numpy_in_whole_space_and_sub_space():
    a, rng = random_batch()
    b = rng.normal(size=a.shape).astype(np.float32)
    np.testing.assert_allclose(to_numpy(cosine_similarity(a, b)), numpy_cosine(a, b), rtol=1e-5)
    mask = subspace_masks(DIM)[2]
    np.testing.assert_allclose(to_numpy(cosine_similarity(a, b, mask)),
                               numpy_cosine(a[:, BLOCKS[2]], b[:, BLOCKS[2]]), rtol=1e-5)


def test_cosine_of_zero_vector_is_zero_with_finite_gradient():
    a = torch.zeros(2, DIM, requires_grad=True)
    similarity = cosine_similarity(a, torch.ones(2, DIM)).sum()
    similarity.backward()
    assert scalar(similarity) == 0.0 and torch.isfinite(a.grad).all()


def test_blockwise_normalization_gives_unit_blocks():
    x, _ = random_batch()
    normalized = to_numpy(blockwise_l2_normalize(x, keras.ops.convert_to_tensor(subspace_masks(DIM))))
    for block in BLOCKS:
        np.testing.assert_allclose(np.linalg.norm(normalized[:, block], axis=1), 1.0, rtol=1e-5)


def pml_triplet_loss(anchor, positive, negative, margin=0.1):
    embeddings = torch.from_numpy(np.concatenate([anchor, positive, negative]))
    batch = len(anchor)
    indices = torch.arange(batch)
    loss = TripletMarginLoss(margin=margin, distance=CosineSimilarity(), reducer=MeanReducer())
    triplets = (indices, indices + batch, indices + 2 * batch)
    return scalar(loss(embeddings, torch.arange(3 * batch), indices_tuple=triplets))


def test_basic_triplet_loss_matches_pytorch_metric_learning():
    anchor, rng = random_batch(1, batch=16)
    positive = anchor + rng.normal(scale=2.0, size=anchor.shape).astype(np.float32)
    negative = rng.normal(size=anchor.shape).astype(np.float32)
    violations = numpy_cosine(anchor, negative) - numpy_cosine(anchor, positive) + 0.1
    assert np.any(violations > 0) and np.any(violations < 0)  # MeanReducer must count the zero terms
    value = scalar(TripletLoss(embedding_dim=DIM)(anchor, positive, negative))
    assert value == pytest.approx(pml_triplet_loss(anchor, positive, negative), rel=1e-5)
    assert value == pytest.approx(np.maximum(violations, 0).mean(), rel=1e-5)


def mined_batch(seed, items=5, group=3):
    """A triplet batch with every excerpt's tags: anchor and positive carry the drawn tag, the negative not."""
    n_tags = len(TAG_CATEGORIES)
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(items, group, DIM)).astype(np.float32)
    tags = rng.integers(0, n_tags, items)
    labels = (rng.random((items, group, n_tags)) < 0.3).astype(np.float32)
    labels[np.arange(items), 0, tags] = labels[np.arange(items), 1, tags] = 1
    labels[np.arange(items), 2, tags] = 0
    return embeddings, tags, labels, rng


def test_batch_all_matches_pytorch_metric_learning_miner_and_avg_non_zero_reducer():
    # Single-label excerpts, so PML's labels apply: its miner's "all" triplets whose anchor is one of ours,
    # with TripletMarginLoss + AvgNonZeroReducer, must equal batch_all_triplet_loss.
    rng = np.random.default_rng(7)
    embeddings = rng.normal(size=(24, DIM)).astype(np.float32)
    labels = rng.integers(0, 4, 24)
    anchors = np.array([0, 3, 5, 11, 17])
    miner = TripletMarginMiner(margin=0.1, type_of_triplets="all", distance=CosineSimilarity())
    a, p, n = miner(torch.from_numpy(embeddings), torch.from_numpy(labels))
    keep = torch.from_numpy(np.isin(a.numpy(), anchors))
    reference = TripletMarginLoss(margin=0.1, distance=CosineSimilarity(), reducer=AvgNonZeroReducer())
    expected = scalar(reference(torch.from_numpy(embeddings), torch.from_numpy(labels),
                                indices_tuple=(a[keep], p[keep], n[keep])))
    same = labels[anchors][:, None] == labels[None, :]
    positive = same & (np.arange(24)[None, :] != anchors[:, None])
    value = scalar(batch_all_triplet_loss(embeddings[anchors], embeddings, positive, ~same, margin=0.1))
    assert value == pytest.approx(expected, rel=1e-5) and value > 0


def test_batch_all_with_one_triplet_per_anchor_is_the_paper_loss_over_its_violations():
    anchor, rng = random_batch(8, batch=6)
    positive, negative = (rng.normal(size=anchor.shape).astype(np.float32) for _ in range(2))
    candidates = np.concatenate([positive, negative])
    eye = np.eye(6, dtype=np.float32)
    value = scalar(batch_all_triplet_loss(anchor, candidates, np.hstack([eye, 0 * eye]), np.hstack([0 * eye, eye])))
    violations = np.maximum(numpy_cosine(anchor, negative) - numpy_cosine(anchor, positive) + 0.1, 0)
    assert value == pytest.approx(violations.sum() / (violations > 0).sum(), rel=1e-5)


def test_mined_triplet_loss_compares_each_anchor_with_every_carrier_and_non_carrier():
    embeddings, tags, labels, _ = mined_batch(9)
    categories = np.asarray(TAG_CATEGORIES)[tags]
    for disentangled in (False, True):
        loss = TripletLoss(TAG_CATEGORIES, DIM, disentangled=disentangled)
        value = scalar(loss.batch_all(embeddings, tags, labels, categories))
        flat, flat_labels = embeddings.reshape(-1, DIM), labels.reshape(-1, labels.shape[-1])
        terms = []
        for item, tag in enumerate(tags):
            block = BLOCKS[categories[item]] if disentangled else slice(None)
            anchor = embeddings[item, 0, block]
            similarity = numpy_cosine(anchor[None], flat[:, block])
            carriers = [j for j in range(len(flat)) if flat_labels[j, tag] and j != 3 * item]
            others = [k for k in range(len(flat)) if not flat_labels[k, tag]]
            terms += [max(similarity[k] - similarity[j] + 0.1, 0) for j in carriers for k in others]
        terms = np.array(terms)
        assert value == pytest.approx(terms.sum() / (terms > 0).sum(), rel=1e-4), disentangled


def test_mined_track_regularized_loss_adds_half_the_mined_track_term():
    embeddings, tags, labels, rng = mined_batch(10, items=4, group=6)
    tracks = np.stack([rng.choice(100, 3, replace=False).tolist() + [200 + i, 200 + i, 300 + i] for i in range(4)])
    categories = np.asarray(TAG_CATEGORIES)[tags]
    loss = TrackRegularizedTripletLoss(TAG_CATEGORIES, DIM, disentangled=True, track_weight=0.5)
    tag_term = scalar(TripletLoss(TAG_CATEGORIES, DIM, disentangled=True).batch_all(embeddings, tags, labels,
                                                                                    categories))
    flat = embeddings.reshape(-1, DIM)
    same = tracks[:, 3][:, None] == tracks.reshape(-1)[None, :]
    own = np.arange(24)[None, :] == (np.arange(4) * 6 + 3)[:, None]
    track_term = scalar(batch_all_triplet_loss(embeddings[:, 3], flat, same & ~own, ~same))
    value = scalar(loss.batch_all(embeddings, tags, labels, categories, tracks))
    assert value == pytest.approx(tag_term + 0.5 * track_term, rel=1e-5)
    with pytest.raises(ValueError, match="tracks"):
        loss.batch_all(embeddings, tags, labels, categories)


def test_disentangled_triplet_loss_matches_pml_on_masked_vectors():
    anchor, rng = random_batch(2, batch=16)
    positive, negative = (rng.normal(size=anchor.shape).astype(np.float32) for _ in range(2))
    categories = rng.integers(0, 4, size=16)
    masks = subspace_masks(DIM)[categories]
    expected = pml_triplet_loss(anchor * masks, positive * masks, negative * masks)
    loss = TripletLoss(embedding_dim=DIM, disentangled=True, margin=0.1)
    assert scalar(loss(anchor, positive, negative, categories)) == pytest.approx(expected, rel=1e-5)
    # the basic loss ignores categories
    basic = TripletLoss(embedding_dim=DIM)
    assert scalar(basic(anchor, positive, negative, categories)) == pytest.approx(
        pml_triplet_loss(anchor, positive, negative), rel=1e-5)


def test_track_regularized_loss_is_tag_loss_plus_half_unmasked_track_loss():
    anchor, rng = random_batch(3, batch=8)
    tag_triplet = [anchor] + [rng.normal(size=anchor.shape).astype(np.float32) for _ in range(2)]
    track_triplet = [rng.normal(size=anchor.shape).astype(np.float32) for _ in range(3)]
    categories = rng.integers(0, 4, size=8)
    masks = subspace_masks(DIM)[categories]
    expected = (pml_triplet_loss(*(x * masks for x in tag_triplet), margin=0.3)
                + 0.5 * pml_triplet_loss(*track_triplet, margin=0.3))
    loss = TrackRegularizedTripletLoss(embedding_dim=DIM, disentangled=True, margin=0.3)
    assert scalar(loss(*tag_triplet, categories, *track_triplet)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="track_anchor"):
        loss(*tag_triplet, categories)


def test_proxy_and_classification_losses_match_numpy():
    embeddings, rng = random_batch(4, batch=10)
    labels = (rng.random((10, len(TAG_CATEGORIES))) < 0.3).astype(np.float32)
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)

    proxy = ProxyLoss(TAG_CATEGORIES, embedding_dim=DIM)
    weights = to_numpy(proxy.proxies)
    assert scalar(proxy(embeddings, labels)) == pytest.approx(numpy_bce(labels, unit @ weights.T), rel=1e-5)
    np.testing.assert_allclose(to_numpy(proxy.tag_scores(embeddings)), 1 / (1 + np.exp(-unit @ weights.T)), rtol=1e-5)

    raw = ClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM, normalize=False)
    weights = to_numpy(raw.tag_weights)
    assert scalar(raw(embeddings, labels)) == pytest.approx(numpy_bce(labels, embeddings @ weights.T), rel=1e-5)
    normalized = ClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM, normalize=True)
    weights = to_numpy(normalized.tag_weights)
    assert scalar(normalized(embeddings, labels)) == pytest.approx(numpy_bce(labels, unit @ weights.T), rel=1e-5)

    for loss in (ProxyLoss(TAG_CATEGORIES, embedding_dim=DIM, disentangled=True),
                 DisentangledClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM)):
        expected_logits = numpy_disentangled_logits(embeddings, to_numpy(loss.tag_weights), TAG_CATEGORIES)
        np.testing.assert_allclose(to_numpy(loss.logits(embeddings)), expected_logits, rtol=1e-4, atol=1e-6)
        assert scalar(loss(embeddings, labels)) == pytest.approx(numpy_bce(labels, expected_logits), rel=1e-5)


def test_bce_matches_torch_for_large_logits():
    """The softplus form stays exact where a naive log(sigmoid) would overflow."""
    embeddings, rng = random_batch(5)
    labels = (rng.random((6, len(TAG_CATEGORIES))) < 0.5).astype(np.float32)
    loss = ClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM, normalize=False)
    loss.tag_weights.assign(loss.tag_weights * 200.0)
    logits = torch.from_numpy(embeddings) @ torch.from_numpy(to_numpy(loss.tag_weights)).T
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(labels),
                                                                     reduction="sum") / len(labels)
    assert scalar(loss(embeddings, labels)) == pytest.approx(scalar(expected), rel=1e-5)


def block_outside(gradient, category):
    outside = np.ones(DIM, dtype=bool)
    outside[BLOCKS[category]] = False
    return gradient[..., outside], gradient[..., ~outside]


def test_disentangled_triplet_gradients_stay_in_the_triplets_sub_space():
    anchor, rng = random_batch(6, batch=8)
    tensors = [torch.tensor(x, requires_grad=True)
               for x in (anchor, *(rng.normal(size=anchor.shape).astype(np.float32) for _ in range(2)))]
    categories = np.arange(8) % 4
    TripletLoss(embedding_dim=DIM, disentangled=True, margin=3.0)(*tensors, categories).backward()  # all active
    for tensor in tensors:
        for item, category in enumerate(categories):
            outside, inside = block_outside(tensor.grad[item].numpy(), category)
            assert np.all(outside == 0) and np.any(inside != 0)
    tensors = [t.detach().requires_grad_() for t in tensors]
    TripletLoss(embedding_dim=DIM, margin=3.0)(*tensors, categories).backward()
    assert np.all(tensors[0].grad.numpy() != 0)  # basic: the whole space moves


@pytest.mark.parametrize("loss_class", [ProxyLoss, DisentangledClassificationLoss])
def test_disentangled_tag_logit_gradients_stay_in_the_tags_sub_space(loss_class):
    loss = loss_class(TAG_CATEGORIES, embedding_dim=DIM, **({"disentangled": True} if loss_class is ProxyLoss else {}))
    embeddings, _ = random_batch(7)
    for tag, category in enumerate(TAG_CATEGORIES):
        tensor = torch.tensor(embeddings, requires_grad=True)
        loss.logits(tensor)[:, tag].sum().backward()
        outside, inside = block_outside(tensor.grad.numpy(), category)
        assert np.all(outside == 0) and np.any(inside != 0)


def one_step_lowers(loss, inputs, trainable):
    """One Adam step on ``trainable`` (inputs as keras.Variables and the loss's weights) lowers the loss."""
    variables = [keras.Variable(x) for x in trainable] + list(loss.trainable_weights)
    before = loss(*[variables[trainable_index] if isinstance(trainable_index, int) else trainable_index
                    for trainable_index in inputs])
    gradients = torch.autograd.grad(before, [v.value for v in variables])
    keras.optimizers.Adam(learning_rate=0.05).apply_gradients(zip(gradients, variables, strict=True))
    after = loss(*[variables[i] if isinstance(i, int) else i for i in inputs])
    return scalar(before), scalar(after)


def test_one_optimization_step_lowers_every_loss():
    embeddings, rng = random_batch(8, batch=8)
    labels = (rng.random((8, len(TAG_CATEGORIES))) < 0.3).astype(np.float32)
    categories = np.arange(8) % 4
    triplet = [embeddings, *(rng.normal(size=embeddings.shape).astype(np.float32) for _ in range(5))]
    cases = [
        (TripletLoss(embedding_dim=DIM, margin=0.5), [0, 1, 2], triplet[:3]),
        (TripletLoss(embedding_dim=DIM, disentangled=True, margin=0.5), [0, 1, 2, categories], triplet[:3]),
        (TrackRegularizedTripletLoss(embedding_dim=DIM, margin=0.5), [0, 1, 2, categories, 3, 4, 5], triplet),
        (ProxyLoss(TAG_CATEGORIES, embedding_dim=DIM), [0, labels], [embeddings]),
        (ProxyLoss(TAG_CATEGORIES, embedding_dim=DIM, disentangled=True), [0, labels], [embeddings]),
        (ClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM, normalize=False), [0, labels], [embeddings]),
        (ClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM), [0, labels], [embeddings]),
        (DisentangledClassificationLoss(TAG_CATEGORIES, embedding_dim=DIM), [0, labels], [embeddings]),
    ]
    for loss, inputs, trainable in cases:
        before, after = one_step_lowers(loss, inputs, trainable)
        assert after < before, type(loss).__name__


@keras.saving.register_keras_serializable(package="mdrbench_tests")
class TaggingModel(keras.Model):
    """A minimal model that owns a loss layer, as the training code does."""

    def __init__(self, loss_layer, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(DIM)
        self.loss_layer = loss_layer

    def call(self, inputs):
        return self.loss_layer.tag_scores(self.dense(inputs))

    def get_config(self):
        return {**super().get_config(), "loss_layer": keras.saving.serialize_keras_object(self.loss_layer)}

    @classmethod
    def from_config(cls, config):
        config["loss_layer"] = keras.saving.deserialize_keras_object(config["loss_layer"])
        return cls(**config)


def test_config_round_trip_for_every_loss():
    losses = [TripletLoss(TAG_CATEGORIES, DIM, disentangled=True, margin=0.2),
              TrackRegularizedTripletLoss(None, DIM, track_weight=0.7),
              ProxyLoss(TAG_CATEGORIES, DIM, disentangled=True),
              ClassificationLoss(TAG_CATEGORIES, DIM, normalize=False),
              DisentangledClassificationLoss(TAG_CATEGORIES, DIM)]
    for loss in losses:
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
        assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
        assert [w.shape for w in restored.weights] == [w.shape for w in loss.weights]


def test_proxies_are_saved_and_loaded_with_the_model(tmp_path):
    model = TaggingModel(ProxyLoss(TAG_CATEGORIES, embedding_dim=DIM, disentangled=True))
    inputs = np.random.default_rng(9).normal(size=(4, 5)).astype(np.float32)
    scores = to_numpy(model(inputs))
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(to_numpy(restored.loss_layer.proxies), to_numpy(model.loss_layer.proxies))
    np.testing.assert_allclose(to_numpy(restored(inputs)), scores, rtol=1e-6)


def test_bad_arguments_raise_clear_errors():
    embeddings, _ = random_batch()
    with pytest.raises(ValueError, match="embedding_dim"):
        TripletLoss(embedding_dim=DIM + 4)(embeddings, embeddings, embeddings)
    with pytest.raises(ValueError, match="DisentangledClassificationLoss"):
        ClassificationLoss(TAG_CATEGORIES, DIM, disentangled=True)
    with pytest.raises(ValueError, match="tag_categories"):
        ProxyLoss(None, DIM)
    with pytest.raises(ValueError, match="category index 7"):
        ProxyLoss([0, 7], DIM)
    with pytest.raises(ValueError, match="labels have 2 tags"):
        ProxyLoss(TAG_CATEGORIES, DIM)(embeddings, np.zeros((6, 2), np.float32))
    with pytest.raises(ValueError, match="divisible"):
        EmbeddingLoss(None, embedding_dim=30)
    # A disentangled triplet loss without categories used to fall back silently to the whole space.
    with pytest.raises(ValueError, match="needs `categories`"):
        TripletLoss(embedding_dim=DIM, disentangled=True)(embeddings, embeddings, embeddings)


def test_category_names_are_accepted_and_triplets_have_no_tag_head():
    loss = ProxyLoss(["genre", "era"], DIM)
    assert loss.tag_categories == (0, 3)
    assert TripletLoss(embedding_dim=DIM).tag_scores(random_batch()[0]) is None
