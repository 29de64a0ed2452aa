"""Backbones, the representation model (backbone + normalization + sub-spaces + objective) and embedding.

Everything is channels-first, ``(batch, 1, n_mels, n_frames)``: torch's convolutions are channels-first, so
Keras passes tensors straight through instead of transposing around every layer.

Design notes (measured, see benchmarks/bench_training.py):
- Keras's BatchNormalization on the torch backend is built from many small ops and costs about a third of
  the CPU training throughput; :class:`ChannelNormalization` calls torch's fused batch-norm kernel instead,
  and keeps its moving statistics as non-trainable Keras variables so they save and load with the model.
- :class:`RepresentationModel` owns the objective (a :class:`mdrbench.losses.EmbeddingLoss` layer), so
  proxies and classifier weights are saved with it, and has its own ``train_step`` for the three batch kinds
  (multi-label excerpts, tag triplets, tag + track triplets): ``model.fit(sampler)`` works with callbacks.
"""

from __future__ import annotations

import keras
import numpy as np
import torch

from mdrbench.configs import Config, get_config
from mdrbench.corpus import CATEGORIES
from mdrbench.losses import l2_normalize

BACKBONES: tuple[str, ...] = ("compact", "inception")


# ----------------------------------------------------------------------------------------------- layers
@keras.saving.register_keras_serializable(package="mdrbench")
class ChannelNormalization(keras.layers.Layer):
    """Batch normalization over axis 1 of a channels-first tensor, using torch's fused kernel.

    Same maths and variables as ``keras.layers.BatchNormalization(axis=1)`` (gamma, beta, moving mean and
    variance; ``momentum`` is Keras's convention: moving = momentum * moving + (1 - momentum) * batch), but
    one kernel call instead of a dozen small ops, which matters on a 2-core CPU.

    The default momentum is 0.9 (torch's default), not Keras's 0.99: the CPU sizes train for a few hundred
    steps, and with 0.99 the moving statistics would still be mostly their initial values at evaluation.
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[1]
        if channels is None:
            raise ValueError("ChannelNormalization needs a known channel count on axis 1 (channels-first).")
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape=(channels,), initializer="ones", trainable=False,
                                               name="moving_variance")

    def call(self, inputs, training=None):
        # The moving statistics are updated in place by the kernel (no gradient flows through them).
        return torch.nn.functional.batch_norm(
            inputs, self.moving_mean.value, self.moving_variance.value, self.gamma.value, self.beta.value,
            training=bool(training), momentum=1.0 - self.momentum, eps=self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="mdrbench")
class ChannelsLastConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` (channels-first, same weights and maths) computed in torch's channels-last memory
    layout.

    oneDNN's CPU convolutions (and cuDNN's tensor-core paths) are fastest on NHWC memory; torch keeps the
    logical NCHW shape and only changes the strides, so the next layers (batch norm, ReLU, max-pool) stay on
    the fast path too. Keras's own conv, given channels-first data, hands torch a permuted kernel and NCHW
    memory: about 1.2-1.7x slower on this project's 2-core CPU (benchmarks/bench_training.py).
    Only the case the backbones use (stride 1, dilation 1, odd kernels, "same" padding) takes the fast path.
    """

    def convolution_op(self, inputs, kernel):
        kernel_size, strides = tuple(self.kernel_size), tuple(self.strides)
        if (self.data_format != "channels_first" or self.padding != "same" or set(strides) != {1}
                or set(self.dilation_rate) != {1} or self.groups != 1 or any(k % 2 == 0 for k in kernel_size)):
            return super().convolution_op(inputs, kernel)
        memory = torch.channels_last
        # Keras stores (kh, kw, in, out); torch wants (out, in, kh, kw) -- made channels-last explicitly.
        weights = kernel.value.permute(3, 2, 0, 1).contiguous(memory_format=memory)
        return torch.nn.functional.conv2d(inputs.contiguous(memory_format=memory), weights,
                                          padding=tuple(k // 2 for k in kernel_size))


@keras.saving.register_keras_serializable(package="mdrbench")
class SubspaceNormalization(keras.layers.Layer):
    """L2-normalize each of ``n_blocks`` equal contiguous blocks of the last axis (1 block = plain L2).

    Per-block normalization makes the dot product inside a sub-space mask a cosine, which is what the
    disentangled losses compare.
    """

    def __init__(self, n_blocks: int = 1, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.n_blocks = int(n_blocks)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        # losses.l2_normalize, not keras.ops.normalize: the latter clamps the norm with `minimum`, and for an
        # all-zero block (a dead ReLU block of the Inception backbone) its gradient is 0 x inf = NaN.
        if self.n_blocks == 1:
            return l2_normalize(inputs, epsilon=self.epsilon)
        dim = inputs.shape[-1]
        blocks = keras.ops.reshape(inputs, (-1, self.n_blocks, dim // self.n_blocks))
        blocks = l2_normalize(blocks, epsilon=self.epsilon)
        return keras.ops.reshape(blocks, (-1, dim))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "n_blocks": self.n_blocks, "epsilon": self.epsilon}


# -------------------------------------------------------------------------------------------- backbones
def _normalization_layer(kind: str, name: str):
    if kind == "fused":
        return ChannelNormalization(name=name)
    if kind == "keras":
        return keras.layers.BatchNormalization(axis=1, momentum=0.9, name=name)
    raise ValueError(f"unknown normalization {kind!r}; choose 'fused' (torch's kernel) or 'keras'.")


def _conv_block(x, filters: int, kernel_size, name: str, pool=(2, 2), pool_padding="valid", normalization="fused"):
    x = ChannelsLastConv2D(filters, kernel_size, padding="same", use_bias=False, data_format="channels_first",
                           name=f"{name}_conv")(x)
    x = _normalization_layer(normalization, f"{name}_norm")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    if pool is not None:
        x = keras.layers.MaxPooling2D(pool, padding=pool_padding, data_format="channels_first",
                                      name=f"{name}_pool")(x)
    return x


def _inception_block(x, name: str, filters: int = 256, normalization="fused"):
    """Four parallel branches (1x1; 1x1-3x3; 1x1-5x5; 3x3 max-pool-1x1), filters/4 channels each,
    concatenated, normalized, then a 2x2 max-pool ('same' padding so odd sizes such as 129 frames work)."""
    width = filters // 4

    def conv(h, f, k, suffix):
        h = ChannelsLastConv2D(f, k, padding="same", use_bias=False, data_format="channels_first",
                               name=f"{name}_{suffix}_conv")(h)
        h = _normalization_layer(normalization, f"{name}_{suffix}_norm")(h)
        return keras.layers.ReLU(name=f"{name}_{suffix}_relu")(h)

    branch1 = conv(x, width, 1, "b1")
    branch3 = conv(conv(x, width // 2, 1, "b3r"), width, 3, "b3")
    branch5 = conv(conv(x, width // 4, 1, "b5r"), width, 5, "b5")
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", data_format="channels_first",
                                       name=f"{name}_bp_pool")(x)
    branch_pool = conv(pooled, width, 1, "bp")
    x = keras.layers.Concatenate(axis=1, name=f"{name}_concat")([branch1, branch3, branch5, branch_pool])
    return keras.layers.MaxPooling2D(2, padding="same", data_format="channels_first", name=f"{name}_pool")(x)


def build_backbone(name: str = "compact", input_shape: tuple[int, int, int] = (1, 64, 94),
                   embedding_dim: int = 256, channels: tuple[int, ...] | None = None,
                   embedding_activation: str | None = None, normalization: str = "fused") -> keras.Model:
    """Log-mel excerpt (B, 1, n_mels, n_frames) -> raw embedding f(x) (B, embedding_dim).

    Args:
        name: ``"compact"`` (a small CNN for CPUs: conv 3x3 + norm + ReLU + 2x2 max-pool blocks, global
            average + max pooling, dense) or ``"inception"`` (the paper's: conv 64 5x5, 2x2 max-pool, six
            Inception blocks of 256 channels each downsampling 2x2, global pooling, dense 256 + ReLU).
        input_shape: (1, n_mels, n_frames), channels-first.
        embedding_dim: D, the size of f(x).
        channels: compact only: filters per block (default (16, 32, 64, 128, 128)); fewer blocks = smaller.
        embedding_activation: activation of the final dense layer. The paper's backbone ends in a ReLU
            ("inception" default); the compact default is linear, which keeps the whole sphere for cosines.
        normalization: ``"fused"`` (:class:`ChannelNormalization`, torch's batch-norm kernel, the default) or
            ``"keras"`` (``keras.layers.BatchNormalization``, slower on torch; kept for comparison).
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {list(BACKBONES)}.")
    if len(input_shape) != 3 or input_shape[0] != 1:
        raise ValueError(f"input_shape must be (1, n_mels, n_frames) (channels-first), got {input_shape}.")
    inputs = keras.Input(shape=tuple(input_shape), name="mel")
    if name == "compact":
        channels = tuple(channels or (16, 32, 64, 128, 128))
        x = inputs
        for index, filters in enumerate(channels):
            # Pool only while the map is at least 2 high/wide, so small inputs still work.
            height, width = x.shape[2], x.shape[3]
            pool = (2 if height >= 2 else 1, 2 if width >= 2 else 1)
            x = _conv_block(x, filters, 3, name=f"block{index + 1}", pool=pool, normalization=normalization)
        average = keras.layers.GlobalAveragePooling2D(data_format="channels_first", name="avg_pool")(x)
        maximum = keras.layers.GlobalMaxPooling2D(data_format="channels_first", name="max_pool")(x)
        x = keras.layers.Concatenate(name="pool_concat")([average, maximum])
        activation = embedding_activation
    else:
        if channels is not None:
            raise ValueError("channels applies to the compact backbone only.")
        x = _conv_block(inputs, 64, 5, name="stem", pool=(2, 2), pool_padding="same", normalization=normalization)
        for index in range(6):
            x = _inception_block(x, name=f"inception{index + 1}", normalization=normalization)
        x = keras.layers.GlobalAveragePooling2D(data_format="channels_first", name="avg_pool")(x)
        activation = "relu" if embedding_activation is None else embedding_activation
    outputs = keras.layers.Dense(embedding_dim, activation=activation, name="embedding")(x)
    return keras.Model(inputs, outputs, name=f"{name}_backbone")


# --------------------------------------------------------------------------------------------- objective
def build_objective(config: Config, tag_categories: np.ndarray):
    """The loss layer of a configuration (from mdrbench.losses)."""
    from mdrbench import losses

    tag_categories = np.asarray(tag_categories, dtype=np.int64)
    dim = config.embedding_dim
    if config.objective == "triplet":
        return losses.TripletLoss(tag_categories, dim, config.disentangled, margin=config.margin)
    if config.objective == "triplet-track":
        return losses.TrackRegularizedTripletLoss(tag_categories, dim, config.disentangled, margin=config.margin,
                                                  track_weight=config.track_weight)
    if config.objective == "proxy":
        return losses.ProxyLoss(tag_categories, dim, config.disentangled)
    if config.disentangled:
        return losses.DisentangledClassificationLoss(tag_categories, dim)
    return losses.ClassificationLoss(tag_categories, dim, config.normalize)


# ---------------------------------------------------------------------------------- representation model
@keras.saving.register_keras_serializable(package="mdrbench")
class RepresentationModel(keras.Model):
    """Backbone + (normalization | four normalized sub-heads) + objective.

    ``model(mel)`` gives the embedding the loss sees, (B, D): L2-normalized when the configuration
    normalizes (per 64-d sub-space when disentangled), raw f(x) otherwise. For classification-norm-dis it
    is the concatenation of four Dense(D/4) heads on f(x), each normalized. ``embed`` gives the retrieval
    embedding (the same, globally re-normalized when the configuration normalizes).

    Batches for ``fit`` (numpy or tensors):
        excerpts: x (B, 1, M, F), y (B, n_tags) multi-hot -> objective(embeddings, y)
        tag triplets: x (B, 3, 1, M, F) anchor/positive/negative, y (B,) category of the sampled tag
        tag + track triplets: x (B, 6, 1, M, F) (tag triplet then track triplet), y (B,) categories
        either triplet kind with in-batch mining: y a dict (categories, tags, labels, tracks), see
        :class:`mdrbench.samplers.TagTripletBatches` and :meth:`mdrbench.losses.TripletLoss.batch_all`

    Args:
        backbone: a Keras model mel (B, 1, M, F) -> (B, D), e.g. from :func:`build_backbone`.
        config: a :class:`Config` or its name.
        tag_categories: (n_tags,) category index (into CATEGORIES) of every tag.
        objective: the loss layer; built from the configuration when omitted.
    """

    def __init__(self, backbone: keras.Model, config: Config | str, tag_categories, objective=None, **kwargs):
        super().__init__(**kwargs)
        self.config = get_config(config)
        self.backbone = backbone
        self.tag_categories = np.asarray(tag_categories, dtype=np.int64)
        dim = self.config.embedding_dim
        if backbone.output_shape[-1] != dim:
            raise ValueError(f"backbone output size {backbone.output_shape[-1]} != config embedding_dim {dim}; "
                             f"build the backbone with embedding_dim={dim}.")
        self.n_subspaces = len(CATEGORIES) if self.config.disentangled else 1
        self.heads = []
        if self.config.objective == "classification" and self.config.disentangled:
            # The paper's classification-dis: four sub-dense heads on the penultimate layer.
            for category in CATEGORIES:
                head = keras.layers.Dense(dim // len(CATEGORIES), name=f"head_{category}")
                head.build((None, dim))
                self.heads.append(head)
        self.normalization = SubspaceNormalization(self.n_subspaces) if self.config.normalize else None
        self.objective = objective if objective is not None else build_objective(self.config, self.tag_categories)
        # Weight-free layers: mark them built so Keras does not trace the model symbolically before fit.
        for layer in (self.normalization, self.objective):
            if layer is not None and not layer.built:
                layer.built = True
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    # -- forward
    def call(self, inputs, training=False):
        if len(inputs.shape) == 5:
            # (B, G, 1, M, F) groups (triplets) -> (B, G, D); one backbone pass over all B x G excerpts, so
            # batch statistics see anchors, positives and negatives alike.
            group = inputs.shape[1]
            flat = self(keras.ops.reshape(inputs, (-1, *inputs.shape[2:])), training=training)
            return keras.ops.reshape(flat, (-1, group, flat.shape[-1]))
        features = self.backbone(inputs, training=training)
        if self.heads:
            features = keras.ops.concatenate([head(features) for head in self.heads], axis=-1)
        if self.normalization is not None:
            features = self.normalization(features)
        return features

    def retrieval_embedding(self, embeddings):
        """Training embedding -> retrieval embedding (global unit norm when the configuration normalizes)."""
        if self.config.normalize and self.n_subspaces > 1:
            return l2_normalize(embeddings)
        return embeddings

    def embed(self, mel, batch_size: int = 64) -> np.ndarray:
        """Retrieval embeddings of log-mel excerpts (n, 1, M, F) -> (n, D) float32 numpy."""
        return self._batched(mel, batch_size, lambda e: self.retrieval_embedding(e))

    def tag_scores(self, mel, batch_size: int = 64) -> np.ndarray | None:
        """Per-tag probabilities (n, n_tags) from the objective (proxies / classifier); None for triplet models."""
        if self.config.objective.startswith("triplet"):
            return None
        return self._batched(mel, batch_size, lambda e: self.objective.tag_scores(e))

    def tag_logits(self, mel, batch_size: int = 64) -> np.ndarray | None:
        """Per-tag logits (n, n_tags); None for triplet models. Rank them, not probabilities: in float32
        sigmoid(17) == 1.0, so the most confident tracks of a tag would tie."""
        if self.config.objective.startswith("triplet"):
            return None
        return self._batched(mel, batch_size, lambda e: self.objective.logits(e))

    def embed_and_tag(self, mel, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray | None]:
        """One backbone pass: retrieval embeddings (n, D) and tag logits (n, n_tags) (None for triplet models)."""
        has_head = not self.config.objective.startswith("triplet")
        outputs = self._batched(mel, batch_size, lambda e: keras.ops.concatenate(
            [self.retrieval_embedding(e), self.objective.logits(e)], axis=-1) if has_head
            else self.retrieval_embedding(e))
        dim = self.config.embedding_dim
        return (outputs[:, :dim], outputs[:, dim:]) if has_head else (outputs, None)

    def _batched(self, mel, batch_size, head):
        mel = np.asarray(mel, dtype=np.float32) if not isinstance(mel, torch.Tensor) else mel
        if mel.ndim == 3:
            mel = mel[:, None]
        outputs = []
        with torch.no_grad():
            for begin in range(0, len(mel), batch_size):
                batch = keras.ops.convert_to_tensor(mel[begin:begin + batch_size])
                outputs.append(keras.ops.convert_to_numpy(head(self(batch, training=False))))
        if not outputs:
            return np.zeros((0, self.config.embedding_dim), dtype=np.float32)
        return np.concatenate(outputs).astype(np.float32)

    # -- training
    # bfloat16 autocast of the backbone during training ("bf16"), or plain float32 (None): set by
    # mdrbench.train from its `precision` argument. The loss is always computed in float32.
    autocast_dtype = None

    def _forward(self, x, training: bool):
        if self.autocast_dtype is None:
            return self(x, training=training)
        device = "cuda" if x.is_cuda else "cpu"
        with torch.autocast(device, dtype=self.autocast_dtype):
            embeddings = self(x, training=training)
        return keras.ops.cast(embeddings, "float32")

    def compute_objective(self, x, y, training: bool):
        """Loss of one batch of any of the three kinds (see the class docstring)."""
        if x.ndim == 4:
            embeddings = self._forward(x, training=training)
            return self.objective(embeddings, keras.ops.cast(y, "float32"))
        if x.ndim != 5 or x.shape[1] not in (3, 6):
            raise ValueError(f"expected a batch of excerpts (B, 1, M, F) or triplets (B, 3 or 6, 1, M, F), "
                             f"got shape {tuple(x.shape)}.")
        group = x.shape[1]
        embeddings = self._forward(x, training=training)
        if isinstance(y, dict):  # tags of every excerpt: in-batch mining (mdrbench.losses.batch_all_triplet_loss)
            categories = keras.ops.cast(y["categories"], "int64")
            return self.objective.batch_all(embeddings, y["tags"], y["labels"], categories, y.get("tracks"))
        anchor, positive, negative = embeddings[:, 0], embeddings[:, 1], embeddings[:, 2]
        categories = keras.ops.cast(y, "int64") if y is not None else None
        if group == 3:
            return self.objective(anchor, positive, negative, categories)
        return self.objective(anchor, positive, negative, categories,
                              embeddings[:, 3], embeddings[:, 4], embeddings[:, 5])

    def train_step(self, data):
        x, y = _unpack(data)
        self.zero_grad()
        loss = self.compute_objective(x, y, training=True)
        loss.backward()
        variables = self.trainable_weights
        with torch.no_grad():
            self.optimizer.apply([variable.value.grad for variable in variables], variables)
        self.loss_tracker.update_state(loss.detach())
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        x, y = _unpack(data)
        with torch.no_grad():
            loss = self.compute_objective(x, y, training=False)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def predict_step(self, data):
        x = data[0] if isinstance(data, tuple | list) else data
        return self.retrieval_embedding(self(x, training=False))

    @property
    def metrics(self):
        return [self.loss_tracker]

    # -- saving
    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "config": self.config.to_dict(),
            "tag_categories": self.tag_categories.tolist(),
            "objective": keras.saving.serialize_keras_object(self.objective),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        objective = keras.saving.deserialize_keras_object(config.pop("objective"))
        return cls(backbone=backbone, config=Config.from_dict(config.pop("config")),
                   tag_categories=config.pop("tag_categories"), objective=objective, **config)


def _unpack(data):
    if isinstance(data, tuple | list):
        x = data[0]
        y = data[1] if len(data) > 1 else None
    else:
        x, y = data, None
    x = keras.ops.convert_to_tensor(x, dtype="float32")
    if isinstance(y, dict):
        y = {key: keras.ops.convert_to_tensor(value) for key, value in y.items()}
    elif y is not None:
        y = keras.ops.convert_to_tensor(y)
    return x, y


def build_model(config: Config | str, tag_categories, input_shape=(1, 64, 94), backbone: str = "compact",
                **backbone_options) -> RepresentationModel:
    """A :class:`RepresentationModel` for a configuration: backbone + head + objective, ready to compile."""
    config = get_config(config)
    network = build_backbone(backbone, input_shape=input_shape, embedding_dim=config.embedding_dim,
                             **backbone_options)
    return RepresentationModel(network, config, tag_categories, name=config.name.replace("-", "_"))


# ------------------------------------------------------------------------------------------ audio input
@keras.saving.register_keras_serializable(package="mdrbench")
class AudioEmbeddingModel(keras.Model):
    """Raw audio (B, samples) -> log-mel (inside the model) -> retrieval embedding (B, D).

    For inference on audio: the front-end is a Keras layer, so the saved model is self-contained.
    """

    def __init__(self, frontend, representation: RepresentationModel, **kwargs):
        super().__init__(**kwargs)
        self.frontend = frontend
        self.representation = representation
        self.built = True

    def call(self, audio, training=False):
        mel = self.frontend(audio)
        return self.representation.retrieval_embedding(self.representation(mel, training=training))

    def get_config(self):
        return {"frontend": keras.saving.serialize_keras_object(self.frontend),
                "representation": keras.saving.serialize_keras_object(self.representation), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config.pop("frontend")),
                   keras.saving.deserialize_keras_object(config.pop("representation")), **config)


def with_frontend(model: RepresentationModel, settings=None) -> AudioEmbeddingModel:
    """Wrap a trained model so raw audio (B, settings.excerpt_samples) goes in and embeddings come out."""
    from mdrbench.features import FRONTENDS, LogMelSpectrogram

    settings = FRONTENDS["compact"] if settings is None else settings
    return AudioEmbeddingModel(LogMelSpectrogram(settings), model)


# -------------------------------------------------------------------------------------------- embedding
def _n_frames(model: RepresentationModel, features) -> int:
    frames = model.backbone.input_shape[-1]
    return int(frames) if frames else features.settings.excerpt_frames


def embed_excerpts(model: RepresentationModel, features, track_indices, starts, batch_size: int = 64,
                   with_tags: bool = False):
    """Retrieval embeddings of one excerpt per (track, start frame) pair -> (n, D) float32.

    With ``with_tags`` returns (embeddings, tag logits (n, n_tags) or None for triplet models) from the same
    backbone pass. Excerpts are read batch by batch from the FeatureStore, so a large corpus never sits in
    memory as mels.
    """
    track_indices = np.asarray(track_indices, dtype=np.int64).reshape(-1)
    starts = np.asarray(starts, dtype=np.int64).reshape(-1)
    if track_indices.shape != starts.shape:
        raise ValueError(f"got {len(track_indices)} track indices but {len(starts)} starts; give one start each.")
    n_frames = _n_frames(model, features)
    embeddings, logits = [], []
    for i in range(0, len(track_indices), batch_size):
        mel = features.batch(track_indices[i:i + batch_size], starts[i:i + batch_size], n_frames)
        batch_embeddings, batch_logits = model.embed_and_tag(mel, batch_size=batch_size)
        embeddings.append(batch_embeddings)
        logits.append(batch_logits)
    has_head = not model.config.objective.startswith("triplet")
    if not embeddings:
        embeddings = [np.zeros((0, model.config.embedding_dim), dtype=np.float32)]
        logits = [np.zeros((0, len(model.tag_categories)), dtype=np.float32)]
    embeddings = np.concatenate(embeddings)
    if not with_tags:
        return embeddings
    return embeddings, (np.concatenate(logits) if has_head else None)


def fixed_excerpts(features, track_indices, excerpts_per_track: int, n_frames: int | None = None):
    """The evaluation excerpts of each track, flat: (track index, start frame) arrays of n * per_track.

    Evenly spaced over each track (the centres of equal parts of the possible start range, see
    :func:`mdrbench.features.fixed_excerpt_starts`), so the same tracks always give the same excerpts.
    """
    from mdrbench.features import fixed_excerpt_starts

    track_indices = np.asarray(track_indices, dtype=np.int64).reshape(-1)
    n_frames = n_frames or features.settings.excerpt_frames
    starts = fixed_excerpt_starts(features.lengths[track_indices], n_frames, excerpts_per_track)
    return np.repeat(track_indices, excerpts_per_track), starts.reshape(-1)


def mean_of_excerpts(excerpt_values: np.ndarray, excerpts_per_track: int, normalize: bool) -> np.ndarray:
    """(n * per_track, D) excerpt rows -> (n, D) track rows: the mean, re-normalized when ``normalize`` so that
    cosines stay dot products."""
    tracks = excerpt_values.reshape(-1, excerpts_per_track, excerpt_values.shape[-1]).mean(axis=1)
    if normalize:
        tracks /= np.maximum(np.linalg.norm(tracks, axis=1, keepdims=True), 1e-12)
    return tracks.astype(np.float32)


def embed_and_tag_tracks(model: RepresentationModel, features, track_indices, excerpts_per_track: int = 4,
                         batch_size: int = 64):
    """One pass over the fixed excerpts of each track -> (track embeddings (n, D), excerpt embeddings
    (n, per_track, D), track tag logits (n, n_tags) or None for triplet models: the mean of the excerpts')."""
    track_indices = np.asarray(track_indices, dtype=np.int64).reshape(-1)
    repeated, starts = fixed_excerpts(features, track_indices, excerpts_per_track, _n_frames(model, features))
    excerpt_embeddings, excerpt_logits = embed_excerpts(model, features, repeated, starts, batch_size, True)
    tracks = mean_of_excerpts(excerpt_embeddings, excerpts_per_track, model.config.normalize)
    logits = None if excerpt_logits is None else mean_of_excerpts(excerpt_logits, excerpts_per_track, False)
    return tracks, excerpt_embeddings.reshape(len(track_indices), excerpts_per_track, -1), logits


def embed_tracks(model: RepresentationModel, features, track_indices, excerpts_per_track: int = 4,
                 batch_size: int = 64) -> np.ndarray:
    """Track-level embeddings (n, D): the mean over ``excerpts_per_track`` evenly spaced excerpts.

    Re-normalized after averaging when the configuration normalizes, so cosines stay dot products.
    """
    return embed_and_tag_tracks(model, features, track_indices, excerpts_per_track, batch_size)[0]


def model_tag_scores(model: RepresentationModel, features, track_indices, excerpts_per_track: int = 4,
                     batch_size: int = 64) -> np.ndarray | None:
    """Track-level auto-tagging scores (n, n_tags): the mean of the tag head's logits over the same fixed
    excerpts as :func:`embed_tracks`; None for triplet models (they have no tag head: score tags against
    prototypes with mdrbench.metrics instead).

    Logits, not probabilities: AUC only ranks, and in float32 sigmoid(17) == 1.0, so the most confident
    tracks of a tag would tie.
    """
    return embed_and_tag_tracks(model, features, track_indices, excerpts_per_track, batch_size)[2]
