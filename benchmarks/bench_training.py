"""Training throughput: mdrbench's Keras model (torch backend) vs the same network as a plain torch loop.

Network: the default "compact" backbone (5 conv blocks 16-128 channels, batch norm, ReLU, max-pool, global
average + max pooling, dense 256), L2-normalized embedding, bias-free classifier over 50 tags, multi-label
BCE (the classification-norm-full configuration). Input: compact front-end, 64 mels x 94 frames, batch 64.

Variants, measured in one process, round by round, the order reversed every other round (so neither
position in a round is favoured), on the same batch:
  torch          plain torch.nn modules + torch.optim.Adam, NCHW memory (the baseline: plain torch eager)
  torch_cl       the same in channels-last memory (the best plain-torch layout on CPU)
  keras_fit      RepresentationModel.fit on a PyDataset of prepared batches (how mdrbench trains)
  keras_batch    RepresentationModel.train_on_batch on torch tensors
  keras_layers   the same network from Keras's own Conv2D and BatchNormalization (the naive Keras build)
With --bf16 two more: torch_bf16 (channels-last + torch.autocast bfloat16) and keras_bf16 (mdrbench's
autocast, the loss in float32). On a CPU without native bfloat16 (no AVX-512 BF16 / AMX) both are far slower.

Usage: python benchmarks/bench_training.py [--threads 2] [--rounds 9] [--steps 6] [--batch 64] [--bf16]
Prints excerpts/s per variant (median over rounds), the ratio of medians to plain torch, and the median of
per-round ratios (paired, robust to load changes on a shared machine). Target: keras_fit >= 0.9 x torch.
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
from mdrbench.train import native_bf16

N_TAGS, EMBEDDING_DIM = 50, 256
CHANNELS = (16, 32, 64, 128, 128)


class TorchCompact(torch.nn.Module):
    """The compact backbone + normalized bias-free classifier, in plain torch (same shapes and init scheme)."""

    def __init__(self):
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


def torch_step_function(x, y, channels_last=False, bf16=False):
    network = TorchCompact()
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.005)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = network(x).float()
        # the same multi-label BCE as mdrbench.losses: summed over tags, mean over the batch
        loss = (torch.nn.functional.softplus(logits) - logits * y).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
    return step


def keras_naive(x_shape) -> keras.Model:
    """The same network from Keras's own layers (Conv2D, BatchNormalization), trained with Keras."""
    inputs = keras.Input(x_shape)
    h = inputs
    for filters in CHANNELS:
        h = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, data_format="channels_first")(h)
        h = keras.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-3)(h)
        h = keras.layers.MaxPooling2D(2, data_format="channels_first")(keras.layers.ReLU()(h))
    pooled = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D(data_format="channels_first")(h),
                                         keras.layers.GlobalMaxPooling2D(data_format="channels_first")(h)])
    embedding = keras.layers.UnitNormalization()(keras.layers.Dense(EMBEDDING_DIM)(pooled))
    model = keras.Model(inputs, keras.layers.Dense(N_TAGS, use_bias=False)(embedding))
    model.compile(keras.optimizers.Adam(0.005), keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def keras_model(x_shape, bf16=False) -> RepresentationModel:
    backbone = build_backbone("compact", input_shape=tuple(x_shape), embedding_dim=EMBEDDING_DIM, channels=CHANNELS)
    model = RepresentationModel(backbone, "classification-norm-full", np.arange(N_TAGS) % 4)
    model.compile(keras.optimizers.Adam(0.005))
    model.autocast_dtype = torch.bfloat16 if bf16 else None
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
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--mels", type=int, default=64)
    parser.add_argument("--frames", type=int, default=94)
    parser.add_argument("--bf16", action="store_true", help="add the bfloat16 variants")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_numpy = rng.standard_normal((args.batch, 1, args.mels, args.frames), dtype=np.float32)
    y_numpy = (rng.random((args.batch, N_TAGS)) < 0.1).astype(np.float32)
    x, y = torch.from_numpy(x_numpy), torch.from_numpy(y_numpy)

    fused = keras_model(x_numpy.shape[1:])
    naive = keras_naive(x_numpy.shape[1:])
    dataset = PreparedBatches(x_numpy, y_numpy, args.steps)
    steps = {"torch": torch_step_function(x, y), "torch_cl": torch_step_function(x, y, channels_last=True)}
    variants = {
        "torch": lambda n: [steps["torch"]() for _ in range(n)],
        "torch_cl": lambda n: [steps["torch_cl"]() for _ in range(n)],
        "keras_fit": lambda n: fused.fit(dataset, epochs=1, verbose=0),
        "keras_batch": lambda n: [fused.train_on_batch(x, y) for _ in range(n)],
        "keras_layers": lambda n: [naive.train_on_batch(x, y) for _ in range(n)],
    }
    if args.bf16:
        steps["torch_bf16"] = torch_step_function(x, y, channels_last=True, bf16=True)
        bf16_model = keras_model(x_numpy.shape[1:], bf16=True)
        variants["torch_bf16"] = lambda n: [steps["torch_bf16"]() for _ in range(n)]
        variants["keras_bf16"] = lambda n: [bf16_model.train_on_batch(x, y) for _ in range(n)]
    for step in variants.values():  # warm-up: allocations, optimizer state, first fit() setup
        step(2)
    rates = {name: [] for name in variants}
    for round_index in range(args.rounds):
        order = list(variants) if round_index % 2 == 0 else list(reversed(variants))
        for name in order:
            rates[name].append(measure(variants[name], args.steps, args.batch))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    # Paired: each round's ratio to the torch figure of the same round, so load changes between rounds cancel.
    paired = {name: statistics.median(v / t for v, t in zip(values, rates["torch"], strict=True))
              for name, values in rates.items()}
    report = {
        "threads": args.threads, "batch": args.batch, "input": [1, args.mels, args.frames],
        "native_bf16": native_bf16(), "cpu": torch.backends.cpu.get_cpu_capability(),
        "excerpts_per_second_median": {name: round(value, 1) for name, value in medians.items()},
        "ratio_to_torch": {name: round(value / medians["torch"], 3) for name, value in medians.items()},
        "paired_ratio_median": {name: round(value, 3) for name, value in paired.items()},
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in rates.items()},
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
