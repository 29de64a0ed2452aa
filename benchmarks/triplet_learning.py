"""Why the triplet models sat at the margin, and what made them learn: learning curves of triplet-norm-full.

Trains triplet-norm-full on the synthetic corpus of a size with a constant learning rate (no schedule, so the
curves compare the settings, not their stopping) under four settings:

  paper              lr 0.005, one (anchor, positive, negative) per drawn tag (triplet_mining="none")
  lower lr           lr 0.001, the paper's sampling
  mining             lr 0.005, in-batch mining (every carrier / non-carrier of the anchor's tag in its batch)
  lower lr + mining  lr 0.001 with in-batch mining (mdrbench's default)

and records per epoch: the training loss, the validation loss (the paper's triplet loss on fixed validation
triplets), the mean pairwise cosine of the validation embeddings (near 1: a collapsed space), validation R@1
and validation tag-triplet accuracy (complete space). Writes a CSV that notebook 04 plots.

Usage: python benchmarks/triplet_learning.py [--size default] [--epochs 10] [--out docs/triplet_learning.csv]
(default size: about 4 x 10 epochs x 20 s on a 2-core CPU).
"""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras is imported)
import argparse
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

SETTINGS = {"paper": {"learning_rate": 0.005, "triplet_mining": "none"},
            "lower lr": {"learning_rate": 0.001, "triplet_mining": "none"},
            "mining": {"learning_rate": 0.005, "triplet_mining": "all"},
            "lower lr + mining": {"learning_rate": 0.001, "triplet_mining": "all"}}


class ValidationProbe(keras.callbacks.Callback):
    """Per epoch: validation R@1 and tag-triplet accuracy of the validation tracks' embeddings."""

    def __init__(self, corpus, features, seed: int = 0):
        super().__init__()
        from mdrbench import metrics

        self.corpus, self.features = corpus, features
        self.valid = corpus.split_indices("valid")
        self.triplets = metrics.sample_tag_triplets(corpus.tags[self.valid], np.asarray(corpus.vocabulary.categories),
                                                    n_per_category=2000, seed=seed)
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        from mdrbench import metrics
        from mdrbench.models import embed_tracks

        embeddings = embed_tracks(self.model, self.features, self.valid, excerpts_per_track=2)
        accuracy = metrics.triplet_accuracy_table(embeddings, self.triplets)
        self.rows.append({"epoch": epoch + 1, "loss": logs["loss"], "val_loss": logs["val_loss"],
                          "val_mean_cosine": logs["val_mean_cosine"],
                          "val_R@1": metrics.recall_at_k(embeddings, self.corpus.tags[self.valid], ks=(1,))[1],
                          "val_triplet_accuracy": float(accuracy.loc["complete", "overall"])})


def main(argv=None):
    from mdrbench.configs import get_config
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.sizes import get_size, with_overrides
    from mdrbench.synth import ensure_corpus
    from mdrbench.train import train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names of SETTINGS")
    parser.add_argument("--out", type=Path, default=Path("docs/triplet_learning.csv"))
    args = parser.parse_args(argv)
    size = with_overrides(get_size(args.size), max_epochs=args.epochs, patience=args.epochs + 1)
    corpus = ensure_corpus(size.name, seed=0)
    features = compute_features(corpus, FRONTENDS[size.frontend])
    frames = []
    for name in args.settings.split(","):
        probe = ValidationProbe(corpus, features, seed=args.seed)
        start = time.perf_counter()
        train(get_config("triplet-norm-full", **SETTINGS[name]), corpus, features, size=size, seed=args.seed,
              verbose=0, callbacks=[probe])
        frame = pd.DataFrame(probe.rows).assign(setting=name, size=size.name, seed=args.seed,
                                                **SETTINGS[name])
        frames.append(frame)
        print(f"{name}: {time.perf_counter() - start:.0f} s\n{frame.round(4).to_string(index=False)}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(frames).to_csv(args.out, index=False)  # written as it goes
    return pd.concat(frames)


if __name__ == "__main__":
    main()
