"""Synthesis speed: seconds of audio rendered per second of compute on one core (the real-time factor).

The requirement is at least 50x real time. The first tracks fill the wavetable caches, so a warm-up
pass is rendered and not timed.

    python benchmarks/bench_synth.py --size ci --n-tracks 40
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, whatever numpy's BLAS would do

from mdrbench.sizes import get_size  # noqa: E402
from mdrbench.synth import draw_factors, render_track  # noqa: E402


def measure(size_name: str = "ci", n_tracks: int = 40, seed: int = 0) -> dict:
    size = get_size(size_name)
    rows = draw_factors(n_tracks, seed, size.min_duration, size.max_duration).to_dict("records")
    for row in rows[:5]:  # warm-up: imports and wavetable caches
        render_track(row, size.sample_rate)
    started = time.process_time()
    wall_started = time.perf_counter()
    audio_seconds = sum(len(render_track(row, size.sample_rate)) for row in rows) / size.sample_rate
    cpu_seconds = time.process_time() - started
    wall_seconds = time.perf_counter() - wall_started
    return {"size": size_name, "tracks": n_tracks, "audio_seconds": audio_seconds, "cpu_seconds": cpu_seconds,
            "wall_seconds": wall_seconds, "real_time_factor_cpu": audio_seconds / cpu_seconds,
            "real_time_factor_wall": audio_seconds / wall_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="ci")
    parser.add_argument("--n-tracks", type=int, default=40)
    arguments = parser.parse_args()
    result = measure(arguments.size, arguments.n_tracks)
    print(f"{result['tracks']} tracks, {result['audio_seconds']:.0f} s of audio at size {result['size']}: "
          f"{result['cpu_seconds']:.2f} s CPU, {result['wall_seconds']:.2f} s wall")
    print(f"real-time factor (one core): {result['real_time_factor_cpu']:.0f}x CPU time, "
          f"{result['real_time_factor_wall']:.0f}x wall time (requirement: >= 50x)")


if __name__ == "__main__":
    main()
