"""How much tag information a stored run's embeddings hold: its own tag scores vs a logistic regression on them.

    python docs/tag_probe.py triplet-norm-full triplet-norm-dis [--size default] [--seed 0]

For each configuration: the stored tag ROC-AUC (for triplet models, prototypes in the embedding space), the same
recomputed from the model, and the ROC-AUC of one logistic regression per tag fit on the model's training-track
embeddings (the recipe of the mel-statistics baseline, on learned features instead). If even the logistic
regression stays below the baseline, the embedding lacks the information; if only the prototypes do, the scoring
rule is at fault. The README quotes it for triplet-norm-full.
"""

import argparse

import mdrbench  # noqa: F401  (sets the Keras backend)
from mdrbench.evaluate import ModelEmbedder, logistic_tag_scores, track_arrays
from mdrbench.features import FRONTENDS, compute_features
from mdrbench.metrics import tag_auc
from mdrbench.paths import results_dir
from mdrbench.results import load_run
from mdrbench.sizes import get_size
from mdrbench.synth import ensure_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--size", default="default")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed")
    arguments = parser.parse_args()
    corpus = ensure_corpus(arguments.size, progress=False)
    features = compute_features(corpus, FRONTENDS[get_size(arguments.size).frontend], progress=False)
    train, test = corpus.split_indices("train"), corpus.split_indices("test")
    for config in arguments.configs:
        run = load_run(results_dir(arguments.size), config, arguments.seed)
        arrays = track_arrays(ModelEmbedder(run.model), corpus, features)
        logistic = logistic_tag_scores(arrays["train_embeddings"], corpus.tags[train], arrays["test_embeddings"])
        print(f"{config} (seed {arguments.seed}): stored AUC {run.result['auc']['roc_auc']:.3f}, recomputed "
              f"{tag_auc(arrays['tag_scores'], corpus.tags[test])['roc_auc']:.3f}, logistic regression on its "
              f"embeddings {tag_auc(logistic, corpus.tags[test])['roc_auc']:.3f}", flush=True)


if __name__ == "__main__":
    main()
