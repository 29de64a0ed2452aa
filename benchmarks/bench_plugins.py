"""Scoring an external model: what mdrbench adds around the module, and the plug-in path vs the native one.

Two measurements, both in one process:

1. **Overhead.** A trivial module (8 band energies of the waveform: its own cost is next to nothing) is scored
   on a benchmark's corpus with `score_on_benchmark`, the embedding cache off, so that the split recorded in
   its result (`scoring_seconds`: reading and resampling audio, the module's calls, the tasks and probes
   including the learned sub-spaces) is what mdrbench itself costs. The requirement: at most 2 minutes on the
   `default` corpus on 2 cores.
2. **Plug-in vs native.** A trained run (seed 0 of a reference configuration) is exported as a HEAR module and
   loaded back through `load_hear_module`; the same excerpt audio is embedded by the native path (the run's
   Keras model with its log-mel front-end as a layer) and by the plug-in path (the exported module behind
   mdrbench's checks). Rounds interleave the two and alternate their order; the table gives medians and the
   paired ratio. The requirement: plug-in >= 0.9x native excerpts/s.

    python benchmarks/bench_plugins.py --size default            # both (needs the default corpus: ~6 min once)
    python benchmarks/bench_plugins.py --size ci --skip-overhead # the ratio only, quickly
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

import mdrbench  # noqa: F401  (torch backend for keras)


def band_energies(audio: np.ndarray) -> np.ndarray:
    """(n, samples) -> (n, 8): the RMS of every 8th sample from 8 offsets, a module that costs nothing."""
    return np.stack([np.sqrt(np.mean(audio[:, i::8] ** 2, axis=1)) for i in range(8)], axis=1)


def overhead(size: str, seeds: int) -> None:
    from mdrbench.plugins import function_model
    from mdrbench.scoring import score_on_benchmark

    model = function_model(band_energies, sample_rate=16000, name="band-energies")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        _, records = score_on_benchmark(model, size=size, seeds=seeds, out_dir=out, cache=False, progress=False)
        wall = time.perf_counter() - started
    print(f"\n## Overhead: a trivial module scored at {size}, {seeds} seed(s), cache off\n")
    print("| seed | total s | audio (read + resample) s | module s | tasks + probes + sub-spaces s | excerpts |")
    print("|---|---|---|---|---|---|")
    for record in records:
        split = record["scoring_seconds"]
        print(f"| {record['seed']} | {split['total']:.1f} | {split['audio']:.1f} | {split['embedding']:.1f} | "
              f"{split['tasks']:.1f} | {split['excerpts_embedded']} |")
    print(f"\nwall of the whole call (features from the cache, baselines, report): {wall:.1f} s")


def plugin_vs_native(size: str, config: str, batch: int, rounds: int, n_excerpts: int) -> None:
    import torch

    from mdrbench.export import export_hear
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.models import with_frontend
    from mdrbench.plugins import AudioExcerptEmbedder, load_hear_module
    from mdrbench.reference import reference_folder
    from mdrbench.search import run_frontend
    from mdrbench.sizes import get_size
    from mdrbench.synth import ensure_corpus

    run_dir = reference_folder("default") / "runs" / config / "seed0"
    settings = run_frontend(run_dir)
    model = mdrbench.load_model(run_dir / "model.keras")
    native = with_frontend(model, settings)
    with tempfile.TemporaryDirectory() as out:
        plugin = load_hear_module(export_hear(run_dir, out))

        size_spec = get_size(size)
        corpus = ensure_corpus(size_spec, progress=False)
        features = compute_features(corpus, FRONTENDS[size_spec.frontend], progress=False)
        reader = AudioExcerptEmbedder(plugin, corpus, features, cache=False)
        rng = np.random.default_rng(0)
        tracks = rng.choice(len(corpus), size=n_excerpts)
        room = np.maximum(1, features.lengths[tracks] - features.settings.excerpt_frames)
        starts = (rng.random(n_excerpts) * room).astype(np.int64)
        began = time.perf_counter()
        audio = reader.excerpt_audio(features, tracks, starts)
        read_rate = n_excerpts / (time.perf_counter() - began)

        def run_native():
            with torch.inference_mode():
                return np.concatenate([np.asarray(native(torch.from_numpy(audio[i:i + batch]), training=False)
                                                  .detach().cpu()) for i in range(0, len(audio), batch)])

        def run_plugin():
            return plugin.embed(audio, batch)

        difference = float(np.max(np.abs(run_native() - run_plugin())))  # also the warm-up
        rates = {"native": [], "plug-in": []}
        for round_number in range(rounds):
            order = [("native", run_native), ("plug-in", run_plugin)]
            for label, function in order if round_number % 2 == 0 else order[::-1]:
                began = time.perf_counter()
                function()
                rates[label].append(n_excerpts / (time.perf_counter() - began))
    ratios = [p / n for p, n in zip(rates["plug-in"], rates["native"], strict=True)]
    print(f"\n## Plug-in vs native: {config} seed 0, {n_excerpts} excerpts of {size}, batch {batch}, "
          f"{torch.get_num_threads()} threads, {rounds} rounds\n")
    print("| path | excerpts/s (median) |")
    print("|---|---|")
    print(f"| native: Keras model with its log-mel layer | {statistics.median(rates['native']):.0f} |")
    print(f"| plug-in: exported HEAR module behind mdrbench's checks | {statistics.median(rates['plug-in']):.0f} |")
    print(f"\npaired ratio plug-in / native: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); largest |difference| of the embeddings {difference:.2e}")
    print(f"reading the excerpts' audio (decode + resample, the same for both paths): {read_rate:.0f} excerpts/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", help="corpus size (default: default)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds for the overhead measurement")
    parser.add_argument("--config", default="triplet-norm-dis", help="reference configuration to export")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--excerpts", type=int, default=256, help="excerpts per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-ratio", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if not args.skip_ratio:
        plugin_vs_native(args.size, args.config, args.batch, args.rounds, args.excerpts)
    if not args.skip_overhead:
        overhead(args.size, args.seeds)


if __name__ == "__main__":
    main()
