"""Train one configuration with the paper's schedule, and time it.

The schedule (paper, "Training"): Adam at lr 0.005; when the validation loss has not improved for
``patience`` epochs the learning rate is divided by 5, at most 5 times; after the fifth reduction, one more
stall ends training. The weights of the best validation epoch are restored. ``size.patience`` scales the
paper's 10 epochs down to the CPU budgets, and ``size.max_epochs`` caps the run.

The validation loss is computed on the same batches every epoch (drawn once from the validation tracks with
a fixed seed), so epochs are comparable and the plateau test is not fooled by sampling noise.

The training-time figure of the paper is epochs-to-convergence x seconds-per-epoch; :class:`TrainResult`
records both (``best_epoch`` and ``seconds_per_epoch``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

import mdrbench
from mdrbench.configs import Config, get_config
from mdrbench.models import RepresentationModel, build_model
from mdrbench.sizes import Size, get_size


# -------------------------------------------------------------------------------------------- callbacks
class EpochTimer(keras.callbacks.Callback):
    """Records per epoch: loss, val_loss, the learning rate used, and wall seconds (training + validation)."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {"loss": [], "val_loss": [], "lr": [], "epoch_seconds": []}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.history["epoch_seconds"].append(time.perf_counter() - self._start)
        self.history["lr"].append(self._lr)
        self.history["loss"].append(float(logs.get("loss", math.nan)))
        self.history["val_loss"].append(float(logs.get("val_loss", math.nan)))


class PaperSchedule(keras.callbacks.Callback):
    """ReduceLROnPlateau (x ``factor`` after ``patience`` stalled epochs, at most ``max_reductions`` times),
    then early stopping at the next stall, restoring the best weights at the end.

    One callback rather than Keras's ReduceLROnPlateau + EarlyStopping because the stop depends on how many
    reductions already happened, which those two cannot see of each other.

    Attributes after training: ``best_epoch`` (1-based, 0 when no epoch ran), ``best``, ``reductions``,
    ``stopped_early``.
    """

    def __init__(self, patience: int, factor: float = 0.2, max_reductions: int = 5, monitor: str = "val_loss",
                 restore_best_weights: bool = True):
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {patience}.")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}.")
        self.patience, self.factor, self.max_reductions = int(patience), float(factor), int(max_reductions)
        self.monitor, self.restore_best_weights = monitor, restore_best_weights

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.wait, self.reductions = math.inf, 0, 0, 0
        self.best_weights, self.stopped_early = None, False

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"PaperSchedule monitors {self.monitor!r} but the logs have {sorted(logs or {})}; "
                             f"pass validation data to fit().")
        value = float(value)
        if value < self.best:
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
            self.model.stop_training = True
            self.stopped_early = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


# ---------------------------------------------------------------------------------------------- samplers
def _tag_categories(corpus) -> np.ndarray:
    """(n_tags,) category index (into CATEGORIES) of every tag of the corpus's vocabulary."""
    return np.asarray(corpus.vocabulary.category_ids, dtype=np.int64)


class FixedBatches(keras.utils.PyDataset):
    """A list of prepared (x, y) batches, served in order: the validation set, identical every epoch."""

    def __init__(self, batches: list[tuple[np.ndarray, np.ndarray]]):
        super().__init__()
        if not batches:
            raise ValueError("FixedBatches needs at least one batch.")
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


def make_sampler(config: Config, features, corpus, track_indices, batch_size: int, steps: int, seed: int):
    """The batch sampler of a configuration's objective (see mdrbench.samplers)."""
    from mdrbench import samplers

    labels = np.asarray(corpus.tags)
    tag_categories = _tag_categories(corpus)
    if config.objective in ("proxy", "classification"):
        return samplers.ExcerptBatches(features, track_indices, labels, batch_size=batch_size,
                                       steps_per_epoch=steps, seed=seed)
    if config.objective == "triplet":
        return samplers.TagTripletBatches(features, track_indices, labels, tag_categories, batch_size=batch_size,
                                          steps_per_epoch=steps, seed=seed)
    return samplers.TagAndTrackTripletBatches(features, track_indices, labels, tag_categories, batch_size=batch_size,
                                           steps_per_epoch=steps, seed=seed)


# --------------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model, best-validation weights restored.
        config: the configuration trained.
        history: per epoch: loss, val_loss, lr, epoch_seconds (lists of floats).
        epochs_run: epochs actually run.
        best_epoch: 1-based epoch of the best validation loss = epochs to convergence.
        total_seconds: wall time of fit().
        seconds_per_epoch: median epoch wall time.
        size: the training budget used.
        seed: the seed used.
    """

    model: RepresentationModel
    config: Config
    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    total_seconds: float
    seconds_per_epoch: float
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


def train(config: Config | str, corpus, features, size: str | Size = "ci", seed: int = 0, out_dir=None,
          verbose: int = 1, callbacks=(), backbone: str | None = None, backbone_options: dict | None = None,
          validation_steps: int | None = None) -> TrainResult:
    """Train one configuration on a corpus's training split, validating on its validation split.

    Args:
        config: a :class:`Config` or one of its names (e.g. ``"proxy-norm-dis"``).
        corpus: a :class:`mdrbench.Corpus` (tags, vocabulary and splits are read).
        features: the corpus's :class:`mdrbench.features.FeatureStore` (one entry per corpus track).
        size: a name in mdrbench.sizes.SIZES or a Size: batch size, steps per epoch, max epochs, patience,
            backbone.
        seed: initializes the weights (keras.utils.set_random_seed) and the training sampler; validation
            batches use a fixed seed derived from it.
        out_dir: when given, writes model.keras, history.json and config.json there.
        verbose: passed to fit (0 silent, 1 progress bar, 2 one line per epoch).
        callbacks: extra Keras callbacks.
        backbone, backbone_options: override size.backbone / pass options to build_backbone (e.g. tiny
            ``channels`` in tests).
        validation_steps: validation batches (default max(2, steps_per_epoch // 4)).
    """
    config = get_config(config)
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

    steps = size.steps_per_epoch
    training = make_sampler(config, features, corpus, train_tracks, size.batch_size, steps, seed)
    validation_steps = validation_steps or max(2, steps // 4)
    validation_sampler = make_sampler(config, features, corpus, valid_tracks, size.batch_size, validation_steps,
                                      seed + 10_007)
    validation = FixedBatches([validation_sampler[index] for index in range(validation_steps)])

    timer = EpochTimer()
    schedule = PaperSchedule(patience=size.patience, factor=config.lr_factor,
                             max_reductions=config.max_lr_reductions)
    start = time.perf_counter()
    model.fit(training, validation_data=validation, epochs=size.max_epochs, verbose=verbose,
              callbacks=[timer, schedule, *callbacks])
    total_seconds = time.perf_counter() - start

    history = timer.history
    result = TrainResult(
        model=model, config=config, history=history, epochs_run=len(history["loss"]),
        best_epoch=schedule.best_epoch, total_seconds=total_seconds,
        seconds_per_epoch=float(np.median(history["epoch_seconds"])) if history["epoch_seconds"] else math.nan,
        size=size, seed=seed,
        info={"lr_reductions": schedule.reductions, "stopped_early": schedule.stopped_early,
              "best_val_loss": schedule.best, "input_shape": list(input_shape)},
    )
    if out_dir is not None:
        save_result(result, out_dir, features_settings=settings)
    return result


def save_result(result: TrainResult, out_dir, features_settings=None) -> Path:
    """Write model.keras, history.json and config.json into ``out_dir`` (created)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.model.save(out_dir / "model.keras")
    summary = {key: getattr(result, key) for key in ("epochs_run", "best_epoch", "total_seconds",
                                                     "seconds_per_epoch", "seed")}
    (out_dir / "history.json").write_text(json.dumps({**summary, **result.info, "history": result.history},
                                                     indent=1))
    description = {"config": result.config.to_dict(),
                   "size": None if result.size is None else result.size.__dict__,
                   "frontend": None if features_settings is None else features_settings.to_dict()}
    (out_dir / "config.json").write_text(json.dumps(description, indent=1))
    return out_dir


def load_trained(out_dir) -> tuple[RepresentationModel, dict]:
    """(model, history.json contents) from a folder written by :func:`train`."""
    out_dir = Path(out_dir)
    path = out_dir / "model.keras"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; train with out_dir={str(out_dir)!r} first.")
    model = mdrbench.load_model(path)
    history = json.loads((out_dir / "history.json").read_text()) if (out_dir / "history.json").exists() else {}
    return model, history
