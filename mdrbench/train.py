"""Train one configuration with the paper's schedule, and measure what one training step costs.

The schedule (paper, "Training"): Adam at lr 0.005; when the validation loss has not improved for
``patience`` epochs the learning rate is divided by 5, at most 5 times; after the last reduction, one more
stall ends training, and the weights of the best validation epoch are restored. The CPU sizes scale the
patience and the number of reductions down (:mod:`mdrbench.sizes`); ``size.max_epochs`` is only a safety cap,
and a run that reaches it is flagged: ``stopped_by`` is "schedule", "cap" or "nan".

An epoch draws one anchor excerpt per training track, for every objective: a classification step embeds
B excerpts, a triplet step 3B (anchor, positive, negative) and a track-regularized step 6B. That is the
paper's point about cost: metric learning embeds more excerpts for the same number of anchors.

Validation (:class:`FixedValidation`): two fixed excerpts of every validation track are embedded once per
epoch, and the objective is computed over many fixed items built from them (all excerpts with their tags;
or thousands of tag and track triplets). One embedding pass, no sampling noise between epochs, so the
plateau test compares like with like; the spread of the validation embeddings (mean pairwise cosine; near 1
is a collapsed space) is logged beside it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import torch

import mdrbench
from mdrbench.configs import Config, get_config
from mdrbench.models import RepresentationModel, build_model, fixed_excerpts
from mdrbench.similarity import mean_pairwise_cosine  # re-exported: notebooks 02 and 13 call train.mean_pairwise_cosine
from mdrbench.sizes import Size, get_size

STOPPED_BY = ("schedule", "cap", "nan")
VALIDATION_EXCERPTS_PER_TRACK = 2  # fixed excerpts at 1/4 and 3/4 of a track: apart for tracks >= 3 excerpts
VALIDATION_TRIPLETS_PER_TRACK = 16  # fixed validation triplets per validation track
MAX_VALIDATION_TRACKS = 2000  # bounds the validation mels held in memory at the full size


# -------------------------------------------------------------------------------------------- callbacks
class EpochTimer(keras.callbacks.Callback):
    """Records per epoch: loss, val_loss, the learning rate used, wall seconds, process CPU seconds, and the
    median wall time of one training step (the cost figure the benchmark's time ratio can use)."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {"loss": [], "val_loss": [], "lr": [], "epoch_seconds": [],
                                                "cpu_seconds": [], "median_step_seconds": [],
                                                "val_mean_cosine": []}
        self.step_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._cpu = time.perf_counter(), time.process_time()
        self._lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self._steps: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.append(time.perf_counter() - self._step_start)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.history["epoch_seconds"].append(time.perf_counter() - self._start)
        self.history["cpu_seconds"].append(time.process_time() - self._cpu)
        self.history["median_step_seconds"].append(float(np.median(self._steps)) if self._steps else math.nan)
        self.step_seconds += self._steps
        self.history["lr"].append(self._lr)
        for key in ("loss", "val_loss", "val_mean_cosine"):
            self.history[key].append(float(logs.get(key, math.nan)))


class PaperSchedule(keras.callbacks.Callback):
    """ReduceLROnPlateau (x ``factor`` after ``patience`` stalled epochs, at most ``max_reductions`` times),
    then early stopping at the next stall, restoring the best weights at the end.

    One callback rather than Keras's ReduceLROnPlateau + EarlyStopping because the stop depends on how many
    reductions already happened, which those two cannot see of each other.

    An epoch improves when the monitored value falls below ``best * (1 - min_delta)``: a relative threshold,
    because the losses of the objectives live on different scales (BCE ~10, a triplet loss ~0.1), and
    without one a change in the sixth digit would reset the patience forever.

    A non-finite loss or monitored value ends training at once (``stopped_by == "nan"``), restoring the best
    weights seen; it never counts as an ordinary stall.

    Attributes after training: ``best_epoch`` (1-based, 0 when no epoch ran), ``best``, ``reductions``,
    ``stopped_by`` ("schedule", "cap" or "nan"), ``stopped_early`` (stopped by the schedule).
    """

    def __init__(self, patience: int, factor: float = 0.2, max_reductions: int = 5, monitor: str = "val_loss",
                 min_delta: float = 1e-3, restore_best_weights: bool = True):
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {patience}.")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}.")
        if not 0 <= min_delta < 1:
            raise ValueError(f"min_delta is a relative improvement in [0, 1), got {min_delta}.")
        if max_reductions < 0:
            raise ValueError(f"max_reductions must be >= 0, got {max_reductions}.")
        self.patience, self.factor, self.max_reductions = int(patience), float(factor), int(max_reductions)
        self.monitor, self.min_delta, self.restore_best_weights = monitor, float(min_delta), restore_best_weights

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.wait, self.reductions = math.inf, 0, 0, 0
        self.best_weights, self.stopped_by = None, "cap"

    @property
    def stopped_early(self) -> bool:
        return self.stopped_by == "schedule"

    def _stop(self, reason: str):
        self.stopped_by = reason
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop("nan")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(f"PaperSchedule monitors {self.monitor!r} but the logs have {sorted(logs)}; "
                             f"add FixedValidation (or pass validation data to fit()).")
        value = float(value)
        if not (math.isfinite(value) and math.isfinite(float(logs.get("loss", 0.0)))):
            self._stop("nan")
            return
        if self.stopped_by == "nan":
            return
        if value < self.best * (1.0 - self.min_delta) or self.best == math.inf:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        self.wait = 0
        if self.reductions < self.max_reductions:
            learning_rate = self.model.optimizer.learning_rate
            learning_rate.assign(float(keras.ops.convert_to_numpy(learning_rate)) * self.factor)
            self.reductions += 1
        else:
            self._stop("schedule")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def toy_schedule_run(patience: int, max_reductions: int, min_delta: float = 1e-3, max_epochs: int = 400,
                     seed: int = 0, learning_rate: float = 0.005) -> tuple[list[dict], PaperSchedule]:
    """:class:`PaperSchedule` driving a toy learner instead of a network, to watch the rule at work in seconds.

    Each epoch the toy's validation loss moves 20% of the way towards a floor that is higher when the learning
    rate is large (big steps bounce around the minimum), plus Gaussian noise (sd 0.004, seeded): every reduction
    lowers the floor, so the loss drops again after each one, until the stall after the last reduction stops it.

    Returns (one dict per epoch run with ``epoch``, ``val_loss`` and ``lr``, the schedule after the run: its
    ``best_epoch``, ``reductions`` and ``stopped_by``).
    """
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])  # only carries the optimizer
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    schedule = PaperSchedule(patience=patience, max_reductions=max_reductions, min_delta=min_delta,
                             restore_best_weights=False)
    schedule.set_model(model)
    schedule.on_train_begin()
    rng = np.random.default_rng(seed)
    loss, history = 1.0, []
    for epoch in range(max_epochs):
        current_rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        floor = 0.2 + 40 * current_rate  # the toy's loss floor at this step size
        loss = floor + 0.8 * (loss - floor) + rng.normal(0, 0.004)
        history.append({"epoch": epoch + 1, "val_loss": loss, "lr": current_rate})
        schedule.on_epoch_end(epoch, {"loss": loss, "val_loss": loss})
        if model.stop_training:
            break
    schedule.on_train_end()
    return history, schedule


class EmbeddingSnapshots(keras.callbacks.Callback):
    """Track embeddings saved as training goes: before the first epoch, then after every ``every`` epochs.

    To watch a space form (norm spread, mean cosine, R@K per epoch, an animated projection). The embeddings
    are those :func:`mdrbench.models.embed_tracks` returns (retrieval embeddings, inference mode).

    Args:
        features: the corpus's feature store.
        track_indices: the tracks to embed (e.g. the test split), in that order.
        excerpts_per_track: fixed excerpts averaged per track (fewer is faster).
        every: snapshot period in epochs.

    After training: ``epochs`` (list of int, 0 = the initialization) and ``embeddings`` (n_snapshots, n, D).
    """

    def __init__(self, features, track_indices, excerpts_per_track: int = 2, every: int = 1):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every}.")
        self.features, self.track_indices = features, np.asarray(track_indices, dtype=np.int64)
        self.excerpts_per_track, self.every = int(excerpts_per_track), int(every)
        self.epochs: list[int] = []
        self._snapshots: list[np.ndarray] = []

    def _snapshot(self, epoch: int) -> None:
        from mdrbench.models import embed_tracks

        self.epochs.append(epoch)
        self._snapshots.append(embed_tracks(self.model, self.features, self.track_indices, self.excerpts_per_track))

    def on_train_begin(self, logs=None):
        self.epochs, self._snapshots = [], []
        self._snapshot(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._snapshot(epoch + 1)

    @property
    def embeddings(self) -> np.ndarray:
        return np.stack(self._snapshots) if self._snapshots else np.empty((0, len(self.track_indices), 0))


class FixedValidation(keras.callbacks.Callback):
    """The objective on fixed validation items, from one embedding pass per epoch; writes ``val_loss`` and
    ``val_mean_cosine`` into the epoch logs (place it before :class:`PaperSchedule`).

    Two fixed excerpts of every validation track (at most ``MAX_VALIDATION_TRACKS``) are embedded in inference
    mode. Proxy and classification models are scored on all of them with their tags. Triplet models are scored
    on ``VALIDATION_TRIPLETS_PER_TRACK`` x n fixed tag triplets drawn by the training sampler's rules (each
    excerpt one of the track's two), and the track-regularized model also on one track triplet per item
    (the two excerpts of one track, one excerpt of another).

    Args:
        config: the configuration trained.
        features, corpus: the feature store and corpus.
        track_indices: the validation tracks.
        seed: draws the fixed items.
    """

    def __init__(self, config: Config, features, corpus, track_indices, seed: int = 0, n_frames: int | None = None):
        super().__init__()
        from mdrbench import samplers

        rng = np.random.default_rng((seed, 10_007))
        track_indices = np.asarray(track_indices, dtype=np.int64)
        if len(track_indices) > MAX_VALIDATION_TRACKS:
            track_indices = np.sort(rng.choice(track_indices, MAX_VALIDATION_TRACKS, replace=False))
        self.config, self.n_tracks = config, len(track_indices)
        per_track = VALIDATION_EXCERPTS_PER_TRACK
        n_frames = n_frames or features.settings.excerpt_frames
        tracks, starts = fixed_excerpts(features, track_indices, per_track, n_frames)
        self.mel = np.asarray(features.batch(tracks, starts, n_frames), dtype=np.float32)  # (n * 2, 1, M, F)
        labels = np.asarray(corpus.tags) != 0
        self.labels = labels[tracks].astype(np.float32)  # (n * 2, n_tags)
        position = {int(track): row for row, track in enumerate(track_indices)}  # track -> row in the subset
        if config.objective.startswith("triplet"):
            if self.n_tracks < 2:
                raise ValueError(f"the validation split has {self.n_tracks} track(s); a triplet model's validation "
                                 f"triplets need at least 2 (a negative from another track). Fix: assign more "
                                 f"tracks to the 'valid' split.")
            n_items = VALIDATION_TRIPLETS_PER_TRACK * self.n_tracks
            triplets = samplers.TagTripletBatches(features, track_indices, labels, corpus.vocabulary.category_ids,
                                                  batch_size=n_items, steps_per_epoch=1, seed=seed + 10_007,
                                                  n_frames=n_frames)
            tags, anchors, positives, negatives = triplets.sample_tags(0, rng)
            self.categories = np.asarray(corpus.vocabulary.category_ids)[tags]
            # excerpt rows: track row * 2 + which of its two excerpts
            self.tag_rows = np.stack([[position[int(t)] * per_track for t in role] for role in
                                      (anchors, positives, negatives)], axis=1) + rng.integers(0, per_track,
                                                                                              (n_items, 3))
            other = (np.arange(n_items) % self.n_tracks + rng.integers(1, self.n_tracks, n_items)) % self.n_tracks
            own = np.arange(n_items) % self.n_tracks
            swap = rng.integers(0, 2, n_items)
            self.track_rows = np.stack([own * per_track + swap, own * per_track + 1 - swap,
                                        other * per_track + rng.integers(0, per_track, n_items)], axis=1)

    def validation_loss(self) -> tuple[float, float]:
        """(objective on the fixed items, mean pairwise cosine of the validation track embeddings)."""
        model = self.model
        with torch.no_grad():
            embeddings = torch.cat([model(keras.ops.convert_to_tensor(self.mel[i:i + 256]), training=False)
                                    for i in range(0, len(self.mel), 256)])
            objective = model.objective
            if self.config.objective in ("proxy", "classification"):
                loss = objective(embeddings, keras.ops.convert_to_tensor(self.labels))
            else:
                rows = torch.as_tensor(self.tag_rows)
                categories = keras.ops.convert_to_tensor(self.categories)
                tag_triplet = (embeddings[rows[:, 0]], embeddings[rows[:, 1]], embeddings[rows[:, 2]], categories)
                if self.config.objective == "triplet":
                    loss = objective(*tag_triplet)
                else:
                    track = torch.as_tensor(self.track_rows)
                    loss = objective(*tag_triplet, embeddings[track[:, 0]], embeddings[track[:, 1]],
                                     embeddings[track[:, 2]])
            retrieval = keras.ops.convert_to_numpy(model.retrieval_embedding(embeddings))
        tracks = retrieval.reshape(self.n_tracks, VALIDATION_EXCERPTS_PER_TRACK, -1).mean(axis=1)
        return float(keras.ops.convert_to_numpy(loss)), mean_pairwise_cosine(tracks)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_loss"], logs["val_mean_cosine"] = self.validation_loss()


# --------------------------------------------------------------------------------------------- precision
PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16() -> bool:
    """Whether this machine computes bfloat16 natively: a CUDA device that supports it, or a CPU with AVX-512
    BF16 or AMX. Elsewhere bfloat16 is emulated and several times slower than float32 (measured: 5x on an
    AVX2-only CPU)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pin_threads(threads: int | None) -> int:
    """Set torch's intra-op threads, and those of the BLAS and OpenMP pools numpy and scikit-learn use, to
    ``threads`` (None: leave them); return torch's count in force.

    Why explicitly: the number of threads changes how a matrix product splits its sums, so two runs with the
    same seed agree to the last bit only at the same count (in training, and in the evaluation's numpy and
    scikit-learn products). A Ray worker starts with as many threads as its task asked CPUs, and a reused worker
    keeps them; pinning at the start of every run (serial or on a worker) makes the count a setting, recorded
    in each result's machine line.
    """
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}.")
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(int(threads))
        threadpool_limits(limits=int(threads))
    return torch.get_num_threads()


@contextlib.contextmanager
def pinned_threads(threads: int | None):
    """:func:`pin_threads` for a block, then the previous counts again (a library call leaves no trace)."""
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    with threadpool_limits(limits=None if threads is None else int(threads)):
        try:
            yield pin_threads(threads)
        finally:
            torch.set_num_threads(previous)


def machine_description() -> str:
    """The hardware a number was measured on, one line: the CUDA device or the CPU model, its threads, and
    whether bfloat16 is native (results record it beside their precision)."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA), torch {torch.__version__}"
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    bf16 = "native bf16" if native_bf16() else "no native bf16"
    return f"{model}, {torch.get_num_threads()} threads, {bf16}, torch {torch.__version__}"


def resolve_precision(precision: str = "auto") -> str:
    """"fp32" or "bf16": ``auto`` takes bf16 where the hardware computes it natively (:func:`native_bf16`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}.")
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


# ---------------------------------------------------------------------------------------------- samplers
def _tag_categories(corpus) -> np.ndarray:
    """(n_tags,) category index (into CATEGORIES) of every tag of the corpus's vocabulary."""
    return np.asarray(corpus.vocabulary.category_ids, dtype=np.int64)


EXCERPTS_PER_ITEM = {"proxy": 1, "classification": 1, "triplet": 3, "triplet-track": 6}


def excerpts_per_step(config: Config | str, batch_size: int) -> int:
    """Excerpts one training step embeds: B for proxy/classification, 3B for triplet, 6B with track triplets."""
    return EXCERPTS_PER_ITEM[get_config(config).objective] * int(batch_size)


def steps_per_epoch(size: Size, n_train_tracks: int) -> int:
    """Steps of one epoch: ``size.steps_per_epoch`` when set, else one anchor per training track."""
    if size.steps_per_epoch:
        return int(size.steps_per_epoch)
    return max(1, -(-int(n_train_tracks) // size.batch_size))


def make_sampler(config: Config, features, corpus, track_indices, batch_size: int, steps: int, seed: int):
    """The batch sampler of a configuration's objective (see mdrbench.samplers)."""
    from mdrbench import samplers

    labels = np.asarray(corpus.tags)
    tag_categories = _tag_categories(corpus)
    if config.objective in ("proxy", "classification"):
        return samplers.ExcerptBatches(features, track_indices, labels, batch_size=batch_size,
                                       steps_per_epoch=steps, seed=seed)
    mined = config.triplet_mining == "all"  # the sampler then also returns every excerpt's tags and track
    if config.objective == "triplet":
        return samplers.TagTripletBatches(features, track_indices, labels, tag_categories, batch_size=batch_size,
                                          steps_per_epoch=steps, seed=seed, with_labels=mined)
    return samplers.TagAndTrackTripletBatches(features, track_indices, labels, tag_categories, batch_size=batch_size,
                                              steps_per_epoch=steps, seed=seed, with_labels=mined)


# --------------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model, best-validation weights restored.
        config: the configuration trained.
        history: per epoch: loss, val_loss, val_mean_cosine, lr, epoch_seconds, cpu_seconds,
            median_step_seconds (lists of floats).
        epochs_run: epochs actually run.
        best_epoch: 1-based epoch of the best validation loss = epochs to convergence.
        stopped_by: "schedule" (the paper's schedule ended the run), "cap" (size.max_epochs) or "nan".
        lr_reductions: learning-rate reductions made.
        total_seconds: wall time of fit().
        seconds_per_epoch: median epoch wall time.
        median_step_seconds: median wall time of one training step over the whole run.
        steps_per_epoch, excerpts_per_step: the data budget of one epoch.
        size: the training budget used.
        seed: the seed used.
    """

    model: RepresentationModel
    config: Config
    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    stopped_by: str
    lr_reductions: int
    total_seconds: float
    seconds_per_epoch: float
    median_step_seconds: float
    steps_per_epoch: int
    excerpts_per_step: int
    size: Size | None = None
    seed: int = 0
    info: dict = field(default_factory=dict)

    @property
    def epochs_to_convergence(self) -> int:
        return self.best_epoch

    @property
    def training_seconds(self) -> float:
        """The paper's training-time figure: epochs to convergence x seconds per epoch."""
        return self.best_epoch * self.seconds_per_epoch

    def training_block(self) -> dict:
        """The `training` block of a run's result.json."""
        return {"epochs_run": self.epochs_run, "best_epoch": self.best_epoch, "lr_reductions": self.lr_reductions,
                "stopped_by": self.stopped_by, "steps_per_epoch": self.steps_per_epoch,
                "excerpts_per_step": self.excerpts_per_step, "median_step_seconds": self.median_step_seconds,
                "seconds_per_epoch": self.seconds_per_epoch, "total_seconds": self.total_seconds,
                "cpu_seconds": float(np.sum(self.history.get("cpu_seconds", []))),
                "best_val_loss": self.info.get("best_val_loss"), "precision": self.info.get("precision"),
                "machine": self.info.get("machine"),
                "schedule": {"patience": self.size.patience, "max_lr_reductions": self.size.max_lr_reductions,
                             "min_delta": self.size.min_delta, "max_epochs": self.size.max_epochs,
                             "lr_factor": self.config.lr_factor, "learning_rate": self.config.learning_rate}
                if self.size is not None else None}


def train(config: Config | str, corpus, features, size: str | Size = "ci", seed: int = 0, out_dir=None,
          verbose: int = 1, callbacks=(), backbone: str | None = None, backbone_options: dict | None = None,
          precision: str = "auto") -> TrainResult:
    """Train one configuration on a corpus's training split, validating on its validation split.

    Args:
        config: a :class:`Config` or one of its names (e.g. ``"proxy-norm-dis"``).
        corpus: a :class:`mdrbench.Corpus` (tags, vocabulary and splits are read).
        features: the corpus's :class:`mdrbench.features.FeatureStore` (one entry per corpus track).
        size: a name in mdrbench.sizes.SIZES or a Size: batch size, schedule (patience, reductions,
            min_delta), epoch cap, backbone.
        seed: initializes the weights (keras.utils.set_random_seed) and the training sampler; the fixed
            validation items use a seed derived from it.
        out_dir: when given, writes model.keras, history.json and config.json there.
        verbose: passed to fit (0 silent, 1 progress bar, 2 one line per epoch).
        callbacks: extra Keras callbacks (they see val_loss and val_mean_cosine in the epoch logs).
        backbone, backbone_options: override size.backbone / pass options to build_backbone (e.g. tiny
            ``channels`` in tests).
        precision: "fp32", "bf16" (autocast of the backbone's training pass; the loss stays float32) or
            "auto" (bf16 only where the hardware computes it natively, see :func:`native_bf16`).
    """
    config = get_config(config)
    precision = resolve_precision(precision)
    size = get_size(size) if isinstance(size, str) else size
    if len(features) != len(corpus):
        raise ValueError(f"features hold {len(features)} tracks but the corpus has {len(corpus)}; compute the "
                         f"features of this corpus (mdrbench.features.compute_features).")
    train_tracks, valid_tracks = corpus.split_indices("train"), corpus.split_indices("valid")
    for split, tracks in (("train", train_tracks), ("valid", valid_tracks)):
        if len(tracks) == 0:
            raise ValueError(f"the corpus has no {split!r} tracks; training needs train and valid splits.")

    keras.utils.set_random_seed(seed)
    settings = features.settings
    input_shape = (1, settings.n_mels, settings.excerpt_frames)
    model = build_model(config, _tag_categories(corpus), input_shape=input_shape,
                        backbone=backbone or size.backbone, **(backbone_options or {}))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate))
    model.autocast_dtype = torch.bfloat16 if precision == "bf16" else None

    steps = steps_per_epoch(size, len(train_tracks))
    training = make_sampler(config, features, corpus, train_tracks, size.batch_size, steps, seed)
    validation = FixedValidation(config, features, corpus, valid_tracks, seed=seed)

    timer = EpochTimer()
    schedule = PaperSchedule(patience=size.patience, factor=config.lr_factor, max_reductions=size.max_lr_reductions,
                             min_delta=size.min_delta)
    start = time.perf_counter()
    model.fit(training, epochs=size.max_epochs, verbose=verbose,
              callbacks=[validation, timer, schedule, keras.callbacks.TerminateOnNaN(), *callbacks])
    total_seconds = time.perf_counter() - start

    history = timer.history
    result = TrainResult(
        model=model, config=config, history=history, epochs_run=len(history["loss"]),
        best_epoch=schedule.best_epoch, stopped_by=schedule.stopped_by, lr_reductions=schedule.reductions,
        total_seconds=total_seconds,
        seconds_per_epoch=float(np.median(history["epoch_seconds"])) if history["epoch_seconds"] else math.nan,
        median_step_seconds=float(np.median(timer.step_seconds)) if timer.step_seconds else math.nan,
        steps_per_epoch=steps, excerpts_per_step=excerpts_per_step(config, size.batch_size), size=size, seed=seed,
        info={"best_val_loss": schedule.best if math.isfinite(schedule.best) else None,
              "input_shape": list(input_shape), "precision": precision, "machine": machine_description()},
    )
    if out_dir is not None:
        save_result(result, out_dir, features_settings=settings)
    return result


def save_result(result: TrainResult, out_dir, features_settings=None) -> Path:
    """Write model.keras, history.json and config.json into ``out_dir`` (created), each atomically."""
    from mdrbench.results import RunFolder

    folder = RunFolder(out_dir)
    folder.path.mkdir(parents=True, exist_ok=True)
    partial = folder.file(f".partial-{os.getpid()}.keras")  # Keras wants the .keras suffix
    result.model.save(partial)
    os.replace(partial, folder.file(RunFolder.MODEL))
    summary = {**result.training_block(), "seed": result.seed}
    folder.write_json(RunFolder.HISTORY, {**summary, **result.info, "history": result.history})
    frontend = None if features_settings is None else features_settings.to_dict()
    folder.write_json(RunFolder.CONFIG, {"config": result.config.to_dict(),
                                         "size": None if result.size is None else result.size.__dict__,
                                         "frontend": frontend})
    return folder.path


def load_trained(out_dir) -> tuple[RepresentationModel, dict]:
    """(model, history.json contents) from a folder written by :func:`train`."""
    out_dir = Path(out_dir)
    path = out_dir / "model.keras"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; train with out_dir={str(out_dir)!r} first.")
    model = mdrbench.load_model(path)
    history = json.loads((out_dir / "history.json").read_text()) if (out_dir / "history.json").exists() else {}
    return model, history
