"""The GPU check: what a CUDA machine does with mdrbench, in one bounded run (under 8 minutes on an H200).

1. the log-mel front-end on the device: clips/s on CUDA vs the CPU, and the largest difference;
2. training throughput, Keras vs plain torch on the same compact network, fp32 and bf16 autocast, paired rounds
   (benchmarks/bench_training.py's variants, on the device);
3. two configurations trained at the ``full`` size's budget (the paper's front-end and Inception backbone,
   batch 256) on a reduced synthetic corpus, each for a bounded time: epochs, excerpts/s, where the schedule
   stood when time ran out, R@1 and tag AUC.

Writes one JSON (``--out``, default gpu_check.json) and prints it. ``--smoke`` runs everything tiny on
whatever device there is (how CI-less machines check the script itself).
"""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras is imported)
import argparse
import json
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import torch


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def frontend_check(seconds: float, batch: int) -> dict:
    """Log-mel of a batch of 3-s clips on CUDA and on the CPU (the paper's front-end settings)."""
    from mdrbench.features import FRONTENDS, log_mel

    settings = FRONTENDS["paper"]
    audio = np.random.default_rng(0).standard_normal((batch, settings.excerpt_samples)).astype(np.float32) * 0.1
    result = {"clips": batch}
    outputs = {}
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        log_mel(audio[:2], settings, device=device)  # warm-up
        sync()
        start, rounds = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            outputs[device] = log_mel(audio, settings, device=device)
            sync()
            rounds += 1
        result[f"{device}_clips_per_second"] = round(batch * rounds / (time.perf_counter() - start), 1)
    if "cuda" in outputs:
        result["max_abs_difference"] = float(np.abs(outputs["cuda"] - outputs["cpu"]).max())
    return result


def throughput_check(batch: int, rounds: int, steps: int, mels: int, frames: int) -> dict:
    """Keras (mdrbench's model) vs plain torch, fp32 and bf16, on the device, in paired rounds."""
    from bench_training import PreparedBatches, keras_model, torch_step_function  # noqa: F401

    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, 1, mels, frames), dtype=np.float32)).to(device)
    y = torch.from_numpy((rng.random((batch, 50)) < 0.1).astype(np.float32)).to(device)
    variants = {}
    for precision in ("fp32", "bf16"):
        bf16 = precision == "bf16"
        torch_step = _device_torch_step(x, y, bf16)
        model = keras_model((1, mels, frames), bf16=bf16)
        variants[f"torch_{precision}"] = torch_step
        variants[f"keras_{precision}"] = (lambda m: lambda: m.train_on_batch(x, y))(model)
    for step in variants.values():
        for _ in range(3):
            step()
    sync()
    rates = {name: [] for name in variants}
    for index in range(rounds):
        for name in (list(variants) if index % 2 == 0 else list(reversed(variants))):
            sync()
            start = time.perf_counter()
            for _ in range(steps):
                variants[name]()
            sync()
            rates[name].append(batch * steps / (time.perf_counter() - start))
    medians = {name: round(statistics.median(values), 1) for name, values in rates.items()}
    paired = {precision: round(statistics.median(k / t for k, t in zip(rates[f"keras_{precision}"],
                                                                        rates[f"torch_{precision}"], strict=True)), 3)
              for precision in ("fp32", "bf16")}
    return {"device": device, "batch": batch, "excerpts_per_second_median": medians,
            "keras_over_torch_paired": paired}


def _device_torch_step(x, y, bf16):
    from bench_training import TorchCompact

    network = TorchCompact().to(x.device).to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.005)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = network(x).float()
        loss = (torch.nn.functional.softplus(logits) - logits * y).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
    return step


class TimeLimit(keras.callbacks.Callback):
    """Stop after ``seconds`` of training (checked at every epoch end)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def training_check(configs: list[str], n_tracks: int, seconds: float, size_name: str, max_epochs: int) -> dict:
    """Train each configuration at the size's budget on a reduced synthetic corpus, for a bounded time."""
    from mdrbench.evaluate import ModelEmbedder, track_arrays
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.metrics import recall_at_k, tag_auc
    from mdrbench.sizes import get_size, with_overrides
    from mdrbench.synth import synthesize
    from mdrbench.train import train

    size = with_overrides(get_size(size_name), max_epochs=max_epochs)
    start = time.perf_counter()
    corpus = synthesize(size_name, seed=0, n_tracks=n_tracks, progress=False)
    features = compute_features(corpus, FRONTENDS[size.frontend], cache_dir=False, progress=False,
                                device="cuda" if torch.cuda.is_available() else None)
    result = {"corpus_tracks": n_tracks, "corpus_and_features_seconds": round(time.perf_counter() - start, 1)}
    test = corpus.split_indices("test")
    for name in configs:
        trained = train(name, corpus, features, size=size, seed=0, verbose=0, callbacks=[TimeLimit(seconds)])
        arrays = track_arrays(ModelEmbedder(trained.model), corpus, features)
        excerpts = trained.excerpts_per_step * trained.steps_per_epoch * trained.epochs_run
        result[name] = {
            "epochs_run": trained.epochs_run, "best_epoch": trained.best_epoch, "stopped_by": trained.stopped_by,
            "lr_reductions": trained.lr_reductions, "precision": trained.info["precision"],
            "excerpts_per_second": round(excerpts / trained.total_seconds, 1),
            "median_step_seconds": round(trained.median_step_seconds, 4),
            "val_loss": [round(v, 4) for v in trained.history["val_loss"]],
            "R@1": round(recall_at_k(arrays["test_embeddings"], corpus.tags[test], ks=(1,))[1], 4),
            "tag_auc": round(tag_auc(arrays["tag_scores"], corpus.tags[test])["roc_auc"], 4),
        }
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="everything tiny, any device: checks the script")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--train-seconds", type=float, default=100.0, help="training time per configuration")
    parser.add_argument("--tracks", type=int, default=3000, help="tracks of the reduced full-size corpus")
    args = parser.parse_args(argv)
    report = {"torch": torch.__version__, "keras": keras.__version__,
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    checks = [
        ("frontend", lambda: frontend_check(1.0 if args.smoke else 5.0, 8 if args.smoke else 1024)),
        ("throughput", lambda: throughput_check(8 if args.smoke else 256, 2 if args.smoke else 7,
                                                1 if args.smoke else 10, 64 if args.smoke else 128,
                                                94 if args.smoke else 129)),
        ("training", lambda: training_check(["proxy-norm-dis", "triplet-norm-dis"], 60 if args.smoke else args.tracks,
                                            5.0 if args.smoke else args.train_seconds,
                                            "ci" if args.smoke else "full", 2 if args.smoke else 200)),
    ]
    for name, check in checks:
        started = time.perf_counter()
        try:
            report[name] = check()
        except Exception as error:  # one failing check must not hide the others' figures
            report[name] = {"error": f"{type(error).__name__}: {error}"}
        report[name]["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps({name: report[name]}), flush=True)
        args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
