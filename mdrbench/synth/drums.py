"""A synthesized drum kit: kick, snare, hats, ride, crash, clap, rim and shaker, one short sample each.

The kit is made once per track (with small random variations of pitch and decay, so kits differ between
tracks) and hits are placed by adding the samples at their onsets.
"""

from __future__ import annotations

import numpy as np


def _decay(n: int, sample_rate: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n, dtype=np.float32) / (seconds * sample_rate))


def _highpassed_noise(rng: np.random.Generator, n: int, order: int = 1) -> np.ndarray:
    noise = rng.standard_normal(n).astype(np.float32)
    for _ in range(order):
        noise[1:] = noise[1:] - noise[:-1].copy()  # repeated first differences tilt the noise towards the highs
    return noise / (np.abs(noise).max() + 1e-9)


def make_kit(sample_rate: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One sample per drum, each shape (n_samples,) float32 with peak about 1."""
    kit = {}
    n = int(0.45 * sample_rate)
    time = np.arange(n, dtype=np.float32) / sample_rate
    # kick: a sine whose pitch falls from ~120 Hz to ~45 Hz, plus a click
    start, end = rng.uniform(100, 140), rng.uniform(40, 55)
    frequency = end + (start - end) * np.exp(-time / 0.04)
    phase = 2 * np.pi * np.cumsum(frequency) / sample_rate
    kick = np.sin(phase) * _decay(n, sample_rate, rng.uniform(0.12, 0.2))
    kick[: int(0.003 * sample_rate)] += 0.5 * rng.standard_normal(int(0.003 * sample_rate))
    kit["kick"] = kick
    n = int(0.3 * sample_rate)
    time = np.arange(n, dtype=np.float32) / sample_rate
    body = np.sin(2 * np.pi * rng.uniform(170, 220) * time) * _decay(n, sample_rate, 0.05)
    kit["snare"] = 0.6 * body + 0.8 * _highpassed_noise(rng, n) * _decay(n, sample_rate, rng.uniform(0.06, 0.1))
    kit["rim"] = (np.sin(2 * np.pi * 900 * time) * _decay(n, sample_rate, 0.01)
                  + 0.4 * _highpassed_noise(rng, n) * _decay(n, sample_rate, 0.008))
    clap = _highpassed_noise(rng, n) * _decay(n, sample_rate, 0.08)
    for offset in (0.0, 0.01, 0.02):  # three quick bursts make a clap
        position = int(offset * sample_rate)
        clap[position:position + int(0.005 * sample_rate)] *= 2.0
    kit["clap"] = clap
    n = int(0.12 * sample_rate)
    kit["hat"] = _highpassed_noise(rng, n, 2) * _decay(n, sample_rate, rng.uniform(0.015, 0.03))
    kit["shaker"] = _highpassed_noise(rng, n, 1) * np.sin(np.linspace(0, np.pi, n)) ** 2
    kit["pedal"] = 0.6 * _highpassed_noise(rng, n, 2) * _decay(n, sample_rate, 0.02)
    n = int(0.35 * sample_rate)
    kit["open"] = _highpassed_noise(rng, n, 2) * _decay(n, sample_rate, 0.12)
    n = int(1.2 * sample_rate)
    time = np.arange(n, dtype=np.float32) / sample_rate
    # metallic: a few inharmonic square-ish partials plus noise
    metal = sum(np.sign(np.sin(2 * np.pi * f * time)) for f in rng.uniform(300, 800, 4) * (1, 1.48, 1.72, 2.31))
    metal = metal / 4.0
    metal[1:] -= metal[:-1].copy()
    kit["ride"] = (0.6 * metal + 0.3 * _highpassed_noise(rng, n, 2)) * _decay(n, sample_rate, 0.5)
    kit["crash"] = (0.4 * metal + 0.7 * _highpassed_noise(rng, n, 1)) * _decay(n, sample_rate, 0.6)
    return {name: (sample / (np.abs(sample).max() + 1e-9)).astype(np.float32) for name, sample in kit.items()}


DRUM_GAINS = {"kick": 1.0, "snare": 0.75, "rim": 0.5, "clap": 0.7, "hat": 0.3, "shaker": 0.25, "pedal": 0.25,
              "open": 0.3, "ride": 0.3, "crash": 0.35}
