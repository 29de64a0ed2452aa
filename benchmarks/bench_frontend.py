"""Front-end throughput: mdrbench's log-mel vs librosa and keras.layers.MelSpectrogram, same process.

Speed is reported as 3-second clips per second and as a ratio to the librosa baseline measured in the same
run, for torch with 1 and 2 threads (librosa uses numpy's single-threaded FFT either way). A second table
times the training hot path, gathering a batch of excerpts from a FeatureStore, against two plain numpy
ways of doing the same.

    python benchmarks/bench_frontend.py                 # both front-ends, batch of 32 clips
    python benchmarks/bench_frontend.py --frontend paper --batch 64 --threads 1 2 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mdrbench  # noqa: F401  (torch backend for keras)
from mdrbench.features import FRONTENDS, FeatureStore, LogMelSpectrogram, log_mel, random_excerpt_starts


def best_rates(functions: dict, items_per_call: int, min_seconds: float, rounds: int = 5) -> dict:
    """Items per second of each function, the best of ``rounds`` rounds.

    Rounds are interleaved (every function once per round) so that a change in machine load during the
    run hits all methods alike instead of biasing the ratios.
    """
    for function in functions.values():
        function()  # warm up (allocations, caches, lazy imports)
    best = dict.fromkeys(functions, 0.0)
    for _ in range(rounds):
        for label, function in functions.items():
            calls, start = 0, time.perf_counter()
            while True:
                function()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_seconds and calls >= 2:
                    break
            best[label] = max(best[label], calls * items_per_call / elapsed)
    return best


def frontend_table(name: str, batch: int, thread_counts: list[int], min_seconds: float) -> list[dict]:
    import keras
    import librosa
    import torch

    settings = FRONTENDS[name]
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((batch, settings.excerpt_samples))).astype(np.float32)
    audio_tensor = torch.from_numpy(audio)
    ours = LogMelSpectrogram(settings)
    keras_mel = keras.layers.MelSpectrogram(
        fft_length=settings.n_fft, sequence_stride=settings.hop_length, sampling_rate=settings.sample_rate,
        num_mel_bins=settings.n_mels, min_freq=settings.f_min, max_freq=settings.f_max, power_to_db=False,
        mag_exp=2.0)

    def with_librosa():
        power = librosa.feature.melspectrogram(
            y=audio, sr=settings.sample_rate, n_fft=settings.n_fft, hop_length=settings.hop_length,
            n_mels=settings.n_mels, fmin=settings.f_min, fmax=settings.f_max, power=2.0, center=True)
        return (np.log10(1 + settings.log_scale * power) - settings.mean) / settings.std

    def with_keras_layer():
        power = keras_mel(audio_tensor)
        return (keras.ops.log10(1 + settings.log_scale * power) - settings.mean) / settings.std

    candidates = {
        "librosa (numpy)": with_librosa,
        "keras.layers.MelSpectrogram": with_keras_layer,
        "LogMelSpectrogram (ours)": lambda: ours(audio_tensor),
        "log_mel numpy->numpy (ours)": lambda: log_mel(audio, settings),
    }
    rows = []
    previous_threads = torch.get_num_threads()
    try:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            with torch.no_grad():
                rates = best_rates(candidates, batch, min_seconds)
            baseline = rates["librosa (numpy)"]
            for label, rate in rates.items():
                rows.append({"frontend": name, "torch threads": threads, "method": label,
                             "clips/s": round(rate, 1), "vs librosa": round(rate / baseline, 2)})
    finally:
        torch.set_num_threads(previous_threads)
    return rows


def gather_table(name: str, batch: int, min_seconds: float) -> list[dict]:
    """Excerpt batches from a store shaped like the ``full`` size (thousands of 10-30 s tracks)."""
    import torch

    settings = FRONTENDS[name]
    rng = np.random.default_rng(0)
    lengths = rng.integers(settings.n_frames(10 * settings.sample_rate), settings.n_frames(30 * settings.sample_rate),
                           2000)
    values = rng.standard_normal((int(lengths.sum()), settings.n_mels)).astype(np.float16)
    store = FeatureStore(values, np.concatenate([[0], np.cumsum(lengths)]), settings)
    n_frames = settings.excerpt_frames
    indices = rng.integers(0, len(store), batch)
    starts = random_excerpt_starts(store.lengths[indices], n_frames, rng)
    begins = store.offsets[indices] + starts

    def numpy_loop():
        output = np.empty((batch, 1, settings.n_mels, n_frames), dtype=np.float32)
        for row, begin in enumerate(begins.tolist()):
            output[row, 0] = values[begin:begin + n_frames].T
        return output

    def numpy_fancy_index():
        rows = begins[:, None] + np.arange(n_frames)[None, :]
        return np.ascontiguousarray(values[rows].astype(np.float32).transpose(0, 2, 1))[:, None]

    reference = store.batch(indices, starts, n_frames)
    assert np.array_equal(reference, numpy_loop()) and np.array_equal(reference, numpy_fancy_index())
    candidates = {"numpy loop of transposed slices": numpy_loop, "numpy fancy-index gather": numpy_fancy_index,
                  "FeatureStore.batch (ours)": lambda: store.batch(indices, starts, n_frames)}
    torch.set_num_threads(1)
    rates = best_rates(candidates, batch, min_seconds)
    baseline = rates["numpy loop of transposed slices"]
    return [{"frontend": name, "method": label, "excerpts/s": round(rate), "vs numpy loop": round(rate / baseline, 2)}
            for label, rate in rates.items()]


def main(argv=None):
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frontend", choices=[*FRONTENDS, "all"], default="all")
    parser.add_argument("--batch", type=int, default=32, help="clips per call")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts")
    parser.add_argument("--min-seconds", type=float, default=0.3, help="seconds per measurement")
    args = parser.parse_args(argv)
    names = list(FRONTENDS) if args.frontend == "all" else [args.frontend]

    front = [row for name in names for row in frontend_table(name, args.batch, args.threads, args.min_seconds)]
    print("Front-end throughput (3-s clips per second, higher is better)")
    print(pd.DataFrame(front).to_string(index=False))
    gather = [row for name in names for row in gather_table(name, 256, args.min_seconds)]
    print("\nExcerpt batch gather, B=256 (excerpts per second, torch threads = 1)")
    print(pd.DataFrame(gather).to_string(index=False))


if __name__ == "__main__":
    main()
