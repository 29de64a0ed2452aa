"""Training throughput: mdrbench's Keras model (torch backend) vs the same network as a plain torch loop.

Network: the default "compact" backbone (5 conv blocks 16-128 channels, batch norm, ReLU, max-pool, global
average + max pooling, dense 256), L2-normalized embedding, bias-free classifier over 50 tags, multi-label
BCE (the classification-norm-full configuration). Input: compact front-end, 64 mels x 94 frames, batch 64.

Variants, measured in one process and interleaved round by round (the machine is shared, so medians):
  torch          plain torch.nn modules + torch.optim.Adam (the baseline)
  keras_fit      RepresentationModel.fit on a PyDataset of prepared batches (how mdrbench trains)
  keras_batch    RepresentationModel.train_on_batch on torch tensors
  keras_bn       as keras_batch but with keras.layers.BatchNormalization (the design before ChannelNormalization)

Usage: python benchmarks/bench_training.py [--threads 2] [--rounds 5] [--steps 8] [--batch 64]
Prints excerpts/s per variant (median over rounds), the ratio of medians to plain torch, and the median of
per-round ratios (paired, robust to load changes on a shared machine). Target: keras_fit >= 0.9.
"""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras is imported)
import argparse
import json
import statistics
import time

import keras
import numpy as np
import torch

from mdrbench.models import RepresentationModel, build_backbone

N_TAGS, EMBEDDING_DIM = 50, 256
CHANNELS = (16, 32, 64, 128, 128)


class TorchCompact(torch.nn.Module):
    """The compact backbone + normalized bias-free classifier, in plain torch (same shapes and init scheme)."""

    def __init__(self, n_mels: int, n_frames: int):
        super().__init__()
        layers, in_channels = [], 1
        for filters in CHANNELS:
            layers += [torch.nn.Conv2d(in_channels, filters, 3, padding=1, bias=False),
                       torch.nn.BatchNorm2d(filters, eps=1e-3, momentum=0.1), torch.nn.ReLU(),
                       torch.nn.MaxPool2d(2)]
            in_channels = filters
        self.features = torch.nn.Sequential(*layers)
        self.embedding = torch.nn.Linear(2 * in_channels, EMBEDDING_DIM)
        self.classifier = torch.nn.Linear(EMBEDDING_DIM, N_TAGS, bias=False)

    def forward(self, x):
        h = self.features(x)
        h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.classifier(torch.nn.functional.normalize(self.embedding(h), dim=1))


def torch_step_function(x, y):
    network = TorchCompact(x.shape[2], x.shape[3])
    optimizer = torch.optim.Adam(network.parameters(), lr=0.005)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = network(x)
        # the same multi-label BCE as mdrbench.losses: summed over tags, mean over the batch
        loss = (torch.nn.functional.softplus(logits) - logits * y).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
    return step


def keras_model(x, normalization: str) -> RepresentationModel:
    backbone = build_backbone("compact", input_shape=tuple(x.shape[1:]), embedding_dim=EMBEDDING_DIM,
                              channels=CHANNELS, normalization=normalization)
    model = RepresentationModel(backbone, "classification-norm-full", np.arange(N_TAGS) % 4)
    model.compile(keras.optimizers.Adam(0.005))
    return model


class PreparedBatches(keras.utils.PyDataset):
    def __init__(self, x, y, steps):
        super().__init__()
        self.x, self.y, self.steps = x, y, steps

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        return self.x, self.y


def measure(step, steps: int, batch: int) -> float:
    start = time.perf_counter()
    step(steps)
    return batch * steps / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--mels", type=int, default=64)
    parser.add_argument("--frames", type=int, default=94)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_numpy = rng.standard_normal((args.batch, 1, args.mels, args.frames), dtype=np.float32)
    y_numpy = (rng.random((args.batch, N_TAGS)) < 0.1).astype(np.float32)
    x, y = torch.from_numpy(x_numpy), torch.from_numpy(y_numpy)

    torch_step = torch_step_function(x, y)
    fused = keras_model(x_numpy, "fused")
    keras_bn = keras_model(x_numpy, "keras")
    dataset = PreparedBatches(x_numpy, y_numpy, args.steps)
    variants = {
        "torch": lambda n: [torch_step() for _ in range(n)],
        "keras_fit": lambda n: fused.fit(dataset, epochs=1, verbose=0),
        "keras_batch": lambda n: [fused.train_on_batch(x, y) for _ in range(n)],
        "keras_bn": lambda n: [keras_bn.train_on_batch(x, y) for _ in range(n)],
    }
    for step in variants.values():  # warm-up: allocations, optimizer state, first fit() setup
        step(2)
    rates = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, step in variants.items():
            rates[name].append(measure(step, args.steps, args.batch))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    # Paired: each round's ratio to the torch figure of the same round, so load changes between rounds cancel.
    paired = {name: statistics.median(v / t for v, t in zip(values, rates["torch"], strict=True))
              for name, values in rates.items()}
    report = {
        "threads": args.threads, "batch": args.batch, "input": [1, args.mels, args.frames],
        "excerpts_per_second_median": {name: round(value, 1) for name, value in medians.items()},
        "ratio_to_torch": {name: round(value / medians["torch"], 3) for name, value in medians.items()},
        "paired_ratio_median": {name: round(value, 3) for name, value in paired.items()},
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in rates.items()},
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
